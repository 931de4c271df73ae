"""Recording how long searches take, for the latency figures of the dashboard and /metrics.

`recorded` wraps `search.engine.search` (the single entry point every caller goes through) and
writes a `SearchTiming` row for each search served to a user: its mode, where it came from, the
wall time, the number of results, and the error class when it failed. Where it came from is the
view serving the request (see SOURCES); a block can also name its source with `search_source`.

Searches run outside a web request (evaluation runs, review sampling, benchmarks, commands) are
not recorded: thousands of them would swamp the users' latency figures, and an insert per search
would be timed by the benchmarks.

Recording never breaks a search: the insert runs in its own savepoint and any error is logged.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar, cast

from django.db import connection, transaction
from django.utils import timezone

from itembank import logs

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
    from .models import SearchTiming

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


_Search = TypeVar("_Search", bound=Callable[..., Any])


def recorded(search: _Search) -> _Search:
    """Decorator for `search.engine.search`: time each call and record it (see module doc)."""

    @functools.wraps(search)
    def wrapper(request, *args, **kwargs):
        source = current_source()
        if source is None:
            return search(request, *args, **kwargs)
        started = time.perf_counter()
        try:
            result = search(request, *args, **kwargs)
        except Exception as exc:
            mode = request.mode if isinstance(getattr(request, "mode", None), str) else ""
            record(source, mode, _since(started), error=type(exc).__name__)
            raise
        record(source, result.mode, _since(started), results=len(result.hits))
        return result

    return cast(_Search, wrapper)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def prune(keep: timedelta = KEEP) -> int:
    """Delete timings older than `keep` (one indexed DELETE); returns the rows deleted."""
    from .models import SearchTiming

    deleted, _by_model = SearchTiming.objects.filter(created_at__lt=timezone.now() - keep).delete()
    return deleted
