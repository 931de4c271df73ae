"""The search engine: one plain function, `search(SearchRequest)`, that the views, the API, the
management commands and the evaluation all call.

Modes
-----
- ``dense``: nearest neighbours in an embedding space through its HNSW index
  (`embeddings.services.distance_expression`, run inside `embeddings.services.hnsw_scan`, which
  pins the plan to that index). `hnsw.ef_search` is raised to cover the number of
  results asked for, and with filters (or exclusions) `hnsw.iterative_scan = relaxed_order` lets
  the index keep scanning until enough rows pass them; the rows are re-sorted exactly afterwards.
  Score: cosine similarity (1 − distance).
- ``bm25``: keyword search over Kiwi morphemes and LaTeX tokens (`search.keyword`).
- ``hybrid``: the POC's α-weighted fusion. Each candidate list (the best max(k, 100) of dense and
  of bm25) is min-max normalised on its own (a list whose scores are all equal normalises to 1);
  an item missing from a list gets 0 there; score = α·dense + (1 − α)·bm25.
- ``rrf``: reciprocal rank fusion over the same lists, score = Σ 1 / (60 + rank).

Two-stage: with ``rerank``, the best max(rerank_top_n, k) first-stage results are re-scored by the
configured reranker (`search.rerank`) and ordered by its probability; the mode then reads e.g.
``hybrid+rerank``.

Every list is strictly ordered: by score (descending), ties by item id (ascending).

Queries: text (Korean + LaTeX), an image, text + image, or an existing item ("more like this":
its stored vector and tokens are used, no model runs, and the item itself is never returned).
A query in a space whose model runs on the GPU worker (device other than ``cpu``) is embedded
there through `embeddings.tasks.embed_query`; the web process waits up to
`SearchSettings.query_timeout` seconds.

Errors a user can cause or fix raise `SearchError` with a translated message; views answer 400.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils.translation import gettext as _

from embeddings.backends.base import BackendError
from embeddings.backends.registry import load_backend
from embeddings.models import EmbeddingSpace, ItemEmbedding
from embeddings.services import MAX_EF_SEARCH, default_space, distance_expression, hnsw_scan
from itembank.celery import app
from itembank.filters import ItemFilterForm
from itembank.images import check_image
from itembank.models import Item

from . import keyword, rerank
from .models import SearchSettings
from .signals import search_timed

logger = logging.getLogger(__name__)

MODES = ("dense", "bm25", "hybrid", "rrf")
DENSE_MODES = ("dense", "hybrid", "rrf")
KEYWORD_MODES = ("bm25", "hybrid", "rrf")
RRF_K = 60
FUSION_CANDIDATES = 100
MAX_QUERY_CHARS = 5000
FILTER_FIELDS = ("subject", "grade", "unit", "item_type", "status", "has_image", "school_level")


class SearchError(Exception):
    """A search that cannot be run as asked; the message is shown to the user as is."""


@dataclass
class SearchRequest:
    text: str = ""
    image: bytes | None = None
    item_id: int | None = None
    filters: dict = field(default_factory=dict)
    mode: str | None = None
    k: int | None = None
    alpha: float | None = None
    rerank: bool | None = None
    space: str | None = None
    exclude_ids: tuple[int, ...] = ()


@dataclass
class SearchHit:
    item: Item
    rank: int
    score: float
    mode: str
    dense: float | None
    keyword: float | None
    rerank: float | None


@dataclass
class SearchResult:
    hits: list[SearchHit]
    mode: str
    space: str | None
    k: int
    alpha: float | None
    reranked: bool
    took_ms: float
    timings: dict[str, float]


@dataclass
class _Candidate:
    item_id: int
    dense: float | None = None
    keyword: float | None = None
    score: float = 0.0
    rerank: float | None = None


class _Clock:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - t0) * 1000
            self.timings[name] = round(self.timings.get(name, 0.0) + elapsed, 3)

    def total(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 3)


# -- validation ---------------------------------------------------------------------------------


def _check_k(k: object, settings: SearchSettings) -> int:
    if k is None:
        k = settings.k
    if isinstance(k, bool) or not isinstance(k, int):
        raise SearchError(_("The number of results must be a whole number."))
    if k < 1:
        raise SearchError(_("Ask for at least one result."))
    if k > settings.max_k:
        raise SearchError(
            _("At most %(max)d results can be asked for at once.") % {"max": settings.max_k}
        )
    return k


def _check_alpha(alpha: object, settings: SearchSettings) -> float:
    if alpha is None:
        alpha = settings.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha):
        raise SearchError(_("The hybrid weight α must be a number between 0 and 1."))
    if not 0 <= alpha <= 1:
        raise SearchError(_("The hybrid weight α must be a number between 0 and 1."))
    return float(alpha)


def clean_filters(filters: dict | None) -> dict:
    """Validate filters through `ItemFilterForm` (cleaned data passes unchanged); unknown names
    and unexpected values are a SearchError."""
    filters = dict(filters or {})
    if filters.get("q"):
        raise SearchError(_("Put the search text in the query, not in the filters."))
    filters.pop("q", None)
    unknown = sorted(set(filters) - set(FILTER_FIELDS))
    if unknown:
        raise SearchError(_("Unknown filter: %(names)s.") % {"names": ", ".join(map(str, unknown))})
    data = {}
    for name, value in filters.items():
        if value is None:
            continue
        if name == "has_image" and isinstance(value, bool):
            value = "yes" if value else "no"
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SearchError(_("The filter %(name)s has an unexpected value.") % {"name": name})
        data[name] = value
    form = ItemFilterForm(data)
    if not form.is_valid():
        name, errors = next(iter(form.errors.items()))
        raise SearchError(
            _("The filter %(name)s is not valid: %(error)s") % {"name": name, "error": errors[0]}
        )
    return {k: v for k, v in form.cleaned_data.items() if k != "q" and v not in ("", None)}


def filter_q(filters: dict, prefix: str = "") -> Q:
    """The cleaned filters as a Q on Item fields (what `ItemFilterForm.filter` does), with an
    optional relation prefix such as ``item__``."""
    q = Q()
    for name in ("subject", "school_level", "item_type", "status"):
        if value := filters.get(name):
            q &= Q(**{prefix + name: value})
    if filters.get("grade"):
        q &= Q(**{prefix + "grade": filters["grade"]})
    if unit := filters.get("unit"):
        q &= Q(**{prefix + "unit__icontains": unit})
    if filters.get("has_image") == "yes":
        q &= Q(**{prefix + "image_count__gt": 0})
    elif filters.get("has_image") == "no":
        q &= Q(**{prefix + "image_count": 0})
    return q


def _resolve_space(name: str | None, settings: SearchSettings) -> EmbeddingSpace:
    if name:
        space = EmbeddingSpace.objects.filter(name=str(name)).first()
        if space is None:
            raise SearchError(_("There is no embedding space named %(name)s.") % {"name": name})
        return space
    space = settings.default_space or default_space()
    if space is None:
        raise SearchError(
            _("No embedding space is set up yet; use keyword search or ask an admin.")
        )
    return space


# -- query vectors ------------------------------------------------------------------------------


def _call_worker(task: str, args: Sequence[object], timeout: float) -> Any:
    """Send the task named `task` to the gpu queue and wait for its value; SearchError on any
    failure. By name: the tasks modules import the services, never the reverse."""
    try:
        with app.connection_for_write(
            connect_timeout=min(timeout, 2.0),
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": min(timeout, 2.0),
                "socket_timeout": min(timeout, 2.0),
            },
        ) as conn:
            # The task skips work past the deadline (the caller has given up by then).
            result = app.signature(task).apply_async(
                tuple(args),
                {"deadline": time.time() + timeout},
                queue="gpu",
                connection=conn,
                retry=False,
            )
    except Exception as exc:
        raise SearchError(
            _("The GPU worker could not be reached; try again later. (%(error)s)") % {"error": exc}
        ) from exc
    try:
        value = result.get(timeout=timeout, interval=0.005, propagate=True)
    except CeleryTimeout as exc:
        raise SearchError(
            _("The GPU worker did not answer within %(seconds)g seconds; try again later.")
            % {"seconds": timeout}
        ) from exc
    except Exception as exc:
        raise SearchError(
            _("The GPU worker could not run the query: %(error)s") % {"error": exc}
        ) from exc
    finally:
        try:
            result.forget()
        except Exception as exc:  # housekeeping: the search itself has its answer
            logger.warning("could not delete the result row of query %s: %s", result.id, exc)
    if value is None:  # the worker saw the deadline pass
        raise SearchError(
            _("The GPU worker did not answer within %(seconds)g seconds; try again later.")
            % {"seconds": timeout}
        )
    return value


def _embed_query(
    space: EmbeddingSpace, text: str, image: bytes | None, timeout: float
) -> list[float]:
    if image is not None and "image" not in (space.modalities or []):
        raise SearchError(
            _("The embedding space %(name)s does not read images.") % {"name": space.name}
        )
    if text and "text" not in (space.modalities or []):
        raise SearchError(
            _("The embedding space %(name)s does not read text.") % {"name": space.name}
        )
    if (space.device or "cpu") != "cpu":
        b64 = base64.b64encode(image).decode("ascii") if image else ""
        vector = _call_worker("embeddings.tasks.embed_query", (space.pk, text, b64), timeout)
    else:
        try:
            backend = load_backend(space.config())
            with tempfile.TemporaryDirectory(prefix="query-") as tmp:
                paths = []
                if image:
                    path = Path(tmp) / "query-image"
                    path.write_bytes(image)
                    paths.append(str(path))
                vector = backend.embed_query(text, paths)
        except BackendError as exc:
            raise SearchError(
                _("The embedding model of %(name)s failed: %(error)s")
                % {"name": space.name, "error": exc}
            ) from exc
    vector = [float(x) for x in vector]
    if len(vector) != space.dimensions or not all(math.isfinite(x) for x in vector):
        raise SearchError(
            _("The embedding model of %(name)s returned an unusable vector.") % {"name": space.name}
        )
    return vector


def _stored_vector(space: EmbeddingSpace, item: Item) -> list[float]:
    row = ItemEmbedding.objects.filter(space=space, item=item).only("embedding").first()
    if row is None:
        raise SearchError(
            _("Item %(item)s has no vector in the space %(space)s yet; try again shortly.")
            % {"item": item.external_id, "space": space.name}
        )
    vector = row.embedding
    return [float(x) for x in (vector.to_list() if hasattr(vector, "to_list") else vector)]


# -- first stages -------------------------------------------------------------------------------


def dense_candidates(
    space: EmbeddingSpace,
    vector: Sequence[float],
    n: int,
    filters: dict,
    exclude: Sequence[int] = (),
) -> list[tuple[int, float]]:
    """The n nearest items as (item id, cosine similarity), best first, ties by item id."""
    ef = min(MAX_EF_SEARCH, max(settings.ITEMBANK_HNSW_EF_SEARCH, 2 * n))
    q = filter_q(filters, "item__")
    qs = ItemEmbedding.objects.filter(space=space).filter(q)
    if exclude:
        qs = qs.exclude(item_id__in=list(exclude))
    nearest = (
        qs.annotate(distance=distance_expression(space, vector))
        .order_by(F("distance").asc())
        .values_list("item_id", "distance")[:n]
    )
    # With filters (or exclusions) the graph is scanned on until n rows pass them (pgvector >=
    # 0.8); relaxed order may return them slightly out of order, so they are re-sorted below.
    with hnsw_scan(ef, iterative=bool(filters or exclude)):
        rows = list(nearest)
    return sorted(((pk, 1.0 - float(d)) for pk, d in rows), key=lambda r: (-r[1], r[0]))


def keyword_candidates(
    tokens: Sequence[str], n: int, filters: dict, exclude: Sequence[int] = ()
) -> list[tuple[int, float]]:
    """The n best items by BM25 as (item id, score), best first, ties by item id."""
    index = keyword.get_index()
    allowed = None
    if filters:
        allowed = set(Item.objects.filter(filter_q(filters)).values_list("pk", flat=True))
    hits = index.top(tokens, n, allowed=allowed, exclude=exclude)
    return [(h.item_id, h.score) for h in hits]


def minmax(scores: dict[int, float]) -> dict[int, float]:
    """Min-max normalise to [0, 1]; a list whose scores are all equal becomes all 1."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return dict.fromkeys(scores, 1.0)
    return {pk: (s - low) / (high - low) for pk, s in scores.items()}


