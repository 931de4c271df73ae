"""Ground-truth sets: import and export (shared/design/formats.md), expert labels, and the ways
the POC built its sets — TF-IDF top-k, an LLM judge, the demo bank's planted families, and the
intersection of two sets (the POC's "hybrid GT") or their union.

Every builder checks everything first and writes the set in one transaction, so a set is never
half-written: a bad file, an empty result or a name that is taken changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from itembank.models import Item
from search import keyword
from search.engine import SearchError, SearchRequest, search
from search.models import ItemKeywords

from . import llm
from .models import MAX_RELEVANCE, GroundTruthPair, GroundTruthSet

EXPERT_SET = "expert"
LOOKUP_CHUNK = 5000
WRITE_BATCH = 5000
EXAMPLES = 5
MAX_FILE_BYTES = 200 * 1024 * 1024

Pairs = dict[str, dict[str, int]]  # query external_id → {relevant external_id: relevance}
Progress = Callable[[int, int], None]


class GroundTruthError(ValueError):
    """A ground-truth operation that cannot be done as asked; the message says why."""


@dataclass
class ImportReport:
    queries: int = 0  # queries with at least one pair written
    pairs: int = 0  # pairs written
    dropped_unknown: int = 0  # pairs naming an item that is not in the bank
    unknown_ids: list[str] = field(default_factory=list)  # those external ids (sorted)
    dropped_self: int = 0  # pairs of an item with itself
    empty_queries: int = 0  # queries listed with no relevant item

    def summary(self) -> str:
        text = _("%(pairs)d pairs for %(queries)d queries.") % {
            "pairs": self.pairs,
            "queries": self.queries,
        }
        if self.dropped_unknown:
            text += " " + _(
                "%(count)d pairs were dropped because they name items that are not in the bank "
                "(%(examples)s)."
            ) % {"count": self.dropped_unknown, "examples": examples(self.unknown_ids)}
        if self.dropped_self:
            text += " " + _("%(count)d pairs of an item with itself were dropped.") % {
                "count": self.dropped_self
            }
        if self.empty_queries:
            text += " " + _("%(count)d queries have no relevant item.") % {
                "count": self.empty_queries
            }
        return text

    def as_dict(self) -> dict:
        return {
            "queries": self.queries,
            "pairs": self.pairs,
            "dropped_unknown": self.dropped_unknown,
            "unknown_ids": self.unknown_ids[:100],
            "dropped_self": self.dropped_self,
            "empty_queries": self.empty_queries,
        }


def examples(values: Iterable[str], limit: int = EXAMPLES) -> str:
    values = list(values)
    return ", ".join(values[:limit]) + (", …" if len(values) > limit else "")


# -- parsing -------------------------------------------------------------------------------------


def _grade(value, query: str, doc: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise GroundTruthError(
                _(
                    "The relevance of %(doc)s for query %(query)s must be a whole number from 1 "
                    "to %(max)d, not %(value)s."
                )
                % {"doc": doc, "query": query, "max": MAX_RELEVANCE, "value": json.dumps(value)}
            )
    if not 1 <= value <= MAX_RELEVANCE:
        raise GroundTruthError(
            _(
                "The relevance of %(doc)s for query %(query)s is %(value)s; it must be from 1 to "
                "%(max)d (leave out items that are not relevant)."
            )
            % {"doc": doc, "query": query, "max": MAX_RELEVANCE, "value": value}
        )
    return value


def parse_pairs(pairs) -> Pairs:
    """The `pairs` object of a ground-truth document as {query: {doc: relevance}}; a list gives
    relevance 1. Raises GroundTruthError on anything else."""
    if not isinstance(pairs, Mapping):
        raise GroundTruthError(
            _("“pairs” must be an object mapping query ids to their relevant items.")
        )
    out: Pairs = {}
    for query, judged in pairs.items():
        query = str(query).strip()
        if not query:
            raise GroundTruthError(_("A query id in “pairs” is empty."))
        if isinstance(judged, list):
            docs: dict[str, int] = {}
            for doc in judged:
                if not isinstance(doc, str | int) or isinstance(doc, bool) or not str(doc).strip():
                    raise GroundTruthError(
                        _("Query %(query)s lists %(value)s, which is not an item id.")
                        % {"query": query, "value": json.dumps(doc, ensure_ascii=False)}
                    )
                docs[str(doc).strip()] = 1
        elif isinstance(judged, Mapping):
            docs = {}
            for doc, grade in judged.items():
                doc = str(doc).strip()
                if not doc:
                    raise GroundTruthError(
                        _("Query %(query)s names an empty item id.") % {"query": query}
                    )
                docs[doc] = _grade(grade, query, doc)
        else:
            raise GroundTruthError(
                _(
                    "The relevant items of query %(query)s must be a list of ids or an object of "
                    "id → relevance."
                )
                % {"query": query}
            )
        out[query] = docs
    return out


def load_document(path_or_dict) -> dict:
    """A ground-truth document from a dict, a JSON file path or JSON text bytes."""
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict)
    if isinstance(path_or_dict, bytes):
        raw = path_or_dict
        label = _("the uploaded file")
    else:
        path = Path(path_or_dict)
        label = str(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise GroundTruthError(_("%(path)s is too large.") % {"path": path})
            raw = path.read_bytes()
        except FileNotFoundError as exc:
            raise GroundTruthError(_("%(path)s does not exist.") % {"path": path}) from exc
        except IsADirectoryError as exc:
            raise GroundTruthError(_("%(path)s is a folder, not a file.") % {"path": path}) from exc
        except OSError as exc:
            raise GroundTruthError(
                _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}
            ) from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise GroundTruthError(
            _("%(file)s is not valid JSON: %(error)s") % {"file": label, "error": exc}
        ) from exc
    if isinstance(data, Mapping) and "pairs" not in data:
        # The POC's files are a bare mapping of query id → list of ids.
        data = {"pairs": data}
    if not isinstance(data, Mapping):
        raise GroundTruthError(
            _("%(file)s must hold a JSON object with “pairs”.") % {"file": label}
        )
    return dict(data)


@dataclass
class Resolved:
    """Pairs resolved to item ids, and what was dropped on the way."""

    pairs: dict[int, dict[int, int]]
    report: ImportReport
    ids: dict[str, int]  # external_id → item id for every known id
    empty_queries: list[str]


def item_ids(external_ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found.update(Item.objects.filter(external_id__in=chunk).values_list("external_id", "pk"))
    return found


def resolve(pairs: Pairs) -> Resolved:
    """Map external ids to items; pairs naming unknown items or an item with itself are dropped
    and counted."""
    names = set(pairs)
    for docs in pairs.values():
        names.update(docs)
    ids = item_ids(names)
    report = ImportReport()
    unknown: set[str] = set()
    out: dict[int, dict[int, int]] = {}
    empty: list[str] = []
    for query, docs in pairs.items():
        if not docs:
            if query in ids:
                empty.append(query)
            else:
                unknown.add(query)
            continue
        for doc, grade in docs.items():
            if doc == query:
                report.dropped_self += 1
                continue
            if query not in ids or doc not in ids:
                report.dropped_unknown += 1
                unknown.update(x for x in (query, doc) if x not in ids)
                continue
            out.setdefault(ids[query], {})[ids[doc]] = grade
    report.unknown_ids = sorted(unknown)
    report.empty_queries = len(empty)
    report.queries = len(out)
    report.pairs = sum(len(docs) for docs in out.values())
    return Resolved(pairs=out, report=report, ids=ids, empty_queries=sorted(empty))


# -- writing -------------------------------------------------------------------------------------


def check_name(name: str, replace: bool = False) -> str:
    name = (name or "").strip()
    if not name:
        raise GroundTruthError(_("Give the ground-truth set a name."))
    if len(name) > GroundTruthSet._meta.get_field("name").max_length:
        raise GroundTruthError(_("The name is too long (at most 100 characters)."))
    if not replace and GroundTruthSet.objects.filter(name=name).exists():
        raise GroundTruthError(
            _("A ground-truth set named %(name)s already exists; choose another name.")
            % {"name": name}
        )
    return name


def write_set(
    name: str,
    kind: str,
    pairs: Mapping[int, Mapping[int, int]],
    *,
    provenance: dict,
    description: str = "",
    user=None,
    replace: bool = False,
) -> GroundTruthSet:
    """Create (or with `replace`, overwrite) the set with these pairs, in one transaction."""
    name = check_name(name, replace)
    if kind not in GroundTruthSet.Kind.values:
        raise GroundTruthError(_("Unknown ground-truth kind %(kind)s.") % {"kind": kind})
    if not any(pairs.values()):
        raise GroundTruthError(
            _("The ground-truth set %(name)s would have no pairs; nothing was saved.")
            % {"name": name}
        )
    with transaction.atomic():
        gt_set, created = GroundTruthSet.objects.select_for_update().get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "description": description,
                "provenance": provenance,
                "created_by": user,
            },
        )
        if not created:
            GroundTruthPair.objects.filter(gt_set=gt_set).delete()
            gt_set.kind = kind
            gt_set.description = description
            gt_set.provenance = provenance
            gt_set.save()
        rows = [
            GroundTruthPair(gt_set=gt_set, query_id=q, relevant_id=d, relevance=g)
            for q, docs in pairs.items()
            for d, g in docs.items()
            if q != d
        ]
        GroundTruthPair.objects.bulk_create(rows, batch_size=WRITE_BATCH)
    return gt_set


def _kind(value) -> str | None:
    value = str(value or "").strip().lower()
    return value if value in GroundTruthSet.Kind.values else None


def import_json(
    path_or_dict,
    name: str | None = None,
    kind: str | None = None,
    *,
    user=None,
    replace: bool = False,
    description: str = "",
) -> tuple[GroundTruthSet, ImportReport]:
    """Import a formats.md ground-truth document (a dict, a file path or JSON bytes). Pairs
    naming unknown items and self-pairs are dropped and reported; bad grades refuse the file."""
    document = load_document(path_or_dict)
    pairs = parse_pairs(document.get("pairs"))
    if not pairs:
        raise GroundTruthError(_("The ground-truth file lists no queries."))
    name = name or str(document.get("name") or "").strip()
    if not name and not isinstance(path_or_dict, Mapping | bytes):
        name = Path(path_or_dict).stem
    file_kind = str(document.get("kind") or "")
    chosen = _kind(kind) if kind else (_kind(file_kind) or GroundTruthSet.Kind.IMPORTED)
    if chosen is None:
        raise GroundTruthError(_("Unknown ground-truth kind %(kind)s.") % {"kind": kind})
    resolved = resolve(pairs)
    if not resolved.pairs:
        raise GroundTruthError(
            _("None of the pairs name two items of the bank; nothing was imported. %(summary)s")
            % {"summary": resolved.report.summary()}
        )
    provenance = {
        "source": "import",
        "file": None if isinstance(path_or_dict, Mapping | bytes) else str(path_or_dict),
        "file_kind": file_kind,
        "imported_at": timezone.now().isoformat(),
        "report": resolved.report.as_dict(),
        "empty_queries": resolved.empty_queries,
    }
    gt_set = write_set(
        name,
        chosen,
        resolved.pairs,
        provenance=provenance,
        description=description or str(document.get("description") or ""),
        user=user,
        replace=replace,
    )
    return gt_set, resolved.report


def pairs_by_external_id(gt_set: GroundTruthSet) -> Pairs:
    out: Pairs = {}
    rows = (
        GroundTruthPair.objects.filter(gt_set=gt_set)
        .order_by("query__external_id", "relevant__external_id")
        .values_list("query__external_id", "relevant__external_id", "relevance")
    )
    for query, doc, grade in rows.iterator(chunk_size=WRITE_BATCH):
        out.setdefault(query, {})[doc] = grade
    return out


def export_json(gt_set: GroundTruthSet) -> dict:
    """The set in the formats.md shape: the list form for a query whose items all have
    relevance 1, the object form (graded) otherwise."""
    pairs: dict[str, list[str] | dict[str, int]] = {}
    for query, docs in pairs_by_external_id(gt_set).items():
        if all(grade == 1 for grade in docs.values()):
            pairs[query] = list(docs)
        else:
            pairs[query] = docs
    return {
        "name": gt_set.name,
        "kind": gt_set.kind,
        "description": gt_set.description,
        "pairs": pairs,
    }


# -- expert labels -------------------------------------------------------------------------------


def expert_set() -> GroundTruthSet:
    """The set of expert labels (created on first use)."""
    gt_set, _created = GroundTruthSet.objects.get_or_create(
        name=EXPERT_SET,
        defaults={
            "kind": GroundTruthSet.Kind.EXPERT,
            "description": _("Pairs expert reviewers labelled similar or duplicate."),
            "provenance": {"source": "review"},
        },
    )
    return gt_set


def _item_pk(value) -> int:
    if isinstance(value, Item):
        return value.pk
    if isinstance(value, bool) or not isinstance(value, int):
        raise GroundTruthError(_("Give items as Item objects or their ids."))
    return value


def set_pair(gt_set: GroundTruthSet, query, relevant, relevance: int | None) -> None:
    """Record that `relevant` has this relevance for `query` (None removes the pair)."""
    query_pk, relevant_pk = _item_pk(query), _item_pk(relevant)
    if query_pk == relevant_pk:
        raise GroundTruthError(_("An item cannot be a relevant result for itself."))
    if relevance is None:
        GroundTruthPair.objects.filter(
            gt_set=gt_set, query_id=query_pk, relevant_id=relevant_pk
        ).delete()
    else:
        grade = _grade(relevance, str(query_pk), str(relevant_pk))
        GroundTruthPair.objects.update_or_create(
            gt_set=gt_set,
            query_id=query_pk,
            relevant_id=relevant_pk,
            defaults={"relevance": grade},
        )
    GroundTruthSet.objects.filter(pk=gt_set.pk).update(updated_at=timezone.now())


# -- builders ------------------------------------------------------------------------------------


def build_planted(
    path, name: str = "planted", *, user=None, replace: bool = False
) -> tuple[GroundTruthSet, ImportReport]:
    """The demo bank's `ground_truth_planted.json` (graded: 2 = duplicate, 1 = variant)."""
    gt_set, report = import_json(
        path, name=name, kind=GroundTruthSet.Kind.PLANTED, user=user, replace=replace
    )
    gt_set.provenance["source"] = "planted"
    gt_set.save(update_fields=["provenance", "updated_at"])
    return gt_set, report


