"""What the dashboard shows beyond single runs: how each ground-truth set agrees with the experts,
the POC-style JSON report, and the data behind the charts.

Disagreement: a set's pairs are checked against expert verdicts — the pairs experts labelled
relevant (the expert set, plus the review workspace's verdicts when `search.review` is
installed) and the pairs they labelled not similar (from `search.review`). Pairs are compared
unordered: "a is similar to b" is the same statement as "b is similar to a".

- precision = the set's pairs experts labelled relevant ÷ the set's pairs experts labelled at all
- recall = expert-relevant pairs that are in the set ÷ all expert-relevant pairs — the question
  the POC could not answer (its sets were never checked against people)
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from itembank.models import Item
from search.review.services import expert_labels as review_labels

from . import groundtruth, metrics
from .models import EvaluationRun, GroundTruthPair, GroundTruthSet

Pair = tuple[int, int]
EXAMPLES = 10


def unordered(pairs: Iterable[Pair]) -> set[Pair]:
    return {(min(a, b), max(a, b)) for a, b in pairs if a != b}


def set_pairs(gt_set: GroundTruthSet) -> set[Pair]:
    return unordered(
        GroundTruthPair.objects.filter(gt_set=gt_set).values_list("query_id", "relevant_id")
    )


def _names(pairs: Iterable[Pair]) -> list[list[str]]:
    pairs = sorted(pairs)[:EXAMPLES]
    ids = {pk for pair in pairs for pk in pair}
    names = dict(Item.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    return [[names.get(a, str(a)), names.get(b, str(b))] for a, b in pairs]


def disagreement(
    gt_set: GroundTruthSet, expert_positive: set[Pair], expert_negative: set[Pair]
) -> dict:
    """How `gt_set` agrees with expert verdicts given as (query item id, candidate item id)."""
    mine = set_pairs(gt_set)
    positive = unordered(expert_positive)
    negative = unordered(expert_negative) - positive  # a pair judged relevant counts as relevant
    agree = mine & positive
    disagree = mine & negative
    labelled = len(agree) + len(disagree)
    missed = positive - mine
    return {
        "set": gt_set.name,
        "pairs": len(mine),
        "labelled": labelled,
        "agree": len(agree),
        "disagree": len(disagree),
        "unlabelled": len(mine) - labelled,
        "expert_positive": len(positive),
        "expert_negative": len(negative),
        "found": len(positive & mine),
        "missed": len(missed),
        "precision": len(agree) / labelled if labelled else None,
        "recall": len(positive & mine) / len(positive) if positive else None,
        "disagree_examples": _names(disagree),
        "missed_examples": _names(missed),
    }


def expert_labels() -> tuple[set[Pair], set[Pair]]:
    """Expert-relevant pairs (the expert set, plus the review workspace's verdicts) and the pairs
    experts labelled not similar (from `search.review`, when it is installed)."""
    positive: set[Pair] = set()
    negative: set[Pair] = set()
    expert = GroundTruthSet.objects.filter(name=groundtruth.EXPERT_SET).first()
    if expert is not None:
        positive |= set(
            GroundTruthPair.objects.filter(gt_set=expert).values_list("query_id", "relevant_id")
        )
    try:
        with transaction.atomic():  # a savepoint: a failed query leaves the request usable
            pos, neg = review_labels()
    except Exception:  # the review app's tables may not exist yet (unapplied migration)
        return positive, negative
    return positive | set(pos), negative | set(neg)


def disagreement_table() -> tuple[list[dict], int, int]:
    """`disagreement` of every non-expert set, and the number of expert pairs behind it."""
    positive, negative = expert_labels()
    rows = []
    if positive or negative:
        for gt_set in GroundTruthSet.objects.exclude(kind=GroundTruthSet.Kind.EXPERT):
            rows.append(disagreement(gt_set, positive, negative))
    return rows, len(unordered(positive)), len(unordered(negative) - unordered(positive))


# -- the POC-style JSON report -------------------------------------------------------------------


def latest_runs(gt_set: GroundTruthSet | None = None) -> list[EvaluationRun]:
    """The latest succeeded run of each (set, space, mode, α, rerank, k) configuration."""
    qs = EvaluationRun.objects.filter(status=EvaluationRun.Status.SUCCEEDED).select_related(
        "gt_set"
    )
    if gt_set is not None:
        qs = qs.filter(gt_set=gt_set)
    seen: dict[tuple, EvaluationRun] = {}
    for run in qs.order_by("-finished_at", "-id"):
        key = (run.gt_set_id, run.space_name, run.mode, run.alpha, run.rerank, run.k)
        seen.setdefault(key, run)
    return sorted(seen.values(), key=lambda r: (r.gt_set.name, r.label))


def json_report(runs: Iterable[EvaluationRun] | None = None) -> dict:
    """Shaped like the POC's `final_embedding_evaluation_report.json`: per ground-truth set, per
    configuration, the overall and per-category metrics with their query counts."""
    runs = list(runs) if runs is not None else latest_runs()
    sets: dict[str, dict] = {}
    for run in runs:
        entry = sets.setdefault(
            run.gt_set.name,
            {
                "kind": run.gt_set.kind,
                "pairs": run.gt_set.pairs.count(),
                "queries": run.gt_set.pairs.values("query").distinct().count(),
                "configurations": {},
            },
        )
        entry["configurations"][run.label] = {
            "run_id": run.pk,
            "space": run.space_name or None,
            "mode": run.mode,
            "alpha": run.alpha,
            "rerank": run.rerank,
            "k": run.k,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "overall": run.metrics.get("overall", {}),
            "by_category": run.metrics.get("by_category", {}),
            "by_subject": run.metrics.get("by_subject", {}),
            "queries_without_relevant": run.metrics.get("queries_without_relevant", 0),
            "failed_queries": run.metrics.get("failed_queries", 0),
        }
    return {
        "generated_at": timezone.now().isoformat(),
        "metrics": metrics.metric_names(),
        "definitions": "shared/design/search-and-metrics.md (trec_eval)",
        "ground_truth": sets,
    }
