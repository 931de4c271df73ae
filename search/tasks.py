"""Celery tasks of search: thin wrappers over `search.keyword` and `search.rerank`.

`refresh_keywords` and `keywords_sweep` run on the default queue; `rerank_task` is sent to the
gpu queue by `search.engine` when the reranker's device is not ``cpu``.
"""

from __future__ import annotations

import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

from . import keyword, rerank

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=5,
    max_retries=5,
)
def refresh_keywords(item_ids: list[int]) -> int:
    """Store current BM25 tokens of these items (skips items already current)."""
    return keyword.refresh([int(pk) for pk in item_ids])


@shared_task(acks_late=True, ignore_result=True)
def keywords_sweep() -> int:
    """Periodic: tokenise items whose stored tokens are missing or stale, a batch at a time."""
    return keyword.refresh(limit=keyword.SWEEP_BATCH)


@shared_task(acks_late=False, max_retries=0)
def rerank_task(
    config: dict, query: dict, item_ids: list[int], deadline: float | None = None
) -> list[float] | None:
    """Reranker scores of the items for the query, computed on this (GPU) worker. Past
    `deadline` (epoch seconds) the caller has given up: nothing is computed."""
    if deadline is not None and time.time() > deadline:
        return None
    return rerank.score_items(
        rerank.RerankerConfig(**config), rerank.RerankQuery(**query), [int(i) for i in item_ids]
    )
