"""The figures behind the operations dashboard (/ops/) and the Prometheus endpoint (/metrics):
plain functions returning dataclasses, so both show the same numbers.

- items by status, and per embedding space embedded / stale / failed / missing
  (`embeddings.pipeline.coverage_total`)
- Celery queue depths (`embeddings.services.queue_depths`) and which workers answer, with the
  queues they consume (asked over the broker, at most ~1 s, cached HEARTBEAT_TTL seconds)
- task failures with their reasons: embedding failures and failed Celery task results
- search latency percentiles over the last hour and day (`SearchTiming`)
- disk used by the vectors, their HNSW indexes, the items, the database and the media files
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from celery.app.control import flatten_reply
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_celery_results.models import TaskResult
from kombu.pidbox import Mailbox

from embeddings import pipeline
from embeddings.models import EmbeddingFailure, EmbeddingSpace, ItemEmbedding
from embeddings.services import queue_depths
from itembank.celery import app
from itembank.models import Item, ItemStatus

from .models import SearchTiming

logger = logging.getLogger(__name__)

QUEUES = ("gpu", "default")
HEARTBEAT_TTL = 10  # seconds a worker answer is reused
HEARTBEAT_TIMEOUT = 1.0  # seconds to wait for workers to answer (and to reach the broker)
LAST_SEEN_TTL = 7 * 24 * 3600
MEDIA_TTL = 600  # seconds a media directory size is reused
MEDIA_MAX_ENTRIES = 500_000  # a bounded walk: stop counting after this many directory entries
MEDIA_MAX_SECONDS = 2.0
RECENT_FAILURES = 20
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(days=1)}
QUANTILES = (0.5, 0.95, 0.99)

_HEARTBEAT_KEY = "monitoring:heartbeat"
_LAST_SEEN_KEY = "monitoring:workers-last-seen"
_MEDIA_KEY = "monitoring:media-size"


# -- items and spaces ---------------------------------------------------------------------------


def items_by_status() -> dict[str, int]:
    """Every status, zero included, in the order of ItemStatus."""
    counts = dict(Item.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in ItemStatus.values}


@dataclass(frozen=True)
class SpaceFigures:
    pk: int
    name: str
    label: str
    enabled: bool
    is_default: bool
    dimensions: int
    total: int
    embedded: int
    stale: int
    failed: int
    missing: int

    @property
    def percent(self) -> float:
        return 100.0 * self.embedded / self.total if self.total else 100.0

    def states(self) -> dict[str, int]:
        return {
            "embedded": self.embedded,
            "stale": self.stale,
            "failed": self.failed,
            "missing": self.missing,
        }


def spaces() -> list[SpaceFigures]:
    out = []
    for space in EmbeddingSpace.objects.order_by("-is_default", "name"):
        cov = pipeline.coverage_total(space)
        out.append(
            SpaceFigures(
                pk=space.pk,
                name=space.name,
                label=space.label,
                enabled=space.enabled,
                is_default=space.is_default,
                dimensions=space.dimensions,
                total=cov.total,
                embedded=cov.embedded,
                stale=cov.stale,
                failed=cov.failed,
                missing=cov.missing,
            )
        )
    return out


# -- queues and workers -------------------------------------------------------------------------


def queues() -> dict[str, int | None]:
    """Messages waiting per queue; None when the broker cannot be reached."""
    return queue_depths(QUEUES)


@dataclass(frozen=True)
class Worker:
    name: str
    queues: tuple[str, ...]
    alive: bool
    last_seen: datetime | None


@dataclass(frozen=True)
class Heartbeat:
    reachable: bool  # the broker answered (whether or not any worker did)
    workers: tuple[Worker, ...]
    checked_at: datetime
    error: str = ""

    def up(self, queue: str) -> int:
        """Workers answering now that consume `queue`."""
        return sum(1 for w in self.workers if w.alive and queue in w.queues)

    def queues(self) -> list[str]:
        found = {q for w in self.workers for q in w.queues}
        return [*QUEUES, *sorted(found - set(QUEUES))]


def _ask_workers(timeout: float) -> dict[str, tuple[str, ...]]:
    """{worker name: queues it consumes} of the workers answering `active_queues` within
    `timeout`; raises the broker's error when it cannot be reached.

    The same broadcast as ``app.control.inspect().active_queues()``, but published on a
    connection of our own (short timeouts, no reconnection attempts) rather than through the
    app's shared producer pool, which retries and can wait for a free connection.
    """
    conf = app.conf
    mailbox = Mailbox(
        conf.control_exchange,
        type="fanout",
        accept=conf.accept_content,
        serializer=conf.task_serializer,
        queue_ttl=conf.control_queue_ttl,
        reply_queue_ttl=conf.control_queue_ttl,
        queue_expires=conf.control_queue_expires,
        reply_queue_expires=conf.control_queue_expires,
    )
    with app.connection_for_write(
        connect_timeout=timeout,
        transport_options={
            "max_retries": 0,
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
        },
    ) as conn:
        replies = mailbox(conn).multi_call("active_queues", timeout=timeout) or []
    return {
        name: tuple(sorted(q.get("name", "") for q in (queues or []) if q.get("name")))
        for name, queues in flatten_reply(replies).items()
    }


def heartbeat(*, fresh: bool = False) -> Heartbeat:
    """Which workers answer now and which queues they consume (cached HEARTBEAT_TTL seconds).

    Workers seen earlier but silent now are listed as down with the time they were last seen
    (remembered for a week in this process's cache). An unreachable broker is not an error here:
    `reachable` is False and `error` says why.
    """
    if not fresh and (cached := cache.get(_HEARTBEAT_KEY)) is not None:
        return cached
    now = timezone.now()
    seen: dict[str, tuple[datetime, tuple[str, ...]]] = cache.get(_LAST_SEEN_KEY) or {}
    try:
        answering = _ask_workers(HEARTBEAT_TIMEOUT)
        reachable, error = True, ""
    except Exception as exc:  # broker down, refused, timed out: shown, never a 500
        logger.warning("cannot ask the workers for a heartbeat: %s", exc)
        answering, reachable, error = {}, False, str(exc) or type(exc).__name__
    for name, consumed in answering.items():
        seen[name] = (now, consumed)
    cache.set(_LAST_SEEN_KEY, seen, LAST_SEEN_TTL)
    workers = [
        Worker(name, consumed, name in answering, last)
        for name, (last, consumed) in sorted(seen.items())
    ]
    beat = Heartbeat(reachable, tuple(workers), now, error)
    cache.set(_HEARTBEAT_KEY, beat, HEARTBEAT_TTL)
    return beat


# -- failures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingFailureRow:
    pk: int
    item_id: int
    external_id: str
    space: str
    reason: str
    attempts: int
    last_failed_at: datetime


@dataclass(frozen=True)
class TaskFailureRow:
    pk: int
    task_id: str
    task_name: str
    date_done: datetime | None
    exception: str


@dataclass(frozen=True)
class Failures:
    embedding_total: int  # EmbeddingFailure rows (deleted once the item embeds)
    embedding_recent: list[EmbeddingFailureRow]
    tasks_total: int  # failed Celery task results within `tasks_window`
    tasks_recent: list[TaskFailureRow]
    tasks_window: str = "24h"


def _task_exception(result: str | None) -> str:
    """ "ExcType: message" from a TaskResult's stored exception (JSON), else the raw text."""
    try:
        data = json.loads(result or "")
    except (TypeError, ValueError):
        return result or ""
    if isinstance(data, dict) and "exc_type" in data:
        message = data.get("exc_message")
        if isinstance(message, list | tuple):
            message = " ".join(str(m) for m in message)
        return f"{data['exc_type']}: {message}" if message else str(data["exc_type"])
    return str(data)


def failures(limit: int = RECENT_FAILURES) -> Failures:
    embedding = EmbeddingFailure.objects.select_related("item", "space").order_by(
        "-last_failed_at", "-pk"
    )
    tasks = TaskResult.objects.filter(
        status="FAILURE", date_done__gte=timezone.now() - WINDOWS["24h"]
    ).order_by("-date_done", "-pk")
    return Failures(
        embedding_total=embedding.count(),
        embedding_recent=[
            EmbeddingFailureRow(
                pk=f.pk,
                item_id=f.item_id,
                external_id=f.item.external_id,
                space=f.space.name,
                reason=f.error,
                attempts=f.attempts,
                last_failed_at=f.last_failed_at,
            )
            for f in embedding[:limit]
        ],
        tasks_total=tasks.count(),
        tasks_recent=[
            TaskFailureRow(
                pk=t.pk,
                task_id=t.task_id,
                task_name=t.task_name or "",
                date_done=t.date_done,
                exception=_task_exception(t.result),
            )
            for t in tasks.only("pk", "task_id", "task_name", "date_done", "result")[:limit]
        ],
    )


# -- search latency -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    """Searches in a window (all of them, or one mode's or one source's): how many, how many
    failed, and percentiles of the successful ones' wall time in ms (None without any)."""

    window: str
    group: str  # "" for all searches, else the mode or source
    count: int
    errors: int
    p50: float | None
    p95: float | None
    p99: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0

    def quantiles(self) -> dict[float, float | None]:
        return dict(zip(QUANTILES, (self.p50, self.p95, self.p99), strict=True))


@dataclass(frozen=True)
class LatencyWindow:
    window: str
    overall: Latency
    by_mode: list[Latency] = field(default_factory=list)
    by_source: list[Latency] = field(default_factory=list)


_LATENCY_SQL = f"""
SELECT mode, source, GROUPING(mode, source), count(*), count(*) FILTER (WHERE NOT ok),
       percentile_cont(ARRAY[{", ".join(map(str, QUANTILES))}]::float8[])
           WITHIN GROUP (ORDER BY milliseconds) FILTER (WHERE ok)
FROM {SearchTiming._meta.db_table}
WHERE created_at >= %s
GROUP BY GROUPING SETS ((), (mode), (source))
"""


def latency(window: str) -> LatencyWindow:
    """Percentiles (p50/p95/p99, PostgreSQL percentile_cont), count and errors of the searches
    in the last `window` ("1h" or "24h"): overall, per mode and per source, in one query."""
    since = timezone.now() - WINDOWS[window]
    with connection.cursor() as cursor:
        cursor.execute(_LATENCY_SQL, [since])
        rows = cursor.fetchall()
    overall = Latency(window, "", 0, 0, None, None, None)
    by_mode, by_source = [], []
    for mode, source, grouping, count, errors, quantiles in rows:
        p50, p95, p99 = quantiles if quantiles else (None, None, None)
        # GROUPING(mode, source): bit 1 set when mode is aggregated over, bit 0 for source.
        if grouping == 3:
            overall = Latency(window, "", count, errors, p50, p95, p99)
        elif grouping == 1:
            by_mode.append(Latency(window, mode, count, errors, p50, p95, p99))
        else:
            by_source.append(Latency(window, source, count, errors, p50, p95, p99))
    return LatencyWindow(
        window,
        overall,
        sorted(by_mode, key=lambda r: (-r.count, r.group)),
        sorted(by_source, key=lambda r: (-r.count, r.group)),
    )


def latencies() -> list[LatencyWindow]:
    return [latency(window) for window in WINDOWS]


# -- disk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Disk:
    relation: str  # a table or index name, "database" or "media"
    kind: str  # "total" (table + indexes + TOAST), "table", "indexes", "index", "files"
    bytes: int | None  # None: an index that does not exist (yet)
    space: str = ""  # the embedding space of an HNSW index
    approximate: bool = False  # the media walk stopped early: at least this much


def _table_sizes(table: str) -> list[Disk]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_total_relation_size(t), pg_relation_size(t), pg_indexes_size(t)"
            " FROM (SELECT to_regclass(%s) AS t) AS r",
            [table],
        )
        total, heap, indexes = cursor.fetchone()
    return [
        Disk(table, "total", total),
        Disk(table, "table", heap),
        Disk(table, "indexes", indexes),
    ]


