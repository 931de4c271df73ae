"""A bank with one embedding space in every state, and search timings with known values."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone

from embeddings import dispatch, pipeline
from itembank.services import save_item
from monitoring.models import SearchTiming
from tests.base import BaseTestCase, make_item
from tests.embeddings.hashing_backend import make_space, register

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
CLOSED_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def add_timings(
    milliseconds,
    *,
    mode: str = "dense",
    source: str = "web",
    ago: timedelta | None = None,
    ok: bool = True,
) -> None:
    """SearchTiming rows, created `ago` before now (default: just now)."""
    rows = SearchTiming.objects.bulk_create(
        SearchTiming(
            mode=mode,
            source=source,
            milliseconds=ms,
            results=10 if ok else 0,
            ok=ok,
            error="" if ok else "SearchError",
        )
        for ms in milliseconds
    )
    if ago is not None:
        SearchTiming.objects.filter(pk__in=[r.pk for r in rows]).update(
            created_at=timezone.now() - ago
        )


class MonitoringTestCase(BaseTestCase):
    """Space "hash16": 5 items, 2 embedded, 1 stale, 1 failed, 1 missing."""

    def setUp(self) -> None:
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)
        register()
        dispatch.broker_pause_reset()
        self.addCleanup(dispatch.broker_pause_reset)
        self.space = make_space(label="해시 16")
        self.items = [make_item(f"MATH-{i}", stem=f"수학 문항 {i}") for i in range(4)]
        self.items.append(make_item("KOR-1", subject="국어", stem="국어 문항", status="draft"))
        pipeline.embed_items(self.space, [self.items[0].pk, self.items[1].pk, self.items[4].pk])
        self.items[1].stem = "고친 문항"
        save_item(self.items[1])
        pipeline.record_failures(
            self.space,
            {self.items[2].pk: (self.items[2].content_hash, "image cannot be decoded")},
        )
