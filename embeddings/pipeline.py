"""Embedding items into a space: plain functions the Celery tasks, the `embed_items` command and
the admin call.

Every vector is stored with the content hash of the input it was computed from, so an item
edited while it was being embedded stays stale and is picked up again. Writing is an upsert that
only touches a row when the hash (or the model revision) differs, so the same (item, space, hash)
is never written twice, however many workers or retries deliver the same ids.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from pgvector import HalfVector
from PIL import Image, UnidentifiedImageError

from itembank.content import ModelInput, content_hash, model_input
from itembank.models import Item

from .backends.base import EmbeddingBackend
from .backends.registry import load_backend
from .models import EmbeddingFailure, EmbeddingSpace, ItemEmbedding

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 16
# The sweep stops retrying an item after this many failures at the same content hash (an admin
# can still retry it) and waits RETRY_DELAY between attempts.
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(minutes=5)

Progress = Callable[[int, int], None]


@dataclass
class EmbedResult:
    requested: int = 0
    embedded: int = 0  # vectors written
    unchanged: int = 0  # already current: nothing computed or written
    failed: int = 0
    gone: int = 0  # ids of items that no longer exist
    seconds: float = 0.0
    errors: dict[int, str] = field(default_factory=dict)

    def merge(self, other: EmbedResult) -> None:
        for name in ("requested", "embedded", "unchanged", "failed", "gone", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)

    def as_dict(self) -> dict:
        return {
            "requested": self.requested,
            "embedded": self.embedded,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "gone": self.gone,
            "seconds": round(self.seconds, 3),
        }


class ItemError(Exception):
    """This item cannot be embedded (no content, unreadable image); the others go on."""


@dataclass
class Prepared:
    item_id: int
    input: ModelInput
    content_hash: str


# -- which items need work ------------------------------------------------------------------


def _current(space: EmbeddingSpace) -> Exists:
    return Exists(
        ItemEmbedding.objects.filter(
            space=space, item=OuterRef("pk"), content_hash=OuterRef("content_hash")
        )
    )


def _any_row(space: EmbeddingSpace) -> Exists:
    return Exists(ItemEmbedding.objects.filter(space=space, item=OuterRef("pk")))


def stale_or_missing(space: EmbeddingSpace, *, retry_failed: bool = True) -> QuerySet[Item]:
    """Items with no vector in `space`, or one computed from other content than they now have.

    With `retry_failed=False` (the sweep), items that failed at their current content are left
    out for RETRY_DELAY after each failure, and for good after MAX_ATTEMPTS failures.
    """
    qs = Item.objects.filter(~_current(space))
    if not retry_failed:
        waiting = EmbeddingFailure.objects.filter(
            space=space, item=OuterRef("pk"), content_hash=OuterRef("content_hash")
        ).filter(Q(attempts__gte=MAX_ATTEMPTS) | Q(last_failed_at__gt=timezone.now() - RETRY_DELAY))
        qs = qs.filter(~Exists(waiting))
    return qs.order_by("pk")


def stale(space: EmbeddingSpace) -> QuerySet[Item]:
    """Items whose vector in `space` was computed from older content."""
    return Item.objects.filter(_any_row(space), ~_current(space)).order_by("pk")


# -- coverage -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    subject: str
    total: int
    embedded: int  # vector computed from the current content
    stale: int  # vector computed from older content
    failed: int  # the last attempt at the current content failed
    missing: int  # no vector, no failure

    @property
    def percent(self) -> float:
        return 100.0 * self.embedded / self.total if self.total else 100.0


# One row per item, joined to its vector and failure in the space; the four states are disjoint
# and in the order of Coverage's fields.
_STATES = {
    "embedded": "e.content_hash = i.content_hash",
    "stale": (
        "e.content_hash <> i.content_hash AND f.content_hash IS DISTINCT FROM i.content_hash"
    ),
    "failed": "e.content_hash IS DISTINCT FROM i.content_hash AND f.content_hash = i.content_hash",
    "missing": "e.item_id IS NULL AND f.content_hash IS DISTINCT FROM i.content_hash",
}
_JOINS = (
    "FROM itembank_item i"
    " LEFT JOIN embeddings_itemembedding e ON e.item_id = i.id AND e.space_id = {space}"
    " LEFT JOIN embeddings_embeddingfailure f ON f.item_id = i.id AND f.space_id = {space}"
)


def coverage(space: EmbeddingSpace) -> list[Coverage]:
    """Embedded / stale / failed / missing items of `space`, per subject."""
    counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in _STATES.values())
    sql = (
        f"SELECT i.subject, count(*), {counts} {_JOINS.format(space='%s')}"
        " GROUP BY i.subject ORDER BY i.subject"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [space.pk, space.pk])
        rows = cursor.fetchall()
    return [Coverage(*row) for row in rows]


def coverage_total(space: EmbeddingSpace) -> Coverage:
    rows = coverage(space)
    return Coverage("", *(sum(getattr(r, name) for r in rows) for name in _count_fields()))


def _count_fields() -> list[str]:
    return ["total", *_STATES]


def coverage_sql(state: str, space_column: str) -> str:
    """A correlated subquery counting the items of the space in `space_column` in `state`
    (for annotating a queryset of spaces, as the admin does)."""
    joins = _JOINS.format(space=space_column)
    return f"SELECT count(*) {joins} WHERE {_STATES[state]}"


# -- embedding --------------------------------------------------------------------------------


def embed_items(
    space: EmbeddingSpace,
    item_ids: Iterable[int],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    force: bool = False,
    progress: Progress | None = None,
) -> EmbedResult:
    """Embed the given items into `space` in batches and store the vectors.

    Items whose vector is already current are skipped unless `force` (a forced vector is still
    only written when the hash or the model revision changed). Per-item problems are recorded as
    EmbeddingFailure rows; a backend that cannot load fails every item with its reason.
    """
    started = time.monotonic()
    ids = list(dict.fromkeys(int(pk) for pk in item_ids))
    result = EmbedResult(requested=len(ids))
    batch_size = max(1, int(batch_size))
    try:
        backend = load_backend(space.config())
    except Exception as exc:  # missing weights, bad config, out of memory while loading
        reason = f"model could not be loaded: {describe(exc)}"
        logger.error("space %s: %s", space.name, reason)
        hashes = dict(Item.objects.filter(pk__in=ids).values_list("pk", "content_hash"))
        record_failures(space, {pk: (hashes[pk], reason) for pk in hashes})
        result.failed = len(hashes)
        result.gone = len(ids) - len(hashes)
        result.errors = dict.fromkeys(hashes, reason)
        result.seconds = time.monotonic() - started
        return result

    revision = str(getattr(backend, "revision", "") or "")[:200]
    done = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        batch = _embed_batch(space, backend, revision, chunk, force=force)
        result.merge(batch)
        done += len(chunk)
        if progress is not None:
            progress(done, len(ids))
    result.requested = len(ids)
    result.seconds = time.monotonic() - started
    return result


def _embed_batch(
    space: EmbeddingSpace,
    backend: EmbeddingBackend,
    revision: str,
    chunk: Sequence[int],
    *,
    force: bool,
) -> EmbedResult:
    result = EmbedResult()
    pending = Item.objects.filter(pk__in=chunk)
    if not force:
        pending = pending.filter(~_current(space))
    items = list(pending.order_by("pk"))
    found = set(Item.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    result.gone = len(chunk) - len(found)
    result.unchanged = len(found) - len(items)
    if result.unchanged:
        clear_failures(space, found - {item.pk for item in items})

    prepared: list[Prepared] = []
    failures: dict[int, tuple[str, str]] = {}
    for item in items:
        try:
            inp = model_input(item)
            checked_hash = content_hash(inp.text, inp.image_sha256s)
            check_input(space, inp)
        except ItemError as exc:
            failures[item.pk] = (item.content_hash, str(exc))
            continue
        except OSError as exc:
            failures[item.pk] = (item.content_hash, describe(exc))
            continue
        prepared.append(Prepared(item.pk, inp, checked_hash))

    vectors, errors = embed_inputs(backend, [p.input for p in prepared], space.dimensions)
    for index, reason in errors.items():
        failures[prepared[index].item_id] = (prepared[index].content_hash, reason)
    rows = [(prepared[i].item_id, prepared[i].content_hash, vec) for i, vec in vectors.items()]
    written = upsert_embeddings(space, rows, revision)
    result.embedded = len(written)
    result.unchanged += len(rows) - len(written)
    clear_failures(space, [item_id for item_id, _, _ in rows])
    if failures:
        record_failures(space, failures)
        result.failed = len(failures)
        result.errors = {pk: reason for pk, (_, reason) in failures.items()}
    return result


def check_input(space: EmbeddingSpace, inp: ModelInput) -> None:
    """Raise ItemError when the model would get nothing, or an image cannot be read."""
    takes_text = "text" in space.modalities
    takes_images = "image" in space.modalities
    if not (takes_text and inp.text.strip()) and not (takes_images and inp.image_paths):
        if not inp.text.strip() and not inp.image_paths:
            raise ItemError("empty item: no text and no images")
        raise ItemError(
            "nothing this model can embed: the item has only "
            + ("images" if inp.image_paths else "text")
        )
    if takes_images:
        for path in inp.image_paths:
            try:
                with Image.open(path) as img:
                    img.verify()
            except FileNotFoundError as exc:
                raise ItemError(f"image file missing: {path}") from exc
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
                raise ItemError(f"image cannot be decoded: {path}: {describe(exc)}") from exc


def is_out_of_memory(exc: BaseException) -> bool:
    # torch.cuda.OutOfMemoryError is a RuntimeError; matched by name so torch is not imported.
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def embed_inputs(
    backend: EmbeddingBackend, inputs: Sequence[ModelInput], dimensions: int
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Embed `inputs`; returns vectors and errors by index.

    A batch that runs out of memory is halved until it fits (a single input that still does not
    fit fails with the reason); a batch that raises anything else is retried one input at a
    time so one bad item does not fail its neighbours.
    """
    vectors: dict[int, np.ndarray] = {}
    errors: dict[int, str] = {}

    def run(indices: list[int]) -> None:
        if not indices:
            return
        try:
            out = np.asarray(
                backend.embed([inputs[i] for i in indices], batch_size=len(indices)),
                dtype=np.float32,
            )
        except Exception as exc:
            if is_out_of_memory(exc):
                _free_accelerator_memory()
                if len(indices) > 1:
                    half = len(indices) // 2
                    run(indices[:half])
                    run(indices[half:])
                else:
                    errors[indices[0]] = f"out of memory: {describe(exc)}"
                return
            if len(indices) > 1:
                for i in indices:
                    run([i])
            else:
                errors[indices[0]] = describe(exc)
            return
        if out.shape != (len(indices), dimensions):
            reason = (
                f"the model returned vectors of shape {out.shape}; the space stores "
                f"{dimensions} dimensions"
            )
            errors.update(dict.fromkeys(indices, reason))
            return
        for row, i in zip(out, indices, strict=True):
            if np.all(np.isfinite(row)) and np.any(row):
                vectors[i] = row
            else:
                errors[i] = "the model returned an invalid vector (zero, NaN or infinite)"

    run(list(range(len(inputs))))
    return vectors, errors