def combine(
    a: GroundTruthSet,
    b: GroundTruthSet,
    op: str = "intersection",
    name: str | None = None,
    *,
    user=None,
    replace: bool = False,
) -> GroundTruthSet:
    """Pairs in both sets (intersection; relevance = the smaller) or in either (union;
    relevance = the larger). The intersection of TF-IDF and LLM sets is the POC's hybrid GT."""
    if op not in ("intersection", "union"):
        raise GroundTruthError(_("Combine sets by intersection or union, not %(op)s.") % {"op": op})
    if a.pk == b.pk:
        raise GroundTruthError(_("Choose two different ground-truth sets."))

    def load(gt_set) -> dict[tuple[int, int], int]:
        return {
            (q, d): g
            for q, d, g in GroundTruthPair.objects.filter(gt_set=gt_set).values_list(
                "query_id", "relevant_id", "relevance"
            )
        }

    pa, pb = load(a), load(b)
    if op == "intersection":
        merged = {pair: min(pa[pair], pb[pair]) for pair in pa.keys() & pb.keys()}
        kind = GroundTruthSet.Kind.INTERSECTION
    else:
        merged = {pair: max(pa.get(pair, 0), pb.get(pair, 0)) for pair in pa.keys() | pb.keys()}
        kind = GroundTruthSet.Kind.UNION
    name = name or f"{a.name}-{'and' if op == 'intersection' else 'or'}-{b.name}"
    if not merged:
        raise GroundTruthError(
            _("%(a)s and %(b)s have no pair in common; nothing was saved.")
            % {"a": a.name, "b": b.name}
        )
    pairs: dict[int, dict[int, int]] = {}
    for (q, d), g in merged.items():
        pairs.setdefault(q, {})[d] = g
    return write_set(
        name,
        kind,
        pairs,
        provenance={"source": op, "parents": [a.name, b.name], "pairs": [len(pa), len(pb)]},
        description=_("%(op)s of %(a)s and %(b)s") % {"op": op, "a": a.name, "b": b.name},
        user=user,
        replace=replace,
    )