def fuse_weighted(
    dense: list[tuple[int, float]], bm25: list[tuple[int, float]], alpha: float
) -> list[_Candidate]:
    """α·minmax(dense) + (1 − α)·minmax(bm25) over the union of both lists."""
    d, b = dict(dense), dict(bm25)
    nd, nb = minmax(d), minmax(b)
    out = [
        _Candidate(
            pk,
            dense=d.get(pk),
            keyword=b.get(pk),
            score=alpha * nd.get(pk, 0.0) + (1 - alpha) * nb.get(pk, 0.0),
        )
        for pk in set(d) | set(b)
    ]
    return _ordered(out)


def fuse_rrf(dense: list[tuple[int, float]], bm25: list[tuple[int, float]]) -> list[_Candidate]:
    """Σ 1 / (60 + rank) over the lists an item appears in (ranks from 1)."""
    d, b = dict(dense), dict(bm25)
    scores: dict[int, float] = {}
    for ranked in (dense, bm25):
        for rank, (pk, _score) in enumerate(ranked, start=1):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    return _ordered(
        [_Candidate(pk, dense=d.get(pk), keyword=b.get(pk), score=s) for pk, s in scores.items()]
    )


def _ordered(candidates: list[_Candidate]) -> list[_Candidate]:
    return sorted(candidates, key=lambda c: (-c.score, c.item_id))


