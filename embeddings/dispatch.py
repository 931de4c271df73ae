"""Sending embedding work to the `gpu` queue: after a save (never failing or blocking it), from
the periodic sweep, from admin actions and from `embed_items --fan-out`.

Nothing is lost when a message cannot be sent: the item stays stale or missing, and the sweep
(every minute, `embeddings.tasks.sweep`) finds it by its content hash and queues it again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

from celery import group

from itembank.celery import app

from . import pipeline
from .models import EmbeddingSpace
from .services import enabled_spaces, queue_depths

logger = logging.getLogger(__name__)

# Publishing after a save: one quick attempt, then leave it to the sweep.
SAVE_CONNECT_TIMEOUT = 1.0
# After a failed publish, saves in this process skip publishing for this long, so a bulk
# import does not pay a connect timeout per item while the broker is away.
BROKER_DOWN_PAUSE = 30.0
# The sweep keeps at most this many messages waiting in the gpu queue.
SWEEP_MAX_QUEUED = 20

# Sent by name (CELERY_TASK_ROUTES routes it to `gpu`): `embeddings.tasks` imports this module,
# never the reverse.
EMBED_ITEMS_TASK = "embeddings.tasks.embed_items_task"

_broker_down_until = 0.0
_lock = threading.Lock()


def batch_size_for(space: EmbeddingSpace) -> int:
    try:
        return max(1, int((space.options or {}).get("batch_size", pipeline.DEFAULT_BATCH_SIZE)))
    except (TypeError, ValueError):
        return pipeline.DEFAULT_BATCH_SIZE


def chunked(ids: Sequence[int], size: int) -> list[list[int]]:
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def _save_connection():
    return app.connection_for_write(
        connect_timeout=SAVE_CONNECT_TIMEOUT,
        transport_options={
            "max_retries": 0,
            "connect_retries_timeout": SAVE_CONNECT_TIMEOUT,
            "socket_connect_timeout": SAVE_CONNECT_TIMEOUT,
            "socket_timeout": SAVE_CONNECT_TIMEOUT,
        },
    )


def queue_after_save(item_ids: Sequence[int]) -> int:
    """Queue `item_ids` for every enabled space; returns the messages sent.

    Never raises: when the broker is unreachable the error is logged and the sweep picks the
    items up later.
    """
    global _broker_down_until
    ids = [int(pk) for pk in item_ids]
    if not ids:
        return 0
    if time.monotonic() < _broker_down_until:
        logger.warning("broker recently unreachable; items %s left to the sweep", ids)
        return 0
    sent = 0
    try:
        spaces = list(enabled_spaces().values_list("pk", "options"))
        if not spaces:
            return 0
        with _save_connection() as conn:
            for space_id, options in spaces:
                size = batch_size_for(EmbeddingSpace(options=options))
                for chunk in chunked(ids, size):
                    app.signature(EMBED_ITEMS_TASK, (space_id, chunk)).apply_async(
                        connection=conn, retry=False
                    )
                    sent += 1
    except Exception as exc:  # the broker (or anything else) must not break a save
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE
        logger.warning("could not queue embedding of items %s (left to the sweep): %s", ids, exc)
    return sent


def broker_pause_reset() -> None:
    global _broker_down_until
    with _lock:
        _broker_down_until = 0.0


def enqueue(
    space: EmbeddingSpace,
    item_ids: Iterable[int],
    *,
    force: bool = False,
    batch_size: int | None = None,
) -> int:
    """Send the items to the gpu queue as one task per batch (a Celery group); returns the
    number of tasks. Raises the broker's error if it cannot be reached (the caller shows it)."""
    chunks = chunked(list(item_ids), batch_size or batch_size_for(space))
    if not chunks:
        return 0
    group(
        app.signature(EMBED_ITEMS_TASK, (space.pk, chunk), {"force": force, "top_up": False})
        for chunk in chunks
    ).apply_async()
    return len(chunks)


def enqueue_stale(space: EmbeddingSpace, *, retry_failed: bool = True) -> int:
    ids = list(
        pipeline.stale_or_missing(space, retry_failed=retry_failed).values_list("pk", flat=True)
    )
    return enqueue(space, ids)


def sweep() -> dict[str, int]:
    """Queue missing and stale items of every enabled space, a bounded number of batches at a
    time (the next sweep sends more once the worker has drained the queue)."""
    waiting = queue_depths(["gpu"])["gpu"]
    budget = SWEEP_MAX_QUEUED - (waiting or 0)
    sent: dict[str, int] = {}
    for space in enabled_spaces().order_by("-is_default", "pk"):
        if budget <= 0:
            break
        size = batch_size_for(space)
        ids = list(
            pipeline.stale_or_missing(space, retry_failed=False).values_list("pk", flat=True)[
                : budget * size
            ]
        )
        if ids:
            count = enqueue(space, ids)
            budget -= count
            sent[space.name] = len(ids)
    if sent:
        logger.info("sweep queued %s", sent)
    return sent
