"""Ground-truth sets: import/export in the formats.md shape, bad input, expert labels, planted
sets and combining two sets."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import translation

from search.evaluation import groundtruth
from search.evaluation.groundtruth import GroundTruthError
from search.evaluation.models import GroundTruthPair, GroundTruthSet
from tests.evaluation.base import BankTestCase


def pairs_of(gt_set) -> dict[str, dict[str, int]]:
    return groundtruth.pairs_by_external_id(gt_set)


class ImportExportTests(BankTestCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_poc_list_form_loads_as_relevance_one(self) -> None:
        tmp = Path(tempfile.mkdtemp()) / "ground_truth.json"
        tmp.write_text(json.dumps({"M-1": ["M-2", "M-3"], "S-1": ["S-2"]}), "utf-8")
        gt_set, report = groundtruth.import_json(tmp)
        self.assertEqual(gt_set.name, "ground_truth")
        self.assertEqual(gt_set.kind, GroundTruthSet.Kind.IMPORTED)
        self.assertEqual(pairs_of(gt_set), {"M-1": {"M-2": 1, "M-3": 1}, "S-1": {"S-2": 1}})
        self.assertEqual((report.queries, report.pairs, report.dropped_unknown), (2, 3, 0))

    def test_graded_object_form_and_round_trip(self) -> None:
        document = {
            "name": "graded",
            "kind": "llm",
            "pairs": {"M-1": {"M-2": 2, "M-3": 1}, "S-1": ["S-2"]},
        }
        gt_set, _report = groundtruth.import_json(document)
        self.assertEqual(gt_set.kind, "llm")
        exported = groundtruth.export_json(gt_set)
        self.assertEqual(exported["pairs"], {"M-1": {"M-2": 2, "M-3": 1}, "S-1": ["S-2"]})
        again, _ = groundtruth.import_json(exported, name="graded-again")
        self.assertEqual(pairs_of(again), pairs_of(gt_set))

    def test_unknown_items_are_dropped_and_reported(self) -> None:
        gt_set, report = groundtruth.import_json(
            {"name": "partly", "pairs": {"M-1": ["M-2", "NOPE-1"], "NOPE-2": ["S-1"]}}
        )
        self.assertEqual(pairs_of(gt_set), {"M-1": {"M-2": 1}})
        self.assertEqual(report.dropped_unknown, 2)
        self.assertEqual(report.unknown_ids, ["NOPE-1", "NOPE-2"])
        self.assertIn("2 pairs were dropped", report.summary())

    def test_self_pairs_are_dropped_and_counted(self) -> None:
        _set, report = groundtruth.import_json({"name": "s", "pairs": {"M-1": ["M-1", "M-2"]}})
        self.assertEqual(report.dropped_self, 1)
        self.assertEqual(report.pairs, 1)

    def test_only_unknown_items_is_an_error_and_writes_nothing(self) -> None:
        with self.assertRaisesMessage(GroundTruthError, "None of the pairs name two items"):
            groundtruth.import_json({"name": "other-bank", "pairs": {"X-1": ["X-2"]}})
        self.assertFalse(GroundTruthSet.objects.filter(name="other-bank").exists())

    def test_empty_set_is_refused(self) -> None:
        for document in ({"name": "e", "pairs": {}}, {"name": "e", "pairs": {"M-1": []}}):
            with self.assertRaises(GroundTruthError):
                groundtruth.import_json(document)
        self.assertFalse(GroundTruthSet.objects.exists())

    def test_relevance_out_of_range_refuses_the_file(self) -> None:
        for grade in (0, -1, 11, 1.5, "2", True, None):
            with self.subTest(grade=grade), self.assertRaises(GroundTruthError) as caught:
                groundtruth.import_json(
                    {"name": "bad", "pairs": {"M-1": {"M-2": 1}, "S-1": {"S-2": grade}}}
                )
            self.assertIn("S-2", str(caught.exception))
        self.assertFalse(GroundTruthSet.objects.exists())
        self.assertFalse(GroundTruthPair.objects.exists())

    def test_malformed_documents(self) -> None:
        tmp = Path(tempfile.mkdtemp())
        (tmp / "broken.json").write_text("{not json", "utf-8")
        (tmp / "list.json").write_text("[1, 2]", "utf-8")
        cases = [
            (tmp / "broken.json", "not valid JSON"),
            (tmp / "list.json", "must hold a JSON object"),
            (tmp / "missing.json", "does not exist"),
            ({"pairs": ["M-1"]}, "must be an object"),
            ({"pairs": {"M-1": "M-2"}}, "must be a list"),
            ({"pairs": {"M-1": [{"id": "M-2"}]}}, "not an item id"),
        ]
        for source, message in cases:
            with self.subTest(source=source), self.assertRaisesMessage(GroundTruthError, message):
                groundtruth.import_json(source, name="x")

    def test_taken_name_is_refused_unless_replacing(self) -> None:
        groundtruth.import_json({"name": "n", "pairs": {"M-1": ["M-2"]}})
        with self.assertRaisesMessage(GroundTruthError, "already exists"):
            groundtruth.import_json({"name": "n", "pairs": {"M-1": ["M-3"]}})
        gt_set, _ = groundtruth.import_json({"name": "n", "pairs": {"M-1": ["M-3"]}}, replace=True)
        self.assertEqual(pairs_of(gt_set), {"M-1": {"M-3": 1}})

    def test_database_refuses_self_pairs_and_bad_grades(self) -> None:
        gt_set, _ = groundtruth.import_json({"name": "db", "pairs": {"M-1": ["M-2"]}})
        m1, m3 = self.items["M-1"], self.items["M-3"]
        for kwargs in ({"relevant": m1, "relevance": 1}, {"relevant": m3, "relevance": 0}):
            with self.subTest(kwargs=kwargs), self.assertRaises(IntegrityError):
                with transaction.atomic():
                    GroundTruthPair.objects.create(gt_set=gt_set, query=m1, **kwargs)


class ExpertTests(BankTestCase):
    def test_expert_set_is_created_once(self) -> None:
        first = groundtruth.expert_set()
        self.assertEqual((first.name, first.kind), ("expert", "expert"))
        self.assertEqual(groundtruth.expert_set().pk, first.pk)

    def test_set_pair_adds_updates_and_removes(self) -> None:
        expert = groundtruth.expert_set()
        m1, m2 = self.items["M-1"], self.items["M-2"]
        groundtruth.set_pair(expert, m1, m2, 1)
        groundtruth.set_pair(expert, m1.pk, m2.pk, 3)
        self.assertEqual(pairs_of(expert), {"M-1": {"M-2": 3}})
        groundtruth.set_pair(expert, m1, m2, None)
        self.assertEqual(pairs_of(expert), {})
        groundtruth.set_pair(expert, m1, m2, None)  # removing twice is harmless

    def test_set_pair_refuses_self_pairs_and_bad_relevance(self) -> None:
        expert = groundtruth.expert_set()
        m1, m2 = self.items["M-1"], self.items["M-2"]
        with self.assertRaises(GroundTruthError):
            groundtruth.set_pair(expert, m1, m1, 1)
        for grade in (0, -2, 1.5, "1"):
            with self.subTest(grade=grade), self.assertRaises(GroundTruthError):
                groundtruth.set_pair(expert, m1, m2, grade)
        self.assertFalse(expert.pairs.exists())


class PlantedAndCombineTests(BankTestCase):
    def test_planted_file_loads_graded(self) -> None:
        tmp = Path(tempfile.mkdtemp()) / "ground_truth_planted.json"
        tmp.write_text(
            json.dumps(
                {
                    "name": "planted",
                    "kind": "planted",
                    "pairs": {"M-1": {"M-2": 2}, "M-2": {"M-1": 2}, "M-3": {"M-4": 1}},
                }
            ),
            "utf-8",
        )
        gt_set, report = groundtruth.build_planted(tmp)
        self.assertEqual(gt_set.kind, "planted")
        self.assertEqual(report.pairs, 3)
        self.assertEqual(pairs_of(gt_set)["M-1"], {"M-2": 2})

    def test_intersection_takes_min_and_union_max(self) -> None:
        a, _ = groundtruth.import_json(
            {"name": "a", "pairs": {"M-1": {"M-2": 2, "M-3": 1}, "S-1": ["S-2"]}}
        )
        b, _ = groundtruth.import_json({"name": "b", "pairs": {"M-1": {"M-2": 1, "M-4": 3}}})
        both = groundtruth.combine(a, b, "intersection", "hybrid")
        self.assertEqual(both.kind, "intersection")
        self.assertEqual(pairs_of(both), {"M-1": {"M-2": 1}})
        self.assertEqual(both.provenance["parents"], ["a", "b"])
        either = groundtruth.combine(a, b, "union", "either")
        self.assertEqual(
            pairs_of(either), {"M-1": {"M-2": 2, "M-3": 1, "M-4": 3}, "S-1": {"S-2": 1}}
        )

    def test_disjoint_intersection_and_bad_op_write_nothing(self) -> None:
        a, _ = groundtruth.import_json({"name": "a", "pairs": {"M-1": ["M-2"]}})
        b, _ = groundtruth.import_json({"name": "b", "pairs": {"S-1": ["S-2"]}})
        with self.assertRaises(GroundTruthError):
            groundtruth.combine(a, b, "intersection", "none")
        with self.assertRaises(GroundTruthError):
            groundtruth.combine(a, b, "xor", "none")
        with self.assertRaises(GroundTruthError):
            groundtruth.combine(a, a, "union", "none")
        self.assertFalse(GroundTruthSet.objects.filter(name="none").exists())
