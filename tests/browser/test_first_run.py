"""A new user's first visit, in a real browser (Debian's chromium), on the database the first
`./dev run` leaves (tests/first_run.py: the demo bank, the default space, `prepare_demo`).

Each role signs in through the login form and finds work or results on its first page: the
teacher the bank's items, the reviewer a campaign to start, the admin evaluation runs and the
operations figures. Each role then walks its main pages in Korean and in English at 1366×900,
screenshots in test-artifacts/screenshots/first-run-<page>-<ko|en>.png, and the visible text of
every Korean page is scanned for English message ids of our catalogue that have a Korean
translation: one found there was not marked for translation, or was rendered outside the user's
language.

The three tests share one set-up (the demo takes a while to prepare): the database is flushed
once, when the class is done, not after each test.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

from itembank.models import Item
from search import keyword
from search.evaluation.models import EvaluationRun, GroundTruthPair
from search.review.models import Campaign
from tests.browser.base import SCREENSHOTS, BrowserTestCase
from tests.first_run import DEMO_SIZE, prepare_first_run

LANGUAGES = {"ko": "ko-KR", "en": "en-US"}
VIEWPORT = {"width": 1366, "height": 900}
CATALOGUES = [
    Path(settings.BASE_DIR) / "locale" / "ko" / "LC_MESSAGES" / f"{domain}.po"
    for domain in ("django", "djangojs")
]
# What a msgid says around its placeholders and markup: "%(count)s", "{{ x }}", "%s", "<a …>".
NOT_TEXT = re.compile(r"%\(\w+\)[-+ #0-9.]*[a-z]|%[-+ #0-9.]*[sdfi]|%%|\{\{.*?\}\}|\{\w*\}|<[^>]+>")


@cache
def translated_phrases() -> frozenset[str]:
    """The English phrases (two words or more) of every msgid with a Korean translation."""
    phrases: set[str] = set()
    for path in CATALOGUES:
        if not path.exists():
            continue
        for entry in polib.pofile(str(path)):
            if entry.obsolete or "fuzzy" in entry.flags or not entry.translated():
                continue
            korean = entry.msgstr or next(iter(entry.msgstr_plural.values()), "")
            for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
                if msgid == korean:
                    continue
                for piece in NOT_TEXT.split(msgid):
                    piece = " ".join(piece.split()).strip(" .,:;·()")
                    if len(piece.split()) >= 2 and re.search("[A-Za-z]{2}", piece):
                        phrases.add(piece)
    return frozenset(phrases)


# The page's visible text, less the items' own text (stems, choices, passages: [data-math]),
# which may be English (the demo bank has English items) and is no message of ours.
PAGE_TEXT = """() => {
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (parent.closest("[data-math], script, style, template")) continue;
    if (parent.checkVisibility()) parts.push(walker.currentNode.textContent);
  }
  return parts.join(" ");
}"""


def untranslated(text: str) -> list[str]:
    text = " ".join(text.split())
    return sorted(phrase for phrase in translated_phrases() if phrase in text)


@pytest.mark.browser
class FirstRunTestCase(BrowserTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        cls.addClassCleanup(keyword.reset_index)
        # What TransactionTestCase does after each test, once for the class (see the docstring);
        # a cleanup, so that it runs even when the set-up fails half-way.
        cls.addClassCleanup(call_command, "flush", verbosity=0, interactive=False)
        prepare_first_run(cls)
        pair = GroundTruthPair.objects.filter(gt_set__name="planted").order_by("pk").first()
        assert pair is not None
        cls.compare = (pair.query_id, pair.relevant_id)
        cls.item = Item.objects.order_by("external_id").first()
        cls.campaign = Campaign.objects.get()
        cls.evaluation_run = EvaluationRun.objects.filter(mode="hybrid").get()

    def _fixture_teardown(self) -> None:
        """Keep the class's database for its next test; a class cleanup flushes it."""

    def setUp(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.english_seen = 0  # phrases found on the English pages: the scan sees them

    def browse(self, username: str, language: str, first_page: str):
        context = self.browser.new_context(locale=LANGUAGES[language], viewport=VIEWPORT)
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(30_000)
        self.log_in(page, username, first_page)
        self.assertEqual(page.locator("html").get_attribute("lang"), language)
        return page

    def visit(self, page, language: str, name: str, path: str | None, status: int = 200) -> None:
        """Open `path` (None: the page already shown), screenshot it, scan its Korean text."""
        if path is not None:
            response = page.goto(f"{self.live_server_url}{path}")
            self.assertEqual(response.status, status, f"{name}: {path}")
        page.wait_for_load_state()  # figures, fonts and charts in the picture
        page.screenshot(path=str(SCREENSHOTS / f"first-run-{name}-{language}.png"), full_page=True)
        english = untranslated(page.evaluate(PAGE_TEXT))
        if language == "ko" and english:
            self.found[name] = english
        elif language == "en":
            self.english_seen += len(english)

    def assert_all_korean(self) -> None:
        self.assertGreater(self.english_seen, 0, "the scan finds no msgid on the English pages")
        self.assertEqual(self.found, {}, "English message ids on Korean pages")

    def test_teacher_finds_the_bank_and_every_page_in_korean(self) -> None:
        a, b = self.compare
        for language in LANGUAGES:
            page = self.browse("teacher", language, "/items/")
            self.assertGreater(page.locator(".item-card").count(), 10)
            self.assertIn(str(DEMO_SIZE), page.locator(".results-count").inner_text())
            self.visit(page, language, "items", None)
            self.visit(page, language, "item-detail", f"/items/{self.item.pk}/")
            query = urlencode({"text": self.item.stem[:40]})
            self.visit(page, language, "search", f"/search/?{query}")
            self.assertGreater(page.locator("#search-hits li").count(), 0)
            self.visit(page, language, "compare", f"/search/compare/{a}/{b}/")
            self.visit(page, language, "item-new", "/items/new/")
            self.visit(page, language, "403", "/ops/", status=403)
            self.visit(page, language, "404", "/items/99999999/", status=404)
        self.assert_all_korean()

    def test_reviewer_finds_a_campaign_to_start_and_every_page_in_korean(self) -> None:
        start = {"ko": "시작", "en": "Start"}
        for language in LANGUAGES:
            page = self.browse("reviewer", language, "/review/")
            button = page.locator("#campaigns a.btn-primary")
            self.assertEqual(button.count(), 1)
            self.assertEqual(button.inner_text().strip(), start[language])
            self.visit(page, language, "review-list", None)
            button.click()
            page.wait_for_url(f"**/review/{self.campaign.pk}/")
            if page.locator("#start-review").count():  # the guidelines first, then the pair
                with page.expect_navigation():
                    page.locator("#start-review").click()
            self.visit(page, language, "review-pair", None)
            self.visit(page, language, "duplicates", "/duplicates/")
        self.assert_all_korean()

    def test_admin_finds_results_and_every_page_in_korean(self) -> None:
        for language in LANGUAGES:
            page = self.browse("admin", language, "/evaluation/")
            runs = page.locator("#runs-table tbody tr")
            self.assertGreaterEqual(runs.count(), 4)  # one run per search mode
            self.assertIn(f"/evaluation/runs/{self.evaluation_run.pk}/", page.content())
            self.visit(page, language, "evaluation", None)
            run_page = f"/evaluation/runs/{self.evaluation_run.pk}/"
            self.visit(page, language, "evaluation-run", run_page)
            self.visit(page, language, "ops", "/ops/")
            self.assertEqual(page.locator("#ops-items strong").first.inner_text(), str(DEMO_SIZE))
            self.visit(page, language, "import", "/manage/import/")
            self.visit(page, language, "campaign-new", "/review/new/")
            self.visit(page, language, "admin-index", "/admin/")
        self.assert_all_korean()
