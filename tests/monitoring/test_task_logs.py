"""Celery tasks log with their task id and name, and with the id of the request that sent them:
run eagerly here, and by a real worker process (its log lines, LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from unittest import mock

import pytest
import redis
from django.test import TransactionTestCase

from itembank import logs
from itembank.celery import app
from monitoring.tasks import prune_search_timings
from tests.base import BaseTestCase
from tests.embeddings.worker import CeleryWorker, RedisServer, broker, wait_for
from tests.monitoring.test_request_id import Capture


class EagerTaskTests(BaseTestCase):
    def capture(self) -> Capture:
        handler = Capture()
        logger = logging.getLogger("monitoring.tasks")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)
        return handler

    def test_task_id_and_name_in_its_log_records(self) -> None:
        handler = self.capture()
        result = prune_search_timings.apply(task_id="eager-task-1")
        self.assertEqual(result.get(), 0)
        (record,) = handler.records
        self.assertEqual(record.task_id, "eager-task-1")
        self.assertEqual(record.task, "monitoring.tasks.prune_search_timings")
        self.assertIsNone(logs.task_id.get())  # unbound again after the task

    def test_the_request_id_carries_into_the_task(self) -> None:
        handler = self.capture()
        with logs.bound(request_id="req-eager"):
            prune_search_timings.apply(task_id="eager-task-2")
        self.assertEqual(handler.records[0].request_id, "req-eager")

    def test_published_tasks_carry_the_request_id_header(self) -> None:
        client = redis.Redis.from_url(app.conf.broker_url)
        client.delete("default")
        self.addCleanup(client.delete, "default")
        with logs.bound(request_id="req-header"), app.connection_for_write() as conn:
            task_id = prune_search_timings.apply_async(connection=conn).id
        message = json.loads(client.lpop("default"))
        self.assertEqual(message["headers"]["id"], task_id)
        self.assertEqual(message["headers"]["request_id"], "req-header")


@pytest.mark.worker
class WorkerTaskLogTests(TransactionTestCase):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.enterContext(broker(self.redis.url))

    def test_worker_log_lines_carry_task_and_request_ids(self) -> None:
        with mock.patch.dict(os.environ, {"LOG_FORMAT": "json"}):
            worker = CeleryWorker(self.redis.url, self.tmp, sweep_seconds=3600)
            worker.start()
        self.addCleanup(worker.stop)
        with logs.bound(request_id="req-from-web"), app.connection_for_write() as conn:
            task_id = prune_search_timings.apply_async(connection=conn).id

        def line():
            for text in worker.output().splitlines():
                try:
                    data = json.loads(text)
                except ValueError:
                    continue
                if data.get("task_id") == task_id and "pruned" in data.get("message", ""):
                    return data
            return None

        found = wait_for(line, timeout=30)
        self.assertIsNotNone(found, worker.output()[-3000:])
        self.assertEqual(found["task"], "monitoring.tasks.prune_search_timings")
        self.assertEqual(found["request_id"], "req-from-web")
        self.assertEqual(found["logger"], "monitoring.tasks")
