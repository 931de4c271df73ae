"""The evaluation dashboard: who may see it, the tables and inline SVG charts, building sets and
starting runs from the page, exports, and agreement with the experts."""

from __future__ import annotations

import json
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from search.evaluation import evaluate, groundtruth, report
from search.evaluation.models import EvaluationRun, GroundTruthSet
from tests.evaluation.base import BankTestCase

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


class DashboardTests(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        self.gt, _ = groundtruth.import_json(
            {"name": "gt", "pairs": {"M-1": ["M-2"], "S-1": ["S-2"], "M-3": ["M-4"]}}
        )
        self.url = reverse("evaluation:dashboard")

    def test_permissions(self) -> None:
        self.assertEqual(self.client.get(self.url).status_code, 302)
        self.login(self.teacher)
        self.assertEqual(self.client.get(self.url).status_code, 403)
        self.assertEqual(self.client.get(reverse("evaluation:report-json")).status_code, 403)
        self.login(self.reviewer)
        page = self.client.get(self.url, **EN)
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, 'id="manage"')  # reviewers read, admins manage
        post = self.client.post(
            reverse("evaluation:set-build", args=["tfidf"]), {"tfidf-name": "t", "tfidf-top_k": 5}
        )
        self.assertEqual(post.status_code, 403)
        self.assertFalse(GroundTruthSet.objects.filter(name="t").exists())

    def test_runs_side_by_side_with_charts(self) -> None:
        for mode in ("dense", "bm25"):
            evaluate.execute(evaluate.create_run(self.gt, space="eval-hash", mode=mode, k=10).pk)
        for run in evaluate.plan_alpha_sweep(self.gt, "eval-hash", k=10):
            evaluate.execute(run.pk)
        self.login(self.reviewer)
        page = self.client.get(self.url + "?gt=gt&metric=mrr", **EN)
        body = page.content.decode()
        self.assertIn('id="runs-table"', body)
        self.assertIn("eval-hash · dense", body)
        self.assertIn("eval-hash · bm25", body)
        self.assertIn("eval-hash · hybrid α=0.3", body)
        self.assertIn('<svg class="chart"', body)
        self.assertIn('id="sweep-chart"', body)
        self.assertIn("mrr by category", body)
        self.assertNotIn("<script", body.split('id="main"')[1])

    def test_trend_on_expert_set(self) -> None:
        expert = groundtruth.expert_set()
        groundtruth.set_pair(expert, self.items["M-1"], self.items["M-2"], 1)
        evaluate.execute(evaluate.create_run(expert, space="eval-hash", mode="dense", k=10).pk)
        groundtruth.set_pair(expert, self.items["S-1"], self.items["S-2"], 1)
        evaluate.execute(evaluate.create_run(expert, space="eval-hash", mode="dense", k=10).pk)
        self.login(self.reviewer)
        page = self.client.get(self.url + "?gt=expert", **EN)
        self.assertContains(page, 'id="trend-chart"')

    def test_unfinished_runs_show_progress_not_metrics(self) -> None:
        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10)
        EvaluationRun.objects.filter(pk=run.pk).update(
            status="running", done=1, total=3, heartbeat_at=run.created_at
        )
        self.login(self.reviewer)
        page = self.client.get(self.url, **EN)
        self.assertContains(page, "<progress")
        self.assertNotContains(page, 'id="runs-table"')
        detail = self.client.get(reverse("evaluation:run-detail", args=[run.pk]), **EN)
        self.assertNotContains(detail, 'id="run-metrics"')

    def test_admin_builds_sets_from_the_page(self) -> None:
        self.login(self.admin)
        self.assertContains(self.client.get(self.url, **EN), 'id="manage"')
        build = reverse("evaluation:set-build", args=["tfidf"])
        self.client.post(build, {"tfidf-name": "tf", "tfidf-top_k": 2})
        self.assertTrue(GroundTruthSet.objects.filter(name="tf", kind="tfidf").exists())
        combine = reverse("evaluation:set-build", args=["combine"])
        self.client.post(
            combine,
            {
                "combine-a": "tf",
                "combine-b": "gt",
                "combine-op": "intersection",
                "combine-name": "hyb",
            },
        )
        self.assertTrue(GroundTruthSet.objects.filter(name="hyb").exists())
        upload = SimpleUploadedFile(
            "mine.json",
            json.dumps({"M-1": ["M-3"], "NOPE": ["M-1"]}).encode(),
            content_type="application/json",
        )
        response = self.client.post(
            reverse("evaluation:set-build", args=["import"]),
            {"import-file": upload},
            follow=True,
            **EN,
        )
        self.assertContains(response, "1 pairs were dropped")
        self.assertTrue(GroundTruthSet.objects.filter(name="mine").exists())

    def test_bad_upload_changes_nothing(self) -> None:
        self.login(self.admin)
        upload = SimpleUploadedFile("bad.json", b'{"M-1": {"M-2": 7.5}}')
        response = self.client.post(
            reverse("evaluation:set-build", args=["import"]),
            {"import-file": upload},
            follow=True,
            **EN,
        )
        self.assertContains(response, "must be a whole number")
        self.assertEqual(GroundTruthSet.objects.count(), 1)
        response = self.client.post(
            reverse("evaluation:set-build", args=["planted"]),
            {"planted-name": "p"},
            follow=True,
            **EN,
        )
        self.assertEqual(response.status_code, 200)
        self.assertFalse(GroundTruthSet.objects.filter(name="p").exists())

    def test_admin_starts_a_sweep(self) -> None:
        self.login(self.admin)
        with (
            mock.patch("search.evaluation.tasks.run_evaluation.apply_async") as send,
            self.captureOnCommitCallbacks(execute=True),
        ):
            self.client.post(
                reverse("evaluation:run-start"),
                {
                    "run-gt_set": "gt",
                    "run-space": "eval-hash",
                    "run-mode": "dense",
                    "run-k": 10,
                    "run-sweep": "alpha",
                },
            )
        self.assertEqual(send.call_count, 11)
        self.assertEqual(EvaluationRun.objects.filter(mode="hybrid").count(), 11)
        response = self.client.post(
            reverse("evaluation:run-start"),
            {"run-gt_set": "gt", "run-mode": "dense", "run-k": 0},
            follow=True,
            **EN,
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(EvaluationRun.objects.count(), 11)

    def test_exports(self) -> None:
        evaluate.execute(evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10).pk)
        self.login(self.reviewer)
        data = json.loads(self.client.get(reverse("evaluation:report-json")).content)
        config = data["ground_truth"]["gt"]["configurations"]["eval-hash · dense"]
        self.assertEqual(config["overall"]["queries"], 3)
        self.assertIn("latex", config["by_category"])
        exported = json.loads(
            self.client.get(reverse("evaluation:set-export", args=[self.gt.pk])).content
        )
        self.assertEqual(exported["pairs"]["M-1"], ["M-2"])


