"""`GET /api/items/{id}/similar/`: more like this, never the item itself."""

from __future__ import annotations

from search import keyword
from tests.base import BaseTestCase
from tests.search.test_engine import embedded_space, make_bank


class SimilarAPITestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.space = embedded_space(self.items)
        self.login(self.teacher)

    def url(self, item_id: int) -> str:
        return f"/api/items/{item_id}/similar/"

    def test_similar_items(self) -> None:
        item = self.items[0]
        response = self.client.get(self.url(item.pk), {"k": 3})
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        self.assertEqual(len(data["results"]), 3)
        got = [r["item"]["id"] for r in data["results"]]
        self.assertNotIn(item.pk, got)
        self.assertEqual(got[0], self.items[1].pk)
        for mode in ("dense", "bm25", "hybrid", "rrf"):
            with self.subTest(mode=mode):
                response = self.client.get(self.url(item.pk), {"k": 10, "mode": mode})
                self.assertEqual(response.status_code, 200, response.content)
                self.assertNotIn(item.pk, [r["item"]["id"] for r in response.json()["results"]])
        response = self.client.get(self.url(self.items[3].pk), {"subject": "과학"})
        self.assertEqual([r["item"]["id"] for r in response.json()["results"]], [self.items[4].pk])

    def test_bad_input(self) -> None:
        response = self.client.get(self.url(987654), HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 404)
        self.assertIn("no item with id 987654", response.json()["detail"])
        for params, words in [
            ({"k": "0"}, "at least one"),
            ({"k": "-1"}, "at least one"),
            ({"k": "1000000"}, "At most 200"),
            ({"text": "근"}, "Unknown parameter"),
            ({"space": "nope"}, "no embedding space named nope"),
            ({"grade": "' OR 1=1 --"}, "whole number"),
        ]:
            with self.subTest(params=params):
                response = self.client.get(
                    self.url(self.items[0].pk), params, HTTP_ACCEPT_LANGUAGE="en"
                )
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(words, str(response.json()))

    def test_item_not_yet_embedded(self) -> None:
        from tests.base import make_item

        fresh = make_item("NEW-1", stem="새 문항", choices=[])
        response = self.client.get(self.url(fresh.pk), HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(response.status_code, 400)
        self.assertIn("has no vector", response.json()["detail"])

    def test_authentication_required(self) -> None:
        self.client.logout()
        self.assertEqual(self.client.get(self.url(self.items[0].pk)).status_code, 401)
