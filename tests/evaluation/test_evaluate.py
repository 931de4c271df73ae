"""Evaluation of configurations (engine searches) and run files, evaluation runs with their
states, interrupted runs, and sweeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

from django.utils import timezone, translation

from itembank import jobs
from search import runs
from search.evaluation import evaluate, groundtruth, metrics
from search.evaluation.evaluate import EvaluationError
from search.evaluation.models import EvaluationRun
from tests.evaluation.base import BankTestCase

PAIRS = {"M-1": {"M-2": 2}, "M-3": ["M-4"], "S-1": ["S-2", "S-3"], "S-2": ["S-1"]}


class EvaluateTests(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.gt, _ = groundtruth.import_json({"name": "gt", "pairs": PAIRS})

    def test_config_matches_scoring_the_engine_run(self) -> None:
        for mode, alpha in (("dense", None), ("bm25", None), ("hybrid", 0.5), ("rrf", None)):
            with self.subTest(mode=mode):
                result = evaluate.evaluate_config(self.gt, "eval-hash", mode, alpha, False, 20)
                items = [self.items[q] for q in sorted(PAIRS)]
                run = runs.run_queries(items, mode=mode, k=20, alpha=alpha, space="eval-hash")
                expected = metrics.evaluate(
                    groundtruth.pairs_by_external_id(self.gt), run.run["results"]
                )
                for name in metrics.metric_names():
                    self.assertAlmostEqual(
                        result["overall"][name], expected["overall"][name], msg=name
                    )
                self.assertEqual(result["overall"]["queries"], 4)
                self.assertEqual(result["failed_queries"], 0)
                self.assertEqual(result["by_subject"]["과학"]["queries"], 2)
                self.assertEqual(result["run"]["mode"], mode)

    def test_reworded_twin_is_found_first_in_dense(self) -> None:
        result = evaluate.evaluate_config(self.gt, "eval-hash", "dense", k=10)
        self.assertEqual(result["per_query"]["M-1"]["recall@1"], 1.0)

    def test_categories_follow_the_query_items(self) -> None:
        result = evaluate.evaluate_config(self.gt, "eval-hash", "dense", k=10)
        # M-1 has LaTeX, M-3 has LaTeX ($90$), S-1/S-2 are text; none of the queries has a figure
        self.assertEqual(result["by_category"]["latex"]["queries"], 2)
        self.assertEqual(result["by_category"]["text"]["queries"], 2)
        self.assertNotIn("image", result["by_category"])

    def test_bad_configurations(self) -> None:
        with self.assertRaisesMessage(EvaluationError, "Unknown search mode"):
            evaluate.evaluate_config(self.gt, "eval-hash", "magic")
        with self.assertRaisesMessage(EvaluationError, "k must be"):
            evaluate.evaluate_config(self.gt, "eval-hash", "dense", k=0)
        with self.assertRaisesMessage(EvaluationError, "α must be"):
            evaluate.evaluate_config(self.gt, "eval-hash", "hybrid", alpha=1.5)
        with self.assertRaisesMessage(EvaluationError, "no embedding space named"):
            evaluate.evaluate_config(self.gt, "nope", "dense")

    def test_run_file_scored_without_searching(self) -> None:
        run = {
            "run": {"space": "x", "mode": "dense", "k": 3},
            "results": {
                "M-1": {"M-2": 0.9, "M-3": 0.5},
                "S-1": {"S-3": 0.8, "S-2": 0.7},
                "OTHER-1": {"M-1": 0.2},
            },
        }
        with mock.patch("search.engine.search") as engine:
            result = evaluate.evaluate_run_file(self.gt, run)
        engine.assert_not_called()
        self.assertEqual(result["matched_queries"], 2)
        self.assertEqual(result["queries_missing_from_run"], 2)  # M-3 and S-2 score 0
        self.assertEqual(result["queries_without_relevant"], 1)  # OTHER-1
        self.assertEqual(result["overall"]["queries"], 4)
        self.assertAlmostEqual(result["overall"]["recall@1"], (1 + 0.5) / 4)

    def test_run_file_for_other_items_is_a_clear_error(self) -> None:
        with self.assertRaisesMessage(EvaluationError, "None of the 2 queries of the run"):
            evaluate.evaluate_run_file(
                self.gt, {"results": {"X-1": {"X-2": 1.0}, "X-3": {"X-4": 0.5}}}
            )
        for bad, message in (
            ({"results": []}, "must be a JSON object"),
            ([], "must be a JSON object"),
            ({"results": {"M-1": ["M-2"]}}, "must be an object"),
            ({"results": {"M-1": {"M-2": "high"}}}, "not a number"),
        ):
            with self.subTest(bad=bad), self.assertRaisesMessage(EvaluationError, message):
                evaluate.evaluate_run_file(self.gt, bad)

    def test_ground_truth_file_with_unknown_items(self) -> None:
        judged = evaluate.judgements({"name": "f", "pairs": {"M-1": ["M-2", "GONE"], "Z": ["Y"]}})
        self.assertEqual(judged.pairs, {"M-1": {"M-2": 1}})
        self.assertEqual(judged.report.dropped_unknown, 2)
        result = evaluate.evaluate_config(judged, "eval-hash", "dense", k=10)
        self.assertEqual(result["overall"]["queries"], 1)

    def test_queries_judged_empty_are_counted(self) -> None:
        gt, _ = groundtruth.import_json({"name": "e", "pairs": {"M-1": ["M-2"], "S-3": []}})
        result = evaluate.evaluate_config(gt, "eval-hash", "dense", k=10)
        self.assertEqual(result["queries_without_relevant"], 1)
        self.assertEqual(result["overall"]["queries"], 1)


class RunTests(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.gt, _ = groundtruth.import_json({"name": "gt", "pairs": PAIRS})

    def test_execute_stores_metrics_with_counts(self) -> None:
        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10, user=self.admin)
        self.assertEqual(run.status, EvaluationRun.Status.QUEUED)
        run = evaluate.execute(run.pk)
        self.assertEqual(run.status, EvaluationRun.Status.SUCCEEDED)
        self.assertEqual(run.metrics["overall"]["queries"], 4)
        self.assertIn("latex", run.metrics["by_category"])
        self.assertIn("수학", run.metrics["by_subject"])
        self.assertEqual(set(run.per_query), set(PAIRS))
        self.assertEqual((run.done, run.total), (4, 4))
        self.assertIsNotNone(run.finished_at)

    def test_failure_is_recorded_and_metrics_stay_empty(self) -> None:
        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10)
        with mock.patch(
            "search.evaluation.evaluate.evaluate_config", side_effect=RuntimeError("disk full")
        ):
            run = evaluate.execute(run.pk)
        self.assertEqual(run.status, EvaluationRun.Status.FAILED)
        self.assertEqual(run.error, "disk full")
        self.assertEqual(run.metrics, {})

    def test_interrupted_run_is_marked_failed(self) -> None:
        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10)
        old = timezone.now() - jobs.stale_after() - timedelta(minutes=1)
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=EvaluationRun.Status.RUNNING, heartbeat_at=old, done=2, total=4
        )
        fresh = evaluate.create_run(self.gt, space="eval-hash", mode="bm25", k=10)
        EvaluationRun.objects.filter(pk=fresh.pk).update(
            status=EvaluationRun.Status.RUNNING, heartbeat_at=timezone.now()
        )
        self.assertEqual(jobs.fail_stale(), 1)
        run.refresh_from_db()
        fresh.refresh_from_db()
        self.assertEqual(run.status, EvaluationRun.Status.FAILED)
        self.assertIn("중단됨", run.error)  # in the site's language (issue 10), not the caller's
        self.assertEqual(fresh.status, EvaluationRun.Status.RUNNING)

    def test_enqueue_without_broker_stays_queued(self) -> None:
        # Behaviour changed (issue 10): the run is no longer computed in the request.
        from kombu.exceptions import OperationalError

        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10)
        with (
            mock.patch(
                "search.evaluation.tasks.run_evaluation.apply_async",
                side_effect=OperationalError("no broker"),
            ),
            self.captureOnCommitCallbacks(execute=True),
        ):
            evaluate.enqueue(run)
        run.refresh_from_db()
        self.assertEqual((run.status, run.sent_at), (EvaluationRun.Status.QUEUED, None))

    def test_task_queues_on_default(self) -> None:
        run = evaluate.create_run(self.gt, space="eval-hash", mode="dense", k=10)
        with (
            mock.patch("search.evaluation.tasks.run_evaluation.apply_async") as send,
            self.captureOnCommitCallbacks(execute=True),
        ):
            evaluate.enqueue(run)
        send.assert_called_once_with(args=[run.pk], queue="default", retry=False)

    def test_sweeps_share_a_label(self) -> None:
        alphas = evaluate.plan_alpha_sweep(self.gt, "eval-hash", k=10)
        self.assertEqual([r.alpha for r in alphas], [i / 10 for i in range(11)])
        self.assertEqual(len({r.sweep for r in alphas}), 1)
        self.assertTrue(alphas[0].sweep.startswith("alpha-"))
        rerank = evaluate.plan_rerank_sweep(self.gt, "eval-hash", k=10)
        self.assertEqual([r.rerank for r in rerank], [False, True])
        spaces = evaluate.plan_space_sweep(self.gt, ["eval-hash"], k=10)
        self.assertEqual(spaces[0].space_name, "eval-hash")
        with self.assertRaises(EvaluationError):
            evaluate.plan_space_sweep(self.gt, [], k=10)

    def test_sweep_label_is_in_local_time(self) -> None:
        # 15:30 UTC is half past midnight the next day in Seoul: the label reads as the
        # dashboard's times do, not in UTC.
        instant = datetime(2026, 3, 1, 15, 30, 5, tzinfo=UTC)
        with mock.patch("django.utils.timezone.now", return_value=instant):
            self.assertEqual(evaluate.sweep_label("alpha"), "alpha-20260302-003005")
            run = evaluate.plan_alpha_sweep(self.gt, "eval-hash", k=10)[0]
        self.assertEqual(run.sweep, "alpha-20260302-003005")

    def test_run_on_empty_set_is_refused(self) -> None:
        empty = groundtruth.expert_set()
        with self.assertRaisesMessage(EvaluationError, "has no pairs"):
            evaluate.create_run(empty, space="eval-hash", mode="dense")
        self.assertFalse(EvaluationRun.objects.exists())

    def test_run_file_is_recorded(self) -> None:
        run = evaluate.record_run_file(
            self.gt,
            {"run": {"space": "ext", "mode": "dense", "k": 5}, "results": {"M-1": {"M-2": 0.9}}},
        )
        self.assertEqual(run.status, EvaluationRun.Status.SUCCEEDED)
        self.assertEqual(run.config["source"], "file")
        self.assertEqual(run.metrics["matched_queries"], 1)
