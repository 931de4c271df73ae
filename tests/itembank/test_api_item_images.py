from __future__ import annotations

import io
import shutil
import tempfile

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image
from rest_framework.test import APIClient

from itembank.models import Item, ItemImage
from tests.base import BaseTestCase, make_item, png_bytes


def upload(data: bytes, name: str = "fig.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def bomb_png() -> bytes:
    """A tiny file that claims 20000×20000 pixels (400 Mpx)."""
    buf = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buf, format="PNG")
    return buf.getvalue()


class ImageApiTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.media = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.media, ignore_errors=True)
        override = override_settings(MEDIA_ROOT=self.media)
        override.enable()
        self.addCleanup(override.disable)
        self.api = APIClient()
        self.api.force_authenticate(self.teacher)
        self.item = make_item("IMG-1")

    def url(self, suffix: str = "") -> str:
        return f"/api/items/{self.item.pk}/images/{suffix}"

    def test_upload_several(self) -> None:
        response = self.api.post(
            self.url(),
            {"file": [upload(png_bytes("red")), upload(png_bytes("blue", fmt="JPEG"), "b.jpg")]},
            format="multipart",
        )
        self.assertEqual(response.status_code, 201, response.content)
        images = response.json()["images"]
        self.assertEqual([img["format"] for img in images], ["PNG", "JPEG"])
        self.assertEqual([img["position"] for img in images], [0, 1])
        self.item.refresh_from_db()
        self.assertEqual(self.item.image_count, 2)
        revision = self.item.revisions.first()
        self.assertEqual((revision.via, revision.user), ("api", self.teacher))
        self.assertIn("images", revision.changes)
        stored = ItemImage.objects.get(pk=images[0]["id"])
        self.assertTrue(default_storage.exists(stored.file.name))
        # The URL is the authenticated media view.
        self.api.logout()
        self.client.force_login(self.reviewer)
        response = self.client.get(images[0]["url"])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(b"".join(response.streaming_content), png_bytes("red"))

    def test_bad_images_are_refused_and_nothing_written(self) -> None:
        cases = [
            (upload(b"%PDF-1.4 not an image", "doc.pdf", "application/pdf"), "doc.pdf"),
            (upload(b"", "empty.png"), "empty.png"),
            (upload(bomb_png(), "bomb.png"), "bomb.png"),
            (upload(png_bytes(fmt="BMP"), "fig.bmp", "image/bmp"), "fig.bmp"),
        ]
        for file, name in cases:
            response = self.api.post(
                self.url(), {"file": [upload(png_bytes()), file]}, format="multipart"
            )
            self.assertEqual(response.status_code, 400, name)
            message = " ".join(response.json()["file"])
            self.assertIn(name, message)
        self.assertEqual(ItemImage.objects.count(), 0)
        self.assertEqual(self.item.revisions.count(), 1)

    @override_settings(ITEMBANK_MAX_IMAGE_BYTES=1000)
    def test_oversized_image(self) -> None:
        response = self.api.post(
            self.url(), {"file": upload(png_bytes(size=(400, 400)) + b"\0" * 2000)}
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("MB", response.json()["file"][0])
        self.assertEqual(ItemImage.objects.count(), 0)

    @override_settings(ITEMBANK_MAX_IMAGES_PER_ITEM=2)
    def test_image_limit(self) -> None:
        files = [upload(png_bytes(c)) for c in ("red", "green", "blue")]
        response = self.api.post(self.url(), {"file": files}, format="multipart")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(ItemImage.objects.count(), 0)

    def test_upload_needs_a_file(self) -> None:
        response = self.api.post(self.url(), {}, format="multipart")
        self.assertEqual(response.status_code, 400)
        self.assertIn("file", response.json())

    def test_reviewer_cannot_upload(self) -> None:
        self.api.force_authenticate(self.reviewer)
        response = self.api.post(self.url(), {"file": upload(png_bytes())}, format="multipart")
        self.assertEqual(response.status_code, 403)

    def test_delete_image(self) -> None:
        item = make_item("IMG-2", images=[png_bytes("red"), png_bytes("blue")])
        self.item = item
        first, second = item.images.order_by("position")
        old_hash = item.content_hash
        with self.captureOnCommitCallbacks(execute=True):
            response = self.api.delete(self.url(f"{first.pk}/"))
        self.assertEqual(response.status_code, 204)
        item.refresh_from_db()
        self.assertEqual(list(item.images.values_list("pk", "position")), [(second.pk, 0)])
        self.assertNotEqual(item.content_hash, old_hash)
        self.assertFalse(default_storage.exists(first.file.name))
        self.assertEqual(item.revisions.first().via, "api")
        # An image of another item is not found through this one.
        other = make_item("IMG-3", images=[png_bytes("green")])
        response = self.api.delete(self.url(f"{other.images.get().pk}/"))
        self.assertEqual(response.status_code, 404)
        self.assertEqual(other.images.count(), 1)

    def test_reorder(self) -> None:
        item = make_item("IMG-2", images=[png_bytes(c) for c in ("red", "green", "blue")])
        self.item = item
        a, b, c = item.images.order_by("position").values_list("pk", flat=True)
        response = self.api.put(self.url("order/"), {"order": [c, a, b]}, format="json")
        self.assertEqual(response.status_code, 200, response.content)
        self.assertEqual([img["id"] for img in response.json()["images"]], [c, a, b])
        self.assertEqual(
            list(item.images.order_by("position").values_list("pk", flat=True)), [c, a, b]
        )
        for bad in ([a, b], [a, b, c, c], [a, b, 999999], "abc"):
            response = self.api.put(self.url("order/"), {"order": bad}, format="json")
            self.assertEqual(response.status_code, 400, bad)
        self.assertEqual(item.images.count(), 3)

    def test_multipart_create_with_images(self) -> None:
        data = {
            "external_id": "NEW-1",
            "subject": "과학",
            "stem": "그림을 보고 답하시오.",
            "item_type": "short_answer",
            "choices": [],
            "tags": ["관찰", "그림"],
            "images": [upload(png_bytes("red")), upload(png_bytes("blue"), "b.png")],
        }
        response = self.api.post("/api/items/", data, format="multipart")
        self.assertEqual(response.status_code, 201, response.content)
        item = Item.objects.get(external_id="NEW-1")
        self.assertEqual(item.image_count, 2)
        self.assertEqual(item.tags, ["관찰", "그림"])
        self.assertEqual(len(response.json()["images"]), 2)

    def test_multipart_create_with_bad_image_writes_nothing(self) -> None:
        data = {
            "external_id": "NEW-2",
            "subject": "과학",
            "stem": "그림",
            "images": [upload(b"GIF89a broken", "x.gif", "image/gif")],
        }
        response = self.api.post("/api/items/", data, format="multipart")
        self.assertEqual(response.status_code, 400)
        self.assertIn("images", response.json())
        self.assertFalse(Item.objects.filter(external_id="NEW-2").exists())
