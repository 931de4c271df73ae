"""Worker heartbeat: which workers answer over the broker and the queues they consume, cached a
few seconds; a worker that stops answering is shown down with the time it was last seen, and a
broker that cannot be reached is reported, not raised."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import SimpleTestCase, TransactionTestCase

from monitoring import figures
from tests.embeddings.worker import CeleryWorker, RedisServer, broker
from tests.monitoring.base import CLOSED_BROKER


class HeartbeatTests(SimpleTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)

    def test_broker_unreachable(self) -> None:
        with broker(CLOSED_BROKER):
            beat = figures.heartbeat()
        self.assertFalse(beat.reachable)
        self.assertTrue(beat.error)
        self.assertEqual((beat.workers, beat.up("gpu")), ((), 0))

    def test_no_worker_answers(self) -> None:
        beat = figures.heartbeat()  # the test run's redis, no worker on it
        self.assertTrue(beat.reachable)
        self.assertEqual(beat.workers, ())
        self.assertEqual(beat.queues(), ["gpu", "default"])

    def test_the_answer_is_cached(self) -> None:
        first = figures.heartbeat()
        with broker(CLOSED_BROKER):
            self.assertEqual(figures.heartbeat(), first)
            self.assertFalse(figures.heartbeat(fresh=True).reachable)


@pytest.mark.worker
class WorkerHeartbeatTests(TransactionTestCase):
    def setUp(self) -> None:
        cache.clear()
        self.addCleanup(cache.clear)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.enterContext(broker(self.redis.url))

    def test_a_live_worker_then_a_stopped_one(self) -> None:
        worker = CeleryWorker(self.redis.url, self.tmp, sweep_seconds=3600)
        worker.start()
        self.addCleanup(worker.stop)
        beat = figures.heartbeat(fresh=True)
        self.assertTrue(beat.reachable)
        (alive,) = beat.workers
        self.assertTrue(alive.alive, worker.output()[-2000:])
        self.assertEqual(alive.queues, ("default", "gpu"))
        self.assertEqual((beat.up("gpu"), beat.up("default")), (1, 1))

        worker.stop()
        beat = figures.heartbeat(fresh=True)
        (gone,) = beat.workers
        self.assertEqual(gone.name, alive.name)
        self.assertFalse(gone.alive)
        self.assertEqual(gone.last_seen, alive.last_seen)
        self.assertEqual(beat.up("gpu"), 0)
