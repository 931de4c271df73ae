"""Redis stops while teachers save items: every save succeeds at once, and once Redis is back
every item is embedded — none missed, none embedded twice.

What makes it so (embeddings.dispatch): a save publishes its embedding task after the commit
with one quick attempt and never fails on the broker; an item whose message was never sent, or
was lost with Redis's memory, stays missing in the database, and the periodic sweep (here every
second) queues it again. A task skips items already current, so a message sent twice embeds
once.
"""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from itembank.models import Item, Role
from tests.base import make_item, make_user
from tests.embeddings.hashing_backend import make_space
from tests.embeddings.worker import wait_for
from tests.faults.base import LIMIT, FaultTestCase, embedded_text

# A save may try the broker once (1 s connect timeout); it must never wait on it beyond that.
SAVE_BOUND = 10.0
PER_PHASE = 10


def form_data(external_id: str, stem: str) -> dict:
    return {
        "external_id": external_id,
        "status": "active",
        "subject": "수학",
        "school_level": "중등",
        "grade": "3",
        "unit": "이차방정식",
        "item_type": "multiple_choice",
        "difficulty": "medium",
        "stem": stem,
        "choices": ["$1$", "$5$", "$6$"],
        "answer": "2",
    }


@pytest.mark.worker
class RedisOutageTestCase(FaultTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.teacher = make_user("teacher", Role.TEACHER)
        self.client.force_login(self.teacher)
        self.saved: list[Item] = []

    def save(self, n: int) -> None:
        """Save item n: even ones through the item form as the teacher, odd ones through the
        service the importer and the API use."""
        external_id = f"OUTAGE-{n:03d}"
        stem = f"정전 시험 문항 {n}번: 이차방정식 $x^2-{n + 1}x+{n}=0$ 의 두 근의 합은?"
        started = time.monotonic()
        if n % 2 == 0:
            response = self.client.post(reverse("item-create"), form_data(external_id, stem))
            self.assertEqual(response.status_code, 302, response.content[:2000])
        else:
            make_item(external_id, stem=stem, user=self.teacher)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, SAVE_BOUND, f"saving {external_id} waited on the broker")
        self.saved.append(Item.objects.get(external_id=external_id))

    def test_items_saved_around_an_outage_are_all_embedded_once(self) -> None:
        space = make_space("outage16")
        worker = self.worker(sweep_seconds=1.0)

        for n in range(PER_PHASE):  # Redis up
            self.save(n)
        self.redis.stop()
        with self.assertLogs("embeddings.dispatch", "WARNING") as logs:
            for n in range(PER_PHASE, 2 * PER_PHASE):  # Redis down
                self.save(n)
        self.assertIn("left to the sweep", "\n".join(logs.output))
        self.redis.start()  # same port, empty: whatever was queued is gone
        for n in range(2 * PER_PHASE, 3 * PER_PHASE):  # Redis back
            self.save(n)

        self.assertEqual(Item.objects.count(), 3 * PER_PHASE)
        done = wait_for(lambda: len(self.current(space)) == len(self.saved), LIMIT)
        self.assertTrue(done, f"{len(self.current(space))} of {len(self.saved)} embedded\n"
                              f"{worker.output()[-4000:]}")  # fmt: skip

        # Let the sweep look three more times: it must find nothing left to do.
        seen = self.sweeps(worker)
        self.assertTrue(
            wait_for(lambda: self.sweeps(worker) >= seen + 3, LIMIT), worker.output()[-4000:]
        )
        current = self.current(space)
        self.assertEqual(set(current), {item.pk for item in self.saved})
        for item in self.saved:
            item.refresh_from_db()
            self.assertEqual(current[item.pk].content_hash, item.content_hash)
        # Exactly once per (item, space, content hash): the model saw each text one time.
        texts = worker.embedded_texts()
        for item in self.saved:
            self.assertEqual(texts.count(embedded_text(item)), 1, item.external_id)
        self.assertEqual(len(texts), len(self.saved), texts)
