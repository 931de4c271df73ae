"""Retrieval metrics, following trec_eval's definitions (shared/design/search-and-metrics.md).

Inputs use external ids: ``qrels`` maps a query to {relevant item: graded relevance ≥ 1} and
``run`` maps a query to {retrieved item: score}. A run's ranking is its scores descending, ties
broken by external id ascending, so every list is strictly ordered and results reproducible.

For one query with R relevant items and ranking d1, d2, …:

- Recall@k = |relevant ∩ top k| ÷ R (the POC's "Top-k")
- Hit@k = 1 if any relevant item is in the top k (reported apart; never called recall)
- MRR = 1 ÷ rank of the first relevant item, no cutoff (0 when none is retrieved)
- AP = Σ over relevant retrieved items of precision at that rank ÷ R; MAP@k cuts the ranking at
  k and keeps the denominator R
- NDCG@10 = DCG@10 ÷ IDCG@10 with gain = relevance (linear), discount log2(rank + 1), and the
  ideal ranking built from all judged relevant items

Queries with no relevant item are left out of the means and counted (``queries_without_relevant``);
queries that retrieved nothing (or are missing from the run) score 0. The query item itself is
never counted as a result for itself. Means are reported overall, per category (image / latex /
text, from `Item.category`) and per subject, each with the number of queries behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

CUTOFFS = (1, 3, 5, 10, 20)
MAP_CUTOFF = 10
NDCG_CUTOFF = 10


def metric_names() -> list[str]:
    """The metric keys, in the order they are reported."""
    return (
        [f"recall@{k}" for k in CUTOFFS]
        + [f"hit@{k}" for k in CUTOFFS]
        + ["mrr", "map", f"map@{MAP_CUTOFF}", f"ndcg@{NDCG_CUTOFF}"]
    )


def ranking(scores: Mapping[str, float], exclude: str | None = None) -> list[str]:
    """Item ids by score descending, then external id ascending; `exclude` (the query) left out."""
    ordered = sorted(scores.items(), key=lambda pair: (-float(pair[1]), pair[0]))
    return [doc for doc, _score in ordered if doc != exclude]


def recall_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    return sum(1 for doc in ranked[:k] if doc in relevant) / len(relevant)


def hit_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> float:
    return 1.0 if any(doc in relevant for doc in ranked[:k]) else 0.0


def reciprocal_rank(ranked: Sequence[str], relevant: Mapping[str, int]) -> float:
    for position, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return 1.0 / position
    return 0.0


def average_precision(
    ranked: Sequence[str], relevant: Mapping[str, int], k: int | None = None
) -> float:
    hits = 0
    total = 0.0
    for position, doc in enumerate(ranked[:k] if k else ranked, start=1):
        if doc in relevant:
            hits += 1
            total += hits / position
    return total / len(relevant)


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, int], k: int = NDCG_CUTOFF) -> float:
    dcg = sum(
        relevant.get(doc, 0) / math.log2(position + 1)
        for position, doc in enumerate(ranked[:k], start=1)
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(position + 1) for position, gain in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def query_metrics(ranked: Sequence[str], relevant: Mapping[str, int]) -> dict[str, float]:
    """Every metric of one query (which has at least one relevant item)."""
    values: dict[str, float] = {}
    for k in CUTOFFS:
        values[f"recall@{k}"] = recall_at(ranked, relevant, k)
    for k in CUTOFFS:
        values[f"hit@{k}"] = hit_at(ranked, relevant, k)
    values["mrr"] = reciprocal_rank(ranked, relevant)
    values["map"] = average_precision(ranked, relevant)
    values[f"map@{MAP_CUTOFF}"] = average_precision(ranked, relevant, MAP_CUTOFF)
    values[f"ndcg@{NDCG_CUTOFF}"] = ndcg_at(ranked, relevant, NDCG_CUTOFF)
    return values


def mean(per_query: Mapping[str, Mapping[str, float]], queries: Sequence[str] | None = None):
    """Mean of each metric over the given queries (all by default), with `queries` = how many."""
    chosen = list(per_query) if queries is None else [q for q in queries if q in per_query]
    out: dict[str, float | int] = {}
    for name in metric_names():
        out[name] = sum(per_query[q][name] for q in chosen) / len(chosen) if chosen else 0.0
    out["queries"] = len(chosen)
    return out


def evaluate(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    *,
    categories: Mapping[str, str] | None = None,
    subjects: Mapping[str, str] | None = None,
    extra_queries: Sequence[str] = (),
) -> dict:
    """Score `run` against `qrels`.

    The queries are those of `qrels`, of `run` and `extra_queries` (queries judged to have no
    relevant item); those without a relevant item are left out and counted. Returns
    ``{"overall": {...}, "by_category": {...}, "by_subject": {...}, "per_query": {...},
    "queries_without_relevant": n, "queries_missing_from_run": n}``.
    """
    judged = {
        q: {d: int(g) for d, g in rel.items() if int(g) >= 1 and d != q} for q, rel in qrels.items()
    }
    all_queries = set(judged) | set(run) | set(extra_queries)
    scored = sorted(q for q in all_queries if judged.get(q))
    without = len(all_queries) - len(scored)
    per_query: dict[str, dict[str, float]] = {}
    missing = 0
    for query in scored:
        if query not in run:
            missing += 1
        ranked = ranking(run.get(query) or {}, exclude=query)
        per_query[query] = query_metrics(ranked, judged[query])
    report = {
        "overall": mean(per_query),
        "by_category": _grouped(per_query, categories),
        "by_subject": _grouped(per_query, subjects),
        "per_query": per_query,
        "queries_without_relevant": without,
        "queries_missing_from_run": missing,
    }
    return report


def _grouped(per_query: Mapping[str, Mapping[str, float]], groups: Mapping[str, str] | None):
    if not groups:
        return {}
    members: dict[str, list[str]] = {}
    for query in per_query:
        group = groups.get(query)
        if group:
            members.setdefault(group, []).append(query)
    return {group: mean(per_query, queries) for group, queries in sorted(members.items())}


def flat(report: dict) -> dict:
    """The `evaluate --json` shape: overall metrics at the top level (keyed by metric name),
    `queries`, `queries_without_relevant`, and the `by_category` / `by_subject` breakdowns."""
    out = dict(report["overall"])
    out["queries_without_relevant"] = report["queries_without_relevant"]
    out["queries_missing_from_run"] = report.get("queries_missing_from_run", 0)
    out["by_category"] = report["by_category"]
    out["by_subject"] = report["by_subject"]
    return out
