"""Managing embedding spaces without downtime: register, activate (make default), enable or
disable, drop, and the per-space HNSW index.

Each space has a partial expression index
`USING hnsw ((embedding::halfvec(D)) halfvec_cosine_ops) WHERE space_id = N`. It is built with
`CREATE INDEX CONCURRENTLY` (writes and searches go on meanwhile) when the caller is outside a
transaction, which is how the admin, the `spaces` command and the workers call it. Searches use it
by repeating the expression: see `distance_expression`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import redis
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, QuerySet
from django.db.models.functions import Cast
from django.utils.translation import gettext as _
from pgvector import HalfVector
from pgvector.django import CosineDistance, HalfVectorField

from itembank.celery import app

from .backends.base import BackendError
from .backends.registry import BACKENDS, load_backend
from .models import MAX_INDEXED_DIMENSIONS, MODALITIES, EmbeddingSpace, ItemEmbedding

logger = logging.getLogger(__name__)

EMBEDDING_TABLE = ItemEmbedding._meta.db_table
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64


class SpaceError(Exception):
    """A space operation that cannot be done; the message is shown to admins as is."""


def default_space() -> EmbeddingSpace | None:
    return EmbeddingSpace.objects.filter(is_default=True).first()


def enabled_spaces() -> QuerySet[EmbeddingSpace]:
    return EmbeddingSpace.objects.filter(enabled=True)


def register_space(
    name: str,
    backend: str,
    *,
    dimensions: int | None = None,
    label: str = "",
    model_path: str = "",
    modalities: Sequence[str] | None = None,
    instruction: str = "",
    query_instruction: str = "",
    dtype: str = "float32",
    device: str = "cpu",
    options: dict | None = None,
    enabled: bool = True,
    make_default: bool = False,
) -> EmbeddingSpace:
    """Create a space and its index. Without `dimensions` the backend is loaded once to read
    them (and the modalities, unless given). Items are then embedded into it by the sweep (when
    enabled) or by `embed_items`."""
    if backend not in BACKENDS:
        raise SpaceError(_("Unknown embedding backend %(name)s.") % {"name": backend})
    if EmbeddingSpace.objects.filter(name=name).exists():
        raise SpaceError(_("An embedding space named %(name)s already exists.") % {"name": name})
    space = EmbeddingSpace(
        name=name,
        label=label,
        backend=backend,
        model_path=model_path,
        dimensions=dimensions or 1,
        modalities=list(modalities) if modalities else ["text"],
        instruction=instruction,
        query_instruction=query_instruction,
        dtype=dtype,
        device=device,
        options=options or {},
        enabled=enabled,
    )
    if dimensions is None:
        try:
            probe = EmbeddingSpace(**{**_fields(space), "dimensions": dimensions})
            loaded = load_backend(probe.config())
        except BackendError as exc:
            raise SpaceError(str(exc)) from exc
        if dimensions is None:
            space.dimensions = int(loaded.dimensions)
        if modalities is None:
            space.modalities = sorted(loaded.modalities)
    unknown = set(space.modalities) - set(MODALITIES)
    if unknown:
        raise SpaceError(
            _("Unknown modalities: %(names)s.") % {"names": ", ".join(sorted(unknown))}
        )
    space.full_clean()
    space.save()
    ensure_index(space)
    if make_default:
        activate_space(space)
    return space


def _fields(space: EmbeddingSpace) -> dict:
    return {
        f.name: getattr(space, f.name)
        for f in EmbeddingSpace._meta.concrete_fields
        if f.name not in {"id", "created_at"}
    }


def activate_space(space: EmbeddingSpace) -> EmbeddingSpace:
    """Make `space` the one search uses. Its index is built first (concurrently), then the
    switch is a single transaction, so searches never see zero or two default spaces."""
    ensure_index(space)
    with transaction.atomic():
        EmbeddingSpace.objects.filter(is_default=True).exclude(pk=space.pk).update(is_default=False)
        EmbeddingSpace.objects.filter(pk=space.pk).update(is_default=True, enabled=True)
    space.is_default = True
    space.enabled = True
    return space


def set_enabled(space: EmbeddingSpace, enabled: bool) -> EmbeddingSpace:
    if not enabled and _is_default(space):
        raise SpaceError(_("The default space cannot be disabled; make another space default."))
    EmbeddingSpace.objects.filter(pk=space.pk).update(enabled=enabled)
    space.enabled = enabled
    if enabled:
        ensure_index(space)
    return space


def drop_space(space: EmbeddingSpace) -> None:
    """Drop the space's index (concurrently), then the space with its vectors and failures."""
    if _is_default(space):
        raise SpaceError(_("The default space cannot be dropped; make another space default."))
    drop_index(space)
    EmbeddingSpace.objects.filter(pk=space.pk).delete()


def _is_default(space: EmbeddingSpace) -> bool:
    # Read from the database: the instance may predate an activation elsewhere.
    return EmbeddingSpace.objects.filter(pk=space.pk, is_default=True).exists()


