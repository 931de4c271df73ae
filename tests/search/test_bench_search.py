"""`bench_search` and its plain functions: the quality scorer, percentiles, the synthetic
mixture, and the scratch space (fill, exact vs HNSW recall, cleanup)."""

from __future__ import annotations

import io
import json
import math
from unittest import mock

import numpy as np
from django.core.management import CommandError, call_command
from django.utils import translation

from benchmarks import bench_search as benchmark
from embeddings.models import EmbeddingSpace, ItemEmbedding
from embeddings.services import drop_index, index_state
from itembank.models import Item
from tests.base import BaseTestCase


def as_array(vector) -> np.ndarray:
    return np.array(vector.to_list() if hasattr(vector, "to_list") else list(vector), np.float32)


class ScoreRunTests(BaseTestCase):
    def test_recall_mrr_and_duplicates_by_hand(self) -> None:
        qrels = benchmark.parse_qrels(
            {
                "Q1": {"A": 2, "B": 1, "C": 1},  # graded
                "Q2": ["D"],  # list form: relevance 1
                "Q3": {"Q3": 1},  # only itself: no relevant item, left out
                "Q4": {"E": 2},  # not in the run: scores 0
            }
        )
        results = {
            # ranking X, B, Y, Z, W, A, C — untied scores
            "Q1": {"X": 0.9, "B": 0.8, "Y": 0.7, "Z": 0.6, "W": 0.5, "A": 0.4, "C": 0.3},
            "Q2": {"D": 0.95, "X": 0.5},
            "Q5": {"A": 1.0},  # not judged: ignored
        }
        quality = benchmark.score_run(results, qrels, ks=(1, 5, 10))
        self.assertEqual((quality.queries, quality.left_out), (3, 1))
        # Q1: R@1 0, R@5 1/3 (B), R@10 3/3; Q2: 1, 1, 1; Q4: 0.
        self.assertAlmostEqual(quality.recall[1], (0 + 1 + 0) / 3)
        self.assertAlmostEqual(quality.recall[5], (1 / 3 + 1 + 0) / 3)
        self.assertAlmostEqual(quality.recall[10], (1 + 1 + 0) / 3)
        self.assertAlmostEqual(quality.mrr, (1 / 2 + 1 + 0) / 3)
        # Duplicates (grade 2): Q1 (first result X is not A) and Q4 (nothing retrieved).
        self.assertEqual(quality.duplicate_queries, 2)
        self.assertEqual(quality.duplicate_at_1, 0.0)
        results["Q1"]["A"] = 0.99
        self.assertEqual(benchmark.score_run(results, qrels).duplicate_at_1, 0.5)

    def test_ties_ranked_by_external_id(self) -> None:
        qrels = {"Q": {"B": 1}}
        self.assertEqual(benchmark.score_run({"Q": {"B": 0.5, "A": 0.5}}, qrels).mrr, 0.5)
        self.assertEqual(benchmark.score_run({"Q": {"B": 0.5, "C": 0.5}}, qrels).mrr, 1.0)

    def test_the_query_is_never_its_own_result(self) -> None:
        qrels = {"Q": {"A": 1}}
        self.assertEqual(benchmark.score_run({"Q": {"Q": 1.0, "A": 0.5}}, qrels).mrr, 1.0)

    def test_percentile(self) -> None:
        values = [float(v) for v in range(1, 101)]
        self.assertAlmostEqual(benchmark.percentile(values, 50), 50.5)
        self.assertAlmostEqual(benchmark.percentile(values, 95), 95.05)
        self.assertEqual(benchmark.percentile([7.0], 99), 7.0)
        self.assertTrue(math.isnan(benchmark.percentile([], 50)))


class MixtureTests(BaseTestCase):
    def test_rows_do_not_depend_on_chunking_and_are_unit(self) -> None:
        mixture = benchmark.Mixture(dims=24, topics=8, subtopics=4, rank=8, seed=3)
        whole = mixture.rows(0, benchmark.CHUNK_ROWS + 100)
        part = mixture.rows(benchmark.CHUNK_ROWS - 50, 120)
        np.testing.assert_array_equal(
            part, whole[benchmark.CHUNK_ROWS - 50 : benchmark.CHUNK_ROWS + 70]
        )
        np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, rtol=1e-5)
        again = benchmark.Mixture(dims=24, topics=8, subtopics=4, rank=8, seed=3)
        np.testing.assert_array_equal(again.queries(5), mixture.queries(5))

    def test_clustered_not_uniform(self) -> None:
        dims = 512
        mixture = benchmark.Mixture(dims=dims, topics=16, subtopics=8, rank=64)
        bank = mixture.rows(0, 4000)
        sims = mixture.queries(50) @ bank.T
        nearest = np.sort(sims, axis=1)[:, -10:]
        # Near neighbours are close (same sub-topic), most of the bank is far (other topics);
        # uniform random 512-d unit vectors would all sit near 0 ± 0.05.
        self.assertGreater(float(nearest.mean()), 0.6)
        self.assertLess(float(np.median(sims)), 0.2)