# -- the search ---------------------------------------------------------------------------------


def _reranker_config(settings: SearchSettings) -> rerank.RerankerConfig:
    if not settings.reranker_model_path.strip():
        raise SearchError(
            _(
                "No reranker weights are configured; an admin sets the model path in the search "
                "settings."
            )
        )
    return rerank.RerankerConfig(
        backend=settings.reranker_backend,
        model_path=settings.reranker_model_path.strip(),
        device=settings.reranker_device.strip() or "cpu",
        dtype=settings.reranker_dtype.strip() or "float32",
    )


def _rerank(
    settings: SearchSettings,
    query: rerank.RerankQuery,
    candidates: list[_Candidate],
) -> list[_Candidate]:
    config = _reranker_config(settings)
    ids = [c.item_id for c in candidates]
    if not ids:
        return candidates
    if config.local:
        try:
            scores = rerank.score_items(config, query, ids)
        except BackendError as exc:
            raise SearchError(_("The reranker could not run: %(error)s") % {"error": exc}) from exc
    else:
        scores = _call_worker(
            "search.tasks.rerank_task",
            (
                {
                    "backend": config.backend,
                    "model_path": config.model_path,
                    "device": config.device,
                    "dtype": config.dtype,
                },
                query.as_dict(),
                ids,
            ),
            settings.query_timeout,
        )
    for candidate, value in zip(candidates, scores, strict=True):
        candidate.rerank = float(value)
        candidate.score = float(value)
    return _ordered(candidates)


