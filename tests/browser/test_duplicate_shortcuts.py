"""The keyboard shortcuts of the duplicate group page (static/js/duplicate-review.js) in a real
browser (Debian's chromium): j/→ and k/← move between groups, v, e and Shift+D decide the current
pair, and keys typed into the note field (or with Ctrl held) decide nothing. `?`, Esc, n and d are
walked in test_duplicate_review.py."""

from __future__ import annotations

import pytest
from django.urls import reverse

from embeddings import pipeline
from itembank.models import Item, ItemStatus, Role, Subject
from search.duplicates import exact
from search.duplicates.models import DuplicateGroup, DuplicateScan, PairDecision
from search.duplicates.scan import run_scan
from tests.base import make_user
from tests.browser.base import BrowserTestCase
from tests.duplicates.base import THRESHOLD, WORDS, make_text_item, words
from tests.embeddings.hashing_backend import make_space

Kind = PairDecision.Kind


@pytest.mark.browser
class DuplicateShortcutsTestCase(BrowserTestCase):
    def setUp(self) -> None:
        make_user("admin", Role.ADMIN)
        space = make_space("hash64", 64, make_default=True)
        # Near-identical texts (similarity about 0.98): three 수학 items and two 과학 items.
        for subject, prefix, n in [("수학", "M", 3), ("과학", "S", 2)]:
            base = words(WORDS[subject])
            for i in range(n):
                make_text_item(f"{prefix}-{i}", f"{base} 끝{i}", subject=subject)
        result = pipeline.embed_items(space, list(Item.objects.values_list("pk", flat=True)))
        self.assertEqual(result.failed, 0, result.errors)
        scan = DuplicateScan.objects.create(
            space=space,
            settings={
                "thresholds": dict.fromkeys(Subject.values, THRESHOLD),
                "default_threshold": THRESHOLD,
                "neighbours": 10,
                "phash_distance": exact.PHASH_DISTANCE,
                "space": space.name,
            },
        )
        scan = run_scan(scan.pk)
        self.assertEqual(scan.status, DuplicateScan.Status.SUCCEEDED, scan.error)
        self.math = DuplicateGroup.objects.get(scan=scan, subject="수학")
        self.science = DuplicateGroup.objects.get(scan=scan, subject="과학")
        self.page = self.new_page()

    def path(self, group: DuplicateGroup) -> str:
        return reverse("duplicate-group", args=[group.pk])

    def press(self, key: str) -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.page.wait_for_load_state()

    def sides(self) -> tuple[int, int]:
        """The item ids of the current pair, left and right (from their decision buttons)."""
        keep_left = self.page.get_attribute('[data-shortcut="d"]', "value")
        keep_right = self.page.get_attribute('[data-shortcut="D"]', "value")
        return int(keep_left.split(":")[1]), int(keep_right.split(":")[1])

    def decision(self, a: int, b: int) -> PairDecision:
        return PairDecision.objects.get(item_a=min(a, b), item_b=max(a, b))

    def test_keys_move_between_groups_and_decide_pairs(self) -> None:
        page = self.page
        self.log_in(page, "admin", next_path=self.path(self.math))
        other = self.path(self.science)
        here = self.path(self.math)
        has_next = page.locator('[data-shortcut="j"]').count() == 1
        forward, back = ("j", "k") if has_next else ("k", "j")
        arrow_forward, arrow_back = (
            ("ArrowRight", "ArrowLeft") if has_next else ("ArrowLeft", "ArrowRight")
        )

        # Between the two groups, by letter and by arrow.
        self.press(forward)
        self.assertIn(other, page.url)
        self.press(back)
        self.assertIn(here, page.url)
        self.press(arrow_forward)
        self.assertIn(other, page.url)
        self.press(arrow_back)
        self.assertIn(here, page.url)

        # Typing a note, or a key with Ctrl held, decides nothing.
        page.fill("#decision-note", "")
        page.focus("#decision-note")
        page.keyboard.type("dDvenjk")
        self.assertEqual(page.input_value("#decision-note"), "dDvenjk")
        page.eval_on_selector("#decision-note", "el => el.blur()")
        page.keyboard.press("Control+v")
        page.wait_for_timeout(300)
        self.assertIn(here, page.url)
        self.assertFalse(PairDecision.objects.exists())

        # v, e and Shift+D decide the three pairs in turn; each moves on to the next open pair.
        first = self.sides()
        self.press("v")
        self.assertEqual(self.decision(*first).kind, Kind.VARIANT)
        self.assertEqual(self.decision(*first).note, "dDvenjk")  # the note went along
        second = self.sides()
        self.assertNotEqual(set(second), set(first))
        self.press("e")
        self.assertEqual(self.decision(*second).kind, Kind.ENEMY)
        left, right = self.sides()
        self.press("Shift+D")  # duplicate, keep the right one: the left one is retired
        third = self.decision(left, right)
        self.assertEqual(third.kind, Kind.DUPLICATE)
        self.assertEqual((third.keeper_id, third.retired_item_id), (right, left))
        self.assertEqual(Item.objects.get(pk=left).status, ItemStatus.RETIRED)
        self.assertNotEqual(Item.objects.get(pk=right).status, ItemStatus.RETIRED)
        self.assertEqual(PairDecision.objects.count(), 3)
