"""How the pages draw an item's LaTeX (static/js/math.js over KaTeX) in a real browser (Debian's
chromium): a broken formula stays as typed, in the error colour, and the rest still renders;
links and other trusted commands stay inert; sizes and macro expansion are bounded; Korean text
inside a formula draws without strict-mode warnings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from itembank.models import Role
from tests.base import make_item, make_user
from tests.browser.base import BrowserTestCase

ERROR_COLOUR = "rgb(192, 57, 43)"  # #c0392b, math.js errorColor


@pytest.mark.browser
class MathRenderingTestCase(BrowserTestCase):
    def setUp(self) -> None:
        make_user("teacher", Role.TEACHER)
        self.page = self.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))

    def open_item(self, stem: str) -> None:
        item = make_item("MATH-9-000900", stem=stem, choices=["$1$", "$2$"], answer="1")
        url = reverse("item-detail", args=[item.pk])
        self.log_in(self.page, "teacher", next_path=url)
        self.page.wait_for_function(
            "document.querySelector('#item-stem').dataset.mathRendered === '1'"
        )

    def formulas(self) -> list[dict]:
        """Each formula of the stem: rendered or an error, its text, colour and error title."""
        return self.page.eval_on_selector_all(
            "#item-stem .katex, #item-stem .katex-error",
            """els => els.map(el => ({
                error: el.classList.contains("katex-error"),
                text: el.textContent,
                title: el.title || "",
                color: getComputedStyle(el).color,
            }))""",
        )

    def test_a_broken_formula_stays_as_typed_and_the_rest_renders(self) -> None:
        self.open_item("맞는 식 $\\frac{1}{2}$ 틀린 식 $x^$ 다음 식 $x^2$")
        formulas = self.formulas()
        self.assertEqual([f["error"] for f in formulas], [False, True, False], formulas)
        broken = formulas[1]
        self.assertEqual(broken["text"], "x^")
        self.assertEqual(broken["color"], ERROR_COLOUR)
        self.assertIn("KaTeX parse error", broken["title"])
        self.assertEqual(self.page.locator("#item-stem .katex .mfrac").count(), 1)
        # The choices, rendered by the same script, are untouched by the stem's error.
        self.assertEqual(self.page.locator(".choices .katex").count(), 2)

    def test_links_and_trusted_commands_stay_inert(self) -> None:
        self.open_item(
            "$\\href{https://example.com/}{누르기}$ $\\url{https://example.com/}$"
            " $\\htmlId{injected}{x}$"
        )
        self.assertEqual(self.page.locator("#item-stem a").count(), 0)
        self.assertEqual(self.page.locator("#injected").count(), 0)
        # What is shown instead is the command itself, in the error colour.
        shown = self.page.locator("#item-stem .katex-html").all_inner_texts()
        self.assertEqual([text.strip() for text in shown], ["\\href", "\\url", "\\htmlId"])
        colours = self.page.eval_on_selector_all(
            "#item-stem .katex-html .mord.text", "els => els.map(el => getComputedStyle(el).color)"
        )
        self.assertEqual(set(colours), {ERROR_COLOUR})

    def test_sizes_are_capped(self) -> None:
        # \rule asks for a box 100em high; maxSize: 20 keeps it at 20em.
        self.open_item("$\\rule{1em}{100em}$")
        ems = self.page.eval_on_selector(
            "#item-stem .katex-rule",
            "el => el.getBoundingClientRect().height"
            " / parseFloat(getComputedStyle(el.closest('.katex')).fontSize)",
        )
        self.assertGreater(ems, 10)
        self.assertLessEqual(ems, 20.5)

    def test_macro_expansion_is_bounded(self) -> None:
        # 600 expansions of a one-letter macro pass KaTeX's default limit (1000), not ours (500).
        few = "\\a" * 100
        many = "\\a" * 600
        self.open_item(f"$\\def\\a{{x}}{few}$ 그리고 $\\def\\a{{x}}{many}$")
        formulas = self.formulas()
        self.assertEqual([f["error"] for f in formulas], [False, True], formulas)
        self.assertIn("Too many expansions", formulas[1]["title"])

    def test_korean_inside_a_formula_draws_without_warnings(self) -> None:
        self.open_item("$넓이 = 가로 \\times 세로$")
        formulas = self.formulas()
        self.assertEqual([f["error"] for f in formulas], [False], formulas)
        self.assertIn("가로", formulas[0]["text"])
        self.assertEqual([m for m in self.console if "strict" in m.lower()], [])
