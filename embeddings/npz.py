"""Precomputed embeddings in NumPy `.npz` files (shared/design/formats.md), streamed both ways.

Layout: `ids` (strings, shape (n,)), `embeddings` (float16/float32, shape (n, d)), optional
`model` (string) and `dims` (int). The POC's full-bank file is 176,443 × 2048; nothing here holds
the whole array: `NpzReader.iter_rows` reads a member's `.npy` header with `numpy.lib.format`
and then fixed-size row chunks straight from the (stored or deflated) zip member stream.

Import (`import_npz`): check everything that can be checked without the vectors (members, dtype,
shape, `dims`, duplicated and unknown ids), then stream the rows, checking each chunk for NaN,
infinite, out-of-half-range and zero rows, into a temporary staging table by binary COPY (the
rows are packed with NumPy into PostgreSQL's binary COPY format, `halfvec` as pgvector sends it),
and finally one `INSERT ... SELECT ... ON CONFLICT` into the embeddings table. All of it runs in
one transaction: a bad row anywhere means nothing is written.

Export (`export_npz`): one binary `COPY ... TO STDOUT` of the space's vectors parsed with NumPy
and written row chunk by row chunk into the zip member.
"""

from __future__ import annotations

import struct
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from django.db import connection, transaction
from django.utils.translation import gettext as _
from numpy.lib import format as npy_format

from itembank.models import Item

from .models import EmbeddingFailure, EmbeddingSpace, ItemEmbedding
from .services import drop_index, ensure_index

CHUNK_ROWS = 8192
HALF_MAX = float(np.finfo(np.float16).max)
EXAMPLES = 5
PGCOPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
PGCOPY_TRAILER = struct.pack(">h", -1)


class NpzError(Exception):
    """The file cannot be imported as it is; the message says why (shown to admins)."""


@dataclass(frozen=True)
class Member:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool


def _examples(values) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:EXAMPLES])
    return shown + (", …" if len(values) > EXAMPLES else "")


