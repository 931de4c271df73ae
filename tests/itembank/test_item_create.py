from pathlib import Path

from django.test import override_settings
from django.urls import reverse

from itembank.models import Item, ItemImage, ItemRevision
from tests.base import png_bytes
from tests.itembank.ui_base import UITestCase, bomb_png, upload

URL = reverse("item-create")


def form_data(**overrides) -> dict:
    data = {
        "external_id": "MATH-9-000001",
        "status": "active",
        "subject": "수학",
        "school_level": "중등",
        "grade": "3",
        "unit": "이차방정식",
        "achievement_standard": "[9수02-07]",
        "item_type": "multiple_choice",
        "difficulty": "medium",
        "stem": "이차방정식 $x^2-5x+6=0$ 의 두 근의 합은?",
        "choices": ["$1$", "$5$", "", "$6$"],
        "answer": "2",
        "explanation": "근과 계수의 관계에서 $\\alpha+\\beta=5$",
        "source": "2025 1학기 단원평가",
        "tags": "이차방정식, 근과 계수, 이차방정식",
    }
    data.update(overrides)
    return data


class ItemCreateTestCase(UITestCase):
    def test_anonymous_is_sent_to_login(self) -> None:
        r = self.client.get(URL)
        self.assertRedirects(r, f"{reverse('login')}?next={URL}")
        self.client.post(URL, form_data())
        self.assertFalse(Item.objects.exists())

    def test_reviewer_is_forbidden(self) -> None:
        self.login(self.reviewer)
        self.assertEqual(self.client.get(URL).status_code, 403)
        self.assertEqual(self.client.post(URL, form_data()).status_code, 403)
        self.assertFalse(Item.objects.exists())

    def test_form_suggests_a_free_id_and_five_choices(self) -> None:
        self.login(self.teacher)
        r = self.client.get(URL)
        self.assertEqual(r.status_code, 200)
        suggested = r.context["form"].initial["external_id"]
        self.assertRegex(suggested, r"^ITEM-\d{8}-0001$")
        self.assertEqual(r.context["form"].choice_rows(), [""] * 5)
        self.assertContains(r, 'name="choices"', count=6)  # five rows and the row template
        self.assertContains(r, 'id="preview-stem"')
        self.assertContains(r, "js/item-form.js")

    def test_teacher_and_admin_create_with_images(self) -> None:
        for n, user in enumerate((self.teacher, self.admin)):
            self.login(user)
            external_id = f"MATH-9-00000{n}"
            data = form_data(
                external_id=external_id,
                new_images=[upload("a.png", png_bytes("red")), upload("b.png", png_bytes("blue"))],
            )
            r = self.client.post(URL, data)
            item = Item.objects.get(external_id=external_id)
            self.assertRedirects(
                r, reverse("item-detail", args=[item.pk]), fetch_redirect_response=False
            )
            self.assertEqual(item.author, user)
            self.assertEqual(item.choices, ["$1$", "$5$", "$6$"])
            self.assertEqual(item.tags, ["이차방정식", "근과 계수"])
            self.assertEqual(item.image_count, 2)
            self.assertTrue(item.has_latex)
            names = list(item.images.order_by("position").values_list("original_name", flat=True))
            self.assertEqual(names, ["a.png", "b.png"])
            for image in item.images.all():
                self.assertTrue((Path(self.media_root) / image.file.name).exists())
            revision = item.revisions.get()
            self.assertEqual(
                (revision.user, revision.action, revision.via),
                (user, ItemRevision.Action.CREATE, "web"),
            )
            page = self.client.get(r.url)
            self.assertContains(page, external_id)
            messages = [str(m) for m in page.context["messages"]]
            self.assertEqual(len(messages), 1)

    def test_required_fields_and_validation_errors(self) -> None:
        self.login(self.teacher)
        r = self.client.post(URL, form_data(external_id="", stem="", subject=""))
        self.assertEqual(r.status_code, 200)
        errors = r.context["form"].errors
        self.assertEqual({"external_id", "stem", "subject"} - set(errors), set())
        self.assertContains(r, 'id="form-errors"')
        # What was typed comes back.
        self.assertContains(r, 'value="$1$"')
        r = self.client.post(
            URL, form_data(external_id="bad id!", grade="13", achievement_standard="9수02")
        )
        self.assertEqual(
            {"external_id", "grade", "achievement_standard"} - set(r.context["form"].errors), set()
        )
        self.assertFalse(Item.objects.exists())

    def test_multiple_choice_needs_two_choices(self) -> None:
        self.login(self.teacher)
        r = self.client.post(URL, form_data(choices=["$1$", "", ""]))
        self.assertIn("choices", r.context["form"].errors)
        r = self.client.post(URL, form_data(choices=[], item_type="short_answer"))
        self.assertEqual(r.status_code, 302)

    def test_duplicate_external_id_is_refused(self) -> None:
        self.login(self.teacher)
        self.client.post(URL, form_data())
        r = self.client.post(URL, form_data(stem="다른 문항"))
        self.assertIn("external_id", r.context["form"].errors)
        self.assertEqual(Item.objects.count(), 1)

    def assert_image_refused(self, files: list, code_word: str = "") -> None:
        self.login(self.teacher)
        r = self.client.post(URL, form_data(new_images=files))
        self.assertEqual(r.status_code, 200)
        errors = r.context["form"].errors.get("new_images")
        self.assertTrue(errors)
        if code_word:
            self.assertIn(code_word, " ".join(errors))
        self.assertFalse(Item.objects.exists())
        self.assertFalse(ItemImage.objects.exists())
        self.assertEqual(list(Path(self.media_root).rglob("*.*")), [])

    def test_non_image_is_refused_and_nothing_saved(self) -> None:
        self.assert_image_refused(
            [upload("good.png"), upload("notes.png", b"this is not an image")], "notes.png"
        )

    def test_svg_is_refused(self) -> None:
        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        self.assert_image_refused([upload("x.svg", svg)], "x.svg")

    @override_settings(ITEMBANK_MAX_IMAGE_BYTES=2000)
    def test_oversized_image_is_refused(self) -> None:
        self.assert_image_refused(
            [upload("big.png", png_bytes(size=(400, 400)) + b"\0" * 5000)], "big.png"
        )

    def test_decompression_bomb_is_refused(self) -> None:
        self.assert_image_refused([upload("bomb.png", bomb_png())], "bomb.png")

    @override_settings(ITEMBANK_MAX_IMAGES_PER_ITEM=2)
    def test_too_many_images_is_refused(self) -> None:
        files = [upload(f"{c}.png", png_bytes(c)) for c in ("red", "blue", "green")]
        self.assert_image_refused(files)

    def test_xss_is_stored_as_text(self) -> None:
        self.login(self.teacher)
        stem = "<script>alert(1)</script> $\\href{javascript:alert(1)}{x}$"
        r = self.client.post(URL, form_data(stem=stem))
        item = Item.objects.get()
        self.assertEqual(item.stem, stem)
        page = self.client.get(r.url)
        self.assertNotContains(page, "<script>alert(1)</script>")
        self.assertContains(page, "&lt;script&gt;alert(1)&lt;/script&gt;")
