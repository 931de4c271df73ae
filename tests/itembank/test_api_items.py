from __future__ import annotations

from rest_framework.test import APIClient

from itembank.models import Item, ItemRevision
from tests.base import BaseTestCase, make_item, png_bytes

LIST = "/api/items/"


def payload(**overrides) -> dict:
    data = {
        "external_id": "MATH-2-000900",
        "subject": "수학",
        "school_level": "초등",
        "grade": 2,
        "unit": "덧셈과 뺄셈",
        "achievement_standard": "[2수01-05]",
        "item_type": "multiple_choice",
        "stem": "다음 중 계산 결과가 가장 큰 것은? $37+25$",
        "choices": ["$52$", "$62$", "$61$"],
        "answer": "2",
        "explanation": "37+25=62",
        "difficulty": "medium",
        "source": "2025 1학기 단원평가",
        "tags": ["덧셈"],
        "status": "active",
    }
    data.update(overrides)
    return data


class ApiTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.api = APIClient()

    def as_user(self, user) -> APIClient:
        self.api.force_authenticate(user)
        return self.api


class ItemListTests(ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.math = make_item("MATH-1", unit="덧셈과 뺄셈", images=[png_bytes()])
        self.eng = make_item("ENG-1", subject="영어", grade=5, stem="Choose the right word.")
        self.draft = make_item("MATH-2", status="draft", grade=3)

    def ids(self, response) -> list[str]:
        self.assertEqual(response.status_code, 200, response.content)
        return [row["external_id"] for row in response.json()["results"]]

    def test_anonymous_is_refused(self) -> None:
        response = self.api.get(LIST)
        self.assertIn(response.status_code, (401, 403))

    def test_every_role_reads(self) -> None:
        for user in (self.teacher, self.reviewer, self.admin):
            response = self.as_user(user).get(LIST)
            self.assertEqual(response.json()["count"], 3)

    def test_item_fields(self) -> None:
        response = self.as_user(self.reviewer).get(f"{LIST}{self.math.pk}/")
        data = response.json()
        self.assertEqual(data["external_id"], "MATH-1")
        self.assertEqual(data["choices"], self.math.choices)
        self.assertEqual(data["content_hash"], self.math.content_hash)
        self.assertTrue(data["has_latex"])
        image = self.math.images.get()
        self.assertEqual(len(data["images"]), 1)
        shown = data["images"][0]
        self.assertEqual(shown["id"], image.pk)
        self.assertEqual(shown["sha256"], image.sha256)
        self.assertEqual((shown["width"], shown["height"]), (40, 30))
        self.assertTrue(shown["url"].endswith(f"/media/{image.file.name}"))

    def test_filters(self) -> None:
        api = self.as_user(self.teacher)
        self.assertEqual(self.ids(api.get(LIST, {"subject": "영어"})), ["ENG-1"])
        self.assertEqual(self.ids(api.get(LIST, {"status": "draft"})), ["MATH-2"])
        self.assertEqual(self.ids(api.get(LIST, {"has_image": "yes"})), ["MATH-1"])
        self.assertEqual(self.ids(api.get(LIST, {"grade": 5})), ["ENG-1"])
        self.assertEqual(self.ids(api.get(LIST, {"q": "right word"})), ["ENG-1"])
        self.assertEqual(
            sorted(self.ids(api.get(LIST, {"subject": "수학", "has_image": "no"}))), ["MATH-2"]
        )

    def test_bad_filter_values_are_400_with_field_errors(self) -> None:
        api = self.as_user(self.teacher)
        for params, field in [
            ({"subject": "물리"}, "subject"),
            ({"grade": "two"}, "grade"),
            ({"grade": 13}, "grade"),
            ({"has_image": "maybe"}, "has_image"),
            ({"subjekt": "수학"}, "subjekt"),
            ({"ordering": "stem"}, "ordering"),
            ({"page_size": "lots"}, "page_size"),
        ]:
            response = api.get(LIST, params)
            self.assertEqual(response.status_code, 400, params)
            self.assertIn(field, response.json(), params)

    def test_pagination(self) -> None:
        for i in range(5):
            make_item(f"PAGE-{i}")
        api = self.as_user(self.teacher)
        first = api.get(LIST, {"page_size": 3, "ordering": "external_id"}).json()
        self.assertEqual(first["count"], 8)
        self.assertEqual(len(first["results"]), 3)
        self.assertIsNotNone(first["next"])
        second = api.get(first["next"]).json()
        self.assertEqual(len(second["results"]), 3)
        seen = [r["external_id"] for r in first["results"] + second["results"]]
        self.assertEqual(len(set(seen)), 6)
        self.assertEqual(api.get(LIST, {"page": 99}).status_code, 404)

    def test_ordering(self) -> None:
        api = self.as_user(self.teacher)
        self.assertEqual(
            self.ids(api.get(LIST, {"ordering": "external_id"})), ["ENG-1", "MATH-1", "MATH-2"]
        )
        self.assertEqual(
            self.ids(api.get(LIST, {"ordering": "-external_id"})), ["MATH-2", "MATH-1", "ENG-1"]
        )
        Item.objects.filter(pk=self.math.pk).update(updated_at="2020-01-01T00:00:00Z")
        self.assertEqual(self.ids(api.get(LIST, {"ordering": "updated_at"}))[0], "MATH-1")
        self.assertEqual(self.ids(api.get(LIST, {"ordering": "-updated_at"}))[-1], "MATH-1")


class ItemWriteTests(ApiTestCase):
    def test_teacher_creates_with_history(self) -> None:
        response = self.as_user(self.teacher).post(LIST, payload(), format="json")
        self.assertEqual(response.status_code, 201, response.content)
        item = Item.objects.get(external_id="MATH-2-000900")
        self.assertEqual(item.author, self.teacher)
        self.assertEqual(item.tags, ["덧셈"])
        self.assertEqual(len(item.content_hash), 64)
        self.assertEqual(response.json()["author"], "teacher")
        self.assertEqual(response.json()["content_hash"], item.content_hash)
        revision = item.revisions.get()
        self.assertEqual((revision.action, revision.via), (ItemRevision.Action.CREATE, "api"))
        self.assertEqual(revision.user, self.teacher)

    def test_reviewer_and_anonymous_cannot_write(self) -> None:
        response = self.as_user(self.reviewer).post(LIST, payload(), format="json")
        self.assertEqual(response.status_code, 403)
        item = make_item()
        response = self.api.patch(f"{LIST}{item.pk}/", {"stem": "바뀜"}, format="json")
        self.assertEqual(response.status_code, 403)
        self.api.force_authenticate(None)
        response = self.api.post(LIST, payload(), format="json")
        self.assertIn(response.status_code, (401, 403))
        self.assertFalse(Item.objects.filter(external_id="MATH-2-000900").exists())

    def test_update_records_changes(self) -> None:
        item = make_item()
        old_hash = item.content_hash
        response = self.as_user(self.teacher).patch(
            f"{LIST}{item.pk}/", {"stem": "새 발문 $x^2$", "answer": "1"}, format="json"
        )
        self.assertEqual(response.status_code, 200, response.content)
        item.refresh_from_db()
        self.assertEqual(item.stem, "새 발문 $x^2$")
        self.assertNotEqual(item.content_hash, old_hash)
        revision = item.revisions.first()
        self.assertEqual(revision.via, "api")
        self.assertEqual(set(revision.changes), {"stem", "answer"})

    def test_full_update(self) -> None:
        item = make_item("MATH-2-000900")
        data = payload(stem="전체 수정", choices=["1", "2"])
        response = self.as_user(self.admin).put(f"{LIST}{item.pk}/", data, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        item.refresh_from_db()
        self.assertEqual(item.choices, ["1", "2"])

    def test_only_admin_retires(self) -> None:
        item = make_item()
        url = f"{LIST}{item.pk}/"
        response = self.as_user(self.teacher).patch(url, {"status": "retired"}, format="json")
        self.assertEqual(response.status_code, 400)
        self.assertIn("status", response.json())
        response = self.as_user(self.teacher).patch(url, {"status": "draft"}, format="json")
        self.assertEqual(response.status_code, 200)
        response = self.as_user(self.admin).patch(url, {"status": "retired"}, format="json")
        self.assertEqual(response.status_code, 200)

    def test_only_admin_deletes(self) -> None:
        item = make_item(images=[png_bytes()])
        url = f"{LIST}{item.pk}/"
        self.assertEqual(self.as_user(self.teacher).delete(url).status_code, 403)
        self.assertEqual(self.as_user(self.reviewer).delete(url).status_code, 403)
        with self.captureOnCommitCallbacks(execute=True):
            self.assertEqual(self.as_user(self.admin).delete(url).status_code, 204)
        self.assertFalse(Item.objects.filter(pk=item.pk).exists())

    def test_validation_errors(self) -> None:
        make_item("DUP-1")
        api = self.as_user(self.teacher)
        cases = [
            (payload(subject="물리"), "subject"),
            (payload(stem=""), "stem"),
            ({k: v for k, v in payload().items() if k != "stem"}, "stem"),
            (payload(choices="① 1 ② 2"), "choices"),
            (payload(choices=[1, 2]), "choices"),
            (payload(tags={"a": 1}), "tags"),
            (payload(external_id="DUP-1"), "external_id"),
            (payload(external_id="bad id!"), "external_id"),
            (payload(achievement_standard="2수01-05"), "achievement_standard"),
            (payload(grade=13), "grade"),
            (payload(difficulty="impossible"), "difficulty"),
        ]
        for data, field in cases:
            response = api.post(LIST, data, format="json")
            self.assertEqual(response.status_code, 400, (field, response.content))
            self.assertIn(field, response.json(), data)
        self.assertEqual(Item.objects.count(), 1)

    def test_duplicate_external_id_on_update(self) -> None:
        make_item("A-1")
        other = make_item("B-1")
        response = self.as_user(self.teacher).patch(
            f"{LIST}{other.pk}/", {"external_id": "A-1"}, format="json"
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("external_id", response.json())

    def test_html_is_stored_as_text(self) -> None:
        stem = '<script>alert("x")</script><b>굵게</b> & $a<b$'
        response = self.as_user(self.teacher).post(LIST, payload(stem=stem), format="json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(Item.objects.get().stem, stem)
        self.assertEqual(response.json()["stem"], stem)

    def test_history(self) -> None:
        item = make_item(user=self.teacher)
        self.as_user(self.teacher).patch(f"{LIST}{item.pk}/", {"unit": "곱셈"}, format="json")
        response = self.as_user(self.reviewer).get(f"{LIST}{item.pk}/history/")
        self.assertEqual(response.status_code, 200)
        rows = response.json()["results"]
        self.assertEqual([r["action"] for r in rows], ["update", "create"])
        self.assertEqual(rows[0]["via"], "api")
        self.assertEqual(rows[0]["user"], "teacher")
        self.assertEqual(rows[0]["changes"]["unit"], {"old": "덧셈과 뺄셈", "new": "곱셈"})
