"""The compare view `/search/compare/<a>/<b>/` and its diff logic (`search.compare`): changed
numbers, reordered and changed choices, identical / near-identical / different figures,
metadata, and unknown items answered with a page instead of an error."""

from __future__ import annotations

import io

from django.test import SimpleTestCase
from django.urls import reverse
from django.utils import translation
from PIL import Image, ImageDraw

from search.compare import compare_choices, compare_items, text_diff, tokenize
from tests.base import make_item, png_bytes
from tests.itembank.ui_base import UITestCase


def figure(shift: int = 0, fmt: str = "PNG", size: tuple[int, int] = (160, 120)) -> bytes:
    """A drawn graph; `shift` moves the line a little, JPEG re-encodes it."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle([10, 10, w - 10, h - 10], outline="black", width=3)
    draw.line([20, h - 20, w - 20 - shift, 20 + shift], fill="blue", width=4)
    draw.ellipse([w // 2 - 15, h // 2 - 15, w // 2 + 15, h // 2 + 15], fill="red")
    buf = io.BytesIO()
    img.save(buf, format=fmt, quality=80) if fmt == "JPEG" else img.save(buf, format=fmt)
    return buf.getvalue()


def other_figure() -> bytes:
    img = Image.new("RGB", (160, 120), "white")
    draw = ImageDraw.Draw(img)
    for x in range(0, 160, 20):
        draw.rectangle([x, 0, x + 9, 119], fill="green")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class TextDiffTestCase(SimpleTestCase):
    def test_tokens_keep_latex_commands_numbers_and_words(self) -> None:
        keys = [t.key for t in tokenize("다음 중 $\\frac{12}{5}+x^{2}$ 의 값은 1,200 이다")]
        self.assertEqual(
            keys,
            ["다음", "중", "$", "\\frac", "{", "12", "}", "5", "+", "x", "^", "2",
             "$", "의", "값은", "1200", "이다"],
        )  # fmt: skip

    def test_changed_number_is_marked_on_its_own(self) -> None:
        diff = text_diff(
            "다음 중 계산 결과가 가장 큰 것은? $37+25$", "다음 중 계산 결과가 가장 큰 것은? $38+25$"
        )
        self.assertEqual(diff.numbers, [("37", "38")])
        changed_left = [s for s in diff.left if s.op != "equal"]
        changed_right = [s for s in diff.right if s.op != "equal"]
        self.assertEqual([(s.text, s.number) for s in changed_left], [("37", True)])
        self.assertEqual([(s.text, s.number) for s in changed_right], [("38", True)])
        self.assertFalse(diff.identical)
        # Each side re-joins to its own text.
        self.assertEqual(
            "".join(s.text for s in diff.left), "다음 중 계산 결과가 가장 큰 것은? $37+25$"
        )

    def test_spacing_and_latex_spelling_are_not_changes(self) -> None:
        diff = text_diff("$x^{2}+1$ 의 값", "$x^2 + 1$  의 값")
        self.assertTrue(diff.identical)
        self.assertEqual(diff.numbers, [])
        self.assertTrue(text_diff("$\\left( a \\right)$", "$(a)$").identical)

    def test_words_inserted_and_deleted(self) -> None:
        diff = text_diff("광합성이 일어나는 곳은?", "식물의 광합성이 주로 일어나는 곳은?")
        self.assertEqual(
            [s.text.strip() for s in diff.right if s.op == "insert"], ["식물의", "주로"]
        )
        self.assertEqual([s for s in diff.left if s.op != "equal"], [])
        self.assertLess(diff.ratio, 1)


class ChoiceComparisonTestCase(SimpleTestCase):
    def test_reordered_choices_are_moved_not_changed(self) -> None:
        result = compare_choices(["$52$", "$62$", "$61$"], ["$62$", "$52$", "$61$"])
        statuses = [(r.status, r.left_index, r.right_index) for r in result.rows]
        self.assertEqual(statuses, [("moved", 0, 1), ("moved", 1, 0), ("same", 2, 2)])
        self.assertTrue(result.reordered)
        self.assertFalse(result.identical)
        self.assertEqual(result.rows[0].left_label, "①")
        self.assertEqual(result.rows[0].right_label, "②")

    def test_changed_added_and_removed_choices(self) -> None:
        result = compare_choices(
            ["$x = 2$", "$x = 3$", "모두 틀림"], ["$x = 2$", "$x = 4$", "$x = 5$", "$x=6$"]
        )
        rows = [(r.status, r.left_index, r.right_index) for r in result.rows]
        self.assertEqual(rows[:2], [("same", 0, 0), ("changed", 1, 1)])
        self.assertEqual(result.rows[1].diff.numbers, [("3", "4")])
        self.assertIn(("removed", 2, None), rows)
        self.assertEqual(sorted(r[2] for r in rows if r[0] == "added"), [2, 3])
        self.assertEqual(result.changed, 4)

    def test_identical_and_empty(self) -> None:
        self.assertTrue(compare_choices(["①", "②"], ["①", "②"]).identical)
        self.assertEqual(compare_choices([], []).rows, [])


class CompareViewTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.original = make_item(
            "MATH-2-000001",
            stem="다음 중 계산 결과가 가장 큰 것은? $37+25$",
            choices=["$52$", "$62$", "$61$", "$72$"],
            answer="2",
            images=[figure()],
            unit="덧셈과 뺄셈",
            difficulty="easy",
        )
        self.variant = make_item(
            "MATH-2-000002",
            stem="다음 중 계산 결과가 가장 큰 것은? $38+25$",
            choices=["$62$", "$52$", "$61$", "$72$"],
            answer="1",
            images=[figure()],
            unit="덧셈",
            difficulty="easy",
        )
        self.login(self.teacher)

    def url(self, a, b) -> str:
        return reverse("search:compare", args=[a.pk if hasattr(a, "pk") else a,
                                               b.pk if hasattr(b, "pk") else b])  # fmt: skip

    def get(self, a, b):
        with translation.override("en"):
            return self.client.get(self.url(a, b), HTTP_ACCEPT_LANGUAGE="en")

    def test_anonymous_is_sent_to_login(self) -> None:
        self.client.logout()
        url = self.url(self.original, self.variant)
        r = self.client.get(url)
        self.assertRedirects(r, f"{reverse('login')}?next={url}", fetch_redirect_response=False)

    def test_every_role_may_compare(self) -> None:
        for user in (self.teacher, self.reviewer, self.admin):
            self.login(user)
            self.assertEqual(self.get(self.original, self.variant).status_code, 200)

    def test_numbers_choices_answer_figures_and_details(self) -> None:
        r = self.get(self.original, self.variant)
        self.assertEqual(r.status_code, 200)
        c = r.context["c"]
        self.assertEqual(c.stem.numbers, [("37", "38")])
        self.assertContains(r, 'class="d-replace d-number">37<')
        self.assertContains(r, 'class="d-replace d-number">38<')
        self.assertContains(r, 'id="number-changes"')
        # Choices ① and ② swapped; the answers (② then ①) both point to "$62$".
        self.assertTrue(c.choices.reordered)
        self.assertTrue(c.same_answer)
        self.assertContains(r, "Moved ① → ②")
        self.assertContains(r, "The same choices in a different order.")
        self.assertContains(r, "The answers point to the same content.")
        # The same figure file.
        self.assertEqual([row.status for row in c.images], ["identical"])
        self.assertContains(r, "The figures are identical.")
        # Unit differs, difficulty does not.
        differing = {row.label: (row.left, row.right) for row in c.metadata if not row.same}
        self.assertEqual(differing, {"unit": ("덧셈과 뺄셈", "덧셈")})
        self.assertContains(r, 'class="meta-differs"')
        # Both texts are drawn for KaTeX as well as the token diff.
        self.assertContains(
            r, 'id="left-stem" data-math>다음 중 계산 결과가 가장 큰 것은? $37+25$<'
        )
        self.assertContains(
            r, 'id="right-stem" data-math>다음 중 계산 결과가 가장 큰 것은? $38+25$<'
        )
        self.assertContains(r, reverse("search:compare", args=[self.variant.pk, self.original.pk]))

    def test_near_identical_and_different_figures(self) -> None:
        near = make_item("MATH-2-000003", images=[figure(shift=2, fmt="JPEG")])
        other = make_item("MATH-2-000004", images=[other_figure(), png_bytes("blue")])
        c = compare_items(self.original, near)
        self.assertEqual(c.images[0].status, "near")
        self.assertLessEqual(c.images[0].distance, 8)
        self.assertNotEqual(c.images[0].left.sha256, c.images[0].right.sha256)
        c = compare_items(self.original, other)
        self.assertEqual([row.status for row in c.images], ["different", "only_right"])
        self.assertGreater(c.images[0].distance, 8)
        r = self.get(self.original, other)
        self.assertContains(r, "The figures differ.")
        self.assertContains(r, "Only on the right")

    def test_same_item_and_identical_text(self) -> None:
        r = self.get(self.original, self.original)
        self.assertEqual(r.status_code, 200)
        self.assertContains(r, "You are comparing an item with itself.")
        self.assertContains(r, "The question text is the same.")
        self.assertContains(r, "The choices are the same.")

    def test_changed_answer(self) -> None:
        wrong = make_item(
            "MATH-2-000005", answer="3", stem=self.original.stem, choices=self.original.choices
        )
        r = self.get(self.original, wrong)
        self.assertFalse(r.context["c"].same_answer)
        self.assertContains(r, "The answers are different.")

    def test_unknown_items_get_a_page_not_an_error(self) -> None:
        r = self.get(self.original, 999_999)
        self.assertEqual(r.status_code, 404)
        self.assertTemplateUsed(r, "search/compare_missing.html")
        self.assertContains(r, "There is no item with id 999999", status_code=404)
        r = self.get(999_998, 999_999)
        self.assertContains(r, "There are no items with ids 999998, 999999", status_code=404)
        r = self.client.get(f"/search/compare/{self.original.pk}/abc/")
        self.assertEqual(r.status_code, 404)

    def test_markup_in_items_stays_text(self) -> None:
        evil = make_item("XSS-1", stem="<script>alert(1)</script> $37+25$")
        r = self.get(self.original, evil)
        self.assertNotContains(r, "<script>alert(1)</script>")
        self.assertContains(r, "&lt;script&gt;alert(1)&lt;/script&gt;")
