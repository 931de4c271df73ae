from __future__ import annotations

from django.urls import reverse

from itembank.models import Role, User
from tests.base import BaseTestCase

CHANGELIST = "/admin/itembank/user/"


def change_data(user: User, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


class UserAdminTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.login(self.admin)

    def test_list_shows_and_filters_roles(self) -> None:
        response = self.client.get(CHANGELIST)
        self.assertContains(response, "column-role")
        response = self.client.get(CHANGELIST, {"role__exact": "reviewer"})
        self.assertEqual([u.username for u in response.context["cl"].result_list], ["reviewer"])

    def test_teachers_and_reviewers_are_kept_out(self) -> None:
        for user in (self.teacher, self.reviewer):
            self.client.force_login(user)
            response = self.client.get(CHANGELIST)
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith("/admin/login/"))

    def test_promote_teacher_to_admin(self) -> None:
        url = reverse("admin:itembank_user_change", args=[self.teacher.pk])
        response = self.client.post(url, change_data(self.teacher, role=Role.ADMIN))
        self.assertEqual(response.status_code, 302)
        self.teacher.refresh_from_db()
        self.assertEqual(self.teacher.role, Role.ADMIN)
        self.assertTrue(self.teacher.is_staff)
        self.assertTrue(self.teacher.is_superuser)
        self.client.force_login(self.teacher)
        self.assertEqual(self.client.get("/admin/").status_code, 200)

    def test_demote_admin_to_reviewer(self) -> None:
        other = User.objects.create_user("boss", password="x", role=Role.ADMIN)
        url = reverse("admin:itembank_user_change", args=[other.pk])
        response = self.client.post(url, change_data(other, role=Role.REVIEWER))
        self.assertEqual(response.status_code, 302)
        other.refresh_from_db()
        self.assertEqual(other.role, Role.REVIEWER)
        self.assertFalse(other.is_staff)
        self.assertFalse(other.is_superuser)
        self.client.force_login(other)
        self.assertEqual(self.client.get("/admin/").status_code, 302)

    def test_staff_flags_are_not_editable(self) -> None:
        url = reverse("admin:itembank_user_change", args=[self.teacher.pk])
        response = self.client.post(
            url, change_data(self.teacher, is_staff="on", is_superuser="on")
        )
        self.assertEqual(response.status_code, 302)
        self.teacher.refresh_from_db()
        self.assertEqual(self.teacher.role, Role.TEACHER)
        self.assertFalse(self.teacher.is_staff)
        self.assertFalse(self.teacher.is_superuser)

    def test_add_user_with_role(self) -> None:
        response = self.client.post(
            reverse("admin:itembank_user_add"),
            {
                "username": "newreviewer",
                "email": "r@school.example",
                "role": Role.REVIEWER,
                "usable_password": "true",
                "password1": "a long enough passphrase 42",
                "password2": "a long enough passphrase 42",
            },
        )
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        user = User.objects.get(username="newreviewer")
        self.assertEqual(user.role, Role.REVIEWER)
        self.assertFalse(user.is_staff)
        self.assertTrue(user.check_password("a long enough passphrase 42"))
