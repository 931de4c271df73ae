import json
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest
import redis
from django.conf import settings
from django.test import TransactionTestCase

from embeddings import dispatch, pipeline
from embeddings.models import ItemEmbedding
from embeddings.tasks import embed_items_task, sweep
from itembank.celery import app
from scripts.devstack import free_port
from tests.base import BaseTestCase, make_item
from tests.embeddings.hashing_backend import make_space, register
from tests.embeddings.worker import WAIT, CeleryWorker, RedisServer, broker, wait_for


def queued(queue: str) -> list[dict]:
    """The task messages waiting in a queue: [{"task": name, "args": [...]}]."""
    client = redis.Redis.from_url(app.conf.broker_url)
    messages = []
    for raw in client.lrange(queue, 0, -1):
        msg = json.loads(raw)
        body = json.loads(__import__("base64").b64decode(msg["body"]))
        messages.append({"task": msg["headers"]["task"], "args": body[0], "kwargs": body[1]})
    return messages


class BrokerTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        register()
        dispatch.broker_pause_reset()
        self.redis = redis.Redis.from_url(app.conf.broker_url)
        self.redis.delete("gpu", "default")
        self.addCleanup(self.redis.delete, "gpu", "default")
        self.addCleanup(dispatch.broker_pause_reset)


class RoutingTestCase(BaseTestCase):
    def test_routes_and_schedule(self) -> None:
        router = app.amqp.router
        self.assertEqual(router.route({}, "embeddings.tasks.embed_items_task")["queue"].name, "gpu")
        self.assertEqual(router.route({}, "embeddings.tasks.sweep")["queue"].name, "default")
        entry = settings.CELERY_BEAT_SCHEDULE["embeddings-sweep"]
        self.assertEqual(entry["task"], "embeddings.tasks.sweep")
        self.assertEqual(entry["schedule"], settings.EMBEDDINGS_SWEEP_SECONDS)
        self.assertTrue(embed_items_task.acks_late)
        self.assertIn(ConnectionError, embed_items_task.autoretry_for)
        self.assertTrue(embed_items_task.retry_backoff)


class ReceiverTestCase(BrokerTestCase):
    def test_enqueues_for_enabled_spaces_after_commit(self) -> None:
        space = make_space()
        make_space("off", enabled=False)
        with self.captureOnCommitCallbacks(execute=True):
            item = make_item()
            self.assertEqual(queued("gpu"), [])  # nothing before the commit
        self.assertEqual(
            queued("gpu"),
            [
                {
                    "task": "embeddings.tasks.embed_items_task",
                    "args": [space.pk, [item.pk]],
                    "kwargs": {},
                }
            ],
        )
        # An edit that does not change what the model sees sends nothing.
        with self.captureOnCommitCallbacks(execute=True):
            item.answer = "1"
            from itembank.services import save_item

            save_item(item)
        self.assertEqual(len(queued("gpu")), 1)

    def test_save_succeeds_quickly_when_broker_is_down(self) -> None:
        make_space()
        closed = f"redis://127.0.0.1:{free_port()}/0"
        with (
            broker(closed),
            self.assertLogs("embeddings.dispatch", "WARNING") as logs,
        ):
            started = time.monotonic()
            with self.captureOnCommitCallbacks(execute=True):
                item = make_item()
            first = time.monotonic() - started
            started = time.monotonic()
            with self.captureOnCommitCallbacks(execute=True):
                make_item("MATH-2-000002")
            second = time.monotonic() - started
        self.assertLess(first, 3.0)
        self.assertLess(second, 0.5)  # the broker is known to be down: not tried again
        self.assertIn("left to the sweep", logs.output[0])
        item.refresh_from_db()
        self.assertEqual(item.revisions.count(), 1)


