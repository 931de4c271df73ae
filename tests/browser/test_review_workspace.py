"""The labelling page at 1366×768 (issue 14): on a pair with a long stem and a figure the label
buttons and Submit are in view without scrolling, the guidelines are open on the reviewer's
first pair and folded on the second, and what differs between the two items is marked. The
screenshot lands in test-artifacts/screenshots/review-workspace-1366x768.png."""

from __future__ import annotations

import pytest
from django.urls import reverse

from itembank.models import Role
from search.review import sampling
from tests.base import make_item, make_user, png_bytes
from tests.browser.base import SCREENSHOTS, BrowserTestCase

WIDTH, HEIGHT = 1366, 768
LONG_STEM = (
    "다음은 어느 학교 학생 40명의 일주일 동안의 독서 시간을 조사하여 나타낸 도수분포표이다. "
    "독서 시간이 $8$시간 이상인 학생 수가 전체의 $35\\%$ 일 때, 물음에 답하시오.\n\n"
    "(가) 독서 시간이 $4$시간 이상 $8$시간 미만인 계급의 도수를 $a$, "
    "$8$시간 이상 $12$시간 미만인 계급의 도수를 $b$ 라 하자.\n\n"
    "(나) 그림의 히스토그램에서 가장 높은 막대의 계급값은 $\\frac{a+b}{2}$ 보다 크다.\n\n"
    "위의 조건 (가), (나)를 모두 만족시킬 때, $a-b$ 의 값을 구하고 그 과정을 서술하시오. "
    "단, 각 계급의 도수는 자연수이고, 계급의 크기는 모두 같다."
)
CHOICES = ["$1$", "$2$", "$3$", "$\\frac{7}{2}$", "$5$"]


@pytest.mark.browser
class ReviewWorkspaceTestCase(BrowserTestCase):
    def setUp(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        admin = make_user("admin", Role.ADMIN)
        make_user("reviewer", Role.REVIEWER)
        figure = [png_bytes("#3b82f6", size=(480, 320))]
        items = [
            make_item("MATH-1-000001", stem=LONG_STEM, choices=CHOICES, images=figure),
            make_item(
                "MATH-1-000002",
                stem=LONG_STEM.replace("40명", "50명").replace("35", "40"),
                choices=CHOICES,
                images=[png_bytes("#ef4444", size=(480, 320))],
            ),
            make_item("MATH-1-000003", stem=LONG_STEM.replace("$a-b$", "$a+b$"), choices=CHOICES),
        ]
        samples = [
            sampling.Sample(items[0], items[1], "tp", 0.91, True, 1),
            sampling.Sample(items[0], items[2], "fp", 0.84, False, 2),
        ]
        self.campaign = sampling.create_campaign(
            "배치 확인",
            samples,
            user=admin,
            guidelines="숫자만 다른 문항은 '유사'로 표시합니다.\n\n그림이 다르면 메모를 남깁니다.",
        )

    def assert_in_view(self, page, selector: str) -> None:
        box = page.locator(selector).bounding_box()
        self.assertIsNotNone(box, selector)
        self.assertGreaterEqual(box["y"], 0, selector)
        self.assertLessEqual(box["y"] + box["height"], HEIGHT, f"{selector} is below the fold")
        self.assertLessEqual(box["x"] + box["width"], WIDTH, selector)

    def assert_form_in_view(self, page) -> None:
        self.assertEqual(page.evaluate("window.scrollY"), 0)
        # The pair is taller than the window: the form is in view because it sticks there.
        self.assertGreater(page.evaluate("document.documentElement.scrollHeight"), HEIGHT)
        for selector in ("#label-choices", "#submit-label", "#skip-pair"):
            self.assert_in_view(page, selector)
        for key in "123":
            self.assert_in_view(page, f"#label-choices input[data-key='{key}'] + kbd")

    def test_labels_and_submit_in_view_guidelines_on_the_first_pair(self) -> None:
        context = self.browser.new_context(
            locale="ko-KR", viewport={"width": WIDTH, "height": HEIGHT}
        )
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(20_000)
        queue = reverse("review-queue", args=[self.campaign.pk])
        self.log_in(page, "reviewer", queue)
        with page.expect_navigation():
            page.keyboard.press("Enter")  # "start reviewing" on the intro page
        page.wait_for_selector("#query-item .stem .katex")
        page.wait_for_selector("#query-item figure img")
        self.assert_form_in_view(page)
        self.assertTrue(page.locator("#guidelines").evaluate("el => el.open"))
        self.assertTrue(page.locator("#guidelines").get_by_text("숫자만 다른 문항").is_visible())
        # What differs, marked as on the compare page: 40 → 50 and 35 → 40, boxed.
        numbers = page.locator("#candidate-stem-diff .d-number").all_inner_texts()
        self.assertEqual(numbers[:2], ["50", "40"])
        page.screenshot(path=str(SCREENSHOTS / "review-workspace-1366x768.png"))
        page.locator("#pair-diff").scroll_into_view_if_needed()
        self.assert_in_view(page, "#submit-label")  # still there once the pair scrolls
        page.screenshot(path=str(SCREENSHOTS / "review-workspace-1366x768-diff.png"))
        page.evaluate("window.scrollTo(0, 0)")

        # The keyboard flow still works with the sticky form: label, grade, submit.
        page.keyboard.press("2")
        page.keyboard.press("g")
        page.keyboard.press("2")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.wait_for_selector("#query-item .stem .katex")
        self.assertIn("2", page.inner_text("h1"))
        self.assert_form_in_view(page)
        self.assertFalse(page.locator("#guidelines").evaluate("el => el.open"))
        page.screenshot(path=str(SCREENSHOTS / "review-workspace-1366x768-second.png"))
        # The draft count says what a draft is when pointed at or focused.
        page.focus("#draft-count")
        self.assertTrue(page.locator("#draft-help").is_visible())
        page.screenshot(path=str(SCREENSHOTS / "review-workspace-draft-help.png"))

    def test_phone_keeps_the_form_in_the_flow(self) -> None:
        context = self.browser.new_context(locale="ko-KR", viewport={"width": 390, "height": 844})
        self.addCleanup(context.close)
        page = context.new_page()
        page.set_default_timeout(20_000)
        queue = reverse("review-queue", args=[self.campaign.pk])
        self.log_in(page, "reviewer", f"{queue}?start=1")
        page.wait_for_selector("#query-item .stem .katex")
        # Not stuck over half the screen: below the pair, and nothing wider than the phone.
        self.assertEqual(
            page.locator("#label-form").evaluate("el => getComputedStyle(el).position"), "static"
        )
        self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), 390)
        page.screenshot(path=str(SCREENSHOTS / "review-workspace-390x844.png"), full_page=True)
