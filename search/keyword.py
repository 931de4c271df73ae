"""Keyword search: BM25 (bm25s, k1=1.5, b=0.75 as in the POC) over Kiwi morphemes and LaTeX
tokens (`search.analysis.tokenize`).

Each item's tokens are stored in `ItemKeywords` with the content hash they came from. They are
kept current by a task queued after every content change (`search.receivers`), by a periodic
sweep, and — so a search never misses an item — on demand: before the index is used, items whose
stored tokens are missing or stale are tokenised in the calling process.

The index itself lives in process memory, built from the stored tokens, and is rebuilt when the
token table's version (row count, latest update) changes. Checking the versions costs two
aggregates over the whole bank (~125 ms at 176,443 items), so a process re-checks at most every
ITEMBANK_KEYWORD_CHECK_SECONDS, at once after its own saves (`mark_changed`), and always inside a
transaction (which may hold writes of its own). Filters are applied by scoring the whole bank and
keeping only allowed item ids.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from itembank.content import item_text
from itembank.models import Item

from .analysis import tokenize
from .models import ItemKeywords

logger = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
SWEEP_BATCH = 2000
_BULK = 500


def item_tokens(item: Item) -> list[str]:
    """What BM25 indexes of an item: the tokens of the text the models see (stem + choices)."""
    return tokenize(item_text(item.stem, item.choices or []))


def query_tokens(text: str) -> list[str]:
    return tokenize(text)


def stale_items() -> QuerySet[Item]:
    """Items without stored tokens, or whose tokens were computed from other content."""
    current = ItemKeywords.objects.filter(
        item=OuterRef("pk"), content_hash=OuterRef("content_hash")
    )
    return Item.objects.filter(~Exists(current)).order_by("pk")


def refresh(item_ids: Iterable[int] | None = None, *, limit: int | None = None) -> int:
    """Store current tokens for the given items (or for every stale item); returns rows written.

    Idempotent: items whose stored tokens match their content hash are skipped.
    """
    qs = stale_items()
    if item_ids is not None:
        qs = qs.filter(pk__in=list(item_ids))
    if limit is not None:
        qs = qs[:limit]
    written = 0
    rows = []
    for item in qs.only("pk", "stem", "choices", "content_hash").iterator(chunk_size=_BULK):
        rows.append(
            ItemKeywords(
                item_id=item.pk,
                content_hash=item.content_hash,
                tokens=item_tokens(item),
                updated_at=timezone.now(),
            )
        )
        if len(rows) >= _BULK:
            written += _upsert(rows)
            rows = []
    if rows:
        written += _upsert(rows)
    return written


def _upsert(rows: list[ItemKeywords]) -> int:
    # update_conflicts: a concurrent refresh of the same item just writes the same tokens again.
    ItemKeywords.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["item"],
        update_fields=["content_hash", "tokens", "updated_at"],
    )
    return len(rows)


@dataclass
class KeywordHit:
    item_id: int
    score: float


class BM25Index:
    """A bm25s index over the stored tokens, with the item id of each document."""

    def __init__(self, ids: Sequence[int], corpus: Sequence[list[str]]) -> None:
        # Here, not at the top: bm25s takes ~0.7 s to import (scipy) and every process loads
        # this module with the search app; only the process that builds an index needs it.
        import bm25s

        self.ids = np.asarray(ids, dtype=np.int64)
        self.position = {int(pk): i for i, pk in enumerate(self.ids)}
        self.retriever = None
        if len(self.ids):
            self.retriever = bm25s.BM25(k1=K1, b=B)
            self.retriever.index([list(doc) for doc in corpus], show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query tokens (unknown tokens count nothing)."""
        if self.retriever is None:
            return np.zeros(0, dtype=np.float32)
        known = [t for t in tokens if t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(known), dtype=np.float32)

    def top(
        self,
        tokens: Sequence[str],
        n: int,
        *,
        allowed: Iterable[int] | None = None,
        exclude: Iterable[int] = (),
    ) -> list[KeywordHit]:
        """The n best documents with a positive score, best first; ties by item id."""
        scores = self.scores(tokens)
        if not scores.size:
            return []
        mask = scores > 0
        if allowed is not None:
            keep = np.zeros(len(self.ids), dtype=bool)
            positions = [self.position[pk] for pk in allowed if pk in self.position]
            keep[positions] = True
            mask &= keep
        for pk in exclude:
            if (i := self.position.get(int(pk))) is not None:
                mask[i] = False
        candidates = np.flatnonzero(mask)
        # Sort by score descending, then item id ascending (stable, documented tie rule).
        order = np.lexsort((self.ids[candidates], -scores[candidates]))[:n]
        return [
            KeywordHit(int(self.ids[candidates[i]]), float(scores[candidates[i]])) for i in order
        ]


_lock = threading.Lock()
_index: BM25Index | None = None
_index_version: tuple | None = None
_items_version: tuple | None = None
_checked_at: float | None = None  # time.monotonic() of the last version check


def _version(model: type[Item] | type[ItemKeywords]) -> tuple:
    agg = model.objects.aggregate(n=Count("pk"), latest=Max("updated_at"))
    return (agg["n"], agg["latest"])


def get_index() -> BM25Index:
    """The current index: stale tokens refreshed first, rebuilt only when the tokens changed."""
    global _index, _index_version, _items_version, _checked_at
    with _lock:
        if (
            _index is not None
            and _checked_at is not None
            and not connection.in_atomic_block
            and time.monotonic() - _checked_at < settings.ITEMBANK_KEYWORD_CHECK_SECONDS
        ):
            return _index
        items_version = _version(Item)
        if items_version != _items_version:
            written = refresh()
            if written:
                logger.info("tokenised %d items on demand for the keyword index", written)
            # Inside a transaction the tokens just written may still be rolled back; remember
            # the items as tokenised only once that can no longer happen.
            if not written or not connection.in_atomic_block:
                _items_version = items_version
        version = _version(ItemKeywords)
        if _index is None or version != _index_version:
            rows = ItemKeywords.objects.order_by("item_id").values_list("item_id", "tokens")
            ids, corpus = [], []
            for pk, tokens in rows.iterator(chunk_size=5000):
                ids.append(pk)
                corpus.append(tokens or [])
            _index = BM25Index(ids, corpus)
            _index_version = version
        _checked_at = None if connection.in_atomic_block else time.monotonic()
        return _index


def mark_changed(sender: Any = None, **kwargs: Any) -> None:
    """Item content changed in this process: check the versions at the next search."""
    global _checked_at
    with _lock:
        _checked_at = None


def reset_index() -> None:
    """Forget the in-process index (tests; after restoring a database)."""
    global _index, _index_version, _items_version, _checked_at
    with _lock:
        _index = None
        _index_version = None
        _items_version = None
        _checked_at = None