class TaskTestCase(BrokerTestCase):
    def test_task_tops_up_the_batch_with_other_stale_items(self) -> None:
        space = make_space(options={"batch_size": 3})
        items = [make_item(f"MATH-{i}", stem=f"문항 {i}") for i in range(5)]
        result = embed_items_task(space.pk, [items[4].pk], top_up=False)
        self.assertEqual(result["embedded"], 1)
        result = embed_items_task(space.pk, [items[3].pk])
        self.assertEqual((result["requested"], result["embedded"]), (3, 3))
        self.assertEqual(
            set(ItemEmbedding.objects.values_list("item_id", flat=True)),
            {items[4].pk, items[3].pk, items[0].pk, items[1].pk},
        )
        again = embed_items_task(space.pk, [items[3].pk], top_up=False)
        self.assertEqual((again["embedded"], again["unchanged"]), (0, 1))

    def test_task_for_a_dropped_space_does_nothing(self) -> None:
        self.assertEqual(embed_items_task(987654, [1])["space"], None)

    def test_sweep_queues_missing_and_stale_in_bounded_chunks(self) -> None:
        space = make_space(options={"batch_size": 2})
        make_space("off", enabled=False)
        items = [make_item(f"MATH-{i}", stem=f"문항 {i}") for i in range(5)]
        pipeline.embed_items(space, [items[0].pk])
        with mock.patch.object(dispatch, "SWEEP_MAX_QUEUED", 3):
            self.assertEqual(sweep(), {space.name: 4})
            messages = queued("gpu")
            self.assertEqual(
                sorted(m["args"] for m in messages),  # kombu pushes left, pops right
                [[space.pk, [items[1].pk, items[2].pk]], [space.pk, [items[3].pk, items[4].pk]]],
            )
            self.assertEqual(sweep(), {space.name: 2})  # one more task fits
            self.assertEqual(sweep(), {})  # queue full
        self.assertEqual(len(queued("gpu")), 3)


@pytest.mark.worker
class WorkerTestCase(TransactionTestCase):
    """A real worker process (with beat running the sweep every second) on the test database."""

    def setUp(self) -> None:
        register()
        dispatch.broker_pause_reset()
        self.addCleanup(dispatch.broker_pause_reset)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)
        self.redis = RedisServer(self.tmp)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.enterContext(broker(self.redis.url))
        self.worker = CeleryWorker(self.redis.url, self.tmp)

    def start_worker(self) -> None:
        self.worker.start()
        self.addCleanup(self.worker.stop)

    def current_vector(self, item) -> ItemEmbedding | None:
        item.refresh_from_db()
        return ItemEmbedding.objects.filter(item=item, content_hash=item.content_hash).first()

    def test_item_saved_while_worker_runs_is_embedded(self) -> None:
        space = make_space()
        self.start_worker()
        started = time.monotonic()
        item = make_item(stem="작업자가 실행 중일 때 저장한 문항")
        row = wait_for(lambda: self.current_vector(item), WAIT)
        self.assertIsNotNone(row, self.worker.output()[-3000:])
        self.assertEqual(row.space, space)
        self.assertLess(time.monotonic() - started, WAIT)
        self.assertEqual(len(row.embedding), 16)
        # An edit is embedded again.
        item.stem = "고친 문항"
        from itembank.services import save_item

        save_item(item)
        row = wait_for(lambda: self.current_vector(item), WAIT)
        self.assertIsNotNone(row, self.worker.output()[-3000:])

    def test_item_saved_while_broker_down_is_embedded_by_the_sweep_once(self) -> None:
        make_space()
        self.start_worker()
        self.redis.stop()
        started = time.monotonic()
        with self.assertLogs("embeddings.dispatch", "WARNING"):
            item = make_item(stem="브로커가 멈춘 동안 저장한 문항")
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertIsNone(self.current_vector(item))
        time.sleep(2)
        self.redis.start()  # same port: the worker and beat reconnect on their own
        row = wait_for(lambda: self.current_vector(item), 60)
        self.assertIsNotNone(row, self.worker.output()[-4000:])
        updated = row.updated_at
        time.sleep(4)  # several more sweeps
        row.refresh_from_db()
        self.assertEqual(row.updated_at, updated)
        texts = self.worker.embedded_texts()
        self.assertEqual(sum(t.startswith(item.stem) for t in texts), 1, texts)
        self.assertIn("embeddings.tasks.sweep", self.worker.output())


class FanOutTestCase(BrokerTestCase):
    def test_embed_items_fan_out_sends_batches_to_the_gpu_queue(self) -> None:
        import io

        from django.core.management import call_command
        from django.utils import translation

        space = make_space()
        items = [make_item(f"MATH-{i}", stem=f"문항 {i}") for i in range(5)]
        pipeline.embed_items(space, [items[0].pk])
        out = io.StringIO()
        with translation.override("en"):
            call_command(
                "embed_items", "--space", space.name, "--fan-out", "--batch-size", "2", stdout=out
            )
        self.assertIn("Queued 4 items in 2 tasks", out.getvalue())
        messages = queued("gpu")
        self.assertEqual(
            sorted(m["args"] for m in messages),
            [[space.pk, [items[1].pk, items[2].pk]], [space.pk, [items[3].pk, items[4].pk]]],
        )
        self.assertFalse(ItemEmbedding.objects.exclude(item=items[0]).exists())
