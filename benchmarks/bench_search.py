"""Search benchmark and a small quality scorer (plain functions behind `bench_search`).

Quality (shared/design/search-and-metrics.md, trec_eval's definitions): Recall@k = relevant
items in the top k ÷ all relevant items of the query; MRR = 1 / rank of the first relevant item,
no cutoff; Hit@1 on duplicates = the first result is a planted duplicate (relevance 2). A run's
ranking is its scores descending, ties by external id ascending; the metrics are
`search.evaluation.metrics`, the ones evaluation runs report.
Queries with no relevant items are left out of the means (counted); queries missing from the
run, or that retrieved nothing, score 0. The query item is never relevant to itself.

Speed: a scratch embedding space of N synthetic unit vectors (a two-level mixture of Gaussians,
not uniform noise: uniform high-dimensional points have no near neighbours and make HNSW look
unrealistically bad) for N scratch items (`BENCHSEARCH-` ids), loaded by binary COPY, indexed
with the space's HNSW index; dense search timed in SQL at several `hnsw.ef_search` values, with
the plan pinned to the index as the engine pins it (`embeddings.services.hnsw_scan`), and checked
against exact search (a sequential scan, `exact_neighbours`: the one place exact search is meant)
for recall@10.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection, transaction

from embeddings.models import EmbeddingSpace, ItemEmbedding
from embeddings.npz import PGCOPY_HEADER, PGCOPY_TRAILER, pack_copy_rows
from embeddings.services import drop_index, ensure_index, hnsw_scan
from itembank.models import Item, ItemStatus, Subject
from search.evaluation import metrics

from .stats import percentile

if TYPE_CHECKING:
    from scripts.devstack import Gunicorn


PREFIX = "BENCHSEARCH-"
CHUNK_ROWS = 8192
DUPLICATE_GRADE = 2

Progress = Callable[[str], None]


# -- quality ---------------------------------------------------------------------------------


def parse_qrels(pairs: Mapping[str, object]) -> dict[str, dict[str, int]]:
    """formats.md ground truth `pairs` → {query: {doc: grade}}; a list means grade 1."""
    qrels: dict[str, dict[str, int]] = {}
    for query, judged in pairs.items():
        if isinstance(judged, Mapping):
            qrels[query] = {str(doc): int(grade) for doc, grade in judged.items()}
        else:
            qrels[query] = {str(doc): 1 for doc in judged}  # type: ignore[union-attr]
    return qrels


@dataclass
class Quality:
    queries: int = 0  # queries scored
    left_out: int = 0  # queries with no relevant item
    recall: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    duplicate_queries: int = 0  # queries with at least one planted duplicate
    duplicate_at_1: float = 0.0  # share of those whose first result is a duplicate

    def as_dict(self) -> dict:
        return {
            "queries": self.queries,
            "left_out": self.left_out,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall.items()},
            "mrr": round(self.mrr, 4),
            "duplicate_queries": self.duplicate_queries,
            "duplicate_at_1": round(self.duplicate_at_1, 4),
        }


def score_run(
    results: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    ks: Sequence[int] = (5, 10),
    duplicate_grade: int = DUPLICATE_GRADE,
) -> Quality:
    """Mean Recall@k, MRR and duplicate Hit@1 of a run's `results` against graded qrels."""
    quality = Quality()
    recalls: dict[int, list[float]] = {k: [] for k in ks}
    rrs: list[float] = []
    dup_hits: list[float] = []
    for query, judged in qrels.items():
        relevant = {doc: grade for doc, grade in judged.items() if grade >= 1 and doc != query}
        if not relevant:
            quality.left_out += 1
            continue
        ranked = metrics.ranking(results.get(query, {}), exclude=query)
        for k in ks:
            recalls[k].append(metrics.recall_at(ranked, relevant, k))
        rrs.append(metrics.reciprocal_rank(ranked, relevant))
        duplicates = {doc for doc in relevant if judged[doc] >= duplicate_grade}
        if duplicates:
            dup_hits.append(1.0 if ranked[:1] and ranked[0] in duplicates else 0.0)
    quality.queries = len(rrs)
    quality.recall = {k: _mean(values) for k, values in recalls.items()}
    quality.mrr = _mean(rrs)
    quality.duplicate_queries = len(dup_hits)
    quality.duplicate_at_1 = _mean(dup_hits)
    return quality


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# -- latency figures -------------------------------------------------------------------------


