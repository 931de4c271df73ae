"""Batch search runs: every query item searched as "more like this", written in the run format
of shared/design/formats.md::

    {"run": {"space": ..., "mode": ..., "alpha": ..., "k": ..., "rerank": ...},
     "results": {query_external_id: {doc_external_id: score, ...}, ...}}

Each query's results are in rank order, the query item itself left out. Ties are broken by a
stable rule so that runs are reproducible and strictly ordered: score descending, then
`external_id` ascending (the same rule `rank_order` applies when a run is read back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from embeddings.models import EmbeddingSpace
from embeddings.services import default_space
from itembank.models import Item
from search.engine import MODES, SearchError, SearchRequest, search

ALL = "all"
EXAMPLES = 5

Progress = Callable[[int, int], None]


class RunError(Exception):
    """The run cannot be made as asked; the message says why."""


@dataclass
class QueryItems:
    """The query items found for a list of external ids, and the ids that were not found."""

    items: list[Item] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    run: dict
    failed: dict[str, str] = field(default_factory=dict)  # query external_id → error

    @property
    def queries(self) -> int:
        return len(self.run["results"])


def examples(values: Iterable[str], limit: int = EXAMPLES) -> str:
    values = list(values)
    shown = ", ".join(values[:limit])
    return shown + (", …" if len(values) > limit else "")


def read_query_ids(path: str | Path) -> list[str] | str:
    """The external ids listed in a file, one a line (blank lines and `#` comments skipped,
    duplicates kept once in first-seen order), or ALL when the argument or the file's only
    entry is the word `all`."""
    if str(path).strip().lower() == ALL:
        return ALL
    try:
        text = Path(path).read_text("utf-8-sig")
    except FileNotFoundError as exc:
        raise RunError(_("Query file %(path)s does not exist.") % {"path": path}) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(
            _("Cannot read query file %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc
    ids: dict[str, None] = {}
    for line in text.splitlines():
        value = line.split("#", 1)[0].strip()
        if value:
            ids[value] = None
    if list(ids) == [ALL] or [value.lower() for value in ids] == [ALL]:
        return ALL
    if not ids:
        raise RunError(_("Query file %(path)s lists no external ids.") % {"path": path})
    return list(ids)


def resolve_queries(ids: Sequence[str] | str) -> QueryItems:
    """Items for the given external ids (in the given order), or every item (ordered by
    external id) for ALL."""
    if ids == ALL:
        return QueryItems(items=list(Item.objects.order_by("external_id")))
    found = Item.objects.in_bulk(list(ids), field_name="external_id")
    return QueryItems(
        items=[found[value] for value in ids if value in found],
        unknown=[value for value in ids if value not in found],
    )


def rank_order(scores: dict[str, float]) -> list[tuple[str, float]]:
    """(external_id, score) pairs by score descending, then external_id ascending."""
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def resolve_space(name: str | None) -> EmbeddingSpace:
    if name:
        space = EmbeddingSpace.objects.filter(name=name).first()
        if space is None:
            raise RunError(_("There is no embedding space named %(name)s.") % {"name": name})
        return space
    space = default_space()
    if space is None:
        raise RunError(_("There is no default embedding space; name one with --space."))
    return space


def run_queries(
    items: Sequence[Item],
    *,
    mode: str,
    k: int,
    alpha: float | None = None,
    rerank: bool = False,
    space: str | None = None,
    progress: Progress | None = None,
) -> RunReport:
    """Search each item "more like this" and collect the run. A query the engine refuses (for
    instance an item with no vector in the space) is recorded in `failed` and left out."""
    if mode not in MODES:
        raise RunError(
            _("Unknown search mode %(mode)s; use one of %(modes)s.")
            % {"mode": mode, "modes": ", ".join(MODES)}
        )
    if k < 1:
        raise RunError(_("k must be at least 1."))
    if alpha is not None and not 0.0 <= alpha <= 1.0:
        raise RunError(_("alpha must be between 0 and 1."))
    target = resolve_space(space)
    header = {"space": target.name, "mode": mode, "alpha": alpha, "k": k, "rerank": rerank}
    results: dict[str, dict[str, float]] = {}
    failed: dict[str, str] = {}
    total = len(items)
    for done, item in enumerate(items, start=1):
        request = SearchRequest(
            item_id=item.pk,
            mode=mode,
            k=k,
            alpha=alpha,
            rerank=rerank,
            space=target.name,
            exclude_ids=(item.pk,),
        )
        try:
            result = search(request)
        except SearchError as exc:
            failed[item.external_id] = str(exc)
        else:
            # The engine fills in its defaults; α only means something for hybrid.
            header["alpha"] = result.alpha if mode == "hybrid" else None
            header["rerank"] = bool(result.reranked)
            scores = {
                hit.item.external_id: float(hit.score)
                for hit in result.hits
                if hit.item.pk != item.pk
            }
            results[item.external_id] = dict(rank_order(scores)[:k])
        if progress is not None:
            progress(done, total)
    return RunReport(run={"run": header, "results": results}, failed=failed)
