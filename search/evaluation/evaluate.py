"""Evaluation: a search configuration (or a run file) scored against a ground-truth set.

- `evaluate_config` searches "more like this" for every query item of the set with the engine
  (`search.runs.run_queries`) and scores the run; queries the engine refused (an item without a
  vector, say) retrieved nothing and score 0 — they are counted in `failed_queries`.
- `evaluate_run_file` scores a run in the formats.md shape without searching; at least one of its
  queries must be a query of the set.
- `EvaluationRun` rows are computed by `execute` (the Celery task `evaluation.run` on the default
  queue, sent through `itembank.jobs`), with progress; a run whose worker stopped reporting is
  marked failed by the beat (`itembank.jobs.fail_stale`), so it never passes for a complete one.
  Sweeps (α 0…1, spaces against each other, reranker on/off) are sets of runs sharing a `sweep`
  label, each run a job of its own.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace
from itembank import jobs
from itembank.models import Item
from search import runs
from search.engine import MODES

from . import groundtruth, metrics
from .groundtruth import GroundTruthError, Pairs
from .models import EvaluationRun, GroundTruthSet

logger = logging.getLogger(__name__)

DEFAULT_K = 100
MAX_K = 1000
ALPHAS = tuple(round(i / 10, 1) for i in range(11))
MAX_PER_QUERY = 20000  # per-query values are kept for runs with at most this many queries

Progress = Callable[[int, int], None]


class EvaluationError(Exception):
    """The evaluation cannot be done as asked; the message says why."""


@dataclass
class Judgements:
    """A ground truth by external id: what `metrics.evaluate` takes."""

    name: str
    pairs: Pairs
    empty_queries: list[str] = field(default_factory=list)
    report: groundtruth.ImportReport | None = None


def judgements(gt) -> Judgements:
    """From a `GroundTruthSet`, or a formats.md file / dict (not saved; unknown items and
    self-pairs dropped and reported)."""
    if isinstance(gt, Judgements):
        return gt
    if isinstance(gt, GroundTruthSet):
        pairs = groundtruth.pairs_by_external_id(gt)
        empty = [q for q in (gt.provenance or {}).get("empty_queries", []) if q not in pairs]
        return Judgements(gt.name, pairs, empty)
    document = groundtruth.load_document(gt)
    parsed = groundtruth.parse_pairs(document.get("pairs"))
    resolved = groundtruth.resolve(parsed)
    names = {pk: ext for ext, pk in resolved.ids.items()}
    pairs = {names[q]: {names[d]: g for d, g in docs.items()} for q, docs in resolved.pairs.items()}
    name = str(document.get("name") or "") or (str(gt) if not isinstance(gt, Mapping) else "")
    return Judgements(name, pairs, resolved.empty_queries, resolved.report)


def groups(external_ids) -> tuple[dict[str, str], dict[str, str]]:
    """Category (image / latex / text) and subject of each query item."""
    categories: dict[str, str] = {}
    subjects: dict[str, str] = {}
    wanted = sorted(set(external_ids))
    for start in range(0, len(wanted), groundtruth.LOOKUP_CHUNK):
        rows = Item.objects.filter(
            external_id__in=wanted[start : start + groundtruth.LOOKUP_CHUNK]
        ).only("external_id", "subject", "image_count", "has_latex")
        for item in rows:
            categories[item.external_id] = item.category
            subjects[item.external_id] = item.subject
    return categories, subjects


def score(judged: Judgements, run_results: Mapping[str, Mapping[str, float]]) -> dict:
    categories, subjects = groups(judged.pairs)
    return metrics.evaluate(
        judged.pairs,
        run_results,
        categories=categories,
        subjects=subjects,
        extra_queries=judged.empty_queries,
    )


def check_config(mode: str, alpha: float | None, k: int) -> None:
    if mode not in MODES:
        raise EvaluationError(
            _("Unknown search mode %(mode)s; use one of %(modes)s.")
            % {"mode": mode, "modes": ", ".join(MODES)}
        )
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise EvaluationError(_("k must be a whole number from 1 to %(max)d.") % {"max": MAX_K})
    if alpha is not None and not 0.0 <= float(alpha) <= 1.0:
        raise EvaluationError(_("α must be between 0 and 1."))


def evaluate_config(
    gt_set,
    space: str | EmbeddingSpace | None,
    mode: str,
    alpha: float | None = None,
    rerank: bool = False,
    k: int = DEFAULT_K,
    *,
    progress: Progress | None = None,
) -> dict:
    """Search every query of the set (more like this) and score the results. Returns the
    metrics report plus `failed_queries`, `run` (the header) and `timings`."""
    check_config(mode, alpha, k)
    judged = judgements(gt_set)
    if not judged.pairs:
        raise EvaluationError(
            _("The ground-truth set %(name)s has no pairs to evaluate against.")
            % {"name": judged.name}
        )
    ids = groundtruth.item_ids(judged.pairs)
    found = Item.objects.in_bulk(list(ids.values()))
    items = [found[ids[q]] for q in sorted(judged.pairs) if q in ids]
    space_name = space.name if isinstance(space, EmbeddingSpace) else space
    if mode == "bm25":
        space_name = space_name or None
    started = time.perf_counter()
    try:
        report = runs.run_queries(
            items,
            mode=mode,
            k=k,
            alpha=alpha if mode == "hybrid" else None,
            rerank=rerank,
            space=space_name,
            progress=progress,
        )
    except runs.RunError as exc:
        raise EvaluationError(str(exc)) from exc
    search_seconds = time.perf_counter() - started
    if items and len(report.failed) == len(items):
        first = next(iter(report.failed.values()))
        raise EvaluationError(
            _("Every query failed; the first error was: %(error)s") % {"error": first}
        )
    result = score(judged, report.run["results"])
    result["failed_queries"] = len(report.failed)
    result["failed_examples"] = dict(list(report.failed.items())[:5])
    result["run"] = report.run["run"]
    result["timings"] = {
        "search_seconds": round(search_seconds, 3),
        "ms_per_query": round(1000 * search_seconds / len(items), 3) if items else 0.0,
        "scoring_seconds": round(time.perf_counter() - started - search_seconds, 3),
    }
    return result


def check_run_document(run_dict) -> tuple[dict, dict[str, dict[str, float]]]:
    """The header and results of a formats.md run, checked."""
    if not isinstance(run_dict, Mapping) or not isinstance(run_dict.get("results"), Mapping):
        raise EvaluationError(
            _("A run file must be a JSON object with “results”: query id → {item id: score}.")
        )
    results: dict[str, dict[str, float]] = {}
    for query, scores in run_dict["results"].items():
        if not isinstance(scores, Mapping):
            raise EvaluationError(
                _("The results of query %(query)s must be an object of item id → score.")
                % {"query": query}
            )
        clean: dict[str, float] = {}
        for doc, value in scores.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise EvaluationError(
                    _("The score of %(doc)s for query %(query)s is not a number.")
                    % {"doc": doc, "query": query}
                )
            clean[str(doc)] = float(value)
        results[str(query)] = clean
    header = run_dict.get("run") if isinstance(run_dict.get("run"), Mapping) else {}
    return dict(header), results


def load_run_file(path) -> dict:
    try:
        return json.loads(Path(path).read_text("utf-8-sig"))
    except FileNotFoundError as exc:
        raise EvaluationError(_("%(path)s does not exist.") % {"path": path}) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvaluationError(
            _("Cannot read the run file %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc


def evaluate_run_file(gt_set, run_dict) -> dict:
    """Score a run (formats.md) against the set without searching. Queries of the set that the
    run lacks score 0; run queries the set does not judge are counted as without relevant items.
    A run sharing no query with the set is an error."""
    if isinstance(run_dict, str | bytes) or hasattr(run_dict, "__fspath__"):
        run_dict = load_run_file(run_dict)
    header, results = check_run_document(run_dict)
    judged = judgements(gt_set)
    if not judged.pairs:
        raise EvaluationError(
            _("The ground-truth set %(name)s has no pairs to evaluate against.")
            % {"name": judged.name}
        )
    matched = len(set(results) & set(judged.pairs))
    if not matched:
        raise EvaluationError(
            _(
                "None of the %(count)d queries of the run are queries of the ground truth "
                "%(name)s (it has %(judged)d); is it a run over other items?"
            )
            % {"count": len(results), "name": judged.name, "judged": len(judged.pairs)}
        )
    result = score(judged, results)
    result["matched_queries"] = matched
    result["run_queries"] = len(results)
    result["failed_queries"] = 0
    result["run"] = header
    return result


# -- evaluation runs -----------------------------------------------------------------------------


def create_run(
    gt_set: GroundTruthSet,
    *,
    space: str | None,
    mode: str,
    alpha: float | None = None,
    rerank: bool = False,
    k: int = DEFAULT_K,
    sweep: str = "",
    user=None,
) -> EvaluationRun:
    check_config(mode, alpha, k)
    target = None
    if mode != "bm25" or space:
        try:
            target = runs.resolve_space(space)
        except runs.RunError as exc:
            raise EvaluationError(str(exc)) from exc
    if not gt_set.pairs.exists():
        raise EvaluationError(
            _("The ground-truth set %(name)s has no pairs to evaluate against.")
            % {"name": gt_set.name}
        )
    return EvaluationRun.objects.create(
        gt_set=gt_set,
        space=target,
        space_name=target.name if target else "",
        mode=mode,
        alpha=alpha if mode == "hybrid" else None,
        rerank=rerank,
        k=k,
        sweep=sweep,
        config={"source": "search"},
        created_by=user,
    )


def enqueue(run: EvaluationRun) -> None:
    """Send the run to the default queue once this commits; with the queue down it stays
    queued until the beat sends it (`itembank.jobs`). It is never computed in the request."""
    jobs.enqueue(run)


def execute(run_id: int) -> EvaluationRun | None:
    """Compute the run from the start (a redelivered task starts over)."""
    return jobs.run(EvaluationRun, run_id, _execute, expected=(EvaluationError, GroundTruthError))


def _execute(run: EvaluationRun) -> None:
    EvaluationRun.objects.filter(pk=run.pk).update(metrics={}, per_query=None)
    if run.config.get("source") == "file":
        raise EvaluationError(_("A run file is scored when it is given; it cannot be rerun."))
    result = evaluate_config(
        run.gt_set,
        run.space_name or None,
        run.mode,
        run.alpha,
        run.rerank,
        run.k,
        progress=jobs.Reporter(run, every=1.0),
    )
    save_result(run, result)


def stored_metrics(result: dict) -> dict:
    keep = (
        "overall",
        "by_category",
        "by_subject",
        "queries_without_relevant",
        "queries_missing_from_run",
        "failed_queries",
        "failed_examples",
        "matched_queries",
        "run_queries",
    )
    return {key: result[key] for key in keep if key in result}


def save_result(run: EvaluationRun, result: dict) -> None:
    per_query = result.get("per_query") or {}
    jobs.succeed(
        run,
        metrics=stored_metrics(result),
        per_query=per_query if len(per_query) <= MAX_PER_QUERY else None,
        timings=result.get("timings", {}),
        done=result["overall"]["queries"],
        total=result["overall"]["queries"],
    )


def record_run_file(
    gt_set: GroundTruthSet, run_dict, *, user=None, sweep: str = ""
) -> EvaluationRun:
    """Score a run file now and keep it as a succeeded run (or raise; nothing is kept)."""
    result = evaluate_run_file(gt_set, run_dict)
    header = result.get("run") or {}
    mode = str(header.get("mode") or "file")[:16]
    alpha = header.get("alpha")
    k = header.get("k")
    run = EvaluationRun.objects.create(
        gt_set=gt_set,
        space=None,
        space_name=str(header.get("space") or "")[:100],
        mode=mode,
        alpha=float(alpha)
        if isinstance(alpha, int | float) and not isinstance(alpha, bool)
        else None,
        rerank=bool(header.get("rerank")),
        k=k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else 0,
        sweep=sweep,
        config={"source": "file", "run": dict(header)},
        created_by=user,
        status=EvaluationRun.Status.RUNNING,
        started_at=timezone.now(),
    )
    save_result(run, result)
    run.refresh_from_db()
    return run


# -- sweeps --------------------------------------------------------------------------------------


def sweep_label(kind: str) -> str:
    """The sweep's name: its kind and when it started, in the site's time zone (the times
    next to it on the dashboard are local too)."""
    return f"{kind}-{timezone.localtime():%Y%m%d-%H%M%S}"


def plan_alpha_sweep(gt_set, space, *, k=DEFAULT_K, rerank=False, user=None, alphas=ALPHAS):
    """One hybrid run per α (0, 0.1, …, 1), sharing a sweep label."""
    label = sweep_label("alpha")
    return [
        create_run(
            gt_set, space=space, mode="hybrid", alpha=a, rerank=rerank, k=k, sweep=label, user=user
        )
        for a in alphas
    ]


def plan_space_sweep(
    gt_set, spaces: Sequence[str], *, mode="dense", alpha=None, k=DEFAULT_K, rerank=False, user=None
):
    """The same configuration in several embedding spaces."""
    if not spaces:
        raise EvaluationError(_("Choose at least one embedding space."))
    label = sweep_label("spaces")
    return [
        create_run(
            gt_set, space=s, mode=mode, alpha=alpha, rerank=rerank, k=k, sweep=label, user=user
        )
        for s in spaces
    ]


def plan_rerank_sweep(gt_set, space, *, mode="dense", alpha=None, k=DEFAULT_K, user=None):
    """The configuration with the reranker off and on."""
    label = sweep_label("rerank")
    return [
        create_run(
            gt_set, space=space, mode=mode, alpha=alpha, rerank=flag, k=k, sweep=label, user=user
        )
        for flag in (False, True)
    ]
