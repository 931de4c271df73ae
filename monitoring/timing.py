"""Recording how long searches take, for the latency figures of the dashboard and /metrics.

`search.engine.search` (the single entry point every caller goes through) sends
`search.signals.search_timed` after each call; `record_search`, connected in
MonitoringConfig.ready, writes a `SearchTiming` row for each search served to a user: its mode,
where it came from, the wall time, the number of results, and the error class when it failed.
The search layer only announces; which searches count, and the table, are monitoring's. Where
a search came from is the view serving the request (see SOURCES); a block can also name its
source with `search_source`.

Searches run outside a web request (evaluation runs, review sampling, benchmarks, commands) are
not recorded: thousands of them would swamp the users' latency figures, and an insert per search
would be timed by the benchmarks.

Recording never breaks a search: the insert runs in its own savepoint and any error is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from itembank import logs

from .models import SearchTiming

logger = logging.getLogger(__name__)

# Rows older than this are deleted by the periodic prune (the dashboard shows the last 24 h).
KEEP = timedelta(days=8)

# The views that run searches, by URL name, and the source they are recorded as. Other views
# count as "web" (their URL names starting with "api-" as "api").
SOURCES = {
    "search:search": "web",
    "search:similar": "similar",
    "search:check": "authoring",
    "search:check-edit": "authoring",
    "item-create": "authoring",
    "item-edit": "authoring",
    "api-search": "api",
    "api-item-similar": "api",
}

_source: ContextVar[str | None] = ContextVar("search_source", default=None)


@contextmanager
def search_source(name: str) -> Iterator[None]:
    """Record the searches of this block as coming from `name` (one of SearchTiming.Source)."""
    token = _source.set(name)
    try:
        yield
    finally:
        _source.reset(token)


def current_source() -> str | None:
    """Where a search started now comes from, or None when it is not to be recorded."""
    if explicit := _source.get():
        return explicit
    view = logs.current_view()
    if view is None:
        return None
    if view in SOURCES:
        return SOURCES[view]
    return "api" if view.startswith("api-") else "web"


def record(source: str, mode: str, milliseconds: float, results: int = 0, error: str = "") -> None:
    """Store one timing; never raises (a broken or unreachable database is logged)."""
    if connection.in_atomic_block and connection.needs_rollback:
        logger.warning("search timing not recorded: the transaction is already broken")
        return
    try:
        with transaction.atomic():
            SearchTiming.objects.create(
                source=source[:16],
                mode=mode[:32],
                milliseconds=milliseconds,
                results=results,
                ok=not error,
                error=error[:100],
            )
    except Exception:
        logger.warning("could not record a search timing", exc_info=True)


def record_search(
    sender, mode: str, milliseconds: float, results: int, error: str, **kwargs
) -> None:
    """`search.signals.search_timed` → a SearchTiming row when the search was served to a user."""
    source = current_source()
    if source is not None:
        record(source, mode, milliseconds, results=results, error=error)


def prune(keep: timedelta = KEEP) -> int:
    """Delete timings older than `keep` (one indexed DELETE); returns the rows deleted."""
    deleted, _by_model = SearchTiming.objects.filter(created_at__lt=timezone.now() - keep).delete()
    return deleted
