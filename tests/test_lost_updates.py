"""Lost updates (issue 15, item 4): every save of an item goes through its row version.

The races are forced, not hoped for: a barrier inside validation holds the first writer until
the second has read the item too, which is exactly the interleaving that lost a change before
(both read version v, then both write). With the row lock the second writer cannot read before
the first has committed, so the barrier times out and both run one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from unittest import mock

from django.db import connection
from django.test import Client, TransactionTestCase
from django.urls import reverse
from rest_framework.authtoken.models import Token

from itembank.api import ItemSerializer
from itembank.forms import ItemForm
from itembank.models import Item, Role
from tests.base import BaseTestCase, make_item, make_user
from tests.itembank.test_item_edit import form_data

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
STALE_KO = "다른 사람이"


def detail(item: Item) -> str:
    return f"/api/items/{item.pk}/"


class ApiVersionTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item("V-1", user=self.teacher)
        self.login(self.teacher)
        self.url = detail(self.item)

    def test_get_put_patch_send_the_version_as_etag(self) -> None:
        r = self.client.get(self.url)
        self.assertEqual(r["ETag"], '"1"')
        self.assertEqual(r.json()["version"], 1)
        r = self.client.patch(self.url, {"unit": "곱셈"}, content_type="application/json")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r["ETag"], '"2"')
        body = {**r.json(), "unit": "나눗셈"}
        r = self.client.put(self.url, body, content_type="application/json", HTTP_IF_MATCH='"2"')
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(r["ETag"], '"3"')

    def test_stale_if_match_is_412_and_nothing_is_saved(self) -> None:
        etag = self.client.get(self.url)["ETag"]
        self.client.patch(self.url, {"unit": "다른 사람"}, content_type="application/json")
        for method in ("put", "patch"):
            with self.subTest(method=method):
                body = {**self.client.get(self.url).json(), "stem": "내 발문"}
                r = getattr(self.client, method)(
                    self.url, body, content_type="application/json", HTTP_IF_MATCH=etag
                )
                self.assertEqual(r.status_code, 412)
                self.assertIn(STALE_KO, r.json()["detail"])
                r = getattr(self.client, method)(
                    self.url, body, content_type="application/json", HTTP_IF_MATCH=etag, **EN
                )
                self.assertEqual(r.status_code, 412)
                self.assertIn("changed after you read it", r.json()["detail"])
                self.item.refresh_from_db()
                self.assertEqual(self.item.unit, "다른 사람")
                self.assertNotEqual(self.item.stem, "내 발문")
                self.assertEqual(self.item.version, 2)

    def test_if_match_that_is_no_version_is_400(self) -> None:
        r = self.client.patch(
            self.url, {"unit": "x"}, content_type="application/json", HTTP_IF_MATCH="abc", **EN
        )
        self.assertEqual(r.status_code, 400)
        self.assertIn("If-Match", r.json())

    def test_status_change_and_import_raise_the_version(self) -> None:
        from itembank.services import set_status

        set_status([self.item], "draft", user=self.teacher)
        self.item.refresh_from_db()
        self.assertEqual(self.item.version, 2)
        r = self.client.patch(
            self.url, {"status": "active"}, content_type="application/json", HTTP_IF_MATCH='"1"'
        )
        self.assertEqual(r.status_code, 412)


class WebFormVersionTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item("V-FORM", user=self.teacher)
        self.url = reverse("item-edit", args=[self.item.pk])
        self.login(self.teacher)

    def test_second_submit_with_the_same_version_is_refused(self) -> None:
        first = form_data(self.item, unit="첫 번째")
        second = form_data(self.item, stem="두 번째 발문입니다.")
        self.assertEqual(self.client.post(self.url, first).status_code, 302)
        r = self.client.post(self.url, second)
        self.assertEqual(r.status_code, 200)
        self.assertIn("version", r.context["form"].errors)
        self.assertContains(r, STALE_KO)
        self.item.refresh_from_db()
        self.assertEqual(self.item.unit, "첫 번째")
        self.assertNotEqual(self.item.stem, "두 번째 발문입니다.")
        self.assertEqual(self.item.revisions.count(), 2)

    def test_omitting_the_version_is_refused(self) -> None:
        data = form_data(self.item, unit="버전 없이")
        del data["version"]
        r = self.client.post(self.url, data)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, STALE_KO)
        self.item.refresh_from_db()
        self.assertNotEqual(self.item.unit, "버전 없이")


def race(method: object, name: str, one: Callable[[], object], two: Callable[[], object]) -> list:
    """Run `one` and `two` in two threads; each waits (≤ 2 s) in `method` until the other has
    reached it too."""
    barrier = threading.Barrier(2)
    original = getattr(method, name)

    def held(*args, **kwargs):
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    results: list = [None, None]

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            results[index] = call()
        finally:
            connection.close()

    with mock.patch.object(method, name, held):
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((one, two))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    return results


class ConcurrentEditTests(TransactionTestCase):
    def setUp(self) -> None:
        self.teacher = make_user("teacher", Role.TEACHER)
        self.item = make_item("V-RACE", user=self.teacher)

    def client_for(self) -> Client:
        client = Client()
        client.force_login(self.teacher)
        return client

    def test_two_concurrent_patches_of_different_fields_both_survive(self) -> None:
        token = Token.objects.create(user=self.teacher).key
        url = detail(self.item)

        def patch(field: str, value: str) -> Callable[[], int]:
            def call() -> int:
                r = Client().patch(
                    url,
                    {field: value},
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Token {token}",
                )
                return r.status_code

            return call

        codes = race(ItemSerializer, "validate", patch("unit", "곱셈"), patch("source", "교과서"))
        self.assertEqual(codes, [200, 200])
        self.item.refresh_from_db()
        self.assertEqual((self.item.unit, self.item.source), ("곱셈", "교과서"))
        self.assertEqual(self.item.version, 3)
        latest = self.item.revisions.order_by("-id").first()
        self.assertEqual(self.item.revisions.count(), 3)
        self.assertEqual(len(latest.changes), 1)

    def test_two_concurrent_form_submits_with_one_version_save_once(self) -> None:
        url = reverse("item-edit", args=[self.item.pk])
        one, two = self.client_for(), self.client_for()
        codes = race(
            ItemForm,
            "clean",
            lambda: one.post(url, form_data(self.item, unit="첫 번째")).status_code,
            lambda: two.post(url, form_data(self.item, source="두 번째")).status_code,
        )
        self.assertEqual(sorted(codes), [200, 302])
        self.item.refresh_from_db()
        saved = {"unit": self.item.unit == "첫 번째", "source": self.item.source == "두 번째"}
        self.assertEqual(sorted(saved.values()), [False, True], saved)
        self.assertEqual(self.item.version, 2)
        self.assertEqual(self.item.revisions.count(), 2)
