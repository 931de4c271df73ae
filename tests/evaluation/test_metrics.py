"""Metrics: hand-computed cases of each definition, the conventions of search-and-metrics.md,
and agreement with ranx (an independent implementation) on untied random runs."""

from __future__ import annotations

import math
import random
import warnings

from django.test import SimpleTestCase

from search.evaluation import metrics


class DefinitionTests(SimpleTestCase):
    QRELS = {"q1": {"a": 1, "b": 2}, "q2": {"c": 1}}
    RUN = {"q1": {"a": 0.9, "x": 0.8, "b": 0.7}, "q2": {"y": 0.5}}

    def test_hand_computed_values(self) -> None:
        report = metrics.evaluate(self.QRELS, self.RUN)
        q1 = report["per_query"]["q1"]
        self.assertEqual(q1["recall@1"], 0.5)
        self.assertEqual(q1["recall@3"], 1.0)
        self.assertEqual(q1["hit@1"], 1.0)
        self.assertEqual(q1["mrr"], 1.0)
        self.assertAlmostEqual(q1["map"], (1 / 1 + 2 / 3) / 2)
        # MAP@k keeps the denominator R = 2
        self.assertAlmostEqual(q1["map@10"], (1 / 1 + 2 / 3) / 2)
        dcg = 1 / math.log2(2) + 2 / math.log2(4)
        idcg = 2 / math.log2(2) + 1 / math.log2(3)
        self.assertAlmostEqual(q1["ndcg@10"], dcg / idcg)
        # q2 retrieved nothing relevant: every metric 0
        self.assertTrue(all(v == 0 for v in report["per_query"]["q2"].values()))
        self.assertEqual(report["overall"]["queries"], 2)
        self.assertAlmostEqual(report["overall"]["recall@1"], 0.25)

    def test_map_at_k_denominator_is_all_relevant(self) -> None:
        ranked = ["a", "x", "y", "b"]
        self.assertAlmostEqual(
            metrics.average_precision(ranked, {"a": 1, "b": 1, "c": 1}, k=2), 1 / 3
        )

    def test_mrr_has_no_cutoff(self) -> None:
        scores = {f"d{i:02d}": 1 - i / 100 for i in range(50)}
        report = metrics.evaluate({"q": {"d40": 1}}, {"q": scores})
        self.assertAlmostEqual(report["per_query"]["q"]["mrr"], 1 / 41)
        self.assertEqual(report["per_query"]["q"]["recall@20"], 0.0)

    def test_queries_without_relevant_are_left_out_and_counted(self) -> None:
        report = metrics.evaluate(
            {"q1": {"a": 1}, "q2": {}},
            {"q1": {"a": 1.0}, "q3": {"a": 1.0}},
            extra_queries=["q4"],
        )
        self.assertEqual(report["overall"]["queries"], 1)
        self.assertEqual(report["queries_without_relevant"], 3)
        self.assertEqual(report["overall"]["recall@1"], 1.0)

    def test_missing_or_empty_results_score_zero(self) -> None:
        report = metrics.evaluate({"q1": {"a": 1}, "q2": {"b": 1}}, {"q1": {}})
        self.assertEqual(report["overall"]["queries"], 2)
        self.assertEqual(report["overall"]["mrr"], 0.0)
        self.assertEqual(report["queries_missing_from_run"], 1)

    def test_ties_score_descending_then_external_id(self) -> None:
        self.assertEqual(metrics.ranking({"b": 0.5, "a": 0.5, "c": 0.9}), ["c", "a", "b"])
        report = metrics.evaluate({"q": {"b": 1}}, {"q": {"b": 0.5, "a": 0.5}})
        self.assertEqual(report["per_query"]["q"]["mrr"], 0.5)

    def test_query_is_never_its_own_result(self) -> None:
        report = metrics.evaluate({"q": {"q": 1, "a": 1}}, {"q": {"q": 1.0, "a": 0.5}})
        self.assertEqual(report["per_query"]["q"]["recall@1"], 1.0)
        self.assertEqual(report["per_query"]["q"]["mrr"], 1.0)

    def test_breakdowns_carry_query_counts(self) -> None:
        report = metrics.evaluate(
            self.QRELS,
            self.RUN,
            categories={"q1": "image", "q2": "text"},
            subjects={"q1": "수학", "q2": "수학"},
        )
        self.assertEqual(report["by_category"]["image"]["queries"], 1)
        self.assertEqual(report["by_category"]["image"]["recall@3"], 1.0)
        self.assertEqual(report["by_category"]["text"]["recall@3"], 0.0)
        self.assertEqual(report["by_subject"]["수학"]["queries"], 2)
        flat = metrics.flat(report)
        for key in (
            "recall@1",
            "recall@20",
            "hit@5",
            "mrr",
            "map",
            "ndcg@10",
            "queries",
            "queries_without_relevant",
            "by_category",
            "by_subject",
        ):
            self.assertIn(key, flat)


class RanxCrossCheckTests(SimpleTestCase):
    def test_agrees_with_ranx_on_untied_random_runs(self) -> None:
        warnings.simplefilter("ignore")
        from ranx import Qrels, Run
        from ranx import evaluate as ranx_evaluate

        rng = random.Random(20260129)
        docs = [f"D{i:03d}" for i in range(200)]
        qrels: dict[str, dict[str, int]] = {}
        run: dict[str, dict[str, float]] = {}
        for q in range(60):
            query = f"Q{q:03d}"
            relevant = rng.sample(docs, rng.randint(1, 12))
            qrels[query] = {d: rng.randint(1, 3) for d in relevant}
            retrieved = rng.sample(docs, rng.randint(0, 60)) if q % 7 else []
            # distinct scores: no ties, so tie rules cannot explain a difference
            scores = rng.sample(range(1, 10**6), len(retrieved))
            run[query] = {d: s / 10**6 for d, s in zip(retrieved, scores, strict=True)}
        ours = metrics.evaluate(qrels, run)["overall"]
        names = [f"recall@{k}" for k in metrics.CUTOFFS] + ["mrr", "map", "ndcg@10", "map@10"]
        # ranx: a query with no results needs an entry; it scores 0 either way
        ranx_run = Run({q: (r or {"__none__": 0.0}) for q, r in run.items()})
        theirs = ranx_evaluate(Qrels(qrels), ranx_run, names)
        for name in names:
            self.assertAlmostEqual(ours[name], float(theirs[name]), delta=1e-9, msg=name)
        hits = ranx_evaluate(Qrels(qrels), ranx_run, [f"hit_rate@{k}" for k in metrics.CUTOFFS])
        for k in metrics.CUTOFFS:
            self.assertAlmostEqual(ours[f"hit@{k}"], float(hits[f"hit_rate@{k}"]), delta=1e-9)
