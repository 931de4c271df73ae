"""The top bar at a laptop's 1366×900 in English (the longest labels), as an administrator
(the most links): the main menu and the right-hand controls fit on one row."""

from __future__ import annotations

import pytest

from itembank.models import Role
from tests.base import make_user
from tests.browser.base import SCREENSHOTS, BrowserTestCase


@pytest.mark.browser
class NavOneRowTestCase(BrowserTestCase):
    def test_admin_nav_is_one_row_in_english_at_1366(self) -> None:
        make_user("admin", Role.ADMIN)
        context = self.browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900})
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(20_000)
        self.log_in(page, "admin")
        self.assertEqual(page.locator("html").get_attribute("lang"), "en")
        links = page.locator(".mainnav a")
        self.assertEqual(links.count(), 8)  # every link an administrator has
        tops = {round(box["y"]) for box in (a.bounding_box() for a in links.all())}
        self.assertEqual(len(tops), 1, f"the menu wraps: link tops {sorted(tops)}")
        brand = page.locator(".brand").bounding_box()
        right = page.locator(".topbar-right").bounding_box()
        nav = page.locator(".mainnav").bounding_box()
        # One row: menu and right-hand controls side by side with the brand, none below it.
        for box in (nav, right):
            self.assertLess(box["y"], brand["y"] + brand["height"], box)
        self.assertLessEqual(nav["x"] + nav["width"], right["x"])
        labels = [a.inner_text() for a in links.all()]
        self.assertTrue(all("\n" not in label for label in labels), labels)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "nav-admin-en-1366.png"))