@dataclass
class Latency:
    label: str
    samples_ms: list[float]
    recall: float | None = None  # recall@10 against exact, where measured
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        total_s = sum(self.samples_ms) / 1000
        return {
            "label": self.label,
            "n": len(self.samples_ms),
            "p50_ms": round(percentile(self.samples_ms, 50), 2),
            "p95_ms": round(percentile(self.samples_ms, 95), 2),
            "p99_ms": round(percentile(self.samples_ms, 99), 2),
            "mean_ms": round(statistics.fmean(self.samples_ms), 2) if self.samples_ms else None,
            "qps": round(len(self.samples_ms) / total_s, 1) if total_s else None,
            "recall@10": None if self.recall is None else round(self.recall, 4),
            **self.extra,
        }


def timed(calls: Iterable[Callable[[], object]]) -> list[float]:
    """Run each call once, sequentially; milliseconds each."""
    samples = []
    for call in calls:
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


# -- synthetic vectors -----------------------------------------------------------------------


@dataclass
class Mixture:
    """A two-level mixture: `topics` unit centres, `subtopics` sub-centres around each, points
    around a sub-centre with noise mostly inside a `rank`-dimensional random subspace (real
    embeddings have a low intrinsic dimension) plus a little isotropic noise; unit length.

    Cosine similarity comes out about 0.8 between points of one sub-topic, 0.6 within a topic
    and 0 across topics: a few hundred true near neighbours per point, as in an item bank with
    families of similar items, instead of uniform noise."""

    dims: int
    topics: int = 256
    subtopics: int = 32
    rank: int = 256
    seed: int = 0
    sub_spread: float = 0.6
    point_spread: float = 0.5
    noise: float = 0.15

    def __post_init__(self) -> None:
        self.rank = min(self.rank, self.dims)
        rng = np.random.default_rng([self.seed, 0])
        self.centres = _unit(rng.standard_normal((self.topics, self.dims), np.float32))
        offsets = _unit(rng.standard_normal((self.topics * self.subtopics, self.dims), np.float32))
        self.subcentres = (
            np.repeat(self.centres, self.subtopics, axis=0) + self.sub_spread * offsets
        ).astype(np.float32)
        basis, _r = np.linalg.qr(rng.standard_normal((self.dims, self.rank), np.float32))
        self.basis = basis.T.astype(np.float32)  # (rank, dims), orthonormal rows

    def sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        which = rng.integers(0, len(self.subcentres), count)
        latent = _unit(rng.standard_normal((count, self.rank), np.float32)) @ self.basis
        iso = _unit(rng.standard_normal((count, self.dims), np.float32))
        points = self.subcentres[which] + self.point_spread * latent + self.noise * iso
        return _unit(points)

    def rows(self, start: int, count: int) -> np.ndarray:
        """Rows start … start+count−1 of the bank; the same rows whatever the chunking."""
        out = []
        first = start // CHUNK_ROWS
        last = (start + count - 1) // CHUNK_ROWS
        for chunk in range(first, last + 1):
            rng = np.random.default_rng([self.seed, 1, chunk])
            block = self.sample(rng, CHUNK_ROWS)
            lo = max(start, chunk * CHUNK_ROWS) - chunk * CHUNK_ROWS
            hi = min(start + count, (chunk + 1) * CHUNK_ROWS) - chunk * CHUNK_ROWS
            out.append(block[lo:hi])
        return np.concatenate(out) if out else np.empty((0, self.dims), np.float32)

    def queries(self, count: int) -> np.ndarray:
        """Held-out points from the same mixture (not in the bank)."""
        return self.sample(np.random.default_rng([self.seed, 2]), count)


