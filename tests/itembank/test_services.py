from itembank.images import check_image
from itembank.models import Item, ItemRevision
from itembank.services import ImageChanges, NewImage, save_item, set_status
from tests.base import BaseTestCase, make_item, png_bytes


class SaveItemTestCase(BaseTestCase):
    def test_create_records_history_and_hash(self) -> None:
        item = make_item(user=self.teacher)
        self.assertEqual(item.author, self.teacher)
        self.assertEqual(len(item.content_hash), 64)
        self.assertTrue(item.has_latex)
        rev = item.revisions.get()
        self.assertEqual(rev.action, ItemRevision.Action.CREATE)
        self.assertEqual(rev.user, self.teacher)

    def test_hash_changes_exactly_when_model_input_changes(self) -> None:
        item = make_item()
        first = item.content_hash
        item.answer = "2"
        item.tags = ["덧셈"]
        save_item(item, user=self.teacher)
        item.refresh_from_db()
        self.assertEqual(item.content_hash, first)
        item.choices = ["$52$", "$62$", "$61$", "$72$", "$64$"]
        save_item(item, user=self.teacher)
        item.refresh_from_db()
        self.assertNotEqual(item.content_hash, first)

    def test_images_add_reorder_remove_change_hash(self) -> None:
        item = make_item(images=[png_bytes("red"), png_bytes("blue")])
        self.assertEqual(item.image_count, 2)
        h2 = item.content_hash
        a, b = item.images.order_by("position")
        save_item(item, images=ImageChanges(order=[b.pk, a.pk]))
        item.refresh_from_db()
        self.assertNotEqual(item.content_hash, h2)
        self.assertEqual([i.pk for i in item.images.order_by("position")], [b.pk, a.pk])
        new = NewImage(check_image(png_bytes("green")), "g.png")
        save_item(item, images=ImageChanges(order=[a.pk], added=[new]))
        item.refresh_from_db()
        self.assertEqual(item.image_count, 2)
        self.assertEqual(item.images.order_by("position")[0].pk, a.pk)

    def test_edit_without_change_writes_no_revision(self) -> None:
        item = make_item()
        self.assertIsNone(save_item(item, user=self.teacher))
        self.assertEqual(item.revisions.count(), 1)

    def test_edit_history_names_changed_fields(self) -> None:
        item = make_item()
        item.stem = "바뀐 발문"
        rev = save_item(item, user=self.teacher)
        self.assertEqual(set(rev.changes), {"stem"})
        self.assertEqual(rev.changes["stem"]["new"], "바뀐 발문")

    def test_set_status(self) -> None:
        items = [make_item(f"X-{i}") for i in range(3)]
        self.assertEqual(set_status(Item.objects.all(), "retired", user=self.admin), 3)
        self.assertEqual(Item.objects.filter(status="retired").count(), 3)
        self.assertEqual(items[0].revisions.filter(action="status").count(), 1)
