"""The item list's text filters apply as they are typed (the page says the list updates by
itself): 검색어 and 학년 refresh the results after a short pause, without Enter or leaving the
field, and one pause is one request, not one per key."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from itembank.models import Role
from tests.base import make_item, make_user
from tests.browser.base import BrowserTestCase


@pytest.mark.browser
class ItemFiltersAsTypedTestCase(BrowserTestCase):
    def setUp(self) -> None:
        self.teacher = make_user("teacher", Role.TEACHER)
        make_item("MATH-9-000001", stem="이차방정식의 두 근의 합을 구하시오.", grade=9,
                  school_level="중등")  # fmt: skip
        make_item("MATH-9-000002", stem="일차함수의 기울기를 구하시오.", grade=9,
                  school_level="중등")  # fmt: skip
        make_item("MATH-3-000001", stem="이차방정식이 아닌 덧셈 문제", grade=3)

    def shown(self, page) -> list[str]:
        return sorted(page.locator("#results .item-card .ext-id").all_inner_texts())

    def test_search_text_and_grade_apply_while_typing(self) -> None:
        page = self.new_page()
        self.log_in(page, "teacher")
        self.assertEqual(len(self.shown(page)), 3)
        requests: list[str] = []
        page.on(
            "request",
            lambda r: requests.append(r.url) if r.headers.get("hx-request") else None,
        )
        page.locator("#id_q").press_sequentially("이차방정식", delay=40)
        expect(page.locator("#results .item-card")).to_have_count(2, timeout=5000)
        self.assertEqual(self.shown(page), ["MATH-3-000001", "MATH-9-000001"])
        # Still typing in the field: no Enter, no blur.
        expect(page.locator("#id_q")).to_be_focused()
        self.assertEqual(len(requests), 1, requests)  # debounced: one request for the word
        self.assertIn("q=", page.url)

        page.locator("#id_grade").press_sequentially("9", delay=40)
        expect(page.locator("#results .item-card")).to_have_count(1, timeout=5000)
        self.assertEqual(self.shown(page), ["MATH-9-000001"])
        expect(page.locator("#id_grade")).to_be_focused()
        self.assertIn("grade=9", page.url)
