"""Stratified sampling of verification pairs: strata follow their definitions, sizes and seeds
are honoured, the formats.md file round-trips, and the management command."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.utils import translation

from search.engine import SearchRequest, search
from search.review import sampling
from search.review.models import Campaign, Label, ReviewPair
from tests.review.base import GT, ReviewTestCase

CONFIG = sampling.SearchConfig(space="hash64", mode="dense", k=100)


class StrataTestCase(ReviewTestCase):
    def test_every_pair_is_in_the_stratum_its_definition_gives(self) -> None:
        by_stratum = sampling.strata(self.gt, CONFIG)
        relevant = {(self.items[q].pk, self.items[r].pk) for q, rel in GT.items() for r in rel}
        expected = {"tp": set(), "fp": set(), "fn": set()}
        for q in GT:
            query = self.items[q]
            hits = search(SearchRequest(item_id=query.pk, mode="dense", k=100)).hits
            ranks = {h.item.pk: h.rank for h in hits}
            for h in hits[:3]:
                key = (query.pk, h.item.pk)
                expected["tp" if key in relevant else "fp"].add(key)
            for r in GT[q]:
                pk = self.items[r].pk
                if ranks.get(pk, 10**6) > 10:
                    expected["fn"].add((query.pk, pk))
        got = {
            name: {(s.query.pk, s.candidate.pk) for s in samples}
            for name, samples in by_stratum.items()
        }
        self.assertEqual(got, expected)
        self.assertEqual(len(got["fp"]) + len(got["tp"]), 3 * len(GT))
        for s in by_stratum["tp"] + by_stratum["fp"]:
            self.assertLessEqual(s.rank, 3)
            self.assertIsNotNone(s.similarity)
        for s in by_stratum["tp"]:
            self.assertTrue(s.in_ground_truth)
        for s in by_stratum["fp"]:
            self.assertFalse(s.in_ground_truth)
        for s in by_stratum["fn"]:
            self.assertTrue(s.in_ground_truth)
            self.assertTrue(s.rank is None or s.rank > 10)
            self.assertIsNotNone(s.similarity)  # cosine of the stored vectors

    def test_false_negatives_appear_with_a_shallow_cut(self) -> None:
        # Only 10 items and 3 relevant per query: with "outside the top 3" more pairs are missed.
        wide = sampling.strata(self.gt, CONFIG, outside=3)
        narrow = sampling.strata(self.gt, CONFIG)
        self.assertGreaterEqual(len(wide["fn"]), len(narrow["fn"]))
        self.assertGreater(len(wide["fn"]), 0)

    def test_depth_below_ten_is_refused(self) -> None:
        with (
            translation.override("en"),
            self.assertRaisesMessage(sampling.SamplingError, "at least 10 results deep"),
        ):
            sampling.strata(self.gt, sampling.SearchConfig(mode="dense", k=5))

    def test_empty_set_and_bad_space(self) -> None:
        from search.evaluation.models import GroundTruthSet

        empty = GroundTruthSet.objects.create(name="empty")
        with (
            translation.override("en"),
            self.assertRaisesMessage(sampling.SamplingError, "has no pairs"),
        ):
            sampling.strata(empty, CONFIG)
        with (
            translation.override("en"),
            self.assertRaisesMessage(sampling.SamplingError, "Search failed"),
        ):
            sampling.strata(self.gt, sampling.SearchConfig(space="nope", mode="dense"))


class DrawTestCase(ReviewTestCase):
    def test_sizes_and_reproducibility(self) -> None:
        sizes = {"tp": 2, "fp": 3, "fn": 1}
        first, available = sampling.sample_pairs(self.gt, CONFIG, sizes, seed=3)
        again, _ = sampling.sample_pairs(self.gt, CONFIG, sizes, seed=3)
        key = [(s.query.pk, s.candidate.pk, s.stratum) for s in first]
        self.assertEqual(key, [(s.query.pk, s.candidate.pk, s.stratum) for s in again])
        counts = {name: sum(1 for s in first if s.stratum == name) for name in sizes}
        self.assertEqual(counts, {k: min(v, available[k]) for k, v in sizes.items()})
        others = {
            tuple(
                (s.query.pk, s.candidate.pk)
                for s in sampling.sample_pairs(self.gt, CONFIG, sizes, seed=seed)[0]
            )
            for seed in range(6)
        }
        self.assertGreater(len(others), 1)  # the seed matters

    def test_default_sizes_take_everything_from_a_small_bank(self) -> None:
        samples, available = sampling.sample_pairs(self.gt, CONFIG)
        self.assertEqual(
            len(samples), sum(min(v, sampling.DEFAULT_SIZES[k]) for k, v in available.items())
        )
        self.assertEqual(len({(s.query.pk, s.candidate.pk) for s in samples}), len(samples))

    def test_draw_is_seeded_random_sample_of_the_ordered_pool(self) -> None:
        import random

        pool = {
            "tp": [
                sampling.Sample(self.items[0], self.items[i], "tp", None, True) for i in range(1, 9)
            ]
        }
        drawn = sampling.draw(pool, {"tp": 3}, seed=11)
        rng = random.Random(11)
        expected = rng.sample(pool["tp"], 3)
        rng.shuffle(expected)
        self.assertEqual(drawn, expected)

    def test_negative_size_refused(self) -> None:
        with (
            translation.override("en"),
            self.assertRaisesMessage(sampling.SamplingError, "cannot be negative"),
        ):
            sampling.sample_pairs(self.gt, CONFIG, {"tp": -1})


class FileTestCase(ReviewTestCase):
    POC = [
        {
            "query": "R-0000",
            "candidate": "R-0001",
            "stratum": "tp",
            "similarity": 0.913,
            "in_ground_truth": True,
            "labels": [],
        },
        {
            "query": "R-0005",
            "candidate": "R-0007",
            "stratum": "fp",
            "similarity": 0.871,
            "in_ground_truth": False,
        },
        {
            "query": "R-0003",
            "candidate": "R-0004",
            "stratum": "fn",
            "similarity": 0.42,
            "in_ground_truth": True,
            "labels": [
                {"reviewer": "reviewer", "label": "similar", "grade": 2, "note": "같은 유형"}
            ],
        },
    ]

    def test_poc_file_loads_and_round_trips(self) -> None:
        samples = sampling.parse_samples(self.POC)
        campaign = sampling.create_campaign("poc", samples, user=self.admin)
        self.assertEqual(campaign.pairs.count(), 3)
        pair = campaign.pairs.get(position=3)
        self.assertEqual((pair.query, pair.candidate), (self.items[3], self.items[4]))
        label = Label.objects.get(pair=pair)
        self.assertEqual(
            (label.reviewer, label.label, label.grade, label.status),
            (self.reviewer, "similar", 2, Label.Status.SUBMITTED),
        )
        out = sampling.export_samples(campaign)
        for entry, original in zip(out, self.POC, strict=True):
            for key in ("query", "candidate", "stratum", "similarity", "in_ground_truth"):
                self.assertEqual(entry[key], original[key])
        self.assertEqual(
            [
                {k: v for k, v in lab.items() if k in ("reviewer", "label", "grade", "note")}
                for lab in out[2]["labels"]
            ],
            self.POC[2]["labels"],
        )
        # what was exported loads again
        again = sampling.create_campaign("poc-again", sampling.parse_samples(out))
        self.assertEqual(again.pairs.count(), 3)

    def test_bad_files_name_the_entry_and_write_nothing(self) -> None:
        cases = [
            ({"query": "R-0000"}, "JSON list"),
            ([{"query": "R-0000"}], "entry 1, candidate"),
            (
                [self.POC[0], {"query": "R-0000", "candidate": "NOPE"}],
                "entry 2, candidate: there is no item NOPE",
            ),
            ([{"query": "R-0000", "candidate": "R-0000"}], "the same item"),
            ([self.POC[0], self.POC[0]], "listed twice"),
            ([{**self.POC[0], "similarity": "high"}], "similarity must be a number"),
            ([{**self.POC[0], "in_ground_truth": "yes"}], "true or false"),
            (
                [{**self.POC[0], "labels": [{"reviewer": "ghost", "label": "similar"}]}],
                "no user named ghost",
            ),
            (
                [{**self.POC[0], "labels": [{"reviewer": "reviewer", "label": "same"}]}],
                "label must be one of",
            ),
            (
                [
                    {
                        **self.POC[0],
                        "labels": [{"reviewer": "reviewer", "label": "similar", "grade": 4}],
                    }
                ],
                "grade must be",
            ),
            ([], "lists no pairs"),
        ]
        for data, message in cases:
            with self.subTest(message), translation.override("en"):
                with self.assertRaisesMessage(sampling.SamplingError, message):
                    sampling.parse_samples(data)
        self.assertFalse(ReviewPair.objects.exists())

    def test_campaign_name_and_reviewers_checked(self) -> None:
        samples = sampling.parse_samples(self.POC[:1])
        sampling.create_campaign("taken", samples)
        with translation.override("en"):
            with self.assertRaisesMessage(sampling.SamplingError, "exists already"):
                sampling.create_campaign("taken", samples)
            with self.assertRaisesMessage(sampling.SamplingError, "between 1 and 10"):
                sampling.create_campaign("other", samples, reviewers_per_pair=0)
        self.assertEqual(Campaign.objects.count(), 1)


class CommandTestCase(ReviewTestCase):
    def test_command_samples_into_a_campaign_and_writes_the_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "samples.json"
            out = io.StringIO()
            with translation.override("en"):
                call_command(
                    "sample_verification",
                    "--gt",
                    "gt-test",
                    "--space",
                    "hash64",
                    "--mode",
                    "dense",
                    "--tp",
                    "2",
                    "--fp",
                    "2",
                    "--fn",
                    "1",
                    "--seed",
                    "5",
                    "--campaign",
                    "cmd",
                    "--reviewers-per-pair",
                    "2",
                    "--output",
                    str(path),
                    stdout=out,
                )
            data = json.loads(path.read_text(encoding="utf-8"))
        campaign = Campaign.objects.get(name="cmd")
        self.assertEqual(campaign.reviewers_per_pair, 2)
        self.assertEqual(campaign.gt_set, self.gt)
        self.assertEqual(campaign.search_config["seed"], 5)
        self.assertEqual(len(data), campaign.pairs.count())
        self.assertEqual({d["stratum"] for d in data} <= {"tp", "fp", "fn"}, True)
        self.assertIn("Campaign cmd", out.getvalue())
        expected, _ = sampling.sample_pairs(
            self.gt,
            sampling.SearchConfig(space="hash64", mode="dense"),
            {"tp": 2, "fp": 2, "fn": 1},
            seed=5,
        )
        self.assertEqual(
            [(d["query"], d["candidate"]) for d in data],
            [(s.query.external_id, s.candidate.external_id) for s in expected],
        )

    def test_command_errors(self) -> None:
        with translation.override("en"):
            with self.assertRaisesMessage(CommandError, "no ground truth set named"):
                call_command("sample_verification", "--gt", "nope", "--campaign", "x")
            with self.assertRaisesMessage(CommandError, "--gt"):
                call_command("sample_verification", "--campaign", "x")
        self.assertFalse(Campaign.objects.exists())

    def test_command_loads_a_samples_file(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "manual_verification_samples.json"
            path.write_text(json.dumps(FileTestCase.POC, ensure_ascii=False), encoding="utf-8")
            call_command(
                "sample_verification",
                "--input",
                str(path),
                "--campaign",
                "poc",
                stdout=io.StringIO(),
            )
        self.assertEqual(Campaign.objects.get(name="poc").pairs.count(), 3)
