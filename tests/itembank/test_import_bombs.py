"""Imports of hostile files (issue 15, items 6 and 10a): zip bombs under the size limits, files
far larger than their items, NUL characters and deeply nested JSON. Each is refused with the line
(and field) or the archive member named, nothing is written, and memory stays bounded: the data
file is read as a stream, never whole."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from collections.abc import Callable
from functools import partial

from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from benchmarks.zip_bomb import write_bomb
from itembank.importing import ImportFailed, import_file
from itembank.limits import RECORD_MAX_BYTES
from itembank.models import ImportJob, Item
from tests.itembank.test_import import ImportTestCase, jsonl, record
from tests.itembank.test_import_page import eager_tasks, upload

MB = 1024 * 1024
PADDING = (" " * 1023 + "\n") * 1024  # 1 MiB of blank lines (skipped by every format)
DEEP = "[" * 50_000 + "]" * 50_000  # within the csv module's field limit


def peak_bytes(run: Callable[[], object]) -> int:
    """The most memory Python allocated while `run()` ran, beyond what it held before."""
    tracemalloc.start()
    try:
        run()
    except ImportFailed:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


class ZipBombTests(ImportTestCase):
    def test_member_unpacking_past_the_ratio_is_refused(self) -> None:
        path = self.dir / "bomb.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("bank/items.jsonl", jsonl([record()]) + PADDING * 20)
        self.assertLess(path.stat().st_size, 200_000)  # 20 MiB packed about 1000:1
        errors = self.assert_refused(path, 0, "")
        self.assertIn("bank/items.jsonl", errors[0].message)

    def test_image_member_past_the_ratio_is_refused(self) -> None:
        path = self.dir / "bomb.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("items.jsonl", jsonl([record(images=["fig.png"])]))
            archive.writestr("fig.png", b"\0" * (8 * MB))
        errors = self.assert_refused(path, 0, "")
        self.assertIn("fig.png", errors[0].message)

    @override_settings(ITEMBANK_MAX_IMPORT_RATIO=10_000)
    def test_unpacked_bytes_are_counted_as_read(self) -> None:
        path = self.dir / "bomb.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("items.jsonl", jsonl([record()]) + PADDING * 6)
        # The archive declares 6 MiB; the limit is checked on it first, then on what is read.
        with override_settings(ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES=7 * MB):
            self.run_import(path)
        self.assertEqual(Item.objects.count(), 1)

    def test_the_bomb_of_the_issue_costs_little_memory(self) -> None:
        """benchmarks/zip_bomb.py's two shapes, at 48 MiB: one record repeated, one huge stem."""
        for shape in ("records", "stem"):
            with self.subTest(shape=shape):
                path = self.dir / f"{shape}.zip"
                write_bomb(path, 48, shape)
                self.assertLess(peak_bytes(partial(self.run_import, path)), 24 * MB)
                self.assertFalse(Item.objects.exists())


class StreamingTests(ImportTestCase):
    """30 MiB files holding two items: each is read a line or an element at a time."""

    def assert_streamed(self, name: str, content: str) -> None:
        path = self.write(name, content)
        with open(path, "rb") as fh:
            peak = peak_bytes(lambda: import_file(fh, name))
        self.assertEqual(Item.objects.count(), 2)
        self.assertLess(peak, 8 * MB)

    def test_jsonl(self) -> None:
        self.assert_streamed("a.jsonl", jsonl([record()]) + PADDING * 30 + jsonl([record("B")]))

    def test_json_list(self) -> None:
        first, second = (json.dumps(r, ensure_ascii=False) for r in (record(), record("B")))
        self.assert_streamed("a.json", f"[{first},\n{PADDING * 30}{second}]")

    def test_csv(self) -> None:
        head = "external_id,subject,stem\n"
        self.assert_streamed("a.csv", head + "A,수학,발문\n" + PADDING * 30 + "B,수학,발문\n")

    def test_a_line_longer_than_any_item_is_refused(self) -> None:
        huge = record(note="a" * RECORD_MAX_BYTES)  # a key the format ignores
        self.assert_refused(self.write("a.jsonl", jsonl([record("A"), huge])), 2, "")
        text = json.dumps([record("A"), huge], ensure_ascii=False, indent=1)
        line = text[: text.rindex("{", 0, text.index('"note"'))].count("\n") + 1
        self.assert_refused(self.write("a.json", text), line, "")

    def test_json_errors_keep_their_line_and_column_across_chunks(self) -> None:
        text = "[" + PADDING * 2 + json.dumps(record()) + ",\n  oops]"
        errors = self.assert_refused(self.write("a.json", text), text.count("\n") + 1, "")
        self.assertIn("3", errors[0].message)  # column 3


class BadTextTests(ImportTestCase):
    """NUL characters and deep nesting: an error with its line and field, not a crash."""

    def test_nul_is_refused_with_line_and_field(self) -> None:
        records = [record(), record("B", stem="발문\u0000"), record("C", tags=["덧\u0000셈"])]
        errors = self.assert_refused(self.write("a.jsonl", jsonl(records)), 2, "stem")
        self.assertIn((3, "tags"), [(e.line, e.field) for e in errors])
        path = self.write("a.csv", "external_id,subject,stem\nA,수학,발\x00문\n")
        self.assert_refused(path, 2, "stem")

    def test_deep_nesting_is_refused_with_its_line(self) -> None:
        self.assert_refused(
            self.write("a.jsonl", jsonl([record()]) + '{"x": ' + DEEP + "}\n"), 2, ""
        )
        self.assert_refused(self.write("a.json", "[\n" + DEEP + "\n]"), 2, "")
        path = self.write("a.csv", f"external_id,subject,stem,tags\nA,수학,발문,{DEEP}\n")
        self.assert_refused(path, 2, "tags")

    def test_the_upload_page_shows_the_line_in_korean(self) -> None:
        self.login(self.admin)
        bad = [record(), record("B", stem="발문\u0000")]
        with eager_tasks(self), translation.override("ko"):
            self.client.post(reverse("item-import"), {"file": upload("bad.jsonl", bad)})
        job = ImportJob.objects.get()
        self.assertEqual(job.status, ImportJob.Status.FAILED)
        self.assertEqual([(e["line"], e["field"]) for e in job.errors], [(2, "stem")])
        self.assertFalse(Item.objects.exists())
        status = self.client.get(reverse("item-import-job", args=[job.pk]))
        self.assertContains(status, "2행")