def _free_accelerator_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


# -- writing ----------------------------------------------------------------------------------


def upsert_embeddings(
    space: EmbeddingSpace, rows: Sequence[tuple[int, str, np.ndarray]], revision: str
) -> set[int]:
    """Insert or update (item_id, content_hash, vector) rows; returns the item ids written.

    A row is only rewritten when its stored hash or model revision differs. Items or spaces
    deleted meanwhile are skipped.
    """
    if not rows:
        return set()
    values = ", ".join(["(%s::bigint, %s, %s::halfvec)"] * len(rows))
    params: list = []
    for item_id, chash, vector in rows:
        params += [item_id, chash, HalfVector(vector).to_text()]
    sql = (
        "INSERT INTO embeddings_itemembedding"
        " (item_id, space_id, embedding, content_hash, model_revision, updated_at)"
        " SELECT v.item_id, s.id, v.embedding, v.content_hash, %s, now()"
        f" FROM (VALUES {values}) AS v(item_id, content_hash, embedding)"
        " JOIN itembank_item i ON i.id = v.item_id"
        " JOIN embeddings_embeddingspace s ON s.id = %s"
        " ON CONFLICT (space_id, item_id) DO UPDATE SET"
        " embedding = EXCLUDED.embedding, content_hash = EXCLUDED.content_hash,"
        " model_revision = EXCLUDED.model_revision, updated_at = EXCLUDED.updated_at"
        " WHERE embeddings_itemembedding.content_hash <> EXCLUDED.content_hash"
        " OR embeddings_itemembedding.model_revision <> EXCLUDED.model_revision"
        " RETURNING item_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [revision, *params, space.pk])
        return {row[0] for row in cursor.fetchall()}


def record_failures(space: EmbeddingSpace, failures: dict[int, tuple[str, str]]) -> None:
    """Record (or count again) why items failed: {item_id: (content_hash, reason)}."""
    if not failures:
        return
    values = ", ".join(["(%s::bigint, %s, %s)"] * len(failures))
    params: list = []
    for item_id, (chash, reason) in failures.items():
        params += [item_id, chash, reason[:10000]]
    sql = (
        "INSERT INTO embeddings_embeddingfailure"
        " (item_id, space_id, content_hash, error, attempts, first_failed_at, last_failed_at)"
        " SELECT v.item_id, s.id, v.content_hash, v.error, 1, now(), now()"
        f" FROM (VALUES {values}) AS v(item_id, content_hash, error)"
        " JOIN itembank_item i ON i.id = v.item_id"
        " JOIN embeddings_embeddingspace s ON s.id = %s"
        " ON CONFLICT (space_id, item_id) DO UPDATE SET"
        " error = EXCLUDED.error, last_failed_at = EXCLUDED.last_failed_at,"
        " attempts = CASE WHEN embeddings_embeddingfailure.content_hash = EXCLUDED.content_hash"
        " THEN embeddings_embeddingfailure.attempts + 1 ELSE 1 END,"
        " first_failed_at = CASE"
        " WHEN embeddings_embeddingfailure.content_hash = EXCLUDED.content_hash"
        " THEN embeddings_embeddingfailure.first_failed_at ELSE EXCLUDED.first_failed_at END,"
        " content_hash = EXCLUDED.content_hash"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, space.pk])


def clear_failures(space: EmbeddingSpace, item_ids: Iterable[int]) -> None:
    ids = list(item_ids)
    if ids:
        EmbeddingFailure.objects.filter(space=space, item_id__in=ids).delete()
