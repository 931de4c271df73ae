"""A model that cannot load, and one that runs out of memory on one item, in a real worker: the
items are marked failed with the reason, every other item is embedded, and admins see why.

The pipeline's handling is unit-tested in tests/embeddings/test_pipeline.py
(test_backend_that_cannot_load_fails_the_batch, test_out_of_memory_halves_the_batch); here the
whole path runs: the sweep queues the items, the worker's task loads each space's model, and the
failures reach the admin pages.
"""

from __future__ import annotations

import pytest
import redis
from django.urls import reverse

from embeddings import pipeline
from embeddings.models import EmbeddingFailure
from itembank.models import Role
from tests.base import make_item, make_user
from tests.embeddings.hashing_backend import make_space
from tests.embeddings.worker import wait_for
from tests.faults.base import LIMIT, FaultTestCase

MISSING = "/models/missing-weights"
TRIGGER = "메모리를 넘치는 문항"
LOAD_REASON = f"model could not be loaded: BackendError: model weights not found in {MISSING}"
OOM_REASON = "out of memory: OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB"


@pytest.mark.worker
class ModelFailureTestCase(FaultTestCase):
    def test_failures_are_recorded_with_the_reason_and_shown_to_admins(self) -> None:
        items = [make_item(f"MODEL-{n}", stem=f"모델 장애 시험 문항 {n}") for n in range(5)]
        heavy = make_item("MODEL-HEAVY", stem=f"{TRIGGER}: 그림이 아주 큰 문항")
        items.append(heavy)
        # Spaces registered after the saves: the sweep sends all six items as one batch each.
        broken = make_space(
            "broken16", model_path=MISSING, options={"fail_load": True, "batch_size": 8}
        )
        tight = make_space("tight16", options={"oom_text": TRIGGER, "batch_size": 8})
        worker = self.worker(sweep_seconds=1.0)

        def settled() -> bool:
            failures = EmbeddingFailure.objects.count()
            return failures == len(items) + 1 and len(self.current(tight)) == len(items) - 1

        self.assertTrue(wait_for(settled, LIMIT), worker.output()[-4000:])

        # The space whose model cannot load: every item failed, with the reason.
        self.assertEqual(
            dict(EmbeddingFailure.objects.filter(space=broken).values_list("item_id", "error")),
            {item.pk: LOAD_REASON for item in items},
        )
        self.assertEqual(pipeline.coverage_total(broken).failed, len(items))
        # Out of memory even alone: that item failed, its batch neighbours got their vectors.
        (oom,) = EmbeddingFailure.objects.filter(space=tight)
        self.assertEqual(oom.item, heavy)
        self.assertTrue(oom.error.startswith(OOM_REASON), oom.error)
        self.assertEqual(set(self.current(tight)), {item.pk for item in items} - {heavy.pk})
        coverage = pipeline.coverage_total(tight)
        self.assertEqual((coverage.embedded, coverage.failed), (len(items) - 1, 1))
        # One batch of six: five embedded, one failed.
        self.assertIn(
            "space tight16: {'requested': 6, 'embedded': 5, 'unchanged': 0, 'failed': 1",
            worker.output(),
        )

        # The sweep does not retry failed items straight away (pipeline.RETRY_DELAY).
        def attempts() -> dict[int, int]:
            return dict(EmbeddingFailure.objects.values_list("pk", "attempts"))

        # (Once nothing is queued or running: a sweep that ran before the first task may have
        # queued the same items again, which is harmless but counts as an attempt.)
        client = redis.Redis.from_url(self.redis.url)
        idle = wait_for(lambda: client.llen("gpu") == 0 and client.hlen("unacked") == 0, LIMIT)
        self.assertTrue(idle)
        before, seen = attempts(), self.sweeps(worker)
        self.assertTrue(wait_for(lambda: self.sweeps(worker) >= seen + 2, LIMIT))
        self.assertEqual(attempts(), before)

        # Admins see it: the failures list gives each reason, the spaces list the counts.
        admin = make_user("admin", Role.ADMIN)
        self.client.force_login(admin)
        self.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        failures_url = reverse("admin:embeddings_embeddingfailure_changelist")
        response = self.client.get(failures_url)
        self.assertContains(response, LOAD_REASON, count=len(items))
        self.assertContains(response, OOM_REASON, count=1)
        response = self.client.get(failures_url, {"space__id__exact": tight.pk})
        self.assertContains(response, heavy.external_id)
        self.assertNotContains(response, LOAD_REASON)
        response = self.client.get(reverse("admin:embeddings_embeddingspace_changelist"))
        self.assertEqual(response.status_code, 200)
        counts = {
            space.name: (space.cov_embedded, space.cov_failed)
            for space in response.context["cl"].result_list
        }
        self.assertEqual(counts, {"broken16": (0, 6), "tight16": (5, 1)})
        # Teachers do not get into the admin.
        self.client.force_login(make_user("teacher", Role.TEACHER))
        self.assertNotEqual(self.client.get(failures_url).status_code, 200)