def query_items(queries: Sequence[str] | None) -> tuple[list[Item], list[str]]:
    """Items for the given external ids (all items when None), and the ids not found."""
    if queries is None:
        return list(Item.objects.order_by("external_id")), []
    ids = item_ids(queries)
    found = Item.objects.in_bulk(list(ids.values()))
    items = [found[ids[q]] for q in dict.fromkeys(queries) if q in ids]
    return items, sorted(set(queries) - set(ids))


def build_tfidf(
    name: str,
    top_k: int = 5,
    *,
    queries: Sequence[str] | None = None,
    min_similarity: float = 0.0,
    user=None,
    replace: bool = False,
    progress: Progress | None = None,
) -> tuple[GroundTruthSet, ImportReport]:
    """The POC's automatic ground truth: TF-IDF vectors of every item's text (Kiwi morphemes and
    LaTeX tokens, `search.analysis.tokenize`), and for each query item the `top_k` most
    cosine-similar other items (similarity above `min_similarity`; ties by external id)."""
    # scikit-learn takes ~1 s to import; only this ground-truth builder needs it.
    from sklearn.feature_extraction.text import TfidfVectorizer

    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise GroundTruthError(_("top-k must be a whole number of at least 1."))
    name = check_name(name, replace)
    keyword.refresh()  # tokens of items added or edited since the last sweep
    rows = list(
        ItemKeywords.objects.filter(content_hash=F("item__content_hash"))
        .order_by("item__external_id")
        .values_list("item_id", "item__external_id", "tokens")
    )
    if len(rows) < 2:
        raise GroundTruthError(_("The bank needs at least two items to build TF-IDF pairs."))
    pks = np.array([r[0] for r in rows])
    ext = [r[1] for r in rows]
    vectorizer = TfidfVectorizer(analyzer=lambda tokens: tokens, lowercase=False)
    matrix = vectorizer.fit_transform([r[2] for r in rows]).tocsr()
    position = {pk: i for i, pk in enumerate(pks.tolist())}
    chosen, unknown = query_items(queries)
    report = ImportReport(unknown_ids=unknown, dropped_unknown=len(unknown))
    targets = [position[item.pk] for item in chosen if item.pk in position]
    pairs: dict[int, dict[int, int]] = {}
    empty: list[str] = []
    chunk = 256
    for start in range(0, len(targets), chunk):
        rows_idx = targets[start : start + chunk]
        sims = (matrix[rows_idx] @ matrix.T).toarray()
        for offset, row in enumerate(rows_idx):
            scores = sims[offset]
            scores[row] = -1.0  # never the query itself
            candidates = np.flatnonzero(scores > min_similarity)
            if not len(candidates):
                empty.append(ext[row])
                continue
            # score descending, then external id ascending (rows are in external id order)
            order = candidates[np.lexsort((candidates, -scores[candidates]))][:top_k]
            pairs[int(pks[row])] = {int(pks[j]): 1 for j in order}
        if progress is not None:
            progress(min(start + chunk, len(targets)), len(targets))
    report.queries = len(pairs)
    report.pairs = sum(len(d) for d in pairs.values())
    report.empty_queries = len(empty)
    gt_set = write_set(
        name,
        GroundTruthSet.Kind.TFIDF,
        pairs,
        provenance={
            "source": "tfidf",
            "top_k": top_k,
            "min_similarity": min_similarity,
            "analyzer": "search.analysis.tokenize",
            "corpus_items": len(rows),
            "queries": "all" if queries is None else len(chosen),
            "empty_queries": empty,
            "built_at": timezone.now().isoformat(),
        },
        description=_("TF-IDF top %(k)d per query item") % {"k": top_k},
        user=user,
        replace=replace,
    )
    return gt_set, report


