"""A worker is SIGKILLed in the middle of a bulk embedding job; a new worker finishes the job, and
the vectors are the ones a clean run computes.

What guarantees completion here: embedding tasks are acknowledged late (CELERY_TASK_ACKS_LATE,
prefetch 1), so the batch the worker was running when it died stays unacknowledged in Redis;
once it is older than the broker's visibility timeout (ITEMBANK_VISIBILITY_TIMEOUT, 3600 s by
default, 3 s in this test) a live worker puts it back on the queue and runs it. The batches still
queued are simply taken by the new worker. Writes are idempotent (an upsert keyed on item and
space that skips vectors already current), so nothing done before the kill is redone.

The periodic sweep is switched off in this test so that redelivery alone has to finish the
job; in production the sweep (every minute) re-queues missing vectors long before the
visibility timeout — tests/faults/test_redis_outage.py shows that path.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import redis
from django.core.management import call_command

from embeddings import pipeline
from embeddings.models import ItemEmbedding
from itembank.models import Item
from tests.base import make_item
from tests.embeddings.hashing_backend import make_space
from tests.embeddings.worker import wait_for
from tests.faults.base import LIMIT, FaultTestCase, embedded_text

ITEMS = 200
BATCH = 10
# Short enough to test, and (with the restore every second) redelivery within a few seconds.
WORKER_ENV = {
    "ITEMBANK_VISIBILITY_TIMEOUT": "3",
    "ITEMBANK_TEST_BROKER_OPTIONS": json.dumps(
        {"unacked_restore_interval": 1, "unacked_restore_throttle": 1}
    ),
}


def unacked_batches(client: redis.Redis) -> list[tuple[int, list[int]]]:
    """(space id, item ids) of the task messages delivered and not acknowledged."""
    batches = []
    for raw in client.hvals("unacked"):
        message = json.loads(raw)[0]
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        batches.append((args[0], args[1]))
    return batches


@pytest.mark.worker
class WorkerKilledTestCase(FaultTestCase):
    def test_bulk_job_finishes_after_a_kill_with_the_same_vectors(self) -> None:
        client = redis.Redis.from_url(self.redis.url)
        items = [
            make_item(f"KILL-{n:03d}", stem=f"작업자 중단 시험 {n}번 문항: {n}의 배수 {n * 7}")
            for n in range(ITEMS)
        ]
        client.delete("default")  # keyword refreshes of the saves; this test is about the job
        hold = self.tmp / "hold"
        space = make_space(
            "killed16", options={"batch_size": BATCH, "delay": 0.3, "hold_file": str(hold)}
        )
        call_command("embed_items", "--space", space.name, "--fan-out", stdout=io.StringIO())
        self.assertEqual(client.llen("gpu"), ITEMS // BATCH)

        first = self.worker("first", sweep_seconds=3600, env=WORKER_ENV)

        def written() -> set[int]:
            return set(ItemEmbedding.objects.filter(space=space).values_list("item_id", flat=True))

        self.assertTrue(wait_for(lambda: len(written()) >= 5 * BATCH, LIMIT), first.output())
        hold.touch()  # the next batch waits inside the model call...
        held = Path(f"{hold}.held")
        self.assertTrue(wait_for(held.exists, LIMIT), first.output()[-4000:])
        first.kill()  # ...and the worker dies there

        before = written()
        self.assertLess(len(before), ITEMS)
        in_flight = unacked_batches(client)
        self.assertEqual(len(in_flight), 1, in_flight)  # acks late, prefetch 1: one batch
        space_id, lost = in_flight[0]
        self.assertEqual(space_id, space.pk)
        self.assertFalse(before & set(lost))  # killed before it wrote anything
        texts_before = first.embedded_texts()
        self.assertEqual(len(texts_before), len(before))
        hold.unlink()

        second = self.worker("second", sweep_seconds=3600, env=WORKER_ENV)
        done = wait_for(lambda: len(self.current(space)) == ITEMS, LIMIT)
        self.assertTrue(done, f"{len(self.current(space))} of {ITEMS}\n{second.output()[-4000:]}")
        self.assertEqual(client.hlen("unacked"), 0)

        # Resumed, not redone: the new worker embedded exactly the items missing at the kill,
        # the lost batch among them, each once.
        by_text = {embedded_text(item): item.pk for item in items}
        redone = [by_text[text] for text in second.embedded_texts()]
        self.assertEqual(sorted(redone), sorted(set(redone)))
        self.assertEqual(set(redone), {item.pk for item in items} - before)
        self.assertTrue(set(lost) <= set(redone))

        # The same result as a clean run: the vectors a fresh, uninterrupted embedding computes.
        clean = make_space("clean16", enabled=False)
        result = pipeline.embed_items(clean, [item.pk for item in items])
        self.assertEqual(result.embedded, ITEMS)
        expected = {row.item_id: row for row in ItemEmbedding.objects.filter(space=clean)}
        got = self.current(space)
        self.assertEqual(set(got), set(expected))
        for item in Item.objects.all():
            self.assertEqual(got[item.pk].content_hash, item.content_hash)
            self.assertEqual(got[item.pk].model_revision, expected[item.pk].model_revision)
            self.assertEqual(
                list(got[item.pk].embedding), list(expected[item.pk].embedding), item.pk
            )
