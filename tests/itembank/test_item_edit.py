from django.urls import reverse

from itembank.models import Item, ItemRevision
from tests.base import make_item, png_bytes
from tests.itembank.ui_base import UITestCase, bomb_png, upload


def form_data(item: Item, **overrides) -> dict:
    data = {
        "external_id": item.external_id,
        "status": item.status,
        "subject": item.subject,
        "school_level": item.school_level,
        "grade": item.grade or "",
        "unit": item.unit,
        "achievement_standard": item.achievement_standard,
        "item_type": item.item_type,
        "difficulty": item.difficulty,
        "stem": item.stem,
        "choices": list(item.choices),
        "answer": item.answer,
        "explanation": item.explanation,
        "source": item.source,
        "tags": ", ".join(item.tags),
        "version": item.version,
        "image_order": ",".join(str(pk) for pk in image_ids(item)),
    }
    data.update(overrides)
    return data


def image_ids(item: Item) -> list[int]:
    return list(item.images.order_by("position", "id").values_list("pk", flat=True))


class ItemEditTestCase(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item(
            "MATH-2-000001",
            images=[png_bytes("red"), png_bytes("blue"), png_bytes("green")],
            user=self.teacher,
            tags=["덧셈"],
        )
        self.url = reverse("item-edit", args=[self.item.pk])

    def test_anonymous_is_sent_to_login(self) -> None:
        r = self.client.get(self.url)
        self.assertRedirects(r, f"{reverse('login')}?next={self.url}")

    def test_reviewer_is_forbidden(self) -> None:
        self.login(self.reviewer)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        r = self.client.post(self.url, form_data(self.item, stem="바뀜"))
        self.assertEqual(r.status_code, 403)
        self.item.refresh_from_db()
        self.assertNotEqual(self.item.stem, "바뀜")

    def test_form_is_filled_in(self) -> None:
        self.login(self.teacher)
        r = self.client.get(self.url)
        self.assertContains(r, 'value="MATH-2-000001"')
        self.assertContains(r, 'value="$72$"')
        self.assertContains(r, 'value="덧셈"')  # tags as text
        self.assertEqual(len(r.context["form"].image_rows()), 3)
        order = ",".join(str(pk) for pk in image_ids(self.item))
        self.assertContains(r, f'name="image_order" id="id_image_order" value="{order}"')

    def test_teacher_and_admin_edit_fields_with_history(self) -> None:
        for user, unit in ((self.teacher, "세 자리 수"), (self.admin, "곱셈")):
            self.login(user)
            self.item.refresh_from_db()
            r = self.client.post(self.url, form_data(self.item, unit=unit, tags="덧셈, 받아올림"))
            self.assertRedirects(r, reverse("item-detail", args=[self.item.pk]))
            self.item.refresh_from_db()
            self.assertEqual(self.item.unit, unit)
            self.assertEqual(self.item.tags, ["덧셈", "받아올림"])
            revision = self.item.revisions.first()
            self.assertEqual((revision.user, revision.via), (user, "web"))
            self.assertEqual(revision.action, ItemRevision.Action.UPDATE)
            self.assertIn("unit", revision.changes)
            page = self.client.get(r.url)
            self.assertContains(page, f'<span class="change-new">{unit}</span>')

    def test_saving_unchanged_writes_no_revision(self) -> None:
        self.login(self.teacher)
        r = self.client.post(self.url, form_data(self.item))
        self.assertEqual(r.status_code, 302)
        self.assertEqual(self.item.revisions.count(), 1)

    def test_reorder_images(self) -> None:
        a, b, c = image_ids(self.item)
        self.login(self.teacher)
        r = self.client.post(self.url, form_data(self.item, image_order=f"{c},{a},{b}"))
        self.assertEqual(r.status_code, 302)
        self.assertEqual(image_ids(self.item), [c, a, b])
        self.assertIn("images", self.item.revisions.first().changes)

    def test_bogus_order_keeps_all_images(self) -> None:
        a, b, c = image_ids(self.item)
        self.login(self.teacher)
        self.client.post(self.url, form_data(self.item, image_order=f"{b},999,x,{b}"))
        self.assertEqual(image_ids(self.item), [b, a, c])

    def test_remove_and_add_images(self) -> None:
        a, b, c = image_ids(self.item)
        self.login(self.teacher)
        data = form_data(
            self.item,
            image_order=f"{c},{b},{a}",
            remove_images=[str(b)],
            new_images=[upload("new.png", png_bytes("yellow"))],
        )
        r = self.client.post(self.url, data)
        self.assertEqual(r.status_code, 302)
        ids = image_ids(self.item)
        self.assertEqual(ids[:2], [c, a])
        self.assertEqual(len(ids), 3)
        self.item.refresh_from_db()
        self.assertEqual(self.item.image_count, 3)
        self.assertEqual(self.item.images.order_by("position").last().original_name, "new.png")

    def test_remove_image_of_another_item_is_refused(self) -> None:
        other = make_item("OTHER-1", images=[png_bytes("black")])
        foreign = image_ids(other)[0]
        self.login(self.teacher)
        r = self.client.post(self.url, form_data(self.item, remove_images=[str(foreign)]))
        self.assertEqual(r.status_code, 200)
        self.assertIn("remove_images", r.context["form"].errors)
        self.assertEqual(image_ids(other), [foreign])

    def test_bad_upload_changes_nothing(self) -> None:
        before = image_ids(self.item)
        a = before[0]
        self.login(self.teacher)
        for bad in (b"GIF89a not really", bomb_png()):
            r = self.client.post(
                self.url,
                form_data(
                    self.item,
                    stem="바뀐 발문",
                    remove_images=[str(a)],
                    new_images=[upload("bad.png", bad)],
                ),
            )
            self.assertEqual(r.status_code, 200)
            self.assertIn("new_images", r.context["form"].errors)
            self.item.refresh_from_db()
            self.assertNotEqual(self.item.stem, "바뀐 발문")
            self.assertEqual(image_ids(self.item), before)
            self.assertEqual(self.item.revisions.count(), 1)
            # The heading still names the saved item.
            self.assertContains(r, "MATH-2-000001")

    def test_concurrent_edit_is_refused(self) -> None:
        self.login(self.teacher)
        stale = form_data(self.item, unit="내 단원")
        self.item.unit = "다른 사람의 단원"
        from itembank.services import save_item

        save_item(self.item, user=self.admin)
        r = self.client.post(self.url, stale)
        self.assertEqual(r.status_code, 200)
        self.assertIn("version", r.context["form"].errors)
        self.item.refresh_from_db()
        self.assertEqual(self.item.unit, "다른 사람의 단원")

    def test_missing_item_is_404(self) -> None:
        self.login(self.teacher)
        self.assertEqual(self.client.get(reverse("item-edit", args=[999999])).status_code, 404)