def _timed(
    function: Callable[[SearchRequest], SearchResult],
) -> Callable[[SearchRequest], SearchResult]:
    """Send `search_timed` after each call (monitoring records the searches served to users)."""

    @functools.wraps(function)
    def wrapper(request: SearchRequest) -> SearchResult:
        started = time.perf_counter()
        try:
            result = function(request)
        except Exception as exc:
            mode = request.mode if isinstance(getattr(request, "mode", None), str) else ""
            search_timed.send(
                sender=SearchRequest,
                mode=mode,
                milliseconds=_since(started),
                results=0,
                error=type(exc).__name__,
            )
            raise
        search_timed.send(
            sender=SearchRequest,
            mode=result.mode,
            milliseconds=_since(started),
            results=len(result.hits),
            error="",
        )
        return result

    return wrapper


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@_timed
def search(request: SearchRequest) -> SearchResult:
    clock = _Clock()
    settings = SearchSettings.load()
    mode = request.mode if request.mode is not None else settings.mode
    if mode not in MODES:
        raise SearchError(
            _("Unknown search mode %(mode)s; use one of %(modes)s.")
            % {"mode": mode, "modes": ", ".join(MODES)}
        )
    k = _check_k(request.k, settings)
    alpha = _check_alpha(request.alpha, settings) if mode == "hybrid" else None
    do_rerank = settings.rerank if request.rerank is None else request.rerank
    if not isinstance(do_rerank, bool):
        raise SearchError(_("Rerank must be true or false."))
    filters = clean_filters(request.filters)
    try:
        exclude = {int(pk) for pk in request.exclude_ids}
    except (TypeError, ValueError) as exc:
        raise SearchError(_("Excluded items must be given by their ids.")) from exc

    text = request.text if isinstance(request.text, str) else None
    if text is None:
        raise SearchError(_("The query text must be text."))
    text = text.strip()
    if "\x00" in text:
        raise SearchError(_("The query contains a character that cannot be searched."))
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(
            _("The query is %(length)d characters long; at most %(max)d are allowed.")
            % {"length": len(text), "max": MAX_QUERY_CHARS}
        )
    image = request.image
    if image is not None:
        if not isinstance(image, bytes | bytearray):
            raise SearchError(_("The query image must be an uploaded file."))
        try:
            check_image(bytes(image), _("The query image"))
        except ValidationError as exc:
            raise SearchError(" ".join(exc.messages)) from exc
        image = bytes(image)

    item = None
    if request.item_id is not None:
        if text or image is not None:
            raise SearchError(_("Search by an item, or by text and an image, not both."))
        try:
            item_id = int(request.item_id)
        except (TypeError, ValueError) as exc:
            raise SearchError(_("The item must be given by its id.")) from exc
        item = Item.objects.filter(pk=item_id).first()
        if item is None:
            raise SearchError(_("There is no item with id %(id)s.") % {"id": item_id})
        exclude.add(item.pk)
    elif not text and image is None:
        raise SearchError(_("Type a question, upload an image or choose an item to search with."))
    if mode == "bm25" and item is None and not text:
        raise SearchError(_("Keyword search needs text; type a query or choose another mode."))

    first_n = max(k, settings.rerank_top_n) if do_rerank else k
    fusion_n = max(first_n, FUSION_CANDIDATES)

    dense: list[tuple[int, float]] = []
    bm25: list[tuple[int, float]] = []
    space = None
    if mode in DENSE_MODES:
        space = _resolve_space(request.space, settings)
        if not ItemEmbedding.objects.filter(space=space).exists():
            raise SearchError(
                _(
                    "The embedding space %(name)s has no vectors yet; embed the items first or "
                    "use keyword search."
                )
                % {"name": space.name}
            )
        with clock.measure("embed"):
            if item is not None:
                vector = _stored_vector(space, item)
            else:
                vector = _embed_query(space, text, image, settings.query_timeout)
        with clock.measure("dense"):
            n = first_n if mode == "dense" else fusion_n
            dense = dense_candidates(space, vector, n, filters, sorted(exclude))
    elif request.space:
        _resolve_space(request.space, settings)  # an unknown name is still an error
    if mode in KEYWORD_MODES:
        with clock.measure("keyword"):
            if item is not None:
                stored = keyword.ItemKeywords.objects.filter(
                    item=item, content_hash=item.content_hash
                ).first()
                tokens = stored.tokens if stored else keyword.item_tokens(item)
            else:
                tokens = keyword.query_tokens(text) if text else []
            if tokens:
                n = first_n if mode == "bm25" else fusion_n
                bm25 = keyword_candidates(tokens, n, filters, sorted(exclude))

    with clock.measure("fuse"):
        if mode == "dense":
            candidates = [_Candidate(pk, dense=s, score=s) for pk, s in dense]
        elif mode == "bm25":
            candidates = [_Candidate(pk, keyword=s, score=s) for pk, s in bm25]
        elif mode == "hybrid":
            assert alpha is not None  # checked above for hybrid
            candidates = fuse_weighted(dense, bm25, alpha)
        else:
            candidates = fuse_rrf(dense, bm25)
        candidates = candidates[:first_n]

    label = mode
    if do_rerank:
        with clock.measure("rerank"):
            query = rerank.RerankQuery.build(text, image, item.pk if item else None)
            candidates = _rerank(settings, query, candidates)
        label = f"{mode}+rerank"

    with clock.measure("load"):
        candidates = candidates[:k]
        items = Item.objects.prefetch_related("images").in_bulk([c.item_id for c in candidates])
        hits: list[SearchHit] = []
        for c in candidates:
            if c.item_id not in items:  # deleted meanwhile
                continue
            hits.append(
                SearchHit(
                    item=items[c.item_id],
                    rank=len(hits) + 1,
                    score=float(c.score),
                    mode=label,
                    dense=c.dense,
                    keyword=c.keyword,
                    rerank=c.rerank,
                )
            )
    return SearchResult(
        hits=hits,
        mode=label,
        space=space.name if space is not None else None,
        k=k,
        alpha=alpha,
        reranked=do_rerank,
        took_ms=clock.total(),
        timings=clock.timings,
    )


def similar_items(item: Item, k: int = 10, **overrides: Any) -> SearchResult:
    """More like this: the items nearest to `item` (never `item` itself), with the defaults."""
    return search(SearchRequest(item_id=item.pk, k=k, **overrides))
