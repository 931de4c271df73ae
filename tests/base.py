"""The base test case: one user of each role, and helpers to make items and images."""

from __future__ import annotations

import io

from django.test import TestCase
from PIL import Image

from itembank.images import check_image
from itembank.models import Item, Role, User
from itembank.services import ImageChanges, NewImage, save_item

PASSWORD = "correct horse battery staple"


def png_bytes(color: str = "red", size: tuple[int, int] = (40, 30), fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def make_user(username: str, role: str) -> User:
    return User.objects.create_user(username, f"{username}@school.example", PASSWORD, role=role)


def make_item(
    external_id: str = "MATH-2-000001",
    *,
    images: list[bytes] | None = None,
    user: User | None = None,
    **fields,
) -> Item:
    values = {
        "subject": "수학",
        "stem": "다음 중 계산 결과가 가장 큰 것은? $37+25$",
        "choices": ["$52$", "$62$", "$61$", "$72$", "$63$"],
        "answer": "4",
        "school_level": "초등",
        "grade": 2,
        "unit": "덧셈과 뺄셈",
    }
    values.update(fields)
    item = Item(external_id=external_id, **values)
    item.full_clean()
    added = [
        NewImage(check_image(data, f"fig{i}.png"), f"fig{i}.png")
        for i, data in enumerate(images or [])
    ]
    save_item(item, user=user, images=ImageChanges(added=added), via="test")
    item.refresh_from_db()
    return item


class BaseTestCase(TestCase):
    """Healthchecks-style: every test has a teacher, a reviewer and an admin to log in as."""

    def setUp(self) -> None:
        super().setUp()
        self.teacher = make_user("teacher", Role.TEACHER)
        self.reviewer = make_user("reviewer", Role.REVIEWER)
        self.admin = make_user("admin", Role.ADMIN)

    def login(self, user: User) -> None:
        self.client.force_login(user)
