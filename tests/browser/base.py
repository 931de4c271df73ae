"""What every real-browser test shares: Debian's chromium driven by Playwright's sync API
against a live server, a private media folder, and a folder for screenshots."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.test import override_settings

from tests.base import PASSWORD

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# Never a downloaded browser build: Debian's chromium, with its background traffic off (the
# machines have no internet, and the tests check that pages call no other host).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class BrowserTestCase(StaticLiveServerTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        from playwright.sync_api import sync_playwright

        cls.media_root = tempfile.mkdtemp(prefix="itembank-browser-media-")
        cls.media_override = override_settings(MEDIA_ROOT=cls.media_root)
        cls.media_override.enable()
        super().setUpClass()
        cls.playwright = sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )

    @classmethod
    def tearDownClass(cls) -> None:
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()
        cls.media_override.disable()
        shutil.rmtree(cls.media_root, ignore_errors=True)

    def new_page(self, *, timeout_ms: int = 20_000):
        """A page in a fresh Korean browser context, closed after the test."""
        context = self.browser.new_context(locale="ko-KR", viewport={"width": 1360, "height": 1000})
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        return page

    def log_in(self, page, username: str, next_path: str = "/items/") -> None:
        """Sign in through the login form and wait for `next_path`."""
        page.goto(f"{self.live_server_url}/accounts/login/?next={next_path}")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url(f"**{next_path}")
