from django.urls import reverse

from itembank.views import PAGE_SIZE
from tests.base import make_item, png_bytes
from tests.itembank.ui_base import UITestCase

URL = reverse("item-list")


class ItemListTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.math = make_item("MATH-2-000001", images=[png_bytes()])
        self.korean = make_item(
            "KOR-3-000001",
            subject="국어",
            grade=3,
            unit="낱말의 뜻",
            stem="다음 글을 읽고 물음에 답하시오.",
            choices=[],
            item_type="short_answer",
            status="draft",
            school_level="중등",
        )

    def test_anonymous_is_sent_to_login(self) -> None:
        r = self.client.get(URL)
        self.assertRedirects(r, f"{reverse('login')}?next={URL}")

    def test_home_goes_to_list(self) -> None:
        self.login(self.teacher)
        self.assertRedirects(self.client.get("/"), URL)

    def test_every_role_reads_the_list(self) -> None:
        for user in (self.teacher, self.reviewer, self.admin):
            self.login(user)
            r = self.client.get(URL)
            self.assertContains(r, "MATH-2-000001")
            self.assertContains(r, "KOR-3-000001")

    def test_new_item_link_only_for_editors(self) -> None:
        create = reverse("item-create")
        self.login(self.reviewer)
        self.assertNotContains(self.client.get(URL), f'href="{create}"')
        self.login(self.teacher)
        self.assertContains(self.client.get(URL), f'href="{create}"')

    def test_admin_link_only_for_admins(self) -> None:
        self.login(self.teacher)
        self.assertNotContains(self.client.get(URL), 'href="/admin/"')
        self.login(self.admin)
        self.assertContains(self.client.get(URL), 'href="/admin/"')

    def test_each_filter(self) -> None:
        self.login(self.teacher)
        cases = {
            "subject=수학": "MATH-2-000001",
            "subject=국어": "KOR-3-000001",
            "grade=3": "KOR-3-000001",
            "unit=낱말": "KOR-3-000001",
            "item_type=multiple_choice": "MATH-2-000001",
            "item_type=short_answer": "KOR-3-000001",
            "has_image=yes": "MATH-2-000001",
            "has_image=no": "KOR-3-000001",
            "status=draft": "KOR-3-000001",
            "status=active": "MATH-2-000001",
            "school_level=초등": "MATH-2-000001",
            "q=물음": "KOR-3-000001",
        }
        for query, expected in cases.items():
            other = "KOR-3-000001" if expected == "MATH-2-000001" else "MATH-2-000001"
            with self.subTest(query=query):
                r = self.client.get(f"{URL}?{query}")
                self.assertEqual(r.status_code, 200)
                self.assertContains(r, expected)
                self.assertNotContains(r, other)

    def test_combined_filters_and_no_match(self) -> None:
        self.login(self.teacher)
        r = self.client.get(URL, {"subject": "수학", "has_image": "yes"})
        self.assertContains(r, "MATH-2-000001")
        r = self.client.get(URL, {"subject": "영어"})
        self.assertEqual(list(r.context["page"].object_list), [])
        self.assertTrue(r.context["filtered"])

    def test_bad_filter_values_show_errors_and_an_empty_list(self) -> None:
        self.login(self.teacher)
        for params in (
            {"subject": "물리"},
            {"grade": "abc"},
            {"grade": "13"},
            {"has_image": "maybe"},
            {"status": "deleted"},
            {"item_type": "<script>"},
        ):
            with self.subTest(params=params):
                r = self.client.get(URL, params)
                self.assertEqual(r.status_code, 200)
                self.assertTrue(r.context["form"].errors)
                self.assertEqual(list(r.context["page"].object_list), [])
                self.assertContains(r, 'class="error"')
                self.assertNotContains(r, "MATH-2-000001")

    def test_pagination(self) -> None:
        for i in range(PAGE_SIZE + 5):
            make_item(f"PAGE-{i:03d}", subject="영어", choices=[], stem=f"문항 {i}")
        self.login(self.teacher)
        r = self.client.get(URL, {"subject": "영어"})
        self.assertEqual(len(r.context["page"].object_list), PAGE_SIZE)
        self.assertEqual(r.context["page"].paginator.num_pages, 2)
        # Links to the next page keep the filter.
        self.assertContains(r, "?page=2&amp;subject=%EC%98%81%EC%96%B4")
        r = self.client.get(URL, {"subject": "영어", "page": 2})
        self.assertEqual(len(r.context["page"].object_list), 5)
        # Nonsense page numbers fall back to a real page rather than failing.
        for page in ("x", "999", "-1"):
            self.assertEqual(self.client.get(URL, {"page": page}).status_code, 200)

    def test_thumbnail_and_latex_markup(self) -> None:
        self.login(self.teacher)
        r = self.client.get(URL)
        image = self.math.images.get()
        self.assertContains(r, reverse("media", args=[image.file.name]))
        self.assertContains(r, "data-math>다음 중 계산 결과가 가장 큰 것은? $37+25$</p>")
        self.assertContains(r, "vendor/katex/katex.min.js")
        self.assertContains(r, "vendor/katex/contrib/auto-render.min.js")

    def test_long_stem_is_not_cut_inside_a_formula(self) -> None:
        stem = "가" * 150 + " $\\frac{123456789}{987654321}$ " + "나" * 100
        make_item("LONG-1", stem=stem)
        self.login(self.teacher)
        r = self.client.get(URL, {"q": "LONG-1"})
        self.assertContains(r, "$\\frac{123456789}{987654321}$ …")

    def test_stem_is_escaped(self) -> None:
        make_item("XSS-1", stem="<script>alert(1)</script> $\\href{javascript:alert(1)}{x}$")
        self.login(self.teacher)
        r = self.client.get(URL)
        self.assertNotContains(r, "<script>alert(1)</script>")
        self.assertContains(r, "&lt;script&gt;alert(1)&lt;/script&gt;")

    def test_htmx_request_gets_only_the_results(self) -> None:
        self.login(self.teacher)
        r = self.client.get(URL, {"subject": "국어"}, headers={"HX-Request": "true"})
        self.assertTemplateUsed(r, "itembank/_item_results.html")
        self.assertTemplateNotUsed(r, "itembank/item_list.html")
        self.assertContains(r, "KOR-3-000001")
        self.assertNotContains(r, "<html")

    def test_language_switch_to_english(self) -> None:
        self.login(self.teacher)
        r = self.client.get(URL)
        self.assertContains(r, '<html lang="ko">')
        r = self.client.post(reverse("set_language"), {"language": "en", "next": URL})
        self.assertRedirects(r, URL)
        r = self.client.get(URL)
        self.assertContains(r, '<html lang="en">')
        self.assertContains(r, "Log out")
        self.assertContains(r, "Clear filters")
