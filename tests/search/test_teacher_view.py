"""No machinery in the teacher's view: the main pages a teacher meets (search results, an item
with its similar-items panel, the compare page) show human labels, never the codes behind
them — space names, mode codes, figure paths, hash bit counts. An admin may find the codes in
a tooltip (a `title` attribute)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from django.urls import reverse
from django.utils import translation

from embeddings import pipeline
from search import keyword
from tests.base import make_item
from tests.embeddings.hashing_backend import make_space
from tests.itembank.ui_base import UITestCase
from tests.search.test_compare import figure

CODES = ["hash256", "dense", "bm25", "hybrid", "rrf", "rerank", "figures/", "64", "비트", "{"]


class _Text(HTMLParser):
    """The text a reader sees: text outside <script>/<style>, plus every tooltip."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        self.parts.extend(value or "" for name, value in attrs if name in ("title", "alt"))

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


class TeacherViewTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.original = make_item("MATH-2-000001", images=[figure()])
        self.near = make_item(
            "MATH-2-000002",
            stem="다음 중 계산 결과가 가장 큰 것은? $38+25$",
            images=[figure(shift=2, fmt="JPEG")],
        )
        # An imported figure keeps the path it had in the import file.
        self.original.images.update(original_name="figures/graph-01.png")
        space = make_space("hash256", dimensions=256, make_default=True)
        pipeline.embed_items(space, [self.original.pk, self.near.pk])

    def pages(self) -> dict[str, str]:
        pages = {}
        with translation.override("ko"):
            for mode in ("dense", "hybrid", "bm25", "rrf"):
                r = self.client.get(
                    reverse("search:search"),
                    {"text": self.original.stem, "mode": mode, "alpha": "0.5"},
                    HTTP_ACCEPT_LANGUAGE="ko",
                )
                self.assertTrue(r.context["result"].hits, mode)
                pages[f"search {mode}"] = r.content.decode()
            for name, url in {
                "item": reverse("item-detail", args=[self.original.pk]),
                "similar": reverse("search:similar", args=[self.original.pk]),
                "compare": reverse("search:compare", args=[self.original.pk, self.near.pk]),
            }.items():
                r = self.client.get(url, HTTP_ACCEPT_LANGUAGE="ko")
                self.assertEqual(r.status_code, 200, name)
                pages[name] = r.content.decode()
        return pages

    def test_teacher_sees_no_codes(self) -> None:
        self.login(self.teacher)
        pages = self.pages()
        # The compare page did find the near-identical figure (so its hint had a chance to show).
        self.assertIn("img-near", pages["compare"])
        for name, html in pages.items():
            # Only the body: the page's own <head> holds settings for htmx, not text.
            body = html[html.find("<body") :] if "<body" in html else html
            text = visible_text(body)
            for code in CODES:
                self.assertIsNone(
                    re.search(rf"(?<![\w.]){re.escape(code)}", text), f"{code!r} on {name}: {text}"
                )

    def test_admin_finds_the_codes_in_tooltips(self) -> None:
        self.login(self.admin)
        pages = self.pages()
        self.assertIn('title="dense · hash256"', pages["search dense"])
        self.assertIn('title="figures/graph-01.png"', pages["item"])
        self.assertRegex(pages["compare"], r'title="\d+비트|title="\d+ of 64')
