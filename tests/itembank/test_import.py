"""Importing items (itembank.importing): every format, updates, and every kind of bad input."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from itembank.importing import ImportFailed, import_file, import_path
from itembank.models import Item, ItemImage, ItemRevision
from itembank.signals import item_content_changed
from tests.base import BaseTestCase, make_item, png_bytes


def record(external_id: str = "MATH-2-000123", **fields) -> dict:
    values = {
        "external_id": external_id,
        "subject": "수학",
        "school_level": "초등",
        "grade": 2,
        "unit": "덧셈과 뺄셈",
        "achievement_standard": "[2수01-05]",
        "item_type": "multiple_choice",
        "stem": "다음 중 계산 결과가 가장 큰 것은? $37+25$",
        "choices": ["$52$", "$62$", "$61$", "$72$", "$63$"],
        "answer": "2",
        "explanation": "$37+25=62$",
        "difficulty": "medium",
        "images": [],
        "source": "2025 1학기 단원평가",
        "tags": ["덧셈"],
    }
    values.update(fields)
    return values


def jsonl(records: list) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


class ImportTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        media = override_settings(MEDIA_ROOT=str(self.dir / "media"))
        media.enable()
        self.addCleanup(media.disable)
        self.sent: list[list[int]] = []

        def receiver(sender, item_ids, **kwargs) -> None:
            self.sent.append(list(item_ids))

        item_content_changed.connect(receiver, weak=False, dispatch_uid="test-import")
        self.addCleanup(item_content_changed.disconnect, dispatch_uid="test-import")

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    def run_import(self, path: Path, **kwargs):
        with self.captureOnCommitCallbacks(execute=True):
            return import_path(path, **kwargs)

    def failure(self, path: Path) -> list:
        with self.assertRaises(ImportFailed) as caught:
            self.run_import(path)
        return caught.exception.errors

    def assert_refused(self, path: Path, line: int, field: str) -> list:
        """The file is refused with an error at (line, field), and nothing is written."""
        before = (Item.objects.count(), ItemRevision.objects.count(), ItemImage.objects.count())
        errors = self.failure(path)
        self.assertIn((line, field), [(e.line, e.field) for e in errors], [str(e) for e in errors])
        for error in errors:
            self.assertTrue(error.message)
        after = (Item.objects.count(), ItemRevision.objects.count(), ItemImage.objects.count())
        self.assertEqual(after, before)
        self.assertEqual(self.sent, [])
        return errors


class HappyPathTests(ImportTestCase):
    def test_jsonl(self) -> None:
        path = self.write("items.jsonl", jsonl([record(), record("MATH-2-000124", grade=None)]))
        result = self.run_import(path, user=self.admin)
        self.assertEqual((result.created, result.updated, result.unchanged), (2, 0, 0))
        self.assertEqual(result.total, 2)
        self.assertGreaterEqual(result.seconds, 0)
        item = Item.objects.get(external_id="MATH-2-000123")
        self.assertEqual(item.choices, ["$52$", "$62$", "$61$", "$72$", "$63$"])
        self.assertEqual(item.tags, ["덧셈"])
        self.assertEqual(item.author, self.admin)
        self.assertTrue(item.has_latex)
        # The derived fields are the ones save_item computes.
        twin = make_item("TWIN-1", stem=item.stem, choices=item.choices)
        self.assertEqual(item.content_hash, twin.content_hash)
        rev = item.revisions.get()
        self.assertEqual((rev.action, rev.via, rev.user), ("import", "import", self.admin))
        self.assertEqual(rev.changes["stem"]["new"], item.stem)
        self.assertIsNone(Item.objects.get(external_id="MATH-2-000124").grade)
        self.assertEqual(len(self.sent), 1)
        self.assertEqual(
            set(self.sent[0]),
            set(Item.objects.filter(external_id__startswith="MATH").values_list("pk", flat=True)),
        )

    def test_json_list(self) -> None:
        path = self.write("items.json", json.dumps([record(), record("B-1")], ensure_ascii=False))
        result = self.run_import(path)
        self.assertEqual(result.created, 2)
        self.assertEqual(Item.objects.get(external_id="B-1").unit, "덧셈과 뺄셈")

    def test_csv(self) -> None:
        buf = io.StringIO()
        writer = csv.writer(buf)
        keys = list(record())
        writer.writerow(keys)
        rec = record(stem="여러 줄\n발문 $x^2$")
        writer.writerow(
            [json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for v in rec.values()]
        )
        writer.writerow(["C-2", "국어", "", "", "", "", "", "발문", "", "", "", "", "", "", ""])
        path = self.write("items.csv", buf.getvalue())
        result = self.run_import(path)
        self.assertEqual(result.created, 2)
        item = Item.objects.get(external_id="MATH-2-000123")
        self.assertEqual(item.grade, 2)
        self.assertEqual(item.stem, "여러 줄\n발문 $x^2$")
        self.assertEqual(item.choices[1], "$62$")
        short = Item.objects.get(external_id="C-2")
        self.assertEqual((short.choices, short.tags, short.grade), ([], [], None))
        self.assertEqual(short.item_type, "multiple_choice")

    def test_zip_with_images(self) -> None:
        red, blue = png_bytes("red"), png_bytes("blue")
        path = self.dir / "bank.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(
                "bank/items.jsonl",
                jsonl(
                    [
                        record(images=["figures/a.png", "figures/b.png"]),
                        record("SHARED-1", images=["figures/a.png"]),
                    ]
                ),
            )
            archive.writestr("bank/figures/a.png", red)
            archive.writestr("bank/figures/b.png", blue)
        result = self.run_import(path)
        self.assertEqual(result.created, 2)
        item = Item.objects.get(external_id="MATH-2-000123")
        self.assertEqual(item.image_count, 2)
        images = list(item.images.order_by("position"))
        self.assertEqual(images[0].file.read(), red)
        self.assertEqual(images[1].original_name, "figures/b.png")
        self.assertEqual(images[1].width, 40)
        # The same figure is stored once.
        shared = Item.objects.get(external_id="SHARED-1").images.get()
        self.assertEqual(shared.file.name, images[0].file.name)
        self.assertEqual(item.category, "image")

    def test_folder_images(self) -> None:
        self.write("figures/fig.png", png_bytes("green"))
        path = self.write("items.jsonl", jsonl([record(images=["figures/fig.png"])]))
        self.run_import(path)
        self.assertEqual(Item.objects.get().images.get().file.read(), png_bytes("green"))

    def test_html_is_stored_as_text(self) -> None:
        stem = '<script>alert("x")</script><b onclick="evil()">굵게</b> $x$'
        path = self.write("items.jsonl", jsonl([record(stem=stem, choices=["<img src=x>"])]))
        self.run_import(path)
        item = Item.objects.get()
        self.assertEqual(item.stem, stem)
        self.assertEqual(item.choices, ["<img src=x>"])

    def test_progress_callback(self) -> None:
        path = self.write("items.jsonl", jsonl([record(f"P-{i}") for i in range(7)]))
        calls: list[tuple[int, int]] = []
        self.run_import(path, progress=lambda done, total: calls.append((done, total)))
        self.assertEqual(calls[-1], (14, 14))
        self.assertEqual(calls[0], (1, 14))
        self.assertEqual([d for d, _ in calls], sorted(d for d, _ in calls))

    def test_blank_lines_and_bom_are_fine(self) -> None:
        path = self.write(
            "items.jsonl", "\ufeff" + jsonl([record()]) + "\n\n" + jsonl([record("Z-1")])
        )
        self.assertEqual(self.run_import(path).created, 2)

    def test_import_file_upload(self) -> None:
        data = jsonl([record()]).encode()
        with self.captureOnCommitCallbacks(execute=True):
            result = import_file(io.BytesIO(data), "upload.jsonl")
        self.assertEqual(result.created, 1)


class UpdateTests(ImportTestCase):
    def test_reimport_updates_by_external_id(self) -> None:
        self.run_import(self.write("a.jsonl", jsonl([record(), record("K-1")])))
        item = Item.objects.get(external_id="MATH-2-000123")
        old_hash = item.content_hash
        self.sent.clear()
        changed = record(stem="바뀐 발문 $y$", answer="3")
        answer_only = record("K-1", answer="5")
        result = self.run_import(self.write("b.jsonl", jsonl([changed, answer_only])))
        self.assertEqual((result.created, result.updated, result.unchanged), (0, 2, 0))
        item.refresh_from_db()
        self.assertEqual((item.stem, item.answer), ("바뀐 발문 $y$", "3"))
        self.assertNotEqual(item.content_hash, old_hash)
        rev = item.revisions.order_by("-id").first()
        self.assertEqual(rev.action, "import")
        self.assertEqual(set(rev.changes), {"stem", "answer"})
        # Only the item whose model input changed is re-embedded.
        self.assertEqual(self.sent, [[item.pk]])
        self.assertEqual(Item.objects.count(), 2)

    def test_unchanged_reimport_writes_nothing(self) -> None:
        path = self.write("a.jsonl", jsonl([record(), record("K-1")]))
        self.run_import(path)
        self.sent.clear()
        updated = list(Item.objects.order_by("pk").values_list("updated_at", flat=True))
        result = self.run_import(path)
        self.assertEqual((result.created, result.updated, result.unchanged), (0, 0, 2))
        self.assertEqual(ItemRevision.objects.count(), 2)
        self.assertEqual(self.sent, [])
        self.assertEqual(
            list(Item.objects.order_by("pk").values_list("updated_at", flat=True)), updated
        )

    def test_update_replaces_images_and_reuses_files(self) -> None:
        self.write("f/red.png", png_bytes("red"))
        self.write("f/blue.png", png_bytes("blue"))
        self.run_import(self.write("a.jsonl", jsonl([record(images=["f/red.png", "f/blue.png"])])))
        item = Item.objects.get()
        red_file = item.images.get(position=0).file.name
        self.sent.clear()
        # Same checksums under other names: nothing changes.
        self.write("g/red.png", png_bytes("red"))
        self.write("g/blue.png", png_bytes("blue"))
        result = self.run_import(
            self.write("b.jsonl", jsonl([record(images=["g/red.png", "g/blue.png"])]))
        )
        self.assertEqual(result.unchanged, 1)
        # Drop blue, keep red: one image, the red file reused, the hash changes.
        result = self.run_import(self.write("c.jsonl", jsonl([record(images=["g/red.png"])])))
        self.assertEqual(result.updated, 1)
        item.refresh_from_db()
        self.assertEqual(item.image_count, 1)
        self.assertEqual(item.images.get().file.name, red_file)
        self.assertEqual(self.sent, [[item.pk]])
        self.assertIn("images", item.revisions.order_by("-id").first().changes)

    def test_reimport_of_item_made_in_ui(self) -> None:
        item = make_item("MATH-2-000123", images=[png_bytes("red")])
        self.write("f/red.png", png_bytes("red"))
        fields = {k: getattr(item, k) for k in record() if k != "images"}
        result = self.run_import(
            self.write("a.jsonl", jsonl([{**fields, "images": ["f/red.png"]}]))
        )
        self.assertEqual(result.unchanged, 1)


class BadInputTests(ImportTestCase):
    def test_unknown_subject(self) -> None:
        path = self.write("a.jsonl", jsonl([record(), record("B-2", subject="체육")]))
        errors = self.assert_refused(path, 2, "subject")
        self.assertIn("체육", errors[0].message)

    def test_unknown_item_type_and_difficulty(self) -> None:
        path = self.write("a.jsonl", jsonl([record(item_type="matching", difficulty="very")]))
        self.assert_refused(path, 1, "item_type")
        self.assert_refused(path, 1, "difficulty")

    def test_missing_required_fields(self) -> None:
        rec = record()
        del rec["external_id"]
        path = self.write(
            "a.jsonl", jsonl([rec, record("B-2", subject=""), record("B-3", stem=" ")])
        )
        self.assert_refused(path, 1, "external_id")
        self.assert_refused(path, 2, "subject")
        self.assert_refused(path, 3, "stem")

    def test_choices_not_a_list_of_strings(self) -> None:
        path = self.write("a.jsonl", jsonl([record(choices="①②"), record("B", choices=[1, 2])]))
        self.assert_refused(path, 1, "choices")
        self.assert_refused(path, 2, "choices")

    def test_grade_not_an_int(self) -> None:
        path = self.write(
            "a.jsonl", jsonl([record(grade="2학년"), record("B", grade=2.5), record("C", grade=13)])
        )
        self.assert_refused(path, 1, "grade")
        self.assert_refused(path, 2, "grade")
        self.assert_refused(path, 3, "grade")

    def test_wrong_type_for_text(self) -> None:
        self.assert_refused(
            self.write("a.jsonl", jsonl([record(external_id=123)])), 1, "external_id"
        )

    def test_model_rules_apply(self) -> None:
        path = self.write(
            "a.jsonl",
            jsonl([record(external_id="bad id!"), record("B", achievement_standard="2수01")]),
        )
        self.assert_refused(path, 1, "external_id")
        self.assert_refused(path, 2, "achievement_standard")

    def test_duplicate_external_id_in_file(self) -> None:
        path = self.write("a.jsonl", jsonl([record(), record("B"), record()]))
        errors = self.assert_refused(path, 3, "external_id")
        self.assertIn("1", errors[0].message)

    def test_one_bad_line_writes_nothing_even_for_updates(self) -> None:
        self.run_import(self.write("a.jsonl", jsonl([record()])))
        self.sent.clear()
        path = self.write("b.jsonl", jsonl([record(stem="새 발문"), record("B", subject="?")]))
        self.assert_refused(path, 2, "subject")
        self.assertEqual(Item.objects.get().stem, record()["stem"])

    def test_malformed_jsonl_names_the_line(self) -> None:
        path = self.write(
            "a.jsonl", jsonl([record()]) + '{"external_id": "B",\n' + jsonl([record("C")])
        )
        self.assert_refused(path, 2, "")

    def test_jsonl_line_not_an_object(self) -> None:
        self.assert_refused(self.write("a.jsonl", jsonl([record(), [1, 2]])), 2, "")

    def test_malformed_json_names_the_line(self) -> None:
        text = json.dumps([record(), record("B")], ensure_ascii=False, indent=2)
        broken = text.replace('"B"', '"B" "oops"')
        line = broken[: broken.index('"oops"')].count("\n") + 1
        self.assert_refused(self.write("a.json", broken), line, "")

    def test_json_records_are_located_by_line(self) -> None:
        text = json.dumps([record(), record("B", subject="X")], ensure_ascii=False, indent=2)
        line = text[: text.index('"external_id": "B"')].count("\n")  # the "{" line
        self.assert_refused(self.write("a.json", text), line, "subject")

    def test_json_not_a_list(self) -> None:
        self.assert_refused(self.write("a.json", json.dumps(record())), 1, "")

    def test_empty_file(self) -> None:
        self.assert_refused(self.write("a.jsonl", "\n\n"), 0, "")

    def test_not_utf8(self) -> None:
        data = jsonl([record()]).encode() + "발문".encode("euc-kr") + b"\n"
        self.assert_refused(self.write("a.jsonl", data), 2, "")

    def test_malformed_csv(self) -> None:
        head = "external_id,subject,stem,choices\n"
        path = self.write("a.csv", head + 'A-1,수학,발문,"[1"\nA-2,수학,발문,"[]",extra\n')
        self.assert_refused(path, 2, "choices")
        self.assert_refused(path, 3, "")

    def test_csv_row_line_counts_multiline_cells(self) -> None:
        head = "external_id,subject,stem\n"
        path = self.write("a.csv", head + 'A-1,수학,"첫 줄\n둘째 줄"\nA-2,미술,발문\n')
        self.assert_refused(path, 4, "subject")

    def test_csv_without_required_columns(self) -> None:
        self.assert_refused(self.write("a.csv", "external_id,stem\nA,발문\n"), 1, "")

    def test_missing_image(self) -> None:
        path = self.write("a.jsonl", jsonl([record(images=["figures/none.png"])]))
        self.assert_refused(path, 1, "images")

    def test_image_escaping_the_folder(self) -> None:
        self.write("secret.png", png_bytes())
        path = self.write(
            "sub/a.jsonl",
            jsonl(
                [
                    record(images=["../secret.png"]),
                    record("B", images=[str(self.dir / "secret.png")]),
                    record("C", images=["x/../../secret.png"]),
                ]
            ),
        )
        self.assert_refused(path, 1, "images")
        self.assert_refused(path, 2, "images")
        self.assert_refused(path, 3, "images")

    def test_symlink_escaping_the_folder(self) -> None:
        self.write("secret.png", png_bytes())
        (self.dir / "sub").mkdir()
        (self.dir / "sub" / "link.png").symlink_to(self.dir / "secret.png")
        path = self.write("sub/a.jsonl", jsonl([record(images=["link.png"])]))
        self.assert_refused(path, 1, "images")

    def test_non_image(self) -> None:
        self.write("fake.png", b"<svg onload=alert(1)></svg>")
        self.assert_refused(
            self.write("a.jsonl", jsonl([record(images=["fake.png"])])), 1, "images"
        )

    @override_settings(ITEMBANK_MAX_IMAGE_PIXELS=1000)
    def test_decompression_bomb(self) -> None:
        self.write("big.png", png_bytes(size=(2000, 2000)))
        self.assert_refused(self.write("a.jsonl", jsonl([record(images=["big.png"])])), 1, "images")

    @override_settings(ITEMBANK_MAX_IMPORT_BYTES=100)
    def test_oversized_file(self) -> None:
        self.assert_refused(self.write("a.jsonl", jsonl([record(), record("B")])), 0, "")

    def test_unknown_suffix(self) -> None:
        self.assert_refused(self.write("a.txt", jsonl([record()])), 0, "")

    def test_zip_image_escaping_the_root(self) -> None:
        path = self.dir / "a.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(
                "items.jsonl", jsonl([record(images=["../a.png"]), record("B", images=["/a.png"])])
            )
            archive.writestr("a.png", png_bytes())
        self.assert_refused(path, 1, "images")
        self.assert_refused(path, 2, "images")

    def test_zip_missing_image_and_bad_image(self) -> None:
        path = self.dir / "a.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(
                "items.jsonl", jsonl([record(images=["nope.png"]), record("B", images=["x.png"])])
            )
            archive.writestr("x.png", b"GIF89a not really")
        self.assert_refused(path, 1, "images")
        self.assert_refused(path, 2, "images")

    @override_settings(ITEMBANK_MAX_IMPORT_UNCOMPRESSED_BYTES=1_000_000)
    def test_zip_bomb(self) -> None:
        path = self.dir / "bomb.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("items.jsonl", jsonl([record()]))
            archive.writestr("zeros.png", b"\0" * 5_000_000)
        self.assertLess(path.stat().st_size, 100_000)
        self.assert_refused(path, 0, "")

    @override_settings(ITEMBANK_MAX_IMPORT_ENTRIES=10)
    def test_zip_with_too_many_entries(self) -> None:
        path = self.dir / "many.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("items.jsonl", jsonl([record()]))
            for i in range(20):
                archive.writestr(f"f/{i}.txt", "x")
        self.assert_refused(path, 0, "")

    def test_zip_needs_exactly_one_data_file(self) -> None:
        path = self.dir / "two.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.jsonl", jsonl([record()]))
            archive.writestr("b.csv", "external_id,subject,stem\n")
        self.assert_refused(path, 0, "")

    def test_not_a_zip(self) -> None:
        self.assert_refused(self.write("a.zip", b"PK\x03\x04 broken"), 0, "")

    def test_upload_without_zip_cannot_bring_images(self) -> None:
        data = jsonl([record(images=["a.png"])]).encode()
        with self.assertRaises(ImportFailed) as caught:
            import_file(io.BytesIO(data), "upload.jsonl")
        self.assertEqual([(e.line, e.field) for e in caught.exception.errors], [(1, "images")])
        self.assertFalse(Item.objects.exists())

    def test_errors_are_capped(self) -> None:
        path = self.write("a.jsonl", jsonl([record(f"E-{i}", subject="?") for i in range(300)]))
        errors = self.failure(path)
        self.assertLessEqual(len(errors), 101)
        self.assertEqual(errors[0].line, 1)

    def test_all_errors_of_a_file_are_reported(self) -> None:
        path = self.write(
            "a.jsonl", jsonl([record(subject="?"), record("B"), record("C", grade="x")])
        )
        errors = self.failure(path)
        self.assertEqual([(e.line, e.field) for e in errors], [(1, "subject"), (3, "grade")])


class ImportCommandTests(ImportTestCase):
    def test_command_imports_and_reports(self) -> None:
        path = self.write("a.jsonl", jsonl([record(), record("B")]))
        out = io.StringIO()
        with self.captureOnCommitCallbacks(execute=True):
            call_command(
                "import_items", str(path), "--user", "admin", stdout=out, stderr=io.StringIO()
            )
        self.assertIn("2", out.getvalue())
        self.assertEqual(Item.objects.get(external_id="B").author, self.admin)

    def test_command_lists_errors_and_fails(self) -> None:
        path = self.write("a.jsonl", jsonl([record(), record("B", subject="?")]))
        err = io.StringIO()
        with self.assertRaises(CommandError):
            call_command("import_items", str(path), stdout=io.StringIO(), stderr=err)
        self.assertIn("2", err.getvalue())
        self.assertIn("subject", err.getvalue())
        self.assertFalse(Item.objects.exists())

    def test_command_unknown_user(self) -> None:
        path = self.write("a.jsonl", jsonl([record()]))
        with self.assertRaises(CommandError):
            call_command("import_items", str(path), "--user", "nobody", stdout=io.StringIO())