def _unit(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


# -- the scratch space -----------------------------------------------------------------------


def scratch_name(dims: int) -> str:
    return f"bench-scratch-{dims}"


def scratch_prefix(dims: int) -> str:
    return f"{PREFIX}{dims}-"


def scratch_space(dims: int) -> EmbeddingSpace | None:
    return EmbeddingSpace.objects.filter(name=scratch_name(dims)).first()


def _item_template_sql() -> tuple[list[str], list[object]]:
    """Columns and values of a minimal scratch item, from the model's own defaults."""
    template = Item(external_id="x", subject=Subject.MATH, stem="", status=ItemStatus.ACTIVE)
    columns, values = [], []
    for f in Item._meta.concrete_fields:
        if f.primary_key or f.name in {"external_id", "content_hash"}:
            continue
        columns.append(connection.ops.quote_name(f.column))
        values.append(f.get_db_prep_save(f.pre_save(template, add=True), connection))
    return columns, values


def create_scratch_items(dims: int, start: int, stop: int) -> None:
    """Items `start` … `stop`−1 of the scratch bank in one INSERT … SELECT (no signals, no
    revisions: they only exist to carry vectors). Each has its own content hash."""
    if stop <= start:
        return
    columns, values = _item_template_sql()
    table = connection.ops.quote_name(Item._meta.db_table)
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}, external_id, content_hash)"
            f" SELECT {placeholders}, %s || lpad(g::text, 8, '0'),"
            " encode(sha256(convert_to(%s || g::text, 'UTF8')), 'hex')"
            " FROM generate_series(%s, %s) AS g",
            [*values, scratch_prefix(dims), scratch_prefix(dims), start, stop - 1],
        )


def scratch_item_ids(dims: int, start: int, stop: int) -> np.ndarray:
    prefix = scratch_prefix(dims)
    rows = Item.objects.filter(
        external_id__gte=f"{prefix}{start:08d}", external_id__lte=f"{prefix}{stop - 1:08d}"
    ).values_list("external_id", "pk")
    by_row = {int(external_id[len(prefix) :]): pk for external_id, pk in rows}
    return np.array([by_row[i] for i in range(start, stop)], dtype=np.int64)