class DisagreementTests(BankTestCase):
    def test_precision_and_recall_against_expert_labels(self) -> None:
        ids = {k: v.pk for k, v in self.items.items()}
        gt, _ = groundtruth.import_json(
            {"name": "auto", "pairs": {"M-1": ["M-2", "M-3"], "S-1": ["S-2", "S-3"]}}
        )
        positive = {(ids["M-2"], ids["M-1"]), (ids["S-1"], ids["S-2"]), (ids["M-3"], ids["M-4"])}
        negative = {(ids["M-1"], ids["M-3"])}
        row = report.disagreement(gt, positive, negative)
        self.assertEqual(
            (row["pairs"], row["labelled"], row["agree"], row["disagree"]), (4, 3, 2, 1)
        )
        self.assertAlmostEqual(row["precision"], 2 / 3)
        self.assertAlmostEqual(row["recall"], 2 / 3)
        self.assertEqual(row["missed_examples"], [["M-3", "M-4"]])
        empty = report.disagreement(gt, set(), set())
        self.assertIsNone(empty["precision"])
        self.assertIsNone(empty["recall"])

    def test_dashboard_compares_sets_with_the_expert_set(self) -> None:
        groundtruth.import_json({"name": "auto", "pairs": {"M-1": ["M-2", "M-3"]}})
        groundtruth.set_pair(groundtruth.expert_set(), self.items["M-1"], self.items["M-2"], 1)
        rows, positive, _negative = report.disagreement_table()
        self.assertEqual(positive, 1)
        self.assertEqual([(r["set"], r["recall"]) for r in rows], [("auto", 1.0)])
        self.login(self.reviewer)
        page = self.client.get(reverse("evaluation:dashboard"), **EN)
        self.assertContains(page, "Agreement with the experts")
        self.assertNotContains(page, "No expert labels yet")
