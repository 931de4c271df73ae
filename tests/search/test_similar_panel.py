"""The "similar items" panel of an item page: loaded after the page with htmx from
`/search/items/<pk>/similar/`, more-like-this hits with scores and compare links, and a message
(never an error) when the engine cannot answer."""

from __future__ import annotations

from unittest import mock

from django.urls import reverse
from django.utils import translation

from embeddings import pipeline
from search import keyword
from search.engine import SearchError
from search.views import SIMILAR_PANEL_K
from tests.base import make_item
from tests.embeddings.hashing_backend import make_space
from tests.itembank.ui_base import UITestCase


class SimilarPanelTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = [
            make_item(
                f"MATH-9-{i:06d}", stem=f"이차방정식 $x^2-{i + 3}x+{i + 2}=0$ 의 두 근의 합은?"
            )
            for i in range(12)
        ]
        self.item = self.items[0]
        self.url = reverse("search:similar", args=[self.item.pk])
        self.login(self.teacher)

    def embed(self) -> None:
        space = make_space("hash64", dimensions=64, make_default=True)
        pipeline.embed_items(space, [i.pk for i in self.items])

    def get(self, url: str | None = None):
        with translation.override("en"):
            return self.client.get(
                url or self.url, HTTP_ACCEPT_LANGUAGE="en", HTTP_HX_REQUEST="true"
            )

    def test_item_page_loads_the_panel_lazily(self) -> None:
        r = self.client.get(reverse("item-detail", args=[self.item.pk]))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, f'hx-get="{self.url}"')
        self.assertContains(r, 'hx-trigger="load"')
        self.assertContains(r, 'id="similar-items"')
        # The page itself runs no search: it works with no embedding space at all.
        self.assertIsNone(r.context.get("result"))

    def test_anonymous_is_sent_to_login(self) -> None:
        self.client.logout()
        r = self.client.get(self.url)
        self.assertRedirects(
            r, f"{reverse('login')}?next={self.url}", fetch_redirect_response=False
        )

    def test_every_role_sees_similar_items_with_scores_and_compare_links(self) -> None:
        self.embed()
        for user in (self.teacher, self.reviewer, self.admin):
            self.login(user)
            r = self.get()
            self.assertEqual(r.status_code, 200)
            self.assertTemplateUsed(r, "search/_similar_panel.html")
            hits = r.context["result"].hits
            self.assertEqual(len(hits), SIMILAR_PANEL_K)
            self.assertNotIn(self.item.pk, [h.item.pk for h in hits])
            for hit in hits:
                self.assertContains(r, reverse("search:compare", args=[self.item.pk, hit.item.pk]))
                self.assertContains(r, f"{round(100 * max(0, hit.score))}%")
            self.assertContains(r, f"/search/?item={self.item.pk}")
            self.assertContains(r, "data-math")

    def test_engine_error_is_a_message(self) -> None:
        # No embedding space yet: the engine's own message.
        r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertIsNone(r.context["result"])
        self.assertContains(r, 'id="similar-error"')
        # Anything unexpected: a calm message, still 200.
        self.embed()
        with mock.patch("search.views.similar_items", side_effect=RuntimeError("boom")):
            r = self.get()
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "Similar items cannot be shown right now.")
        self.assertNotContains(r, "boom")
        with mock.patch("search.views.similar_items", side_effect=SearchError("Nope.")):
            r = self.get()
        self.assertContains(r, "Nope.")

    def test_unknown_item(self) -> None:
        r = self.get(reverse("search:similar", args=[999_999]))
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "This item no longer exists.")

    def test_no_similar_items(self) -> None:
        lonely = make_item("SCI-1-000001", subject="과학", stem="광합성")
        space = make_space("hash64", dimensions=64, make_default=True)
        pipeline.embed_items(space, [lonely.pk])
        r = self.get(reverse("search:similar", args=[lonely.pk]))
        self.assertEqual(r.context["result"].hits, [])
        self.assertContains(r, "No similar items were found.")
