"""`prepare_demo` (run by `./dev run`): on the demo bank every role's first page shows work or
results; a second run, or a bank that is not the demo bank, changes nothing."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import TestCase, override_settings

from embeddings.models import ItemEmbedding
from itembank.models import Item, Role, User
from search import keyword
from search.engine import MODES
from search.evaluation.models import EvaluationRun, GroundTruthSet
from search.review.models import Campaign, ReviewPair
from tests.base import make_item
from tests.first_run import DEMO_SIZE, prepare_first_run


def counts() -> dict[str, int]:
    return {
        "sets": GroundTruthSet.objects.count(),
        "campaigns": Campaign.objects.count(),
        "pairs": ReviewPair.objects.count(),
        "runs": EvaluationRun.objects.count(),
        "vectors": ItemEmbedding.objects.count(),
    }


class PrepareDemoTests(TestCase):
    admin: User
    teacher: User
    reviewer: User

    @classmethod
    def setUpTestData(cls) -> None:
        users, _ = prepare_first_run(cls)
        cls.admin, cls.teacher = users[Role.ADMIN], users[Role.TEACHER]
        cls.reviewer = users[Role.REVIEWER]

    def setUp(self) -> None:
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)

    def test_the_demo_is_prepared(self) -> None:
        self.assertEqual(ItemEmbedding.objects.count(), DEMO_SIZE)
        planted = GroundTruthSet.objects.get(name="planted")
        self.assertEqual(planted.kind, GroundTruthSet.Kind.PLANTED)
        self.assertGreater(planted.pairs.count(), 0)
        self.assertGreater(GroundTruthSet.objects.get(name="tfidf").pairs.count(), 0)
        campaign = Campaign.objects.get()
        self.assertEqual((campaign.gt_set, campaign.reviewers_per_pair), (planted, 2))
        by_stratum = {s: campaign.pairs.filter(stratum=s).count() for s in ("tp", "fp", "fn")}
        self.assertEqual(by_stratum, {"tp": 20, "fp": 15, "fn": 15})
        runs = EvaluationRun.objects.filter(gt_set=planted)
        self.assertEqual(sorted(runs.values_list("mode", flat=True)), sorted(MODES))
        for run in runs:
            self.assertEqual(run.status, EvaluationRun.Status.SUCCEEDED, run.error)
            self.assertGreater(run.metrics["overall"]["recall@10"], 0, run.mode)

    def test_a_second_run_creates_nothing(self) -> None:
        before = counts()
        out = io.StringIO()
        call_command("prepare_demo", stdout=out)
        self.assertEqual(counts(), before)
        self.assertIn("nothing prepared", out.getvalue())

    def test_the_reviewer_lands_on_work(self) -> None:
        self.client.force_login(self.reviewer)
        page = self.client.get("/review/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(page, 'id="campaigns"')
        self.assertContains(page, ">Start</a>")
        self.assertNotContains(page, "There are no review campaigns yet.")
        campaign = Campaign.objects.get()
        queue = self.client.get(f"/review/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(queue.status_code, 200)
        self.assertNotContains(queue, 'id="queue-done"')

    def test_the_admin_lands_on_results(self) -> None:
        self.client.force_login(self.admin)
        page = self.client.get("/evaluation/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertContains(page, 'id="runs-table"')
        self.assertNotContains(page, "No finished run on this set yet.")
        self.assertNotContains(page, "No ground-truth set yet.")
        for mode in ("dense", "bm25", "hybrid", "rrf"):
            run = EvaluationRun.objects.get(mode=mode)
            self.assertContains(page, f"/evaluation/runs/{run.pk}/")

    def test_the_teacher_lands_on_items(self) -> None:
        self.client.force_login(self.teacher)
        page = self.client.get("/items/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'class="empty card"')
        shown = [i for i in Item.objects.values_list("external_id", flat=True) if i in page.text]
        self.assertGreater(len(shown), 10)


class NotTheDemoBankTests(TestCase):
    def test_a_bank_of_its_own_is_left_alone(self) -> None:
        data = Path(tempfile.mkdtemp(prefix="itembank-prepare-"))
        self.addCleanup(shutil.rmtree, data, True)
        make_item()
        with override_settings(DATA_DIR=data):
            call_command("spaces", "ensure-default", stdout=io.StringIO())
            out = io.StringIO()
            call_command("prepare_demo", stdout=out)
        self.assertIn("not the demo bank", out.getvalue())
        self.assertEqual(counts(), {"sets": 0, "campaigns": 0, "pairs": 0, "runs": 0, "vectors": 0})