def _read_header(stream: IO[bytes], name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            return npy_format.read_array_header_1_0(stream)
        if version == (2, 0):
            return npy_format.read_array_header_2_0(stream)
    except ValueError as exc:
        raise NpzError(
            _("%(name)s is not a NumPy array: %(error)s") % {"name": name, "error": exc}
        ) from exc
    raise NpzError(
        _("%(name)s uses .npy format version %(version)s; 1.0 and 2.0 are supported.")
        % {"name": name, "version": ".".join(map(str, version))}
    )


class NpzReader:
    """Reads the members of an .npz file without loading the large ones."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise NpzError(
                _("%(file)s is not a readable .npz file: %(error)s")
                % {"file": self.path.name, "error": exc}
            ) from exc
        self.members: dict[str, Member] = {}
        for info in self.zip.infolist():
            if not info.filename.endswith(".npy"):
                continue
            key = info.filename[: -len(".npy")]
            with self.zip.open(info) as stream:
                shape, fortran, dtype = _read_header(stream, info.filename)
            self.members[key] = Member(key, tuple(shape), dtype, fortran)

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> NpzReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, key: str) -> np.ndarray:
        """A whole (small) member; object arrays are refused (no pickles)."""
        with self.zip.open(f"{key}.npy") as stream:
            try:
                return npy_format.read_array(stream, allow_pickle=False)
            except ValueError as exc:
                raise NpzError(
                    _("%(name)s cannot be read without pickle: %(error)s")
                    % {"name": key, "error": exc}
                ) from exc

    def iter_rows(self, key: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
        """Chunks of at most `chunk_rows` rows of a C-ordered 2-D member, read as they stream."""
        member = self.members[key]
        if member.fortran_order:
            raise NpzError(_("%(name)s is stored in Fortran order.") % {"name": key})
        rows, dims = member.shape
        row_bytes = dims * member.dtype.itemsize
        with self.zip.open(f"{key}.npy") as stream:
            _read_header(stream, key)
            done = 0
            while done < rows:
                count = min(chunk_rows, rows - done)
                buf = bytearray(count * row_bytes)
                view = memoryview(buf)
                got = 0
                while got < len(buf):
                    n = stream.readinto(view[got:])
                    if not n:
                        raise NpzError(
                            _("%(name)s ends after %(rows)d of %(total)d rows.")
                            % {"name": key, "rows": done + got // row_bytes, "total": rows}
                        )
                    got += n
                yield np.frombuffer(buf, dtype=member.dtype).reshape(count, dims)
                done += count


@dataclass
class ImportReport:
    rows: int = 0  # rows in the file
    loaded: int = 0  # vectors written
    skipped_unknown: int = 0
    unknown_examples: list[str] = field(default_factory=list)
    model_revision: str = ""
    load_seconds: float = 0.0
    index_seconds: float | None = None  # None: no index (too many dimensions) or not built


def _ids(reader: NpzReader) -> list[str]:
    member = reader.members["ids"]
    if len(member.shape) != 1:
        raise NpzError(_("ids must have shape (n,), not %(shape)s.") % {"shape": member.shape})
    if member.dtype.kind not in "US":
        raise NpzError(
            _("ids must be strings (NumPy unicode or bytes), not %(dtype)s.")
            % {"dtype": member.dtype}
        )
    ids = reader.read("ids")
    if ids.dtype.kind == "S":
        try:
            return [value.decode("utf-8") for value in ids.tolist()]
        except UnicodeDecodeError as exc:
            raise NpzError(_("ids are not UTF-8: %(error)s") % {"error": exc}) from exc
    return [str(value) for value in ids.tolist()]


def _scalar(reader: NpzReader, key: str) -> object | None:
    if key not in reader.members:
        return None
    value = reader.read(key)
    if value.size != 1:
        raise NpzError(_("%(name)s must hold a single value.") % {"name": key})
    return value.reshape(()).item()


def check_file(reader: NpzReader, dimensions: int) -> tuple[list[str], str]:
    """Check members, shapes and dtypes against a space's dimension; return (ids, model)."""
    missing = [key for key in ("ids", "embeddings") if key not in reader.members]
    if missing:
        raise NpzError(
            _("%(file)s has no %(names)s array.")
            % {"file": reader.path.name, "names": " / ".join(missing)}
        )
    emb = reader.members["embeddings"]
    if len(emb.shape) != 2:
        raise NpzError(
            _("embeddings must have shape (n, d), not %(shape)s.") % {"shape": emb.shape}
        )
    if emb.dtype.kind != "f" or emb.dtype.itemsize not in (2, 4):
        raise NpzError(
            _("embeddings must be float16 or float32, not %(dtype)s.") % {"dtype": emb.dtype}
        )
    ids = _ids(reader)
    rows, dims = emb.shape
    if len(ids) != rows:
        raise NpzError(
            _("The file has %(ids)d ids but %(rows)d embedding rows.")
            % {"ids": len(ids), "rows": rows}
        )
    declared = _scalar(reader, "dims")
    if declared is not None and declared != dims:
        raise NpzError(
            _("dims says %(dims)s but the embeddings have %(actual)d columns.")
            % {"dims": declared, "actual": dims}
        )
    if dims != dimensions:
        raise NpzError(
            _("The embeddings have %(dims)d dimensions; this space stores %(space)d.")
            % {"dims": dims, "space": dimensions}
        )
    seen: set[str] = set()
    duplicated: dict[str, None] = {}
    for external_id in ids:
        if external_id in seen:
            duplicated[external_id] = None
        seen.add(external_id)
    if duplicated:
        raise NpzError(
            _("%(count)d ids occur more than once, e.g. %(examples)s.")
            % {"count": len(duplicated), "examples": _examples(duplicated)}
        )
    model = _scalar(reader, "model")
    if isinstance(model, bytes):
        model = model.decode("utf-8", "replace")
    return ids, str(model or "").strip()


def bad_rows(chunk: np.ndarray) -> np.ndarray:
    """Row positions in `chunk` that cannot be stored: NaN, ±inf, beyond float16, all zero."""
    values = chunk.astype(np.float32, copy=False)
    finite = np.isfinite(values).all(axis=1)
    in_range = np.abs(np.nan_to_num(values)).max(axis=1, initial=0.0) <= HALF_MAX
    nonzero = np.abs(np.nan_to_num(values)).sum(axis=1) > 0
    return np.flatnonzero(~(finite & in_range & nonzero))


def pack_copy_rows(item_ids: np.ndarray, vectors: np.ndarray) -> bytes:
    """Rows (bigint, halfvec) in PostgreSQL's binary COPY tuple format, packed by NumPy.

    pgvector's binary halfvec: int16 dim, int16 unused, then dim IEEE half floats, big-endian.
    """
    n, dims = vectors.shape
    record = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("item_id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vec", ">f2", (dims,)),
        ]
    )
    rows = np.empty(n, dtype=record)
    rows["fields"] = 2
    rows["id_len"] = 8
    rows["item_id"] = item_ids
    rows["vec_len"] = 4 + 2 * dims
    rows["dim"] = dims
    rows["unused"] = 0
    rows["vec"] = vectors
    return rows.tobytes()