class ScratchSpaceTests(BaseTestCase):
    def test_fill_measure_and_drop(self) -> None:
        dims = 32
        mixture = benchmark.Mixture(dims=dims, topics=6, subtopics=4, rank=16)
        space, timings = benchmark.fill_scratch(300, dims, mixture)
        self.assertEqual(space.name, "bench-scratch-32")
        self.assertFalse(space.enabled)
        self.assertEqual(ItemEmbedding.objects.filter(space=space).count(), 300)
        self.assertEqual(
            Item.objects.filter(external_id__startswith="BENCHSEARCH-32-").count(), 300
        )
        self.assertEqual(
            Item.objects.filter(external_id__startswith="BENCHSEARCH-32-")
            .values("content_hash")
            .distinct()
            .count(),
            300,
        )
        self.assertEqual(index_state(space), "valid")
        self.assertIn("index_build_s", timings)
        # The stored vectors are the mixture's rows, in external-id order.
        first = Item.objects.get(external_id="BENCHSEARCH-32-00000007")
        stored = as_array(ItemEmbedding.objects.get(item=first).embedding)
        np.testing.assert_allclose(stored, mixture.rows(7, 1)[0], atol=2e-3)

        # Growing the bank adds only the missing rows.
        space, _timings = benchmark.fill_scratch(350, dims, mixture)
        self.assertEqual(ItemEmbedding.objects.filter(space=space).count(), 350)

        queries = [benchmark.vector_literal(q) for q in mixture.queries(20)]
        exact = benchmark.exact_neighbours(space, queries)
        self.assertTrue(all(len(ids) == 10 for ids in exact))
        # exact = brute force over the stored (half-precision) vectors
        rows = ItemEmbedding.objects.filter(space=space).values_list("item_id", "embedding")
        ids = np.array([pk for pk, _v in rows])
        bank = np.array([as_array(v) for _pk, v in rows], dtype=np.float32)
        bank /= np.linalg.norm(bank, axis=1, keepdims=True)
        for q, found in zip(mixture.queries(20), exact, strict=True):
            expected = ids[np.argsort(-(bank @ q), kind="stable")[:10]]
            self.assertGreaterEqual(len(set(expected) & set(found)), 9)
        latencies = benchmark.bench_dense_sql(space, queries, exact, [40, 100], warmup=2)
        self.assertEqual([lat.extra["ef_search"] for lat in latencies], [40, 100])
        for lat in latencies:
            self.assertEqual(len(lat.samples_ms), 20)
            self.assertGreaterEqual(lat.recall, 0.9)  # 350 rows: HNSW is near exact
            row = lat.as_dict()
            self.assertLessEqual(row["p50_ms"], row["p95_ms"])
            self.assertLessEqual(row["p95_ms"], row["p99_ms"])
        # Every row ran on the index (the plan is pinned as in the engine) and says so.
        for lat in latencies:
            self.assertIs(lat.extra["index_scan"], True)
            self.assertIn(f"Index Scan using {space.index_name}", lat.extra["plan"])
            self.assertIn("unpinned_plan", lat.extra)
        self.assertTrue(benchmark.explain_uses_index(space, queries[0], ef=400))
        # Without the index (dropped) the rows say so.
        drop_index(space)
        (lat,) = benchmark.bench_dense_sql(space, queries[:3], exact, [200], warmup=0)
        self.assertIs(lat.extra["index_scan"], False)
        self.assertIn("Sort", lat.extra["plan"])
        self.assertFalse(benchmark.explain_uses_index(space, queries[0]))

        benchmark.drop_scratch(dims)
        self.assertFalse(EmbeddingSpace.objects.filter(name="bench-scratch-32").exists())
        self.assertFalse(Item.objects.filter(external_id__startswith="BENCHSEARCH-").exists())

    def test_command_json_then_cleanup(self) -> None:
        out, err = io.StringIO(), io.StringIO()
        call_command(
            "bench_search",
            "--rows", "200", "--dims", "16", "--queries", "15", "--recall-queries", "10",
            "--ef", "40", "--topics", "4", "--skip-engine", "--http-requests", "0",
            "--keep", "--json",
            stdout=out, stderr=err,
        )  # fmt: skip
        report = json.loads(out.getvalue())
        self.assertEqual(report["scratch"], {"rows": 200, "dims": 16})
        sql = [row for row in report["latency"] if row["label"].startswith("SQL")]
        self.assertEqual(len(sql), 1)
        self.assertEqual(sql[0]["n"], 15)
        self.assertIsNotNone(sql[0]["recall@10"])
        engine = [row for row in report["latency"] if row["label"].startswith("engine dense")]
        self.assertEqual(len(engine), 1)  # the engine's dense path on the scratch space
        self.assertTrue(EmbeddingSpace.objects.filter(name="bench-scratch-16").exists())
        self.assertIs(sql[0]["index_scan"], True)
        call_command("bench_search", "--cleanup", stderr=io.StringIO())
        self.assertFalse(EmbeddingSpace.objects.filter(name__startswith="bench-scratch").exists())
        self.assertFalse(Item.objects.filter(external_id__startswith="BENCHSEARCH-").exists())

    def test_command_fails_loudly_when_the_index_is_not_used(self) -> None:
        # A query whose ORDER BY no longer repeats the indexed expression cannot use the index.
        unindexed = benchmark.dense_sql

        def dense_sql(space, k=10):
            return (
                unindexed(space, k)
                .replace("ORDER BY ", "ORDER BY 0 + (")
                .replace(" LIMIT", ") LIMIT")
            )

        out = io.StringIO()
        with mock.patch.object(benchmark, "dense_sql", dense_sql), translation.override("en"):
            with self.assertRaisesMessage(CommandError, "The HNSW index was NOT used"):
                call_command(
                    "bench_search",
                    "--rows", "200", "--dims", "16", "--queries", "5", "--recall-queries", "5",
                    "--ef", "40,200", "--topics", "4", "--skip-engine", "--http-requests", "0",
                    stdout=out, stderr=io.StringIO(),
                )  # fmt: skip
        self.assertIn("plan at ef_search 200: Limit → Sort", out.getvalue())
        self.assertFalse(EmbeddingSpace.objects.filter(name__startswith="bench-scratch").exists())
