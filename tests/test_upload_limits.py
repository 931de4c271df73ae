"""Upload limits across every way in: a program renamed .png, an SVG (under its own name and
renamed .png), a decompression bomb and an oversized file are refused on the item form, the
item API (image upload and multipart create), the search page and the search API, and the
import page refuses wrong types and oversized files. The message is Korean by default and
nothing is saved. (The per-channel suites test more cases in English; this one is the
security view across them.)"""

from __future__ import annotations

from pathlib import Path

from django.test import override_settings

from embeddings import pipeline
from itembank.models import ImportJob, Item, ItemImage
from tests.base import make_item, png_bytes
from tests.embeddings.hashing_backend import make_space
from tests.itembank.test_item_create import form_data
from tests.itembank.ui_base import UITestCase, bomb_png, upload

UNREADABLE = "읽을 수 있는 그림(PNG, JPEG, GIF, WebP)이 아닙니다"
BOMB = "너무 커서 안전하게 열 수 없습니다"
TOO_BIG = "MB까지만 올릴 수 있습니다"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
LIMIT = 10 * 1024 * 1024
# name, bytes, the message's Korean words, the byte limit to run with
CASES = [
    ("program.png", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 256, UNREADABLE, LIMIT),
    ("drawing.svg", SVG, UNREADABLE, LIMIT),
    ("drawing.png", SVG, UNREADABLE, LIMIT),
    ("bomb.png", bomb_png(), BOMB, LIMIT),
    ("big.png", png_bytes(size=(300, 300)) + b"\0" * 4000, TOO_BIG, 2000),
]


class UploadLimitTests(UITestCase):
    def setUp(self) -> None:
        super().setUp()
        self.item = make_item("U-1", stem="이차방정식의 두 근의 합을 구하시오.")
        space = make_space("upload-hash", 64, make_default=True)
        pipeline.embed_items(space, [self.item.pk])

    def assert_nothing_saved(self, items: int = 1) -> None:
        self.assertEqual(Item.objects.count(), items)
        self.assertFalse(ItemImage.objects.exists())
        self.assertEqual([p for p in Path(self.media_root).rglob("*") if p.is_file()], [])

    def test_item_form(self) -> None:
        self.login(self.teacher)
        for name, data, message, limit in CASES:
            with self.subTest(name=name), self.settings(ITEMBANK_MAX_IMAGE_BYTES=limit):
                response = self.client.post(
                    "/items/new/", form_data(new_images=[upload(name, data)])
                )
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, f"{name} ")
                self.assertContains(response, message)
                self.assert_nothing_saved()

    def test_item_api_image_upload_and_create(self) -> None:
        self.login(self.teacher)
        for name, data, message, limit in CASES:
            with self.subTest(name=name), self.settings(ITEMBANK_MAX_IMAGE_BYTES=limit):
                response = self.client.post(
                    f"/api/items/{self.item.pk}/images/", {"file": upload(name, data)}
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, " ".join(response.json()["file"]))
                response = self.client.post(
                    "/api/items/",
                    {
                        "external_id": "U-2",
                        "subject": "수학",
                        "stem": "새 문항",
                        "images": upload(name, data),
                    },
                )
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, " ".join(response.json()["images"]))
                self.assert_nothing_saved()
        self.assertEqual(self.item.revisions.count(), 1)

    def test_search_by_image(self) -> None:
        self.login(self.teacher)
        for name, data, message, limit in CASES:
            with self.subTest(name=name), self.settings(ITEMBANK_MAX_IMAGE_BYTES=limit):
                page = self.client.post("/search/", {"image": upload(name, data)})
                self.assertEqual(page.status_code, 200)
                self.assertIsNone(page.context["result"])
                self.assertContains(page, message)
                api = self.client.post("/api/search/", {"image": upload(name, data)})
                self.assertEqual(api.status_code, 400)
                self.assertIn(message, api.json()["detail"])
        self.assert_nothing_saved()

    @override_settings(ITEMBANK_MAX_IMPORT_BYTES=100)
    def test_import_upload(self) -> None:
        self.login(self.admin)
        for name, data, message in (
            ("bank.exe", b"MZ\x90\x00", "문항 파일이 아닙니다"),
            ("bank.svg", SVG, "문항 파일이 아닙니다"),
            ("bank.jsonl", b'{"external_id": "X"}\n' * 20, "가져오기 파일은 최대"),
        ):
            with self.subTest(name=name):
                response = self.client.post("/manage/import/", {"file": upload(name, data)})
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
                self.assertFalse(ImportJob.objects.exists())
        self.assert_nothing_saved()
