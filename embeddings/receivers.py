"""Queue embedding when an item's content changes (connected in EmbeddingsConfig.ready)."""

from __future__ import annotations

import logging

from .dispatch import queue_after_save

logger = logging.getLogger(__name__)


def queue_embedding(sender, item_ids=(), **kwargs) -> None:
    """`itembank.signals.item_content_changed` → one task per enabled space.

    Runs after the save committed. It must never fail or hold up the save: when the broker is
    down the error is logged and the sweep embeds the items later.
    """
    try:
        queue_after_save(list(item_ids))
    except Exception:
        logger.exception("queueing embedding of items %s failed; left to the sweep", item_ids)
