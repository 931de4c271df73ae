"""Benchmark import_embeddings at the POC's full-bank size, on a scratch bank, then clean up.

    ./dev manage bench_import_embeddings --rows 176443 --dims 2048

Creates N minimal items (external IDs NPZBENCH-…, bulk insert, no signals) and a scratch space
(npzbench-…, disabled), writes a random N × D float16 .npz streaming, runs `import_embeddings`
(timed: load, then the HNSW index build), reports the peak resident memory of this process and
deletes the items, the space (with its vectors and index) and the file.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from numpy.lib import format as npy_format

from embeddings.models import EmbeddingSpace, ItemEmbedding
from embeddings.npz import CHUNK_ROWS
from embeddings.services import drop_index
from itembank.content import content_hash, item_text
from itembank.models import Item

PREFIX = "NPZBENCH-"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_random_npz(path: Path, ids: list[str], dims: int, seed: int = 0) -> None:
    """ids + a random float16 (n, dims) matrix of unit rows, written chunk by chunk."""
    rng = np.random.default_rng(seed)
    rows = len(ids)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("embeddings.npy", "w", force_zip64=True) as stream:
            header = {"descr": "<f2", "fortran_order": False, "shape": (rows, dims)}
            npy_format.write_array_header_2_0(stream, header)
            for start in range(0, rows, CHUNK_ROWS):
                chunk = rng.standard_normal((min(CHUNK_ROWS, rows - start), dims), np.float32)
                chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
                stream.write(chunk.astype(np.float16).tobytes())
        for key, value in (
            ("ids", np.array(ids)),
            ("model", np.array("npzbench-random")),
            ("dims", np.array(dims)),
        ):
            with zf.open(f"{key}.npy", "w") as stream:
                npy_format.write_array(stream, value, allow_pickle=False)


class Command(BaseCommand):
    help = "Time import_embeddings on a scratch bank of random vectors, then delete it all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=176_443)
        parser.add_argument("--dims", type=int, default=2048)
        parser.add_argument("--keep", action="store_true", help="Keep the scratch bank.")

    def log(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def handle(self, *args, **options) -> None:
        rows, dims = options["rows"], options["dims"]
        tag = f"{os.getpid()}"
        workdir = Path(tempfile.mkdtemp(prefix="npzbench-"))
        path = workdir / "bench.npz"
        space = None
        try:
            started = time.perf_counter()
            ids = [f"{PREFIX}{tag}-{i:07d}" for i in range(rows)]
            stems = [f"벤치마크 문항 {i}: $x^2+{i}x$의 값은?" for i in range(rows)]
            Item.objects.bulk_create(
                (
                    Item(
                        external_id=ext,
                        subject="수학",
                        stem=stem,
                        content_hash=content_hash(item_text(stem, []), []),
                        has_latex=True,
                    )
                    for ext, stem in zip(ids, stems, strict=True)
                ),
                batch_size=5000,
            )
            del stems
            self.log(f"created {rows:,} items in {time.perf_counter() - started:.1f} s")
            space = EmbeddingSpace.objects.create(
                name=f"npzbench-{tag}", backend="default", dimensions=dims, enabled=False
            )
            started = time.perf_counter()
            write_random_npz(path, ids, dims)
            del ids
            self.log(
                f"wrote {path.stat().st_size / 2**20:,.0f} MiB .npz ({rows:,} × {dims} float16) "
                f"in {time.perf_counter() - started:.1f} s; peak RSS {peak_rss_mib():,.0f} MiB"
            )
            started = time.perf_counter()
            call_command("import_embeddings", str(path), "--space", space.name, stdout=self.stdout)
            total = time.perf_counter() - started
            stored = ItemEmbedding.objects.filter(space=space).count()
            self.log(
                f"import_embeddings total {total:.1f} s (load + index); {stored:,} vectors stored; "
                f"peak RSS {peak_rss_mib():,.0f} MiB"
            )
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_relation_size(%s))", [space.index_name])
                self.log(f"index size {cursor.fetchone()[0]}")
        finally:
            path.unlink(missing_ok=True)
            workdir.rmdir()
            if not options["keep"]:
                started = time.perf_counter()
                if space is not None:
                    drop_index(space)
                    ItemEmbedding.objects.filter(space=space)._raw_delete(connection.alias)
                    space.delete()
                deleted, _ = Item.objects.filter(external_id__startswith=PREFIX).delete()
                self.log(f"cleaned up ({deleted:,} rows) in {time.perf_counter() - started:.1f} s")
