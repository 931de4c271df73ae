"""Periodic housekeeping of the monitoring data (Celery beat, `default` queue)."""

from __future__ import annotations

import logging

from celery import shared_task

from . import timing

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def prune_search_timings() -> int:
    """Delete search timings older than timing.KEEP; returns how many."""
    deleted = timing.prune()
    logger.info("pruned %d search timings older than %s", deleted, timing.KEEP)
    return deleted
