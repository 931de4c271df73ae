"""A teacher's walk through the search UI in a real browser (Debian's chromium), on the offline
default model (USE multilingual + perceptual hashes):

searches by Korean text, then by an image (file input, then pasted and dropped), opens the
compare view, sees the similar items of an item, and writes an item that duplicates one in the
bank: the warning comes before anything is saved, and "save anyway" records the relation.
Screenshots land in test-artifacts/screenshots/search-*.png.
"""

from __future__ import annotations

import base64
import io
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image, ImageDraw

from embeddings import pipeline, services
from itembank.models import Item, Role
from search import keyword
from search.duplicates.models import PairDecision
from tests.base import PASSWORD, make_item, make_user
from tests.browser.base import SCREENSHOTS, BrowserTestCase


def graph(color: str, slope: int) -> bytes:
    img = Image.new("RGB", (240, 160), "white")
    draw = ImageDraw.Draw(img)
    draw.line([20, 140, 220, 140], fill="black", width=2)
    draw.line([20, 140, 20, 10], fill="black", width=2)
    draw.line([20, 140, 220, 140 - slope], fill=color, width=5)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def bars() -> bytes:
    img = Image.new("RGB", (240, 160), "#fffbe6")
    draw = ImageDraw.Draw(img)
    for n, height in enumerate([40, 90, 60, 120]):
        draw.rectangle([30 + n * 50, 150 - height, 60 + n * 50, 150], fill="#ef4444")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.browser
class SearchWalkTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.teacher = make_user("teacher", Role.TEACHER)
        self.line_figure = graph("#2563eb", 100)
        self.quadratic = make_item(
            "MATH-9-000101",
            stem="이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오.",
            choices=["$1$", "$5$", "$6$", "$7$"],
            answer="2",
            school_level="중등",
            grade=3,
            unit="이차방정식",
        )
        self.quadratic_variant = make_item(
            "MATH-9-000102",
            stem="이차방정식 $x^2-7x+12=0$ 의 두 근의 합을 구하시오.",
            choices=["$7$", "$3$", "$4$", "$12$"],
            answer="1",
            school_level="중등",
            grade=3,
            unit="이차방정식",
        )
        self.line_item = make_item(
            "MATH-8-000201",
            stem="그래프에 나타난 일차함수의 기울기를 구하시오.",
            choices=["$1$", "$2$", "$\\frac{1}{2}$"],
            answer="3",
            images=[self.line_figure],
            unit="일차함수",
        )
        self.bar_item = make_item(
            "SCI-7-000301",
            subject="과학",
            stem="막대그래프에서 가장 많이 자란 식물은?",
            choices=["가", "나", "다", "라"],
            answer="4",
            images=[bars()],
            unit="식물의 생장",
        )
        make_item("KOR-3-000401", subject="국어", stem="다음 글의 중심 생각으로 알맞은 것은?")
        space = services.register_space("use-default", "default", make_default=True)
        pipeline.embed_items(space, list(Item.objects.values_list("pk", flat=True)))
        self.context = self.browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

    def tearDown(self) -> None:
        self.context.close()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"search-{name}.png"), full_page=True)

    def first_hit(self) -> str:
        return self.page.locator("#search-hits .hit-card").first.inner_text()

    def put_image(self, how: str, data: bytes) -> None:
        """Paste or drop an image the way a browser hands one over (a File in a DataTransfer)."""
        self.page.evaluate(
            """([how, b64]) => {
                const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const file = new File([bytes], "figure.png", { type: "image/png" });
                const transfer = new DataTransfer();
                transfer.items.add(file);
                if (how === "paste") {
                    document.dispatchEvent(new ClipboardEvent("paste", {
                        clipboardData: transfer, bubbles: true, cancelable: true }));
                } else {
                    document.getElementById("drop-zone").dispatchEvent(new DragEvent("drop", {
                        dataTransfer: transfer, bubbles: true, cancelable: true }));
                }
            }""",
            [how, base64.b64encode(data).decode()],
        )

    def test_teacher_search_walk(self) -> None:
        page = self.page
        own = urlsplit(self.live_server_url).netloc

        page.goto(f"{self.live_server_url}/accounts/login/?next=/search/")
        page.fill("#id_username", "teacher")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.wait_for_url("**/search/")
        self.assertEqual(page.get_attribute(".mainnav a[href='/search/']", "aria-current"), "page")

        # 1. Korean text: results swap in, the address keeps the query, LaTeX is drawn.
        page.fill("#id_text", "이차방정식 두 근의 합 $x^2-5x+6=0$")
        page.wait_for_selector("#query-preview .katex")
        page.click("#search-submit")
        page.wait_for_selector("#search-hits .hit-card")
        page.wait_for_url("**/search/?*text=*")
        self.assertIn("이차방정식 두 근의 합", unquote(page.url).replace("+", " "))
        self.assertIn("MATH-9-000101", self.first_hit())
        page.wait_for_selector("#search-hits .item-card-stem .katex")
        self.assertRegex(page.inner_text("#search-hits .score-value >> nth=0"), r"^\d+%$")
        title = page.get_attribute("#search-hits .hit-score >> nth=0", "title")
        self.assertRegex(title, r"\d\.\d{3}")  # the score's parts on hover
        self.shot("01-text")

        # 2. An image through the file input: the figure's item comes first.
        page.fill("#id_text", "")
        page.set_input_files(
            "#drop-zone input[type=file]",
            files=[{"name": "그래프.png", "mimeType": "image/png", "buffer": self.line_figure}],
        )
        page.wait_for_selector("#drop-preview:not([hidden])")
        page.click("#search-submit")
        page.wait_for_function(
            "() => document.querySelector('#search-hits .hit-card .ext-id')"
            " && document.querySelector('#search-hits .hit-card .ext-id').textContent"
            " === 'MATH-8-000201'"
        )
        page.wait_for_function(
            "() => { const img = document.querySelector('#search-hits .hit-card img.thumb');"
            " return img && img.complete && img.naturalWidth === 240; }"
        )
        self.shot("02-image")

        # Pasting and dropping put the image into the same input.
        page.click("#drop-clear")
        self.assertEqual(page.eval_on_selector("#id_image", "i => i.files.length"), 0)
        self.put_image("paste", bars())
        page.wait_for_selector("#drop-preview:not([hidden])")
        self.assertEqual(page.eval_on_selector("#id_image", "i => i.files[0].name"), "pasted.png")
        page.click("#search-submit")
        page.wait_for_function(
            "() => document.querySelector('#search-hits .hit-card .ext-id').textContent"
            " === 'SCI-7-000301'"
        )
        page.click("#drop-clear")
        self.put_image("drop", self.line_figure)
        page.wait_for_selector("#drop-preview:not([hidden])")
        page.click("#search-submit")
        page.wait_for_function(
            "() => document.querySelector('#search-hits .hit-card .ext-id').textContent"
            " === 'MATH-8-000201'"
        )

        # 3. More like this, then the compare view with the changed numbers marked.
        page.goto(f"{self.live_server_url}/search/?item={self.quadratic.pk}&mode=dense")
        page.wait_for_selector("#query-item")
        self.assertNotIn("MATH-9-000101", page.inner_text("#search-hits"))
        page.locator(
            f"#search-hits .hit-card[data-item-id='{self.quadratic_variant.pk}'] .compare-link"
        ).click()
        page.wait_for_url(f"**/search/compare/{self.quadratic.pk}/{self.quadratic_variant.pk}/")
        page.wait_for_selector("#left-stem .katex")
        page.wait_for_selector("#right-stem .katex")
        self.assertEqual(page.locator("#left-stem-diff .d-number").all_inner_texts(), ["5", "6"])
        self.assertEqual(page.locator("#right-stem-diff .d-number").all_inner_texts(), ["7", "12"])
        self.assertIn("5 → 7", page.inner_text("#number-changes"))
        self.assertGreater(page.locator("#compare-choices .katex").count(), 4)
        self.shot("03-compare")

        # 4. The item page's similar items arrive after the page.
        page.goto(f"{self.live_server_url}/items/{self.quadratic.pk}/")
        page.wait_for_selector("#similar-items .similar-entry")
        page.wait_for_selector("#similar-items .similar-stem .katex")
        self.assertIn("MATH-9-000102", page.inner_text("#similar-items"))
        self.shot("04-similar-panel")

        # 5. Writing a copy of a bank item: warned before anything is saved.
        page.goto(f"{self.live_server_url}/items/new/")
        page.fill("#id_external_id", "MATH-9-COPY")
        page.select_option("#id_subject", "수학")
        page.fill("#id_stem", "이차방정식  $x^{2} - 5x + 6 = 0$의 두 근의 합을 구하시오")
        choices = page.locator("#choice-list input[name=choices]")
        for index, text in enumerate(["$5$", "$1$", "$6$", "$7$"]):
            choices.nth(index).fill(text)
        page.fill("#id_answer", "1")
        page.set_input_files(
            "input[name=new_images]",
            files=[{"name": "graph.png", "mimeType": "image/png", "buffer": self.line_figure}],
        )
        # The warning comes while writing, before anything is saved.
        page.wait_for_function(
            "() => { const box = document.querySelector('#dup-exact');"
            " return box && box.textContent.includes('MATH-9-000101')"
            " && box.textContent.includes('MATH-8-000201'); }"
        )
        self.assertFalse(Item.objects.filter(external_id="MATH-9-COPY").exists())
        exact = page.inner_text("#dup-exact")
        self.assertIn("MATH-9-000101", exact)  # the same text
        self.assertIn("MATH-8-000201", exact)  # the same figure
        page.wait_for_selector("#duplicate-warning .dup-stem .katex")
        # "Save" points to the warning instead of saving.
        page.click("#save-item")
        page.wait_for_timeout(500)
        self.assertIn("/items/new/", page.url)
        self.assertFalse(Item.objects.filter(external_id="MATH-9-COPY").exists())
        self.shot("05-duplicate-warning")

        # The warning follows the writing: new text leaves only the same figure, and back again.
        page.fill("#id_stem", "완전히 새로운 문제: 원의 넓이를 구하시오.")
        page.wait_for_function(
            "() => { const box = document.querySelector('#dup-exact');"
            " return box && !box.textContent.includes('MATH-9-000101'); }"
        )
        self.assertIn("MATH-8-000201", page.inner_text("#dup-exact"))
        page.fill("#id_stem", "이차방정식  $x^{2} - 5x + 6 = 0$의 두 근의 합을 구하시오")
        page.wait_for_function(
            "() => { const box = document.querySelector('#dup-exact');"
            " return box && box.textContent.includes('MATH-9-000101'); }"
        )

        # Save anyway, recording "variant of" the first one and "not a duplicate" of the other.
        page.select_option(f"select[name=relation_{self.quadratic.pk}]", "variant")
        page.select_option(f"select[name=relation_{self.line_item.pk}]", "not_duplicate")
        page.click("#save-anyway")
        page.wait_for_url("**/items/*/")
        item = Item.objects.get(external_id="MATH-9-COPY")
        self.assertEqual(item.image_count, 1)  # the chosen file survived the check
        kinds = {
            (d.item_a_id, d.item_b_id): d.kind
            for d in PairDecision.objects.filter(decided_by=self.teacher)
        }
        self.assertEqual(
            kinds,
            {
                tuple(sorted((item.pk, self.quadratic.pk))): "variant",
                tuple(sorted((item.pk, self.line_item.pk))): "not_duplicate",
            },
        )
        page.wait_for_selector(".message-success")
        self.shot("06-saved-anyway")

        foreign = [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob") and urlsplit(url).netloc != own
        ]
        self.assertEqual(foreign, [])
