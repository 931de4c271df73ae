"""Keep keyword tokens current when item content changes (connected in SearchConfig.ready)."""

from __future__ import annotations

import logging
import threading
import time

from itembank.celery import app

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 1.0
# After a failed publish, skip publishing for this long (a bulk import would otherwise pay the
# connect timeout per item); the sweep and the on-demand refresh pick the items up.
BROKER_DOWN_PAUSE = 30.0

_broker_down_until = 0.0
_lock = threading.Lock()


def queue_keywords(sender, item_ids=(), **kwargs) -> None:
    """`itembank.signals.item_content_changed` → `search.tasks.refresh_keywords` (default queue).

    Runs after the save committed and never fails or holds up the save: when the broker is
    down the error is logged and the items are tokenised by the sweep or at the next search.
    """
    global _broker_down_until
    ids = [int(pk) for pk in item_ids]
    if not ids or time.monotonic() < _broker_down_until:
        return
    try:
        with app.connection_for_write(
            connect_timeout=CONNECT_TIMEOUT,
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": CONNECT_TIMEOUT,
                "socket_timeout": CONNECT_TIMEOUT,
            },
        ) as conn:
            # By name: search.tasks imports the services, never the reverse.
            app.signature("search.tasks.refresh_keywords", (ids,)).apply_async(
                connection=conn, retry=False
            )
    except Exception as exc:  # the broker (or anything else) must not break a save
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_DOWN_PAUSE
        logger.warning("could not queue keyword refresh of items %s: %s", ids, exc)


def broker_pause_reset() -> None:
    global _broker_down_until
    with _lock:
        _broker_down_until = 0.0
