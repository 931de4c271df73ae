"""import_embeddings / export_embeddings: streamed .npz in and out, all or nothing."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import TestCase
from django.utils import translation

from embeddings.models import EmbeddingFailure, EmbeddingSpace, ItemEmbedding
from embeddings.npz import NpzError, NpzReader, bad_rows, import_npz
from embeddings.services import index_state
from tests.base import make_item

DIMS = 8


def write_npz(path: Path, compressed: bool = False, **arrays) -> Path:
    (np.savez_compressed if compressed else np.savez)(path, **arrays)
    return path


@pytest.mark.parametrize("compressed", [False, True])
def test_reader_streams_row_chunks(tmp_path, compressed) -> None:
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((23, 5)).astype(np.float16)
    path = write_npz(tmp_path / "x.npz", compressed, ids=np.array(["a"] * 23), embeddings=matrix)
    with NpzReader(path) as reader:
        member = reader.members["embeddings"]
        assert member.shape == (23, 5)
        assert member.dtype == np.float16
        chunks = list(reader.iter_rows("embeddings", chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 3]
    np.testing.assert_array_equal(np.concatenate(chunks), matrix)


def test_reader_reports_a_truncated_member(tmp_path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones((10, 4), np.float32))
    path = tmp_path / "cut.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("embeddings.npy", buf.getvalue()[:-20])
    with (
        translation.override("en"),
        NpzReader(path) as reader,
        pytest.raises(NpzError, match="ends after 8 of 10"),
    ):
        list(reader.iter_rows("embeddings", chunk_rows=4))


def test_bad_rows_finds_nan_inf_overflow_and_zero() -> None:
    rows = np.ones((6, 3), np.float32)
    rows[1, 2] = np.nan
    rows[2, 0] = np.inf
    rows[3, 1] = 1e6  # beyond float16
    rows[5] = 0
    assert bad_rows(rows).tolist() == [1, 2, 3, 5]


class NpzImportTests(TestCase):
    def setUp(self) -> None:
        # The assertions read English messages; without this the tests passed only after
        # another test had left English active (they failed alone, in Korean).
        self.enterContext(translation.override("en"))
        self.space = EmbeddingSpace.objects.create(
            name="precomputed", backend="default", dimensions=DIMS, enabled=False
        )
        self.items = [
            make_item(f"MATH-2-{i:06d}", stem=f"문항 {i}: $x^{i}$의 값은?") for i in range(5)
        ]
        self.ids = np.array([item.external_id for item in self.items])
        rng = np.random.default_rng(7)
        self.vectors = rng.standard_normal((5, DIMS)).astype(np.float32)
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))

    def npz(self, name: str = "e.npz", compressed: bool = False, **overrides) -> str:
        arrays = {"ids": self.ids, "embeddings": self.vectors, "model": np.array("qwen3-vl-2b")}
        arrays.update(overrides)
        arrays = {k: v for k, v in arrays.items() if v is not None}
        return str(write_npz(self.dir / name, compressed, **arrays))

    def run_import(self, path: str, *args: str) -> str:
        out = io.StringIO()
        call_command("import_embeddings", path, "--space", self.space.name, *args, stdout=out)
        return out.getvalue()

    def stored(self) -> dict[str, np.ndarray]:
        rows = ItemEmbedding.objects.filter(space=self.space).select_related("item")
        return {e.item.external_id: np.asarray(e.embedding, dtype=np.float32) for e in rows}

    def index_oid(self) -> int | None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::oid", [self.space.index_name])
            return cursor.fetchone()[0]

    def assert_refused(self, path: str, message: str, *args: str) -> None:
        before = self.stored()
        with self.assertRaisesMessage(CommandError, message):
            self.run_import(path, "--chunk-rows", "2", *args)
        after = self.stored()
        self.assertEqual(before.keys(), after.keys())
        for key, value in before.items():
            np.testing.assert_array_equal(value, after[key])

    def test_import_then_export_round_trip(self) -> None:
        EmbeddingFailure.objects.create(
            item=self.items[0], space=self.space, content_hash="old", error="boom"
        )
        output = self.run_import(self.npz(compressed=True), "--chunk-rows", "2")
        self.assertIn("5", output)
        stored = self.stored()
        self.assertEqual(sorted(stored), sorted(self.ids.tolist()))
        for external_id, row in zip(self.ids, self.vectors, strict=True):
            np.testing.assert_allclose(stored[external_id], row, rtol=1e-3, atol=1e-3)
        rows = ItemEmbedding.objects.filter(space=self.space).select_related("item")
        for row in rows:
            self.assertEqual(row.content_hash, row.item.content_hash)
            self.assertEqual(row.model_revision, "qwen3-vl-2b")
        self.assertFalse(EmbeddingFailure.objects.exists())
        self.assertEqual(index_state(self.space), "valid")

        exported = self.dir / "out.npz"
        call_command(
            "export_embeddings", str(exported), "--space", self.space.name, stdout=io.StringIO()
        )
        with np.load(exported, allow_pickle=False) as data:
            self.assertEqual(data["embeddings"].dtype, np.float16)
            self.assertEqual(data["embeddings"].shape, (5, DIMS))
            self.assertEqual(str(data["model"]), "qwen3-vl-2b")
            self.assertEqual(int(data["dims"]), DIMS)
            back = dict(zip(data["ids"].tolist(), data["embeddings"], strict=True))
        self.assertEqual(sorted(back), sorted(self.ids.tolist()))
        for external_id, row in zip(self.ids, self.vectors, strict=True):
            np.testing.assert_allclose(back[external_id], row, rtol=1e-3, atol=1e-3)

        # The exported file imports again (an update, not new rows), now without a model name.
        ItemEmbedding.objects.filter(space=self.space).update(model_revision="x")
        with np.load(exported) as data:
            again = self.npz(
                "again.npz", ids=data["ids"], embeddings=data["embeddings"], model=None
            )
        self.run_import(again)
        self.assertEqual(ItemEmbedding.objects.filter(space=self.space).count(), 5)
        self.assertEqual(
            set(ItemEmbedding.objects.values_list("model_revision", flat=True)), {"imported"}
        )

    def test_float32_export_of_an_empty_space(self) -> None:
        exported = self.dir / "empty.npz"
        call_command(
            "export_embeddings",
            str(exported),
            "--space",
            self.space.name,
            "--dtype",
            "float32",
            stdout=io.StringIO(),
        )
        with np.load(exported) as data:
            self.assertEqual(data["embeddings"].shape, (0, DIMS))
            self.assertEqual(data["embeddings"].dtype, np.float32)
            self.assertEqual(data["ids"].shape, (0,))

    def test_length_mismatch(self) -> None:
        self.assert_refused(self.npz(ids=self.ids[:4]), "4 ids but 5 embedding rows")

    def test_wrong_dimension(self) -> None:
        wide = np.ones((5, DIMS + 1), np.float32)
        self.assert_refused(self.npz(embeddings=wide), "9 dimensions; this space stores 8")

    def test_dims_disagrees_with_the_array(self) -> None:
        self.assert_refused(self.npz(dims=np.array(16)), "dims says 16")

    def test_nan_and_inf_rows_in_a_late_chunk(self) -> None:
        self.run_import(self.npz())  # existing vectors must survive the refused import
        bad = self.vectors * 2
        bad[3, 1] = np.nan
        bad[4, 0] = -np.inf
        self.assert_refused(self.npz("bad.npz", embeddings=bad), "2 rows are not usable vectors")
        self.assertEqual(index_state(self.space), "valid")

    def test_unknown_ids_refused_then_skipped(self) -> None:
        ids = self.ids.copy()
        ids[1] = "NOT-IN-BANK-1"
        ids[2] = "NOT-IN-BANK-2"
        path = self.npz(ids=ids)
        self.run_import(self.npz("first.npz"))
        index = self.index_oid()
        self.assertIsNotNone(index)
        self.assert_refused(path, "2 of 5 ids are not in the bank, e.g. NOT-IN-BANK-1, NOT-IN")
        self.assertEqual(self.index_oid(), index)  # refused by the checks: index untouched
        ItemEmbedding.objects.filter(space=self.space).delete()
        output = self.run_import(path, "--skip-unknown", "--chunk-rows", "2")
        self.assertIn("NOT-IN-BANK-1", output)
        self.assertEqual(sorted(self.stored()), sorted([ids[0], ids[3], ids[4]]))

    def test_duplicated_ids(self) -> None:
        ids = self.ids.copy()
        ids[4] = ids[0]
        self.assert_refused(self.npz(ids=ids), f"1 ids occur more than once, e.g. {ids[0]}")

    def test_wrong_dtype_and_shape(self) -> None:
        self.assert_refused(
            self.npz(embeddings=np.ones((5, DIMS), np.int32)), "must be float16 or float32"
        )
        self.assert_refused(
            self.npz(embeddings=np.ones(5 * DIMS, np.float32)), "must have shape (n, d)"
        )
        self.assert_refused(self.npz(ids=np.arange(5)), "ids must be strings")
        self.assert_refused(self.npz(embeddings=None), "has no embeddings array")

    def test_object_ids_need_no_pickle(self) -> None:
        self.assert_refused(self.npz(ids=self.ids.astype(object)), "ids must be strings")

    def test_not_a_zip(self) -> None:
        path = self.dir / "text.npz"
        path.write_text("hello")
        self.assert_refused(str(path), "not a readable .npz file")

    def test_unknown_space(self) -> None:
        with self.assertRaisesMessage(CommandError, "No embedding space named nope"):
            call_command("import_embeddings", self.npz(), "--space", "nope")

    def test_keep_index_reports_and_loads(self) -> None:
        report = import_npz(self.npz(ids=self.ids.astype("S")), self.space)
        self.assertEqual((report.rows, report.loaded, report.skipped_unknown), (5, 5, 0))
        self.assertIsNone(report.index_seconds)
