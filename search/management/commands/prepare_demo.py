"""Prepare the demo bank so every role meets work or results on its first page.

Run by `./dev run` after `seed_demo --if-empty` and `spaces ensure-default`:

- embeds the demo bank into the default space, in this process (search, sampling and the
  evaluation runs below need the vectors; the gpu worker's sweep then finds nothing left to do);
- builds the ground-truth sets `planted` (the demo bank's planted families) and `tfidf`
  (TF-IDF top 5);
- draws one review campaign of 20 / 15 / 15 pairs (tp / fp / fn) from the planted set, two
  reviewers per pair;
- evaluates the default space on the planted set once per search mode (dense, bm25, hybrid,
  rrf), recorded as evaluation runs.

Everything is computed here, before the workers start, rather than queued as jobs: the runs and
the sample need every vector, and a queued run could start before the gpu worker had embedded
the bank and score a half-embedded bank as if it were complete.

It does nothing when the bank is not the demo bank (`seed_demo` imports with via="demo" and
writes DATA_DIR/demo/ground_truth_planted.json) or when any ground-truth set, campaign or
evaluation run exists — it has run before, or an admin has started work of their own.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from embeddings import pipeline
from embeddings.services import default_space
from itembank.models import ItemRevision
from search.engine import MODES
from search.evaluation import evaluate, groundtruth
from search.evaluation.models import EvaluationRun, GroundTruthSet
from search.review import sampling
from search.review.models import Campaign

CAMPAIGN_NAME = "데모 문항은행 전문가 검증"
GUIDELINES = (
    "같은 문항을 다시 쓴 것(표현·순서만 다름)은 '중복', 같은 개념을 묻지만 숫자나 조건이 다르면 "
    "'유사', 그 밖에는 '유사하지 않음'으로 표시합니다."
)
SIZES = {"tp": 20, "fp": 15, "fn": 15}
REVIEWERS_PER_PAIR = 2
TFIDF_TOP_K = 5
SEED = 42


def planted_path() -> Path:
    return Path(settings.DATA_DIR) / "demo" / "ground_truth_planted.json"


def skip_reason(path: Path) -> str | None:
    """Why the demo is not prepared, or None when it should be."""
    if not ItemRevision.objects.filter(via="demo").exists() or not path.is_file():
        return "The bank is not the demo bank; nothing prepared."
    if (
        GroundTruthSet.objects.exists()
        or Campaign.objects.exists()
        or EvaluationRun.objects.exists()
    ):
        return "Ground-truth sets, campaigns or evaluation runs exist; nothing prepared."
    return None


class Command(BaseCommand):
    help = "Prepare the demo bank: vectors, ground-truth sets, a review campaign, evaluation runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--planted",
            type=Path,
            default=None,
            help="the planted ground truth (default DATA_DIR/demo/ground_truth_planted.json)",
        )

    def handle(self, *args, **options) -> None:
        path = options["planted"] or planted_path()
        if reason := skip_reason(path):
            self.stdout.write(reason)
            return
        space = default_space()
        if space is None:
            raise CommandError("There is no default embedding space; run `spaces ensure-default`.")
        started = time.monotonic()
        missing = list(pipeline.stale_or_missing(space).values_list("pk", flat=True))
        embedded = pipeline.embed_items(space, missing)
        if embedded.failed:
            raise CommandError(
                f"{embedded.failed} demo items could not be embedded into {space.name}: "
                f"{next(iter(embedded.errors.values()), '')}"
            )
        self.stdout.write(f"Embedded {embedded.embedded} items into {space.name}.")
        try:
            with transaction.atomic():  # all or nothing: a failed start is retried on the next
                self.prepare(path, space.name)
        except (
            groundtruth.GroundTruthError,
            sampling.SamplingError,
            evaluate.EvaluationError,
        ) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo prepared: {len(MODES)} evaluation runs on planted "
                f"in {time.monotonic() - started:.1f}s."
            )
        )

    def prepare(self, path: Path, space: str) -> None:
        planted, _report = groundtruth.build_planted(path)
        tfidf, _report = groundtruth.build_tfidf("tfidf", TFIDF_TOP_K)
        samples, _available = sampling.sample_pairs(
            planted, sampling.SearchConfig(space=space), SIZES, seed=SEED
        )
        campaign = sampling.create_campaign(
            CAMPAIGN_NAME,
            samples,
            gt_set=planted,
            config={**sampling.SearchConfig(space=space).as_dict(), "seed": SEED},
            reviewers_per_pair=REVIEWERS_PER_PAIR,
            guidelines=GUIDELINES,
        )
        self.stdout.write(
            f"Ground-truth sets planted ({planted.pairs.count()} pairs) and tfidf "
            f"({tfidf.pairs.count()} pairs); campaign “{campaign.name}” with "
            f"{len(samples)} pairs."
        )
        for mode in MODES:
            queued = evaluate.create_run(planted, space=space, mode=mode)
            run = evaluate.execute(queued.pk)
            if run is None or run.status != EvaluationRun.Status.SUCCEEDED:
                raise CommandError(
                    f"The {mode} evaluation run failed: {run.error if run else 'deleted'}"
                )
