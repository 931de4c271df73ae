"""`GET/POST /api/search/`: text, image upload, item, filters, mode, k, α, rerank, space."""

from __future__ import annotations

from search import keyword
from tests.base import BaseTestCase, make_item, png_bytes
from tests.search.test_engine import embedded_space, make_bank

URL = "/api/search/"


class SearchAPITestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.figure = make_item("FIG-1", stem="그림의 도형", choices=[], images=[png_bytes("red")])
        self.space = embedded_space([*self.items, self.figure])
        self.login(self.teacher)

    def get(self, **params):
        return self.client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")

    def test_text_search(self) -> None:
        response = self.get(text=self.items[3].stem, k=3)
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        self.assertEqual(
            set(data), {"mode", "space", "k", "alpha", "reranked", "took_ms", "timings", "results"}
        )
        self.assertEqual((data["mode"], data["space"], data["k"]), ("dense", "hash64", 3))
        self.assertEqual(len(data["results"]), 3)
        first = data["results"][0]
        self.assertEqual(first["rank"], 1)
        self.assertEqual(first["mode"], "dense")
        self.assertAlmostEqual(first["score"], first["dense"])
        self.assertIsNone(first["keyword"])
        item = first["item"]
        self.assertEqual(item["id"], self.items[3].pk)
        self.assertEqual(item["external_id"], self.items[3].external_id)
        self.assertEqual(item["stem"], self.items[3].stem)
        for key in ("subject", "grade", "unit", "image_urls", "url"):
            self.assertIn(key, item)

    def test_modes_filters_and_alpha(self) -> None:
        for mode in ("dense", "bm25", "hybrid", "rrf"):
            with self.subTest(mode=mode):
                response = self.get(text="광합성", mode=mode, subject="과학", k=5, alpha=0.3)
                self.assertEqual(response.status_code, 200, response.content)
                data = response.json()
                self.assertEqual(data["mode"], mode)
                self.assertEqual(data["alpha"], 0.3 if mode == "hybrid" else None)
                self.assertTrue(data["results"])
                self.assertTrue(all(r["item"]["subject"] == "과학" for r in data["results"]))

    def test_image_upload_and_item_query(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("q.png", png_bytes("red"), "image/png")
        response = self.client.post(URL, {"image": upload, "k": 2})
        self.assertEqual(response.status_code, 200, response.content)
        first = response.json()["results"][0]["item"]
        self.assertEqual(first["id"], self.figure.pk)
        self.assertEqual(len(first["image_urls"]), 1)
        self.assertTrue(first["image_urls"][0].startswith("http://testserver/"))
        response = self.client.post(URL, {"item": self.items[0].pk, "k": 3}, "application/json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertNotIn(self.items[0].pk, [r["item"]["id"] for r in response.json()["results"]])

    def test_bad_input_is_a_400_with_a_message(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        cases = [
            ({}, "Type a question"),
            ({"text": "가" * 10_000}, "at most 5000"),
            ({"text": "근", "k": "0"}, "at least one"),
            ({"text": "근", "k": "100000"}, "At most 200"),
            ({"text": "근", "k": "ten"}, "valid integer"),
            ({"text": "근", "alpha": "2", "mode": "hybrid"}, "between 0 and 1"),
            ({"text": "근", "mode": "vector"}, "not a valid choice"),
            ({"text": "근", "space": "nope"}, "no embedding space named nope"),
            ({"item": "987654"}, "no item with id 987654"),
            ({"text": "근", "subject": "수학' OR '1'='1"}, "valid choice"),
            ({"text": "근", "grade": "1; DROP TABLE itembank_item"}, "whole number"),
            ({"text": "근", "colour": "red"}, "Unknown parameter"),
            ({"text": "근", "rerank": "perhaps"}, "valid boolean"),
        ]
        for params, words in cases:
            with self.subTest(params=str(params)[:60]):
                response = self.get(**params)
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(words, str(response.json()))
        for data, words in [
            (b"not an image", "not a readable image"),
            (png_bytes("red", fmt="BMP"), "not a PNG, JPEG, GIF or WebP"),
        ]:
            with self.subTest(upload=words):
                upload = SimpleUploadedFile("q.png", data, "image/png")
                response = self.client.post(URL, {"image": upload}, HTTP_ACCEPT_LANGUAGE="en")
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn(words, response.json()["detail"])
        response = self.client.get(URL, {"text": "근", "k": ["1", "2"]})
        self.assertEqual(response.status_code, 400)
        # A JSON body that is not an object (the fuzzer sent 0.0: a 500 before).
        for body in ("0.0", "[1, 2]", '"text"'):
            with self.subTest(body=body):
                response = self.client.post(
                    URL, body, "application/json", HTTP_ACCEPT_LANGUAGE="en"
                )
                self.assertEqual(response.status_code, 400, response.content)
                self.assertIn("Expected a dictionary", str(response.json()))

    def test_space_without_vectors_and_missing_reranker(self) -> None:
        from tests.embeddings.hashing_backend import make_space

        make_space("empty", dimensions=64)
        response = self.get(text="근", space="empty")
        self.assertEqual(response.status_code, 400)
        self.assertIn("has no vectors yet", response.json()["detail"])
        response = self.get(text="근", rerank="true")
        self.assertEqual(response.status_code, 400)
        self.assertIn("No reranker weights", response.json()["detail"])

    def test_authentication_required(self) -> None:
        self.client.logout()
        self.assertEqual(self.client.get(URL, {"text": "근"}).status_code, 401)
        for user in (self.reviewer, self.admin):
            self.login(user)
            self.assertEqual(self.get(text="근").status_code, 200)

    def test_in_the_openapi_schema(self) -> None:
        response = self.client.get("/api/schema/", {"format": "json"})
        self.assertEqual(response.status_code, 200)
        paths = response.json()["paths"]
        self.assertIn("get", paths["/api/search/"])
        self.assertIn("post", paths["/api/search/"])
        self.assertIn("/api/items/{id}/similar/", paths)
        names = {p["name"] for p in paths["/api/search/"]["get"]["parameters"]}
        self.assertTrue(
            {"text", "item", "mode", "k", "alpha", "rerank", "space", "subject"} <= names
        )
