from django.urls import reverse

from itembank.services import ImageChanges, save_item
from tests.base import make_item, png_bytes
from tests.itembank.ui_base import UITestCase


class ItemDetailTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item(
            "MATH-2-000123",
            images=[png_bytes("red"), png_bytes("blue")],
            user=self.teacher,
            explanation="$62+11=73$ 이므로 답은 ④",
            tags=["덧셈", "두 자리 수"],
            achievement_standard="[2수01-05]",
        )
        self.url = reverse("item-detail", args=[self.item.pk])

    def test_anonymous_is_sent_to_login(self) -> None:
        r = self.client.get(self.url)
        self.assertRedirects(r, f"{reverse('login')}?next={self.url}")

    def test_missing_item_is_404(self) -> None:
        self.login(self.teacher)
        self.assertEqual(self.client.get(reverse("item-detail", args=[999999])).status_code, 404)

    def test_shows_fields_choices_and_answer(self) -> None:
        self.login(self.reviewer)
        r = self.client.get(self.url)
        self.assertContains(r, "MATH-2-000123")
        self.assertContains(r, "data-math>다음 중 계산 결과가 가장 큰 것은? $37+25$</div>")
        for label, choice in zip("①②③④⑤", ["$52$", "$62$", "$61$", "$72$", "$63$"], strict=True):
            self.assertContains(
                r, f'<span class="choice-no">{label}</span> <span data-math>{choice}'
            )
        self.assertContains(r, '<p class="answer" data-math>④</p>')
        self.assertContains(r, "$62+11=73$ 이므로 답은 ④")
        self.assertContains(r, "[2수01-05]")
        self.assertContains(r, '<span class="chip">두 자리 수</span>')
        self.assertContains(r, "덧셈과 뺄셈")

    def test_images_in_order(self) -> None:
        first, second = self.item.images.order_by("position")
        save_item(self.item, user=self.teacher, images=ImageChanges(order=[second.pk, first.pk]))
        self.login(self.teacher)
        html = self.client.get(self.url).content.decode()
        a = html.index(reverse("media", args=[second.file.name]))
        b = html.index(reverse("media", args=[first.file.name]))
        self.assertLess(a, b)

    def test_edit_button_only_for_editors(self) -> None:
        edit = reverse("item-edit", args=[self.item.pk])
        self.login(self.reviewer)
        self.assertNotContains(self.client.get(self.url), edit)
        for user in (self.teacher, self.admin):
            self.login(user)
            self.assertContains(self.client.get(self.url), edit)

    def test_history_shows_who_when_and_what(self) -> None:
        self.item.unit = "세 자리 수"
        self.item.stem = "바뀐 발문 " * 20
        save_item(self.item, user=self.admin, via="web")
        self.login(self.teacher)
        r = self.client.get(self.url, headers={"accept-language": "en"})
        history = r.context["history"]
        self.assertEqual(len(history), 2)
        newest = history[0]
        self.assertEqual(newest.revision.user, self.admin)
        changes = {c.label: c for c in newest.changes}
        self.assertEqual((changes["Unit"].old, changes["Unit"].new), ("덧셈과 뺄셈", "세 자리 수"))
        self.assertFalse(changes["Stem"].short)  # long text: "changed", no old → new
        self.assertContains(r, '<span class="change-old">덧셈과 뺄셈</span>')
        self.assertContains(r, '<span class="change-new">세 자리 수</span>')
        self.assertContains(r, "<strong>admin</strong>")
        self.assertContains(r, "<strong>teacher</strong>")

    def test_history_names_the_demo_bank_not_its_code(self) -> None:
        self.item.unit = "세 자리 수"
        save_item(self.item, user=self.teacher, via="demo")
        self.login(self.teacher)
        r = self.client.get(self.url, headers={"accept-language": "ko"})
        self.assertContains(r, "· 데모 문항은행에서</span>")
        self.assertNotContains(r, "demo에서")

    def test_history_uses_choice_labels(self) -> None:
        self.item.status = "retired"
        save_item(self.item, user=self.admin)  # only admins retire (issue 15)
        self.login(self.teacher)
        r = self.client.get(self.url, headers={"accept-language": "en"})
        change = r.context["history"][0].changes[0]
        self.assertEqual((change.old, change.new), ("Active", "Retired"))

    def test_xss_in_stem_is_escaped_and_href_left_to_katex(self) -> None:
        item = make_item(
            "XSS-1",
            stem="<script>alert(1)</script> $\\href{javascript:alert(1)}{x}$",
            choices=["<img src=x onerror=alert(1)>", "$2$"],
            explanation="<b>bold</b>",
        )
        self.login(self.teacher)
        r = self.client.get(reverse("item-detail", args=[item.pk]))
        html = r.content.decode()
        self.assertNotIn("<script>alert(1)</script>", html)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertNotIn("<img src=x", html)
        self.assertNotIn("<b>bold</b>", html)
        # The formula reaches the page as text only; no link is made on the server.
        self.assertNotIn('href="javascript', html)
        self.assertIn("$\\href{javascript:alert(1)}{x}$", html)
