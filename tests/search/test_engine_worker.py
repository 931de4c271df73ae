"""The GPU round trip with a real worker: a query in a space whose model runs on the gpu queue is
embedded by the worker process, and the web process gets the vector back."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pytest
from django.test import TransactionTestCase
from django_celery_results.models import TaskResult

from embeddings import dispatch, pipeline
from search import keyword
from search.engine import SearchRequest, search
from search.models import SearchSettings
from tests.base import make_item
from tests.embeddings.hashing_backend import make_space, register
from tests.embeddings.worker import CeleryWorker, RedisServer, broker


@pytest.mark.worker
class GpuRoundTripTestCase(TransactionTestCase):
    def setUp(self) -> None:
        register()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        dispatch.broker_pause_reset()
        self.addCleanup(dispatch.broker_pause_reset)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.enterContext(broker(self.redis.url))

    def test_query_is_embedded_by_the_worker(self) -> None:
        cpu = make_space("cpu64", dimensions=64, make_default=True)
        gpu = make_space("gpu64", dimensions=64, device="cuda", enabled=False)
        items = [
            make_item(f"W-{i}", stem=f"이차방정식 문항 {i} 근의 합 {i * 3}", choices=[])
            for i in range(8)
        ]
        for space in (cpu, gpu):
            pipeline.embed_items(space, [i.pk for i in items])
        worker = CeleryWorker(self.redis.url, self.tmp, sweep_seconds=3600)
        worker.start()
        self.addCleanup(worker.stop)
        text = "이차방정식 문항 3 근의 합"
        expected = search(SearchRequest(text=text, mode="dense", k=8, space="cpu64"))
        # The first message waits for the fresh worker to drain the on-save backlog.
        settings = SearchSettings.load()
        settings.query_timeout = 60
        settings.save()
        search(SearchRequest(text=text, mode="dense", k=8, space="gpu64"))
        settings.query_timeout = 5
        settings.save()
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            result = search(SearchRequest(text=text, mode="dense", k=8, space="gpu64"))
            timings.append((time.perf_counter() - started) * 1000)
        self.assertEqual(
            [h.item.pk for h in result.hits], [h.item.pk for h in expected.hits], worker.output()
        )
        for got, want in zip(result.hits, expected.hits, strict=True):
            self.assertAlmostEqual(got.dense, want.dense, places=3)
        self.assertIn("embeddings.tasks.embed_query", worker.output())
        # The answer is forgotten once read: searches leave no task rows behind.
        self.assertFalse(
            TaskResult.objects.filter(task_name="embeddings.tasks.embed_query").exists()
        )
        print(f"\nGPU-worker query round trip: median {statistics.median(timings):.1f} ms "
              f"(embed {result.timings['embed']:.1f} ms) over {len(timings)} searches")  # fmt: skip
