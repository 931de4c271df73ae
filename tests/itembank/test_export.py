"""Exporting items (itembank.exporting, export_items) and the export/import round trip."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from itembank.exporting import export_items
from itembank.importing import FORMAT_KEYS, import_path
from itembank.models import Item, ItemImage, ItemRevision
from tests.base import BaseTestCase, make_item, png_bytes


class ExportTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        media = override_settings(MEDIA_ROOT=str(self.dir / "media"))
        media.enable()
        self.addCleanup(media.disable)

    def make_bank(self) -> None:
        make_item(
            "MATH-2-000123",
            images=[png_bytes("red"), png_bytes("blue", fmt="JPEG")],
            stem="다음 그림에서 $\\angle x$의 크기는? \\[ \\frac{1}{2} \\]",
            tags=["각", "도형"],
            difficulty="hard",
            achievement_standard="[9수04-01]",
        )
        make_item(
            "KOR-1", subject="국어", stem="<b>밑줄</b> 친 낱말의 뜻은?", choices=[], grade=None
        )
        make_item("SHARED-9", images=[png_bytes("red")], status="retired")

    def read_zip(self, path: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    def empty_bank(self) -> None:
        ItemRevision.objects.all().delete()
        ItemImage.objects.all().delete()
        Item.objects.all().delete()
        shutil.rmtree(self.dir / "media", ignore_errors=True)


class ExportTests(ExportTestCase):
    def test_zip_has_exactly_the_format_keys(self) -> None:
        self.make_bank()
        result = export_items(self.dir / "out.zip")
        self.assertEqual((result.items, result.images), (3, 2))
        files = self.read_zip(self.dir / "out.zip")
        lines = files["items.jsonl"].decode().splitlines()
        records = [json.loads(line) for line in lines]
        self.assertEqual(
            [r["external_id"] for r in records], ["KOR-1", "MATH-2-000123", "SHARED-9"]
        )
        for rec in records:
            self.assertEqual(list(rec), FORMAT_KEYS)
        kor, math, shared = records
        self.assertEqual(
            (kor["grade"], kor["choices"], kor["images"], kor["difficulty"]), (None, [], [], "")
        )
        self.assertEqual(math["tags"], ["각", "도형"])
        self.assertEqual(len(math["images"]), 2)
        self.assertTrue(math["images"][1].endswith(".jpg"))
        self.assertEqual(shared["images"], [math["images"][0]])
        for name in math["images"]:
            self.assertIn(name, files)
        self.assertEqual(files[math["images"][0]], png_bytes("red"))
        self.assertIn("밑줄", lines[0])  # UTF-8, not \u escapes

    def test_jsonl_with_images_folder_beside_it(self) -> None:
        self.make_bank()
        (self.dir / "out").mkdir()
        export_items(self.dir / "out" / "bank.jsonl")
        records = [
            json.loads(line)
            for line in (self.dir / "out" / "bank.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for name in records[1]["images"]:
            self.assertTrue(name.startswith("images/"))
            self.assertTrue((self.dir / "out" / name).is_file())

    def test_round_trip_is_byte_identical(self) -> None:
        self.make_bank()
        export_items(self.dir / "first.zip")
        (self.dir / "plain").mkdir()
        export_items(self.dir / "plain" / "first.jsonl")
        self.empty_bank()
        with self.captureOnCommitCallbacks(execute=True):
            result = import_path(self.dir / "first.zip")
        self.assertEqual(result.created, 3)
        export_items(self.dir / "second.zip")
        self.assertEqual(
            self.read_zip(self.dir / "first.zip"), self.read_zip(self.dir / "second.zip")
        )
        self.assertEqual(
            (self.dir / "first.zip").read_bytes(), (self.dir / "second.zip").read_bytes()
        )
        # The .jsonl form round-trips too, and re-importing it changes nothing.
        with self.captureOnCommitCallbacks(execute=True):
            again = import_path(self.dir / "plain" / "first.jsonl")
        self.assertEqual(again.unchanged, 3)

    def test_command_with_filters(self) -> None:
        self.make_bank()
        out = io.StringIO()
        path = self.dir / "math.zip"
        call_command(
            "export_items", str(path), "--subject", "수학", "--status", "active", stdout=out
        )
        records = self.read_zip(path)["items.jsonl"].decode().splitlines()
        self.assertEqual([json.loads(r)["external_id"] for r in records], ["MATH-2-000123"])
        self.assertIn("1", out.getvalue())

    def test_command_refuses_other_suffixes(self) -> None:
        with self.assertRaises(CommandError):
            call_command("export_items", str(self.dir / "out.csv"), stdout=io.StringIO())
        self.assertFalse((self.dir / "out.csv").exists())
