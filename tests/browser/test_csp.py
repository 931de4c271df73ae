"""The Content-Security-Policy in a real browser (Debian's chromium): the pages a teacher and an
administrator use (login, an item with LaTeX and its htmx-loaded similar items, the item form's
live preview, the search page with an htmx search, the API docs, the admin) work under it. No
`securitypolicyviolation` event fires, the console reports no refusal, KaTeX draws the math and
no request leaves the site."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from embeddings import pipeline
from itembank.models import Item, Role
from search import keyword
from tests.base import PASSWORD, make_item, make_user, png_bytes
from tests.browser.base import SCREENSHOTS, BrowserTestCase
from tests.embeddings.hashing_backend import make_space

# Collects every CSP violation of the page (set before any page script runs).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


@pytest.mark.browser
class ContentSecurityPolicyTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        make_user("teacher", Role.TEACHER)
        make_user("admin", Role.ADMIN)
        self.item = make_item(
            "CSP-1",
            stem="이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오. $$\\frac{b}{a}$$",
            choices=["$1$", "$5$", "$\\sqrt{6}$", "$7$"],
            answer="2",
            images=[png_bytes("blue")],
        )
        make_item("CSP-2", stem="이차방정식 $x^2-7x+12=0$ 의 두 근의 합을 구하시오.")
        space = make_space("csp-hash", 64, make_default=True)
        pipeline.embed_items(space, list(Item.objects.values_list("pk", flat=True)))

    def open_as(self, username: str):
        context = self.browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
        self.addCleanup(context.close)
        context.add_init_script(LISTEN)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.console = []
        page.requests = []
        page.on(
            "console",
            lambda msg: (
                page.console.append(msg.text)
                if "Content Security Policy" in msg.text or "Refused to" in msg.text
                else None
            ),
        )
        page.on("request", lambda request: page.requests.append(request.url))
        response = page.goto(f"{self.live_server_url}/accounts/login/")
        self.assertIn("script-src 'self'", response.headers["content-security-policy"])
        self.assert_clean(page, "login")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url("**/items/")
        return page

    def assert_clean(self, page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__csp") + page.console
        if violations:
            page.screenshot(path=str(SCREENSHOTS / f"csp-{name}.png"), full_page=True)
        self.assertEqual(violations, [], name)
        own = urlsplit(self.live_server_url).netloc
        elsewhere = [
            url
            for url in page.requests
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != own
        ]
        self.assertEqual(elsewhere, [], name)

    def test_teacher_pages_work_under_the_policy(self) -> None:
        page = self.open_as("teacher")
        self.assert_clean(page, "item-list")

        # An item with inline and display LaTeX; its similar items come in by htmx.
        page.goto(f"{self.live_server_url}/items/{self.item.pk}/")
        page.wait_for_selector(".katex")
        page.wait_for_selector(".katex-display")
        page.wait_for_selector("#similar-items .similar-entry")
        page.wait_for_function("() => document.querySelector('img').complete")
        self.assertGreater(page.locator(".katex").count(), 3)
        self.assert_clean(page, "item")

        # The item form's live preview draws LaTeX as it is typed.
        page.goto(f"{self.live_server_url}/items/new/")
        page.fill("#id_stem", "분수 $\\frac{3}{4}$ 의 값은?")
        page.wait_for_selector("#preview-stem .katex")
        self.assert_clean(page, "item-form")

        # The search page: the query preview, then an htmx search whose hits hold LaTeX.
        page.goto(f"{self.live_server_url}/search/")
        page.fill("#id_text", "이차방정식 $x^2-5x+6=0$")
        page.wait_for_selector("#query-preview .katex")
        page.click("#search-submit")
        page.wait_for_selector("#search-hits .hit-card")
        page.wait_for_selector("#search-hits .katex")
        self.assert_clean(page, "search")

    def test_api_docs_and_admin_work_under_the_policy(self) -> None:
        page = self.open_as("admin")

        page.goto(f"{self.live_server_url}/api/docs/")
        page.wait_for_selector(".swagger-ui .information-container .title")
        self.assertIn("문항은행 API", page.inner_text(".swagger-ui .information-container .title"))
        page.wait_for_selector(".swagger-ui .opblock")
        self.assert_clean(page, "api-docs")

        for path in (
            "/admin/",
            "/admin/itembank/item/",
            f"/admin/itembank/item/{self.item.pk}/change/",
        ):
            page.goto(f"{self.live_server_url}{path}")
            page.wait_for_selector("#content")
            self.assert_clean(page, path)