def load_vectors(space: EmbeddingSpace, item_ids: np.ndarray, vectors: np.ndarray) -> None:
    """Binary COPY into a staging table, then one INSERT into the embeddings table."""
    table = connection.ops.quote_name(ItemEmbedding._meta.db_table)
    items = connection.ops.quote_name(Item._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.bench_staging")
        cursor.execute(
            "CREATE TEMPORARY TABLE bench_staging (item_id bigint, embedding halfvec)"
            " ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY bench_staging (item_id, embedding) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.write(PGCOPY_HEADER)
            for lo in range(0, len(item_ids), CHUNK_ROWS):
                hi = lo + CHUNK_ROWS
                copy.write(pack_copy_rows(item_ids[lo:hi], vectors[lo:hi].astype(np.float16)))
            copy.write(PGCOPY_TRAILER)
        cursor.execute(
            f"INSERT INTO {table} (item_id, space_id, embedding, content_hash, model_revision,"
            " updated_at) SELECT s.item_id, %s, s.embedding, i.content_hash, 'synthetic', now()"
            f" FROM bench_staging s JOIN {items} i ON i.id = s.item_id",
            [space.pk],
        )
        cursor.execute("DROP TABLE bench_staging")


def fill_scratch(
    rows: int,
    dims: int,
    mixture: Mixture,
    *,
    maintenance_work_mem: str = "4GB",
    log: Progress = lambda message: None,
) -> tuple[EmbeddingSpace, dict]:
    """Make the scratch space hold exactly `rows` vectors (adding the missing ones, or starting
    again when it holds more), with its HNSW index built. Returns the space and timings."""
    timings: dict = {}
    space = scratch_space(dims)
    if space is not None and space.dimensions != dims:
        drop_scratch(dims)
        space = None
    if space is None:
        space = EmbeddingSpace.objects.create(
            name=scratch_name(dims),
            label=f"bench_search scratch ({dims}-d synthetic)",
            backend="default",
            dimensions=dims,
            enabled=False,
        )
    have = ItemEmbedding.objects.filter(space=space).count()
    if have > rows:
        log(f"scratch space holds {have:,} vectors, more than {rows:,}: starting again")
        drop_scratch(dims)
        return fill_scratch(rows, dims, mixture, maintenance_work_mem=maintenance_work_mem, log=log)
    if have < rows:
        drop_index(space)
        started = time.perf_counter()
        existing = Item.objects.filter(external_id__startswith=scratch_prefix(dims)).count()
        create_scratch_items(dims, existing, rows)
        timings["create_items_s"] = round(time.perf_counter() - started, 1)
        log(f"created {rows - existing:,} scratch items in {timings['create_items_s']} s")
        started = time.perf_counter()
        step = CHUNK_ROWS * 4
        for lo in range(have, rows, step):
            hi = min(rows, lo + step)
            load_vectors(space, scratch_item_ids(dims, lo, hi), mixture.rows(lo, hi - lo))
            log(f"loaded {hi:,}/{rows:,} vectors")
        timings["load_vectors_s"] = round(time.perf_counter() - started, 1)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(ItemEmbedding._meta.db_table)}")
    started = time.perf_counter()
    log(f"building the HNSW index (maintenance_work_mem {maintenance_work_mem})")
    with transaction.atomic(), connection.cursor() as cursor:
        # Inside a transaction ensure_index builds without CONCURRENTLY: one table scan
        # instead of two, and nothing else uses the scratch space.
        cursor.execute(
            "SELECT set_config('maintenance_work_mem', %s, true)", [maintenance_work_mem]
        )
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        ensure_index(space)
    timings["index_build_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(%s)", [space.index_name])
        timings["index_mb"] = round(cursor.fetchone()[0] / 2**20)
    log(f"index ready in {timings['index_build_s']} s ({timings['index_mb']:,} MB)")
    return space, timings


def drop_scratch(dims: int | None = None) -> int:
    """Delete the scratch space(s) with their vectors and index, and the scratch items."""
    spaces = EmbeddingSpace.objects.filter(name__startswith="bench-scratch-")
    prefix = PREFIX
    if dims is not None:
        spaces = spaces.filter(name=scratch_name(dims))
        prefix = scratch_prefix(dims)
    for space in spaces:
        drop_index(space)
        ItemEmbedding.objects.filter(space=space)._raw_delete(connection.alias)
        space.delete()
    deleted, _rows = Item.objects.filter(external_id__startswith=prefix).delete()
    return deleted


# -- dense search in SQL ---------------------------------------------------------------------


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in vector.tolist()) + "]"


def dense_sql(space: EmbeddingSpace, k: int = 10) -> str:
    """The space's indexed expression repeated in ORDER BY … LIMIT k (served by HNSW)."""
    table = connection.ops.quote_name(ItemEmbedding._meta.db_table)
    dims = int(space.dimensions)
    return (
        f"SELECT item_id FROM {table} WHERE space_id = {int(space.pk)}"
        f" ORDER BY embedding::halfvec({dims}) <=> %s::halfvec({dims}) LIMIT {int(k)}"
    )


def dense_search_ids(cursor, sql: str, literal: str) -> list[int]:
    cursor.execute(sql, [literal])
    return [row[0] for row in cursor.fetchall()]


def exact_neighbours(
    space: EmbeddingSpace, literals: Sequence[str], k: int = 10
) -> list[list[int]]:
    """Top-k by a sequential scan (no index): the exact answer. Exact search on purpose, the
    reference for recall; every other dense query runs in `hnsw_scan`."""
    sql = dense_sql(space, k)
    out = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for literal in literals:
            out.append(dense_search_ids(cursor, sql, literal))
        transaction.set_rollback(True)  # the settings end here, even inside a transaction
    return out


def explain(cursor, sql: str, literal: str) -> str:
    cursor.execute("EXPLAIN " + sql, [literal])
    return "\n".join(row[0] for row in cursor.fetchall())


def plan_summary(plan: str) -> str:
    """The plan's nodes, outermost first, without costs: "Limit → Index Scan using …"."""
    nodes = []
    for line in plan.splitlines():
        text = line.strip()
        if text.startswith("->"):
            text = text[2:].strip()
        elif line.startswith(" "):
            continue  # a node's details (Order By, Filter, Workers Planned, …)
        nodes.append(text.split("  (cost=")[0].split(" on ")[0])
    return " → ".join(nodes)