def import_npz(
    path: str | Path,
    space: EmbeddingSpace,
    *,
    skip_unknown: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int, int], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> ImportReport:
    """Load a file's vectors into `space`; all or nothing. Raises NpzError naming the problem.

    `before_write` runs once every check that needs no vector has passed, just before the
    transaction that streams the rows in."""
    report = ImportReport()
    started = time.perf_counter()
    with NpzReader(path) as reader:
        ids, model = check_file(reader, space.dimensions)
        report.rows = len(ids)
        report.model_revision = (model or "imported")[
            : ItemEmbedding._meta.get_field("model_revision").max_length
        ]
        known = dict(Item.objects.filter(external_id__in=ids).values_list("external_id", "pk"))
        unknown = [external_id for external_id in ids if external_id not in known]
        if unknown and not skip_unknown:
            raise NpzError(
                _(
                    "%(count)d of %(total)d ids are not in the bank, e.g. %(examples)s. "
                    "Nothing was imported; use --skip-unknown to load the others."
                )
                % {"count": len(unknown), "total": len(ids), "examples": _examples(unknown)}
            )
        report.skipped_unknown = len(unknown)
        report.unknown_examples = unknown[:EXAMPLES]
        item_ids = np.array([known.get(external_id, -1) for external_id in ids], dtype=np.int64)
        del known, unknown
        if before_write is not None:
            before_write()

        table = connection.ops.quote_name(ItemEmbedding._meta.db_table)
        with transaction.atomic(), connection.cursor() as cursor:
            # Dropped explicitly too: ON COMMIT does not fire when this runs inside an outer
            # transaction (a savepoint).
            cursor.execute("DROP TABLE IF EXISTS pg_temp.npz_staging")
            cursor.execute(
                "CREATE TEMPORARY TABLE npz_staging (item_id bigint, embedding halfvec)"
                " ON COMMIT DROP"
            )
            bad: list[str] = []
            bad_count = 0
            done = 0
            with cursor.cursor.copy(
                "COPY npz_staging (item_id, embedding) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(PGCOPY_HEADER)
                for chunk in reader.iter_rows("embeddings", chunk_rows):
                    positions = bad_rows(chunk)
                    if len(positions):
                        bad_count += len(positions)
                        bad += [ids[done + p] for p in positions[:EXAMPLES]]
                    if not bad_count:
                        chunk_ids = item_ids[done : done + len(chunk)]
                        keep = chunk_ids >= 0
                        if keep.all():
                            copy.write(pack_copy_rows(chunk_ids, chunk))
                        elif keep.any():
                            copy.write(pack_copy_rows(chunk_ids[keep], chunk[keep]))
                    done += len(chunk)
                    if progress:
                        progress(done, report.rows)
                copy.write(PGCOPY_TRAILER)
            if bad_count:
                raise NpzError(
                    _(
                        "%(count)d rows are not usable vectors (NaN, infinite, beyond float16 "
                        "or all zero), e.g. for %(examples)s. Nothing was imported."
                    )
                    % {"count": bad_count, "examples": _examples(bad)}
                )
            cursor.execute(
                f"INSERT INTO {table} (item_id, space_id, embedding, content_hash,"
                " model_revision, updated_at)"
                " SELECT s.item_id, %s, s.embedding, i.content_hash, %s, now()"
                f" FROM npz_staging s JOIN {connection.ops.quote_name(Item._meta.db_table)} i"
                " ON i.id = s.item_id"
                " ON CONFLICT (space_id, item_id) DO UPDATE SET embedding = EXCLUDED.embedding,"
                " content_hash = EXCLUDED.content_hash,"
                " model_revision = EXCLUDED.model_revision, updated_at = EXCLUDED.updated_at",
                [space.pk, report.model_revision],
            )
            report.loaded = cursor.rowcount
            # The imported vectors are current: earlier failures for those items are moot.
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(EmbeddingFailure._meta.db_table)}"
                " WHERE space_id = %s AND item_id IN (SELECT item_id FROM npz_staging)",
                [space.pk],
            )
            cursor.execute("DROP TABLE npz_staging")
    report.load_seconds = time.perf_counter() - started
    return report


