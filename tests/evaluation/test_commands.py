"""`build_ground_truth` and `evaluate`: every kind, the --json shape, run files, sweeps and
clear errors."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from unittest import mock

from django.core.management import CommandError, call_command
from django.utils import translation

from itembank import jobs
from search.evaluation import evaluate, metrics
from search.evaluation.models import EvaluationRun, GroundTruthSet
from tests.evaluation.base import BankTestCase


class CommandTests(BankTestCase):
    with_vectors = True

    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.tmp = Path(tempfile.mkdtemp(prefix="eval-cmd-"))

    def write(self, name: str, data) -> str:
        path = self.tmp / name
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        return str(path)

    def call(self, *args: str) -> tuple[str, str]:
        out, err = io.StringIO(), io.StringIO()
        call_command(*args, stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    def test_build_every_kind(self) -> None:
        gt = self.write("gt.json", {"M-1": ["M-2", "GONE"], "S-1": ["S-2"]})
        out, err = self.call(
            "build_ground_truth", "--kind", "import", "--from", gt, "--name", "imp"
        )
        self.assertIn("2 pairs for 2 queries", out)
        self.assertIn("1 pairs were dropped", err)
        self.call("build_ground_truth", "--kind", "tfidf", "--name", "tf", "--top-k", "2")
        planted = self.write("planted.json", {"name": "planted", "pairs": {"M-1": {"M-2": 2}}})
        self.call("build_ground_truth", "--kind", "planted", "--from", planted)
        self.call(
            "build_ground_truth",
            "--kind",
            "intersection",
            "--a",
            "tf",
            "--b",
            "imp",
            "--name",
            "hyb",
        )
        self.call(
            "build_ground_truth", "--kind", "union", "--a", "tf", "--b", "planted", "--name", "uni"
        )
        kinds = dict(GroundTruthSet.objects.values_list("name", "kind"))
        self.assertEqual(
            kinds,
            {
                "imp": "imported",
                "tf": "tfidf",
                "planted": "planted",
                "hyb": "intersection",
                "uni": "union",
            },
        )

    def test_build_errors(self) -> None:
        with self.assertRaisesMessage(CommandError, "--from"):
            self.call("build_ground_truth", "--kind", "import")
        with self.assertRaisesMessage(CommandError, "no ground-truth set named"):
            self.call("build_ground_truth", "--kind", "union", "--a", "x", "--b", "y")
        bad = self.write("bad.json", {"pairs": {"M-1": {"M-2": 0}}})
        with self.assertRaisesMessage(CommandError, "from 1 to"):
            self.call("build_ground_truth", "--kind", "import", "--from", bad)
        self.assertFalse(GroundTruthSet.objects.exists())

    def test_evaluate_json_shape_and_saved_run(self) -> None:
        gt = self.write("gt.json", {"M-1": ["M-2"], "S-1": ["S-2"], "S-3": []})
        self.call("build_ground_truth", "--kind", "import", "--from", gt, "--name", "g")
        out, _err = self.call(
            "evaluate",
            "--gt",
            "g",
            "--space",
            "eval-hash",
            "--mode",
            "hybrid",
            "--alpha",
            "0.7",
            "--k",
            "20",
            "--json",
        )
        data = json.loads(out)
        for name in metrics.metric_names():
            self.assertIn(name, data)
        self.assertEqual(data["queries"], 2)
        self.assertEqual(data["queries_without_relevant"], 1)
        self.assertEqual(data["by_subject"]["과학"]["queries"], 1)
        self.assertIn("latex", data["by_category"])
        run = EvaluationRun.objects.get()
        self.assertEqual((run.status, run.mode, run.alpha), ("succeeded", "hybrid", 0.7))
        self.assertAlmostEqual(run.metrics["overall"]["mrr"], data["mrr"])

    def test_evaluate_gt_file_and_run_file(self) -> None:
        gt = self.write("gt.json", {"M-1": ["M-2"], "S-1": ["S-2"]})
        run = self.write(
            "run.json",
            {"run": {"mode": "dense"}, "results": {"M-1": {"M-2": 0.9}, "Q-X": {"M-1": 0.1}}},
        )
        out, err = self.call("evaluate", "--gt", gt, "--run", run, "--json")
        data = json.loads(out)
        self.assertEqual(data["queries"], 2)
        self.assertEqual(data["recall@1"], 0.5)
        self.assertIn("1 of the run's 2 queries", err)
        self.assertFalse(EvaluationRun.objects.exists())
        other = self.write("other.json", {"results": {"Q-X": {"M-1": 0.1}}})
        with self.assertRaisesMessage(CommandError, "None of the 1 queries of the run"):
            self.call("evaluate", "--gt", gt, "--run", other)

    def test_evaluate_table_and_sweep(self) -> None:
        gt = self.write("gt.json", {"M-1": ["M-2"], "S-1": ["S-2"]})
        out, _ = self.call("evaluate", "--gt", gt, "--space", "eval-hash")
        self.assertIn("recall@5", out)
        self.assertIn("2 queries scored", out)
        self.call("build_ground_truth", "--kind", "import", "--from", gt, "--name", "g")
        out, _ = self.call(
            "evaluate", "--gt", "g", "--space", "eval-hash", "--sweep-alpha", "--k", "10", "--json"
        )
        rows = json.loads(out)
        self.assertEqual([r["alpha"] for r in rows], [i / 10 for i in range(11)])
        self.assertEqual(EvaluationRun.objects.filter(sweep__startswith="alpha-").count(), 11)

    def test_evaluate_leaves_a_run_a_worker_has_claimed(self) -> None:
        gt = self.write("gt.json", {"M-1": ["M-2"]})
        self.call("build_ground_truth", "--kind", "import", "--from", gt, "--name", "g")
        create_run = evaluate.create_run

        def claimed_first(*args, **kwargs):
            run = create_run(*args, **kwargs)
            self.assertTrue(jobs.start(run))  # as a worker the beat sent it to would
            return run

        with mock.patch.object(evaluate, "create_run", claimed_first):
            with self.assertRaisesMessage(CommandError, "already being computed by a worker"):
                self.call("evaluate", "--gt", "g", "--space", "eval-hash")
        run = EvaluationRun.objects.get()
        self.assertEqual((run.status, run.metrics), (EvaluationRun.Status.RUNNING, {}))

    def test_evaluate_errors(self) -> None:
        with self.assertRaisesMessage(CommandError, "no ground-truth set or file named"):
            self.call("evaluate", "--gt", "missing")
        gt = self.write("gt.json", {"X-1": ["X-2"]})
        with self.assertRaisesMessage(CommandError, "No pair of"):
            self.call("evaluate", "--gt", gt, "--space", "eval-hash")
        good = self.write("good.json", {"M-1": ["M-2"]})
        with self.assertRaisesMessage(CommandError, "Unknown search mode"):
            self.call("evaluate", "--gt", good, "--mode", "magic")
        with self.assertRaisesMessage(CommandError, "does not exist"):
            self.call("evaluate", "--gt", good, "--run", str(self.tmp / "none.json"))