def index_state(space: EmbeddingSpace) -> str:
    """ "valid", "invalid" (a failed concurrent build) or "missing"."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [space.index_name],
        )
        row = cursor.fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


def _concurrently() -> str:
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block. Inside one (a
    # request wrapped in atomic, a test case) the plain form is used; it is instant on the
    # empty or small tables it meets there.
    return "" if connection.in_atomic_block else " CONCURRENTLY"


def ensure_index(space: EmbeddingSpace) -> bool:
    """Create the space's HNSW index if it is missing (rebuild it if a concurrent build had
    failed). Returns False when the dimension is too large for an HNSW halfvec index."""
    if not space.indexable:
        logger.warning(
            "space %s: %d dimensions exceed the HNSW limit of %d; no index",
            space.name,
            space.dimensions,
            MAX_INDEXED_DIMENSIONS,
        )
        return False
    if index_state(space) == "invalid":
        drop_index(space)
    sql = (
        f"CREATE INDEX{_concurrently()} IF NOT EXISTS {connection.ops.quote_name(space.index_name)}"
        f" ON {connection.ops.quote_name(EMBEDDING_TABLE)} USING hnsw"
        f" ((embedding::halfvec({int(space.dimensions)})) halfvec_cosine_ops)"
        f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
        f" WHERE space_id = {int(space.pk)}"
    )
    _execute_ddl(sql)
    return True


def _execute_ddl(sql: str) -> None:
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            # Pending deferred foreign-key checks would block index DDL in this transaction.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql)
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute(sql)


def drop_index(space: EmbeddingSpace) -> None:
    _execute_ddl(
        f"DROP INDEX{_concurrently()} IF EXISTS {connection.ops.quote_name(space.index_name)}"
    )


def vector_expression(space: EmbeddingSpace) -> Cast:
    """`embedding::halfvec(D)` — the indexed expression, to be repeated in queries."""
    return Cast("embedding", HalfVectorField(dimensions=space.dimensions))


def distance_expression(space: EmbeddingSpace, vector: Sequence[float]) -> CosineDistance:
    """Cosine distance to `vector` in the form the space's HNSW index serves."""
    return CosineDistance(vector_expression(space), HalfVector(list(map(float, vector))))


MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search

# Planner settings that leave the HNSW index scan the only plan without a disabled node: every
# other way to answer `ORDER BY <distance> LIMIT n` sorts, and with a large ef_search (≈150 at
# 176k × 2048) or fresh statistics the planner otherwise prefers a (parallel) scan of the space's
# rows plus a sort — an exact search costing ~1 s instead of a few ms (issue 12).
# `enable_seqscan = off` is not enough: the rows can also come from the (space, item) B-tree.
PINNED_PLAN = (
    "SET LOCAL max_parallel_workers_per_gather = 0",
    "SET LOCAL enable_sort = off",
)


@contextmanager
def hnsw_scan(ef_search: int, *, iterative: bool = False) -> Iterator[CursorWrapper]:
    """A transaction and cursor in which dense `ORDER BY <=> … LIMIT n` queries are served by the
    space's HNSW index whatever ef_search, n, filters and table statistics are.

    `ef_search` (clamped to pgvector's 1…1000) bounds how many rows one scan returns; with
    `iterative` the scan goes on until enough rows pass the query's filters (relaxed order, so
    re-sort the rows). Exact search is never done here: where it is meant, say so and turn index
    scans off instead (`benchmarks.bench_search.exact_neighbours`).

    Only for reading: the block is rolled back when it ends, so that its settings never outlive
    it, even inside a caller's transaction (where it is a savepoint, and SET LOCAL would otherwise
    last until the caller's commit)."""
    ef = max(1, min(MAX_EF_SEARCH, int(ef_search)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL hnsw.ef_search = {ef}")
        for statement in PINNED_PLAN:
            cursor.execute(statement)
        if iterative:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        yield cursor
        transaction.set_rollback(True)


def nearest(space: EmbeddingSpace, vector: Sequence[float], k: int = 10) -> QuerySet:
    """The k nearest embeddings in `space` (approximate, through the index), with `distance`.
    Evaluate it inside `hnsw_scan(max(40, k))` so the index serves it and returns k rows."""
    return (
        ItemEmbedding.objects.filter(space=space)
        .annotate(distance=distance_expression(space, vector))
        .order_by(F("distance").asc())[:k]
    )


# Celery's Redis transport keeps a queue in a list named after it, plus one list per priority
# step ("gpu\x06\x163", ...) when priorities are used.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def queue_depths(queues: Sequence[str] = ("gpu", "default")) -> dict[str, int | None]:
    """Messages waiting in each Celery queue (None when the broker cannot be reached)."""
    depths: dict[str, int | None] = dict.fromkeys(queues)
    try:
        client = redis.Redis.from_url(
            app.conf.broker_url, socket_connect_timeout=1, socket_timeout=1
        )
        with client:
            for queue in queues:
                keys = [queue] + [f"{queue}{PRIORITY_SEPARATOR}{p}" for p in PRIORITY_STEPS]
                depths[queue] = sum(client.llen(key) for key in keys)
    except (redis.RedisError, OSError) as exc:
        logger.warning("cannot read queue depths: %s", exc)
    return depths