def build_index(space: EmbeddingSpace, maintenance_work_mem: str = "2GB") -> float | None:
    """Build the space's HNSW index (if missing); seconds taken, or None when it has none."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, false)", [maintenance_work_mem]
        )
    try:
        built = ensure_index(space)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET maintenance_work_mem")
    return time.perf_counter() - started if built else None


def import_with_index(
    path: str | Path, space: EmbeddingSpace, *, skip_unknown: bool = False, **kwargs
) -> ImportReport:
    """`import_npz` with the space's index dropped just before the load and built after it (HNSW
    builds far faster over a loaded table than it grows row by row). A file refused by the checks
    leaves the index alone; a load that fails later (a bad row) rebuilds it all the same."""
    dropped = False

    def drop() -> None:
        nonlocal dropped
        drop_index(space)
        dropped = True

    try:
        report = import_npz(path, space, skip_unknown=skip_unknown, before_write=drop, **kwargs)
    finally:
        seconds = build_index(space) if dropped else None
    report.index_seconds = seconds
    return report


@dataclass
class ExportReport:
    rows: int = 0
    dims: int = 0
    model: str = ""
    seconds: float = 0.0


def _write_member(zf: zipfile.ZipFile, key: str, array: np.ndarray) -> None:
    with zf.open(f"{key}.npy", "w", force_zip64=True) as stream:
        npy_format.write_array(stream, np.asanyarray(array), allow_pickle=False)


def _copy_records(cursor, sql: str, params: list, record: np.dtype) -> Iterator[np.ndarray]:
    """Parse a binary `COPY (query) TO STDOUT` of fixed-size tuples into record arrays."""
    pending = bytearray()
    header_done = False
    with cursor.copy(sql, params) as copy:
        for data in copy:
            pending += data
            if not header_done:
                if len(pending) < len(PGCOPY_HEADER):
                    continue
                ext = struct.unpack(">i", pending[15:19])[0]
                del pending[: 19 + ext]
                header_done = True
            whole = len(pending) // record.itemsize  # the 2-byte trailer never makes a whole one
            if whole:
                cut = whole * record.itemsize
                yield np.frombuffer(bytes(pending[:cut]), dtype=record)
                del pending[:cut]
    if bytes(pending) != PGCOPY_TRAILER:
        raise NpzError(_("The database sent vectors of unexpected sizes; nothing was exported."))


def export_npz(
    path: str | Path,
    space: EmbeddingSpace,
    *,
    dtype: str = "float16",
    compress: bool = False,
    chunk_rows: int = CHUNK_ROWS,
) -> ExportReport:
    """Write the space's vectors as `ids`, `embeddings`, `model`, `dims`, streaming the rows."""
    started = time.perf_counter()
    out_dtype = np.dtype(dtype)
    if out_dtype not in (np.dtype("float16"), np.dtype("float32")):
        raise NpzError(_("Export as float16 or float32."))
    dims = space.dimensions
    record = np.dtype(
        [
            ("fields", ">i2"),
            ("id_len", ">i4"),
            ("item_id", ">i8"),
            ("vec_len", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("vec", ">f2", (dims,)),
        ]
    )
    table = connection.ops.quote_name(ItemEmbedding._meta.db_table)
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:  # one snapshot for the count, the ids and the vectors
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = ItemEmbedding.objects.filter(space=space).count()
        revisions = list(
            ItemEmbedding.objects.filter(space=space)
            .values_list("model_revision", flat=True)
            .distinct()[:2]
        )
        model = revisions[0] if len(revisions) == 1 and revisions[0] else space.name
        external = dict(
            Item.objects.filter(embeddings__space=space).values_list("pk", "external_id")
        )
        order: list[int] = []
        with zipfile.ZipFile(partial, "w", compression=compression, allowZip64=True) as zf:
            with zf.open("embeddings.npy", "w", force_zip64=True) as stream:
                npy_format.write_array_header_2_0(
                    stream,
                    {
                        "descr": npy_format.dtype_to_descr(out_dtype),
                        "fortran_order": False,
                        "shape": (rows, dims),
                    },
                )
                written = 0
                for block in _copy_records(
                    cursor.cursor,
                    f"COPY (SELECT item_id, embedding FROM {table} WHERE space_id = %s"
                    " ORDER BY item_id) TO STDOUT (FORMAT BINARY)",
                    [space.pk],
                    record,
                ):
                    if (block["dim"] != dims).any() or (block["fields"] != 2).any():
                        raise NpzError(
                            _("Some vectors in this space do not have %(dims)d dimensions.")
                            % {"dims": dims}
                        )
                    stream.write(block["vec"].astype(out_dtype).tobytes())
                    order += block["item_id"].tolist()
                    written += len(block)
            if written != rows:
                raise NpzError(_("The space changed during the export; try again."))
            ids = [external[pk] for pk in order]
            _write_member(zf, "ids", np.array(ids, dtype=str) if ids else np.array([], "U1"))
            _write_member(zf, "model", np.array(model))
            _write_member(zf, "dims", np.array(dims, dtype=np.int64))
    partial.replace(target)
    return ExportReport(rows=rows, dims=dims, model=model, seconds=time.perf_counter() - started)
