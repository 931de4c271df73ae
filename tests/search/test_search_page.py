"""The search page `/search/`: text searches by GET (linkable), image searches by multipart POST,
filters, modes, htmx swaps, and bad input answered with a message instead of an error."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from embeddings import pipeline
from search import keyword
from search.models import SearchSettings
from tests.base import make_item, png_bytes
from tests.embeddings.hashing_backend import make_space
from tests.itembank.ui_base import UITestCase, bomb_png

URL = reverse("search:search")


class SearchPageTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        # Messages are translated in the request, by its Accept-Language (Korean by default).
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.quadratic = make_item(
            "MATH-9-000001",
            stem="이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오.",
            choices=["$1$", "$5$", "$6$"],
            unit="이차방정식",
            grade=9,
            school_level="중등",
        )
        self.quadratic2 = make_item(
            "MATH-9-000002",
            stem="이차방정식 $x^2-7x+12=0$ 의 두 근의 곱을 구하시오.",
            choices=["$7$", "$12$"],
            unit="이차방정식",
            grade=9,
            school_level="중등",
        )
        self.photo = make_item(
            "SCI-7-000001",
            subject="과학",
            stem="광합성이 일어나는 세포 소기관은 무엇인가?",
            choices=["엽록체", "미토콘드리아"],
            images=[png_bytes("#10b981", size=(120, 90))],
            unit="광합성",
        )
        self.other = make_item(
            "SCI-7-000002",
            subject="과학",
            stem="식물의 광합성에 필요한 물질로 옳은 것은?",
            choices=["물", "소금"],
            images=[png_bytes("#ef4444", size=(120, 90))],
            unit="광합성",
        )
        self.items = [self.quadratic, self.quadratic2, self.photo, self.other]
        self.space = make_space(
            "hash256", dimensions=256, modalities=["text", "image"], make_default=True
        )
        pipeline.embed_items(self.space, [i.pk for i in self.items])
        self.login(self.teacher)

    def get(self, **params):
        with translation.override("en"):
            return self.client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")

    def hit_ids(self, response) -> list[int]:
        return [hit.item.pk for hit in response.context["result"].hits]

    # Access -------------------------------------------------------------------------------

    def test_anonymous_is_sent_to_login(self) -> None:
        self.client.logout()
        r = self.client.get(URL, {"text": "이차방정식"})
        self.assertEqual(r.status_code, 302)
        self.assertTrue(r["Location"].startswith(f"{reverse('login')}?next=/search/"))
        r = self.client.post(URL, {"text": "x"})
        self.assertEqual(r.status_code, 302)
        self.assertIn(reverse("login"), r["Location"])

    def test_every_role_may_search(self) -> None:
        for user in (self.teacher, self.reviewer, self.admin):
            self.login(user)
            r = self.get(text=self.quadratic.stem, mode="dense")
            self.assertEqual(r.status_code, 200)
            self.assertEqual(self.hit_ids(r)[0], self.quadratic.pk)

    def test_empty_page_shows_the_form_and_a_hint(self) -> None:
        r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, 'id="drop-zone"')
        self.assertContains(r, 'name="image"')
        self.assertContains(r, "js/search.js")
        self.assertIsNone(r.context["result"])
        self.assertContains(r, "Type a question or drop a figure above")
        # The filters of the item list minus its substring search, the mode and the advanced part.
        form = r.context["form"]
        for name in (
            "subject",
            "school_level",
            "grade",
            "unit",
            "item_type",
            "has_image",
            "status",
            "mode",
            "k",
            "alpha",
            "rerank",
        ):
            self.assertIn(name, form.fields)
        self.assertNotIn("q", form.fields)
        self.assertContains(r, '<details class="advanced">')

    # Text ---------------------------------------------------------------------------------

    def test_korean_text_search_by_get_renders_cards(self) -> None:
        r = self.get(text=self.quadratic.stem, mode="dense")
        self.assertEqual(r.status_code, 200)
        result = r.context["result"]
        self.assertEqual(result.mode, "dense")
        self.assertEqual(self.hit_ids(r)[0], self.quadratic.pk)
        html = r.content.decode()
        card = html[html.index(f'data-item-id="{self.quadratic.pk}"') :]
        self.assertIn("MATH-9-000001", card)
        first = result.hits[0]
        card = card[: card.index("</li>")]
        self.assertIn(f'class="score-value">{round(100 * first.score)}%<', card)
        self.assertIn(f"embedding similarity {first.dense:.3f}", card)
        self.assertIn("data-math", card)
        self.assertIn("Mathematics", card)
        self.assertIn(reverse("item-detail", args=[self.quadratic.pk]), html)
        # Other hits compare with the first result; every hit offers "more like this".
        second = result.hits[1].item.pk
        self.assertIn(reverse("search:compare", args=[self.quadratic.pk, second]), html)
        self.assertIn(f"{URL}?item={second}", html)

    def test_thumbnail_of_an_item_with_a_figure(self) -> None:
        r = self.get(text=self.photo.stem, mode="dense", subject="과학")
        self.assertEqual(self.hit_ids(r)[0], self.photo.pk)
        image = self.photo.images.get()
        self.assertContains(r, reverse("media", args=[image.file.name]))

    def test_filters_and_modes(self) -> None:
        r = self.get(text="광합성", mode="bm25")
        self.assertEqual(r.context["result"].mode, "bm25")
        self.assertEqual(set(self.hit_ids(r)), {self.photo.pk, self.other.pk})
        r = self.get(text=self.quadratic.stem, mode="dense", subject="과학")
        self.assertEqual(set(self.hit_ids(r)), {self.photo.pk, self.other.pk})
        r = self.get(text=self.quadratic.stem, mode="dense", has_image="yes", k="1")
        self.assertEqual(len(self.hit_ids(r)), 1)
        self.assertIn(self.hit_ids(r)[0], {self.photo.pk, self.other.pk})
        for mode in ("hybrid", "rrf"):
            r = self.get(text="이차방정식 두 근", mode=mode, alpha="0.5")
            self.assertEqual(r.context["result"].mode, mode)
            self.assertIn(self.hit_ids(r)[0], {self.quadratic.pk, self.quadratic2.pk})
        self.assertEqual(r.context["result"].alpha, None)  # α belongs to hybrid only
        # The advanced part stays open when it was used.
        self.assertContains(r, '<details class="advanced" open>')

    def test_more_like_this_by_item(self) -> None:
        r = self.get(item=self.quadratic.pk, mode="dense")
        # Every other item has a vector, so all of them come back, the other quadratic first.
        hits = self.hit_ids(r)
        self.assertEqual(set(hits), {self.quadratic2.pk, self.photo.pk, self.other.pk})
        self.assertEqual(hits[0], self.quadratic2.pk)
        self.assertEqual(r.context["query_item"], self.quadratic)
        for hit in r.context["result"].hits:
            self.assertContains(r, reverse("search:compare", args=[self.quadratic.pk, hit.item.pk]))
        self.assertContains(r, "More like this item:")

    def test_post_without_image_redirects_to_a_linkable_get(self) -> None:
        r = self.client.post(URL, {"text": "이차방정식", "mode": "bm25", "subject": "수학"})
        self.assertEqual(r.status_code, 303)
        location = r["Location"]
        self.assertTrue(location.startswith(URL + "?"))
        self.assertIn("mode=bm25", location)
        self.assertNotIn("image", location)
        r = self.client.get(location)
        self.assertEqual(set(self.hit_ids(r)), {self.quadratic.pk, self.quadratic2.pk})

    def test_htmx_swaps_the_results_and_pushes_the_address(self) -> None:
        r = self.client.post(URL, {"text": "광합성", "mode": "bm25"}, HTTP_HX_REQUEST="true")
        self.assertEqual(r.status_code, 200)
        self.assertTemplateUsed(r, "search/_results.html")
        self.assertTemplateNotUsed(r, "search/search.html")
        self.assertTrue(r["HX-Push-Url"].startswith(URL + "?"))
        self.assertContains(r, 'id="search-results"')
        r = self.client.get(URL, {"text": "광합성", "mode": "bm25"}, HTTP_HX_REQUEST="true")
        self.assertTemplateNotUsed(r, "search/search.html")

    # Image --------------------------------------------------------------------------------

    def test_image_search_by_multipart_post(self) -> None:
        figure = self.photo.images.get().file.read()
        upload = SimpleUploadedFile("query.png", figure, "image/png")
        with translation.override("en"):
            r = self.client.post(URL, {"image": upload, "mode": "dense"})
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["error"], "")
        self.assertEqual(self.hit_ids(r)[0], self.photo.pk)
        self.assertTrue(r.context["query_image"])
        # An image search is not redirected (the image cannot go into an address).
        upload = SimpleUploadedFile("query.png", figure, "image/png")
        r = self.client.post(URL, {"image": upload, "mode": "dense"}, HTTP_HX_REQUEST="true")
        self.assertNotIn("HX-Push-Url", r)
        self.assertEqual(self.hit_ids(r)[0], self.photo.pk)

    # Bad input ------------------------------------------------------------------------------

    def assert_message(self, response, text: str) -> None:
        self.assertEqual(response.status_code, 200)
        self.assertIsNone(response.context["result"])
        self.assertContains(response, "The search could not run.")
        self.assertContains(response, text)

    def test_empty_query(self) -> None:
        with translation.override("en"):
            r = self.client.post(URL, {"text": "   ", "mode": "dense"})
        self.assert_message(r, "Type some text, add an image or start from an item")
        r = self.get(text="", mode="dense")  # nothing to search: just the form
        self.assertFalse(r.context["searched"])

    def test_ten_thousand_characters(self) -> None:
        long_text = "가" * 10_000
        r = self.get(text=long_text)
        self.assert_message(r, "The search text is 10000 characters long")
        with translation.override("en"):
            r = self.client.post(URL, {"text": long_text}, HTTP_ACCEPT_LANGUAGE="en")
        self.assert_message(r, "search with at most 2000 characters")

    def test_corrupt_and_oversized_images(self) -> None:
        for name, data, message in (
            ("broken.png", b"\x89PNG\r\n\x1a\nnot really", "is not a readable image"),
            ("empty.png", b"", "The submitted file is empty."),
            ("bomb.png", bomb_png(), "too large to decode safely"),
            ("page.html", b"<html></html>", "is not a readable image"),
        ):
            with self.subTest(name=name), translation.override("en"):
                upload = SimpleUploadedFile(name, data, "image/png")
                r = self.client.post(URL, {"image": upload}, HTTP_ACCEPT_LANGUAGE="en")
                self.assert_message(r, message)

    def test_k_and_alpha_out_of_range(self) -> None:
        for params, message in (
            ({"k": "0"}, "greater than or equal to 1"),
            ({"k": "-5"}, "greater than or equal to 1"),
            ({"k": "abc"}, "Enter a whole number."),
            ({"k": "100000"}, "less than or equal to 100"),
            ({"alpha": "1.5", "mode": "hybrid"}, "less than or equal to 1"),
            ({"mode": "magic"}, "Select a valid choice."),
            ({"subject": "천문학"}, "Select a valid choice."),
            ({"grade": "99"}, "less than or equal to 12"),
        ):
            with self.subTest(params=params):
                r = self.get(text="이차방정식", **params)
                self.assert_message(r, message)

    def test_engine_errors_are_shown_as_messages(self) -> None:
        # Keyword mode with only an image: the engine refuses with its own message.
        upload = SimpleUploadedFile("q.png", png_bytes("blue"), "image/png")
        with translation.override("en"):
            r = self.client.post(URL, {"image": upload, "mode": "bm25"}, HTTP_ACCEPT_LANGUAGE="en")
        self.assert_message(r, "Keyword search needs text")
        # An unknown query item.
        r = self.get(item="999999")
        self.assert_message(r, "There is no item with id 999999")
        # No vectors in the default space.
        pipeline_space = make_space("empty", dimensions=8, make_default=True)
        self.assertTrue(pipeline_space.is_default)
        r = self.get(text="이차방정식", mode="dense")
        self.assert_message(r, "has no vectors yet")

    def test_no_results_is_a_friendly_message(self) -> None:
        r = self.get(text="이차방정식", mode="bm25", subject="과학")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.context["result"].hits, [])
        self.assertContains(r, "No similar items were found.")

    def test_scores_read_per_mode(self) -> None:
        settings = SearchSettings.load()
        self.assertEqual(settings.mode, "dense")
        r = self.get(text="광합성", mode="bm25")
        score = re.search(r'class="score-value">([^<]+)<', r.content.decode()).group(1)
        self.assertRegex(score, r"^\d+\.\d\d$")
        r = self.get(text="광합성", mode="rrf")
        score = re.search(r'class="score-value">([^<]+)<', r.content.decode()).group(1)
        self.assertRegex(score, r"^0\.\d{4}$")
        r = self.get(text="광합성", mode="hybrid")
        score = re.search(r'class="score-value">([^<]+)<', r.content.decode()).group(1)
        self.assertRegex(score, r"^\d+%$")
