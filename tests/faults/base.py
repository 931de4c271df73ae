"""Shared set-up of the fault tests: a private redis-server and a real Celery worker on the test
database (tests.embeddings.worker), each test's own temporary directory, and helpers to read what
the worker did."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.test import TransactionTestCase

from embeddings import dispatch
from embeddings.models import ItemEmbedding
from itembank.content import model_input
from itembank.models import Item
from search import receivers
from tests.embeddings.hashing_backend import register
from tests.embeddings.worker import CeleryWorker, RedisServer, broker

# Every wait in these tests is bounded by this (seconds).
LIMIT = 90.0


def embedded_text(item: Item) -> str:
    """The line the hashing backend logs when it embeds `item` (ITEMBANK_TEST_EMBED_LOG)."""
    return model_input(item).text.replace("\n", " ")


class FaultTestCase(TransactionTestCase):
    """A private Redis this process publishes to, and workers started on demand."""

    def setUp(self) -> None:
        register()
        for module in (dispatch, receivers):
            module.broker_pause_reset()
            self.addCleanup(module.broker_pause_reset)
        tmp = tempfile.TemporaryDirectory(prefix="faults-")
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.enterContext(broker(self.redis.url))

    def worker(self, name: str = "worker", **kwargs) -> CeleryWorker:
        """Start a worker whose files (log, embedded texts, beat schedule) go under `name`/."""
        workdir = self.tmp / name
        workdir.mkdir()
        worker = CeleryWorker(self.redis.url, workdir, **kwargs)
        worker.start()
        self.addCleanup(worker.stop)
        return worker

    @staticmethod
    def sweeps(worker: CeleryWorker) -> int:
        """How many sweeps the worker has run (each logs "Task …sweep[id]" twice)."""
        return worker.output().count("Task embeddings.tasks.sweep[") // 2

    @staticmethod
    def current(space) -> dict[int, ItemEmbedding]:
        """The vectors of `space` computed from their item's current content, by item id."""
        hashes = dict(Item.objects.values_list("pk", "content_hash"))
        return {
            row.item_id: row
            for row in ItemEmbedding.objects.filter(space=space)
            if hashes.get(row.item_id) == row.content_hash
        }