def disk() -> list[Disk]:
    """Sizes from PostgreSQL (the embeddings table, each space's HNSW index, the items table,
    the search timings, the whole database) and of MEDIA_ROOT (cached)."""
    rows = _table_sizes(ItemEmbedding._meta.db_table)
    space_indexes = [
        (s.name, s.index_name) for s in EmbeddingSpace.objects.order_by("-is_default", "name")
    ]
    if space_indexes:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, pg_relation_size(to_regclass(name))"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n",
                [[index for _space, index in space_indexes]],
            )
            sizes = [size for _name, size in cursor.fetchall()]
        rows += [
            Disk(index, "index", size, space=space)
            for (space, index), size in zip(space_indexes, sizes, strict=True)
        ]
    rows += _table_sizes(Item._meta.db_table)
    rows += [r for r in _table_sizes(SearchTiming._meta.db_table) if r.kind == "total"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        rows.append(Disk("database", "total", cursor.fetchone()[0]))
    size, complete = media_size()
    rows.append(Disk("media", "files", size, approximate=not complete))
    return rows


def walk_size(
    root: Path, max_entries: int = MEDIA_MAX_ENTRIES, max_seconds: float = MEDIA_MAX_SECONDS
) -> tuple[int, bool]:
    """Bytes of the regular files under `root` (symlinks not followed) and whether the walk
    finished; it stops after `max_entries` directory entries or `max_seconds`."""
    total, entries = 0, 0
    deadline = time.monotonic() + max_seconds
    stack = [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    if entries > max_entries or time.monotonic() > deadline:
                        return total, False
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total, True


def media_size(*, fresh: bool = False) -> tuple[int, bool]:
    """(bytes, complete) of MEDIA_ROOT, cached MEDIA_TTL seconds."""
    if not fresh and (cached := cache.get(_MEDIA_KEY)) is not None:
        return cached
    value = walk_size(Path(settings.MEDIA_ROOT))
    cache.set(_MEDIA_KEY, value, MEDIA_TTL)
    return value


# -- everything ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    items: dict[str, int]
    spaces: list[SpaceFigures]
    queues: dict[str, int | None]
    heartbeat: Heartbeat
    failures: Failures
    latency: list[LatencyWindow]
    disk: list[Disk]
    taken_at: datetime

    @property
    def items_total(self) -> int:
        return sum(self.items.values())


def snapshot() -> Snapshot:
    """All the figures, for the dashboard and the metrics endpoint."""
    return Snapshot(
        items=items_by_status(),
        spaces=spaces(),
        queues=queues(),
        heartbeat=heartbeat(),
        failures=failures(),
        latency=latencies(),
        disk=disk(),
        taken_at=timezone.now(),
    )