def build_llm(
    name: str,
    queries: Sequence[str] | None,
    space: str | None,
    mode: str = "dense",
    *,
    k: int = 10,
    alpha: float | None = None,
    user=None,
    replace: bool = False,
    progress: Progress | None = None,
    client=None,
) -> tuple[GroundTruthSet, ImportReport]:
    """The POC's LLM ground truth: for each query item, its top `k` results (more like this in
    `space` with `mode`) are shown to an OpenAI-compatible chat model, which answers which are
    similar (JSON). Queries the model could not judge are reported, not guessed."""
    client = client or llm.client_from_settings()
    name = check_name(name, replace)
    chosen, unknown = query_items(queries)
    if not chosen:
        raise GroundTruthError(_("None of the query items are in the bank."))
    report = ImportReport(unknown_ids=unknown, dropped_unknown=len(unknown))
    pairs: dict[int, dict[int, int]] = {}
    empty: list[str] = []
    failed: dict[str, str] = {}
    for done, item in enumerate(chosen, start=1):
        try:
            result = search(
                SearchRequest(
                    item_id=item.pk, mode=mode, k=k, alpha=alpha, rerank=False, space=space
                )
            )
            candidates = [hit.item for hit in result.hits if hit.item.pk != item.pk]
            if not candidates:
                empty.append(item.external_id)
                continue
            judged = client.judge(item, candidates)
        except (SearchError, llm.LLMError) as exc:
            failed[item.external_id] = str(exc)
            continue
        finally:
            if progress is not None:
                progress(done, len(chosen))
        if judged:
            pairs[item.pk] = {c.pk: grade for c, grade in judged.items()}
        else:
            empty.append(item.external_id)
    if failed and len(failed) == len(chosen):
        first = next(iter(failed.values()))
        raise GroundTruthError(
            _("The LLM judge could not judge any query; nothing was saved. First error: %(error)s")
            % {"error": first}
        )
    report.queries = len(pairs)
    report.pairs = sum(len(d) for d in pairs.values())
    report.empty_queries = len(empty)
    gt_set = write_set(
        name,
        GroundTruthSet.Kind.LLM,
        pairs,
        provenance={
            "source": "llm",
            "model": client.model,
            "space": space,
            "mode": mode,
            "alpha": alpha,
            "k": k,
            "empty_queries": empty,
            "failed": failed,
            "built_at": timezone.now().isoformat(),
        },
        description=_("LLM judge (%(model)s) over the top %(k)d results")
        % {
            "model": client.model,
            "k": k,
        },
        user=user,
        replace=replace,
    )
    report_failed = len(failed)
    if report_failed:
        gt_set.provenance["failed_count"] = report_failed
        gt_set.save(update_fields=["provenance"])
    return gt_set, report
