from __future__ import annotations

import shutil
import tempfile
from unittest import mock

from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from itembank.models import Item, ItemRevision
from tests.base import BaseTestCase, make_item, png_bytes

CHANGELIST = "/admin/itembank/item/"


def form_data(item: Item, **overrides) -> dict:
    """The POST an admin's change form sends for `item`, with its inlines."""
    images = list(item.images.order_by("position", "id"))
    data = {
        "external_id": item.external_id,
        "subject": item.subject,
        "school_level": item.school_level,
        "grade": item.grade or "",
        "unit": item.unit,
        "achievement_standard": item.achievement_standard,
        "item_type": item.item_type,
        "stem": item.stem,
        "choices": '["1", "2"]',
        "answer": item.answer,
        "explanation": item.explanation,
        "difficulty": item.difficulty,
        "source": item.source,
        "tags": "[]",
        "status": item.status,
        "images-TOTAL_FORMS": len(images),
        "images-INITIAL_FORMS": len(images),
        "images-MIN_NUM_FORMS": 0,
        "images-MAX_NUM_FORMS": 1000,
        "revisions-TOTAL_FORMS": 0,
        "revisions-INITIAL_FORMS": 0,
        "revisions-MIN_NUM_FORMS": 0,
        "revisions-MAX_NUM_FORMS": 1000,
    }
    for i, image in enumerate(images):
        data[f"images-{i}-id"] = image.pk
        data[f"images-{i}-item"] = item.pk
        data[f"images-{i}-position"] = image.position
    data.update(overrides)
    return data


class ItemAdminTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.media = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.media, ignore_errors=True)
        override = override_settings(MEDIA_ROOT=self.media)
        override.enable()
        self.addCleanup(override.disable)
        self.math = make_item("MATH-1", tags=["덧셈", "받아올림"], images=[png_bytes()])
        self.eng = make_item(
            "ENG-1",
            subject="영어",
            stem="Choose the word.",
            choices=["go", "went"],
            difficulty="easy",
        )
        self.login(self.admin)

    def listed(self, params: dict | None = None) -> list[str]:
        response = self.client.get(CHANGELIST, params or {})
        self.assertEqual(response.status_code, 200)
        return sorted(obj.external_id for obj in response.context["cl"].result_list)

    def test_only_admins_enter(self) -> None:
        for user in (self.teacher, self.reviewer):
            self.client.force_login(user)
            for url in ("/admin/", CHANGELIST):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 302, (user, url))
                self.assertTrue(response["Location"].startswith("/admin/login/"))
        self.client.logout()
        self.assertEqual(self.client.get(CHANGELIST).status_code, 302)

    def test_index_shows_items_and_task_results(self) -> None:
        response = self.client.get("/admin/")
        self.assertContains(response, CHANGELIST)
        self.assertContains(response, "/admin/django_celery_results/taskresult/")
        self.assertEqual(
            self.client.get("/admin/django_celery_results/taskresult/").status_code, 200
        )

    def test_changelist_columns(self) -> None:
        response = self.client.get(CHANGELIST)
        self.assertContains(response, "MATH-1")
        self.assertContains(response, "column-image_count")
        self.assertContains(response, "column-updated_at")

    def test_search(self) -> None:
        self.assertEqual(self.listed({"q": "MATH"}), ["MATH-1"])
        self.assertEqual(self.listed({"q": "Choose"}), ["ENG-1"])
        self.assertEqual(self.listed({"q": "받아올림"}), ["MATH-1"])

    def test_filters(self) -> None:
        self.assertEqual(self.listed({"has_image": "yes"}), ["MATH-1"])
        self.assertEqual(self.listed({"has_image": "no"}), ["ENG-1"])
        self.assertEqual(self.listed({"subject__exact": "영어"}), ["ENG-1"])
        self.assertEqual(self.listed({"difficulty__exact": "easy"}), ["ENG-1"])
        self.assertEqual(self.listed({"has_latex__exact": "1"}), ["MATH-1"])

    def test_bulk_status_actions_write_history(self) -> None:
        for action, status in [
            ("make_retired", "retired"),
            ("make_draft", "draft"),
            ("make_active", "active"),
        ]:
            response = self.client.post(
                CHANGELIST,
                {"action": action, "_selected_action": [self.math.pk, self.eng.pk]},
                follow=True,
            )
            self.assertEqual(response.status_code, 200)
            messages = [str(m) for m in response.context["messages"]]
            self.assertEqual(len(messages), 1, messages)
            self.assertIn("2", messages[0])
            self.assertEqual(set(Item.objects.values_list("status", flat=True)), {status}, action)
        revisions = ItemRevision.objects.filter(item=self.math, action="status")
        self.assertEqual(revisions.count(), 3)
        self.assertEqual({(r.via, r.user_id) for r in revisions}, {("admin", self.admin.pk)})
        self.assertEqual(revisions.first().changes["status"], {"old": "draft", "new": "active"})

    def test_edit_goes_through_save_item(self) -> None:
        url = reverse("admin:itembank_item_change", args=[self.eng.pk])
        self.assertEqual(self.client.get(url).status_code, 200)
        old_hash = self.eng.content_hash
        response = self.client.post(url, form_data(self.eng, stem="Pick the word. $x$"))
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.eng.refresh_from_db()
        self.assertEqual(self.eng.stem, "Pick the word. $x$")
        self.assertEqual(self.eng.choices, ["1", "2"])
        self.assertNotEqual(self.eng.content_hash, old_hash)
        self.assertTrue(self.eng.has_latex)
        revision = self.eng.revisions.first()
        self.assertEqual((revision.via, revision.user), ("admin", self.admin))
        self.assertEqual(set(revision.changes), {"stem", "choices"})

    def test_change_form_shows_images_and_history(self) -> None:
        response = self.client.get(reverse("admin:itembank_item_change", args=[self.math.pk]))
        image = self.math.images.get()
        self.assertContains(response, f'src="/media/{image.file.name}"')
        self.assertContains(response, "revisions-0")

    def test_inline_reorders_and_deletes_images(self) -> None:
        item = make_item("IMG-1", images=[png_bytes(c) for c in ("red", "green", "blue")])
        a, _b, c = item.images.order_by("position")
        url = reverse("admin:itembank_item_change", args=[item.pk])
        data = form_data(
            item,
            **{"images-0-position": 5, "images-1-DELETE": "on", "images-2-position": 1},
        )
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(url, data)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(
            list(item.images.order_by("position").values_list("pk", "position")),
            [(c.pk, 0), (a.pk, 1)],
        )
        item.refresh_from_db()
        self.assertEqual(item.image_count, 2)
        self.assertIn("images", item.revisions.first().changes)

    def test_invalid_choices_are_refused(self) -> None:
        url = reverse("admin:itembank_item_change", args=[self.eng.pk])
        response = self.client.post(url, form_data(self.eng, choices="[1, 2]"))
        self.assertEqual(response.status_code, 200)
        self.assertIn("choices", response.context["adminform"].form.errors)
        self.assertEqual(self.eng.revisions.count(), 1)

    def test_add_item(self) -> None:
        data = form_data(self.eng, external_id="NEW-1", stem="새 문항")
        for key in [k for k in data if k.startswith("images-")]:
            del data[key]
        data.update({"images-TOTAL_FORMS": 0, "images-INITIAL_FORMS": 0})
        response = self.client.post(reverse("admin:itembank_item_add"), data)
        self.assertEqual(response.status_code, 302)
        item = Item.objects.get(external_id="NEW-1")
        self.assertEqual(item.author, self.admin)
        self.assertEqual(len(item.content_hash), 64)
        self.assertEqual(item.revisions.get().via, "admin")

    def test_import_link(self) -> None:
        def routed(name, *args, **kwargs):
            return "/manage/import/" if name == "item-import" else reverse(name, *args, **kwargs)

        with mock.patch("itembank.admin.reverse", side_effect=routed):
            response = self.client.get(CHANGELIST)
        self.assertContains(response, '<a href="/manage/import/" class="viewlink import-items">')

        def unrouted(name, *args, **kwargs):
            if name == "item-import":
                raise NoReverseMatch(name)
            return reverse(name, *args, **kwargs)

        with mock.patch("itembank.admin.reverse", side_effect=unrouted):
            response = self.client.get(CHANGELIST)
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("import-items", response.content.decode())

    def test_image_admin_lists_thumbnails(self) -> None:
        response = self.client.get("/admin/itembank/itemimage/")
        image = self.math.images.get()
        self.assertContains(response, f'src="/media/{image.file.name}"')
