"""A teacher's walk through the authoring UI in a real browser (Debian's chromium).

Logs in, filters the list, reads an item with rendered LaTeX and its figure, writes a new item
with a figure while watching the live preview, and finds it in the list. Screenshots of each step
land in test-artifacts/screenshots/. The page may talk to the app's own server only.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from itembank.models import Item, Role
from tests.base import PASSWORD, make_item, make_user, png_bytes
from tests.browser.base import SCREENSHOTS, BrowserTestCase


@pytest.mark.browser
class AuthoringWalkTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.teacher = make_user("teacher", Role.TEACHER)
        self.figure_item = make_item(
            "MATH-2-000777",
            stem="그림을 보고 답하시오. $\\frac{3}{4}+\\frac{1}{4}$ 의 값은?",
            choices=["$\\frac{1}{2}$", "$1$", "$\\frac{3}{2}$", "$2$"],
            answer="2",
            images=[png_bytes("#3b82f6", size=(160, 100))],
            unit="분수",
        )
        make_item("MATH-2-000778", stem="그림 없는 수학 문항 $1+1$", unit="덧셈")
        make_item(
            "KOR-4-000001",
            subject="국어",
            stem="다음 글을 읽고 답하시오.",
            choices=[],
            item_type="short_answer",
            images=[png_bytes("green")],
        )
        self.xss_item = make_item(
            "XSS-1",
            subject="정보",
            stem="<script>alert(1)</script> $\\href{javascript:alert(1)}{x}$",
        )
        self.context = self.browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss())
        )

    def tearDown(self) -> None:
        self.context.close()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def assert_only_own_server(self) -> None:
        own = urlsplit(self.live_server_url).netloc
        foreign = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != own
        ]
        self.assertEqual(foreign, [])
        self.assertTrue(any("/static/vendor/katex/" in url for url in self.requests))

    def test_teacher_walk(self) -> None:
        page = self.page

        # Log in through the form.
        page.goto(f"{self.live_server_url}/items/")
        self.assertIn("/accounts/login/", page.url)
        page.fill("#id_username", "teacher")
        page.fill("#id_password", PASSWORD)
        self.shot("01-login")
        page.click("button[type=submit].btn-primary")
        page.wait_for_url("**/items/")
        page.wait_for_selector(".item-card-stem .katex")
        self.assertEqual(page.get_attribute("html", "lang"), "ko")
        self.shot("02-list")

        # Filter: mathematics with a figure (the list updates in place, the URL keeps the filter).
        page.select_option("#id_subject", "수학")
        page.wait_for_url("**subject=**")
        page.select_option("#id_has_image", "yes")
        page.wait_for_url("**has_image=yes**")
        page.wait_for_function(
            "() => document.querySelectorAll('#results .item-card').length === 1"
        )
        cards = page.locator("#results .item-card")
        self.assertIn("MATH-2-000777", cards.first.inner_text())
        page.wait_for_selector("#results .item-card-stem .katex")
        self.shot("03-filtered")

        # Open the item: rendered LaTeX, no raw $ left, the figure loaded.
        cards.first.locator("a").click()
        page.wait_for_url(f"**/items/{self.figure_item.pk}/")
        page.wait_for_selector("#item-stem .katex")
        self.assertNotIn("$", page.inner_text("#item-stem"))
        self.assertGreaterEqual(page.locator("#item-choices .katex").count(), 4)
        page.wait_for_function(
            "() => { const img = document.querySelector('.figure img');"
            " return img && img.complete && img.naturalWidth > 0; }"
        )
        self.assertEqual(page.eval_on_selector(".figure img", "img => img.naturalWidth"), 160)
        self.shot("04-detail")

        # Write a new item with a figure; the preview follows the typing.
        page.click(".mainnav a[href='/items/new/']")
        page.wait_for_url("**/items/new/")
        page.fill("#id_external_id", "MATH-3-BROWSER-1")
        page.select_option("#id_subject", "수학")
        page.select_option("#id_school_level", "초등")
        page.fill("#id_grade", "3")
        page.fill("#id_unit", "분수와 소수")
        page.fill("#id_stem", "다음 중 $\\frac{2}{5}$ 보다 큰 수는? $$\\sqrt{x^2+1}$$")
        page.wait_for_selector("#preview-stem .katex")
        page.wait_for_selector("#preview-stem .katex-display")
        self.assertNotIn("$", page.inner_text("#preview-stem"))
        choices = page.locator("#choice-list input[name=choices]")
        for index, text in enumerate(["$0.1$", "$0.3$", "$0.5$", "$\\frac{1}{5}$"]):
            choices.nth(index).fill(text)
        page.click("#add-choice")
        self.assertEqual(page.locator("#choice-list .choice-row").count(), 6)
        page.locator("#choice-list .choice-row").last.locator("[data-remove-choice]").click()
        self.assertEqual(page.locator("#choice-list .choice-no").nth(4).inner_text(), "⑤")
        page.fill("#id_answer", "3")
        page.fill("#id_explanation", "$\\frac{2}{5}=0.4$ 이므로 $0.5$ 가 더 큽니다.")
        page.wait_for_function(
            "() => document.querySelectorAll('#preview-choices li .katex').length === 4"
        )
        page.wait_for_selector("#preview-explanation .katex")
        page.set_input_files(
            "input[name=new_images]",
            files=[
                {
                    "name": "수직선.png",
                    "mimeType": "image/png",
                    "buffer": png_bytes("#f59e0b", size=(120, 80)),
                }
            ],
        )
        page.wait_for_function(
            "() => { const img = document.querySelector('#preview-figures img');"
            " return img && img.complete && img.naturalWidth === 120; }"
        )
        self.shot("05-create")
        page.click("#save-item")
        page.wait_for_url("**/items/*/")
        item = Item.objects.get(external_id="MATH-3-BROWSER-1")
        self.assertIn(f"/items/{item.pk}/", page.url)
        self.assertEqual(item.choices, ["$0.1$", "$0.3$", "$0.5$", "$\\frac{1}{5}$"])
        self.assertEqual(item.image_count, 1)
        self.assertEqual(item.author, self.teacher)
        page.wait_for_selector(".message-success")
        page.wait_for_selector("#item-stem .katex-display")
        page.wait_for_function(
            "() => { const img = document.querySelector('.figure img');"
            " return img && img.complete && img.naturalWidth === 120; }"
        )
        self.assertIn("teacher", page.inner_text("#history"))
        self.shot("06-saved")

        # It is in the list.
        page.click(".mainnav a[href='/items/']")
        page.wait_for_url("**/items/")
        self.assertIn("MATH-3-BROWSER-1", page.inner_text("#results"))
        self.shot("07-list-after")

        # Markup typed into an item stays text; \href with javascript: makes no link.
        page.goto(f"{self.live_server_url}/items/{self.xss_item.pk}/")
        page.wait_for_selector("#item-stem .katex, #item-stem .katex-error")
        self.assertIn("<script>alert(1)</script>", page.inner_text("#item-stem"))
        self.assertEqual(page.locator("a[href^='javascript']").count(), 0)
        self.assertEqual(self.dialogs, [])

        # Switch to English.
        page.click(".lang-switch button[value=en]")
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        self.assertIn("Log out", page.inner_text(".topbar"))
        self.shot("08-english")

        self.assert_only_own_server()
