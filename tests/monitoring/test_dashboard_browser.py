"""The operations dashboard in a real browser (Debian's chromium): it renders under the
Content-Security-Policy without console errors, and its body refreshes itself after 30 s
(htmx, no inline script). Screenshot: test-artifacts/screenshots/ops-dashboard.png."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from embeddings import pipeline
from itembank.models import Role
from tests.base import make_item, make_user
from tests.browser.base import SCREENSHOTS, BrowserTestCase
from tests.embeddings.hashing_backend import make_space, register
from tests.monitoring.base import add_timings


@pytest.mark.browser
class DashboardBrowserTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        cache.clear()
        self.addCleanup(cache.clear)
        register()
        make_user("admin", Role.ADMIN)
        space = make_space(label="해시 16")
        items = [make_item(f"MATH-{i}", stem=f"수학 문항 {i}") for i in range(3)]
        pipeline.embed_items(space, [items[0].pk, items[1].pk])
        add_timings([10 * i for i in range(1, 21)], mode="hybrid")

    def test_renders_and_refreshes(self) -> None:
        page = self.new_page()
        errors: list[str] = []

        def console(msg) -> None:
            # The browser's own favicon request 404s on every page; it is not this page's.
            if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
                errors.append(f"{msg.text} ({msg.location.get('url')})")

        page.on("console", console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.clock.install()
        self.log_in(page, "admin", "/ops/")
        self.assertIn("운영 현황", page.locator("h1").inner_text())
        self.assertIn("190.5", page.locator("#ops-latency-1h").inner_text())
        page.screenshot(path=str(SCREENSHOTS / "ops-dashboard.png"), full_page=True)

        add_timings([1000])  # the next refresh shows 21 searches in the last hour
        with page.expect_response(
            lambda r: r.url.endswith("/ops/") and r.request.headers.get("hx-request") == "true"
        ):
            page.clock.run_for(31_000)
        page.wait_for_function(
            "document.querySelector('#ops-latency-1h .ops-latency-all').innerText.includes('21')"
        )
        self.assertEqual(page.locator("#ops-body").count(), 1)
        self.assertEqual(errors, [])