def uses_index(space: EmbeddingSpace, plan: str) -> bool:
    return f"Index Scan using {space.index_name}" in plan


def unpinned_plan(space: EmbeddingSpace, literal: str, ef: int, k: int = 10) -> str:
    """The plan the planner picks on its own with only `hnsw.ef_search` set (before issue 12 the
    benchmark and the engine ran like this)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(int(ef))])
        plan = explain(cursor, dense_sql(space, k), literal)
        transaction.set_rollback(True)
    return plan


def explain_uses_index(space: EmbeddingSpace, literal: str, ef: int = 40) -> bool:
    """Whether the dense query runs on the space's HNSW index as the engine runs it."""
    with hnsw_scan(ef) as cursor:
        return uses_index(space, explain(cursor, dense_sql(space), literal))


def bench_dense_sql(
    space: EmbeddingSpace,
    literals: Sequence[str],
    exact: Sequence[Sequence[int]],
    ef_values: Sequence[int],
    *,
    warmup: int = 20,
    k: int = 10,
) -> list[Latency]:
    """Latency of the indexed top-k query at each ef_search over all `literals`, run as the
    engine runs it (`embeddings.services.hnsw_scan`), and recall@k over the first len(exact) of
    them. Each row says the plan it got (`index_scan`, `plan`) and the plan the planner would
    have picked unpinned (`unpinned_plan`)."""
    sql = dense_sql(space, k)
    out = []
    for ef in ef_values:
        unpinned = plan_summary(unpinned_plan(space, literals[0], ef, k))
        with hnsw_scan(ef) as cursor:
            plan = explain(cursor, sql, literals[0])
            for literal in literals[:warmup]:
                dense_search_ids(cursor, sql, literal)
            found: list[list[int]] = []

            def one(literal: str, cursor=cursor, found=found) -> None:
                found.append(dense_search_ids(cursor, sql, literal))

            samples = timed([lambda lit=lit: one(lit) for lit in literals])
        recall = _mean(
            [len(set(found[i]) & set(exact[i])) / k for i in range(min(len(exact), len(found)))]
        )
        extra = {
            "ef_search": ef,
            "index_scan": uses_index(space, plan),
            "plan": plan_summary(plan),
            "unpinned_plan": unpinned,
        }
        out.append(Latency(f"SQL top-{k}, ef_search {ef}", samples, recall, extra))
    return out


# -- the engine and the HTTP endpoint --------------------------------------------------------


def _mean_timings(collected: list[dict]) -> dict:
    keys: dict[str, None] = {}
    for timings in collected:
        keys.update(dict.fromkeys(timings))
    out = {}
    for key in keys:
        values = [t[key] for t in collected if isinstance(t.get(key), int | float)]
        if values:
            out[f"mean_{key}_ms"] = round(statistics.fmean(values), 2)
    return out


def bench_engine(requests: Sequence[object], label: str, *, warmup: int = 3) -> Latency:
    """Time `search.engine.search` over prepared SearchRequests (after `warmup` of them)."""
    from search.engine import search

    for request in requests[:warmup]:
        search(request)
    collected: list[dict] = []

    def one(request) -> None:
        collected.append(dict(search(request).timings or {}))

    samples = timed([lambda r=r: one(r) for r in requests])
    return Latency(label, samples, extra=_mean_timings(collected))


def bench_http(
    server: Gunicorn, paths: Sequence[str], token: str, label: str, *, warmup: int = 3
) -> Latency:
    """Sequential GETs with token auth; every answer must be 200."""
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
    for path in paths[:warmup]:
        status, body = server.get(path, headers)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
    statuses: list[int] = []

    def one(path: str) -> None:
        statuses.append(server.get(path, headers)[0])

    samples = timed([lambda p=p: one(p) for p in paths])
    bad = [s for s in statuses if s != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(statuses)} requests failed (e.g. {bad[0]})")
    return Latency(label, samples)
