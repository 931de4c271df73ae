"""TF-IDF ground truth: top-k most similar items by TF-IDF over Kiwi tokens, the POC's way."""

from __future__ import annotations

from search.evaluation import groundtruth
from search.evaluation.groundtruth import GroundTruthError
from search.evaluation.models import GroundTruthSet
from tests.evaluation.base import BankTestCase


class TfidfTests(BankTestCase):
    def test_top_k_per_query_finds_the_reworded_twin(self) -> None:
        gt_set, report = groundtruth.build_tfidf("tfidf", top_k=2)
        pairs = groundtruth.pairs_by_external_id(gt_set)
        self.assertEqual(gt_set.kind, "tfidf")
        self.assertEqual(gt_set.provenance["top_k"], 2)
        self.assertTrue(all(len(docs) <= 2 for docs in pairs.values()))
        self.assertTrue(all(q not in docs for q, docs in pairs.items()))
        # the first choice of each twin is its twin (Korean morphemes, not whitespace words)
        self.assertIn("M-2", pairs["M-1"])
        self.assertIn("S-2", pairs["S-1"])
        self.assertEqual(report.pairs, sum(len(d) for d in pairs.values()))

    def test_query_subset_and_unknown_queries(self) -> None:
        gt_set, report = groundtruth.build_tfidf("some", top_k=1, queries=["M-1", "NOPE"])
        self.assertEqual(list(groundtruth.pairs_by_external_id(gt_set)), ["M-1"])
        self.assertEqual(report.unknown_ids, ["NOPE"])

    def test_bad_top_k_and_taken_name(self) -> None:
        with self.assertRaises(GroundTruthError):
            groundtruth.build_tfidf("t", top_k=0)
        groundtruth.build_tfidf("t", top_k=1)
        with self.assertRaises(GroundTruthError):
            groundtruth.build_tfidf("t", top_k=1)
        self.assertEqual(GroundTruthSet.objects.count(), 1)

    def test_no_similar_items_means_no_set(self) -> None:
        with self.assertRaises(GroundTruthError):
            groundtruth.build_tfidf("none", top_k=1, queries=["S-3"], min_similarity=0.99)
        self.assertFalse(GroundTruthSet.objects.exists())
