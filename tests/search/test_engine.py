"""The search engine against the real database: dense (pgvector HNSW), bm25, hybrid, rrf, more
like this, filters with iterative scans, and every kind of bad input."""

from __future__ import annotations

import io
import math
import time
from unittest import mock

import redis
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from PIL import Image

from embeddings import pipeline
from embeddings.models import ItemEmbedding
from itembank.celery import app
from itembank.models import Item
from search import keyword
from search.engine import (
    MODES,
    SearchError,
    SearchRequest,
    dense_candidates,
    fuse_rrf,
    fuse_weighted,
    minmax,
    search,
    similar_items,
)
from search.models import SearchSettings
from tests.base import BaseTestCase, make_item, png_bytes
from tests.embeddings.hashing_backend import make_space

STEMS = [
    ("수학", "이차방정식 $x^2-5x+6=0$ 의 두 근의 합을 구하시오."),
    ("수학", "이차방정식 $x^2-7x+12=0$ 의 두 근의 곱을 구하시오."),
    ("수학", "삼각형 ABC 에서 각 A 의 크기가 60도 일 때 변 BC 의 길이를 구하시오."),
    ("과학", "광합성이 일어나는 세포 소기관은 무엇인가?"),
    ("과학", "식물의 광합성에 필요한 물질로 옳은 것은?"),
    ("수학", "다음 중 계산 결과가 가장 큰 것은? $37+25$"),
]


def make_bank(stems=STEMS, **kwargs) -> list[Item]:
    return [
        make_item(f"T-{i:04d}", subject=subject, stem=stem, choices=[], **kwargs)
        for i, (subject, stem) in enumerate(stems)
    ]


def embedded_space(items, name: str = "hash64", **kwargs):
    kwargs.setdefault("modalities", ["text", "image"])
    space = make_space(name, dimensions=64, make_default=not kwargs.pop("other", False), **kwargs)
    pipeline.embed_items(space, [i.pk for i in items])
    return space


def ids(result) -> list[int]:
    return [hit.item.pk for hit in result.hits]


class EngineTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.space = embedded_space(self.items)


class DenseTestCase(EngineTestCase):
    def test_text_query_finds_the_same_text_first(self) -> None:
        result = search(SearchRequest(text=self.items[2].stem, mode="dense", k=4))
        self.assertEqual(result.mode, "dense")
        self.assertEqual(result.space, "hash64")
        self.assertEqual(result.k, 4)
        self.assertFalse(result.reranked)
        self.assertEqual(len(result.hits), 4)
        first = result.hits[0]
        self.assertEqual(first.item, self.items[2])
        self.assertAlmostEqual(first.dense, 1.0, places=2)
        self.assertEqual([h.rank for h in result.hits], [1, 2, 3, 4])
        scores = [h.score for h in result.hits]
        self.assertEqual(scores, sorted(scores, reverse=True))
        for hit in result.hits:
            self.assertEqual(hit.mode, "dense")
            self.assertEqual(hit.score, hit.dense)
            self.assertIsNone(hit.keyword)
            self.assertIsNone(hit.rerank)
        self.assertIn("dense", result.timings)
        self.assertGreater(result.took_ms, 0)

    def test_dense_score_is_the_cosine_similarity(self) -> None:
        result = search(SearchRequest(text="이차방정식 두 근의 합", mode="dense", k=6))
        from tests.embeddings.hashing_backend import HashingBackend

        backend = HashingBackend(self.space.config())
        query = backend.embed_query("이차방정식 두 근의 합")
        # All six items have a vector, so all six come back.
        self.assertEqual(sorted(ids(result)), sorted(i.pk for i in self.items))
        for hit in result.hits:
            row = ItemEmbedding.objects.get(space=self.space, item=hit.item)
            vector = [float(x) for x in row.embedding]
            expected = sum(a * b for a, b in zip(query, vector, strict=True)) / math.sqrt(
                sum(x * x for x in vector)
            )
            self.assertAlmostEqual(hit.dense, expected, places=2)

    def test_more_like_this_uses_the_stored_vector_and_never_returns_the_item(self) -> None:
        item = self.items[0]
        with mock.patch(
            "embeddings.backends.registry.load_backend", side_effect=AssertionError("no model")
        ):
            result = similar_items(item, k=10, mode="dense")
        self.assertNotIn(item.pk, ids(result))
        self.assertEqual(len(result.hits), len(self.items) - 1)
        self.assertEqual(result.hits[0].item, self.items[1])  # shares most words
        for mode in MODES:
            with self.subTest(mode=mode):
                result = similar_items(item, k=3, mode=mode, exclude_ids=(self.items[1].pk,))
                self.assertNotIn(item.pk, ids(result))
                self.assertNotIn(self.items[1].pk, ids(result))

    def test_query_uses_the_space_index(self) -> None:
        vector = [0.1] * 64
        with CaptureQueriesContext(connection) as queries:
            dense_candidates(self.space, vector, 5, {"subject": "수학"})
        sql = next(q["sql"] for q in queries if "<=>" in q["sql"])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        self.assertIn(self.space.index_name, plan)
        # ef_search and the iterative scan were raised in the same transaction.
        statements = [q["sql"] for q in queries]
        self.assertIn(f"SET LOCAL hnsw.ef_search = {settings.ITEMBANK_HNSW_EF_SEARCH}", statements)
        self.assertIn("SET LOCAL hnsw.iterative_scan = relaxed_order", statements)
        with CaptureQueriesContext(connection) as queries:
            dense_candidates(self.space, vector, 150, {})
        self.assertIn("SET LOCAL hnsw.ef_search = 300", [q["sql"] for q in queries])

    def test_image_query_and_text_plus_image(self) -> None:
        red, blue = png_bytes("red"), png_bytes("blue")
        with_red = make_item("IMG-1", stem="그림과 같은 도형의 넓이는?", choices=[], images=[red])
        with_blue = make_item("IMG-2", stem="그림과 같은 도형의 둘레는?", choices=[], images=[blue])
        pipeline.embed_items(self.space, [with_red.pk, with_blue.pk])
        result = search(SearchRequest(image=red, mode="dense", k=3))
        self.assertEqual(result.hits[0].item, with_red)
        result = search(SearchRequest(text="그림과 같은 도형의 둘레는?", image=blue, k=3))
        self.assertEqual(result.hits[0].item, with_blue)
        self.assertAlmostEqual(result.hits[0].dense, 1.0, places=2)


class FilterTestCase(BaseTestCase):
    """A selective filter still returns k results: the HNSW scan goes on (iterative scan)."""

    def test_selective_filter_returns_k_results(self) -> None:
        stems = []
        for i in range(160):
            subject = "과학" if i % 13 == 0 else "수학"
            stems.append((subject, f"수학 문항 덧셈 {i} 뺄셈 {i % 7} 곱셈 {i % 11} 값 {i * 3}"))
        items = make_bank(stems)
        space = embedded_space(items)
        science = {i.pk for i in items if i.subject == "과학"}
        self.assertEqual(len(science), 13)
        query = "수학 문항 덧셈 1 뺄셈 1 곱셈 1"
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # the index, as on a large bank
            result = search(
                SearchRequest(text=query, mode="dense", k=10, filters={"subject": "과학"})
            )
            # The same query without the iterative scan loses most of them.
            from tests.embeddings.hashing_backend import HashingBackend

            vector = HashingBackend(space.config()).embed_query(query)
            cursor.execute("SET LOCAL hnsw.iterative_scan = off")
            cursor.execute("SET LOCAL hnsw.ef_search = 40")  # pgvector's default
            plain = list(
                ItemEmbedding.objects.filter(space=space, item__subject="과학")
                .annotate(d=__import__("embeddings.services").services.distance_expression(
                    space, vector
                ))
                .order_by("d")
                .values_list("item_id", flat=True)[:10]
            )  # fmt: skip
        self.assertEqual(len(result.hits), 10)
        self.assertTrue({h.item.pk for h in result.hits} <= science)
        self.assertLess(len(plain), 10)

    def test_every_filter_is_applied(self) -> None:
        items = make_bank()
        grade3 = make_item("G3", stem="이차방정식 근의 합", choices=[], grade=3, unit="방정식")
        draft = make_item("DR", stem="이차방정식 근의 곱", choices=[], status="draft")
        figure = make_item("FG", stem="이차방정식 그래프", choices=[], images=[png_bytes()])
        essay = make_item("ES", stem="이차방정식 서술", choices=[], item_type="essay")
        high = make_item("HI", stem="이차방정식 고등", choices=[], school_level="고등")
        embedded_space([*items, grade3, draft, figure, essay, high])
        cases = [
            ({"grade": 3}, {grade3}),
            ({"unit": "방정"}, {grade3}),
            ({"status": "draft"}, {draft}),
            ({"has_image": "yes"}, {figure}),
            ({"has_image": True}, {figure}),
            ({"item_type": "essay"}, {essay}),
            ({"school_level": "고등"}, {high}),
            ({"subject": "과학"}, {items[3], items[4]}),
        ]
        for filters, expected in cases:
            for mode in MODES:
                with self.subTest(filters=filters, mode=mode):
                    text = "이차방정식 광합성"
                    result = search(SearchRequest(text=text, mode=mode, k=20, filters=filters))
                    self.assertTrue(set(h.item for h in result.hits) <= expected, result.hits)
                    if mode == "dense":
                        self.assertEqual(set(h.item for h in result.hits), expected)
        result = search(SearchRequest(text="이차방정식", k=50, filters={"has_image": "no"}))
        self.assertNotIn(figure, [h.item for h in result.hits])


class KeywordModeTestCase(EngineTestCase):
    def test_bm25_scores_follow_the_formula(self) -> None:
        query = "광합성"
        result = search(SearchRequest(text=query, mode="bm25", k=10))
        self.assertEqual(result.mode, "bm25")
        self.assertIsNone(result.space)
        self.assertEqual({h.item for h in result.hits}, {self.items[3], self.items[4]})
        docs = {i.pk: keyword.item_tokens(i) for i in self.items}
        n = len(docs)
        avg = sum(map(len, docs.values())) / n
        df = sum(query in tokens for tokens in docs.values())
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for hit in result.hits:
            tokens = docs[hit.item.pk]
            tf = tokens.count(query)
            expected = idf * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * len(tokens) / avg))
            self.assertAlmostEqual(hit.keyword, expected, places=4)
            self.assertEqual(hit.score, hit.keyword)
            self.assertIsNone(hit.dense)

    def test_no_keyword_match_gives_no_results(self) -> None:
        result = search(SearchRequest(text="미분 적분", mode="bm25", k=10))
        self.assertEqual(result.hits, [])

    def test_latex_tokens_match(self) -> None:
        result = search(SearchRequest(text="$x^{2}-5x+6$", mode="bm25", k=2))
        self.assertEqual(result.hits[0].item, self.items[0])


class FusionTestCase(EngineTestCase):
    def test_weighted_fusion_by_hand(self) -> None:
        dense = [(1, 0.9), (2, 0.5), (3, 0.1)]
        bm25 = [(2, 10.0), (4, 6.0), (1, 2.0)]
        fused = fuse_weighted(dense, bm25, 0.7)
        # dense → 1: 1, 2: 0.5, 3: 0; bm25 → 2: 1, 4: 0.5, 1: 0
        expected = {1: 0.7, 2: 0.7 * 0.5 + 0.3, 4: 0.3 * 0.5, 3: 0.0}
        self.assertEqual([c.item_id for c in fused], [1, 2, 4, 3])
        for c in fused:
            self.assertAlmostEqual(c.score, expected[c.item_id])
        self.assertEqual((fused[2].dense, fused[2].keyword), (None, 6.0))
        self.assertEqual(minmax({5: 3.0, 6: 3.0}), {5: 1.0, 6: 1.0})

    def test_ties_are_broken_by_item_id(self) -> None:
        fused = fuse_weighted([(9, 0.5), (3, 0.5)], [(7, 1.0), (2, 1.0)], 0.5)
        self.assertEqual([c.item_id for c in fused], [2, 3, 7, 9])
        self.assertEqual([c.item_id for c in fuse_rrf([(8, 1.0)], [(4, 1.0)])], [4, 8])

    def test_rrf_by_hand(self) -> None:
        fused = fuse_rrf([(1, 0.9), (2, 0.8), (3, 0.7)], [(3, 5.0), (1, 1.0)])
        scores = {c.item_id: c.score for c in fused}
        self.assertAlmostEqual(scores[1], 1 / 61 + 1 / 62)
        self.assertAlmostEqual(scores[3], 1 / 63 + 1 / 61)
        self.assertAlmostEqual(scores[2], 1 / 62)
        self.assertEqual([c.item_id for c in fused], [1, 3, 2])

    def test_alpha_extremes_follow_one_list(self) -> None:
        text = "이차방정식 두 근의 곱"
        dense = search(SearchRequest(text=text, mode="dense", k=6))
        only_dense = search(SearchRequest(text=text, mode="hybrid", alpha=1.0, k=6))
        self.assertEqual(ids(only_dense)[:3], ids(dense)[:3])
        self.assertEqual(only_dense.alpha, 1.0)
        bm25 = search(SearchRequest(text=text, mode="bm25", k=6))
        only_bm25 = search(SearchRequest(text=text, mode="hybrid", alpha=0.0, k=len(bm25.hits)))
        self.assertEqual(ids(only_bm25), ids(bm25))
        for hit in only_bm25.hits:
            self.assertEqual(hit.mode, "hybrid")
            self.assertIsNotNone(hit.keyword)

    def test_hybrid_score_recomputed_from_the_lists(self) -> None:
        text = "이차방정식 두 근의 합"
        result = search(SearchRequest(text=text, mode="hybrid", alpha=0.4, k=6))
        dense_hits = search(SearchRequest(text=text, mode="dense", k=6)).hits
        bm25_hits = search(SearchRequest(text=text, mode="bm25", k=6)).hits
        dense = {h.item.pk: h.dense for h in dense_hits}
        bm25 = {h.item.pk: h.keyword for h in bm25_hits}
        # Every item has a vector; the words of the query occur in some items, not in all.
        self.assertEqual(len(dense), 6)
        self.assertTrue(2 <= len(bm25) < 6, bm25)
        # Each list scaled to [0, 1] by its own lowest and highest score, by hand; an item missing
        # from the BM25 list counts 0 there.
        lo_d, hi_d = min(dense.values()), max(dense.values())
        lo_b, hi_b = min(bm25.values()), max(bm25.values())
        self.assertLess(lo_d, hi_d)
        self.assertLess(lo_b, hi_b)
        expected = {
            pk: 0.4 * (dense[pk] - lo_d) / (hi_d - lo_d)
            + 0.6 * ((bm25[pk] - lo_b) / (hi_b - lo_b) if pk in bm25 else 0.0)
            for pk in dense
        }
        self.assertEqual(sorted(ids(result)), sorted(expected))
        for hit in result.hits:
            self.assertAlmostEqual(hit.score, expected[hit.item.pk], places=5)
        scores = [hit.score for hit in result.hits]
        self.assertEqual(scores, sorted(scores, reverse=True))
        rrf = search(SearchRequest(text=text, mode="rrf", k=6))
        self.assertEqual(rrf.mode, "rrf")
        self.assertIsNone(rrf.alpha)
        self.assertEqual(sorted(ids(rrf)), sorted(dense))
        ranks = [{h.item.pk: h.rank for h in hits} for hits in (dense_hits, bm25_hits)]
        for hit in rrf.hits:
            expected = sum(1 / (60 + r[hit.item.pk]) for r in ranks if hit.item.pk in r)
            self.assertAlmostEqual(hit.score, expected)

    def test_defaults_come_from_the_settings(self) -> None:
        settings = SearchSettings.load()
        settings.mode = "bm25"
        settings.k = 1
        settings.save()
        result = search(SearchRequest(text="광합성"))
        self.assertEqual((result.mode, result.k, len(result.hits)), ("bm25", 1, 1))
        other = embedded_space(self.items, "other64", other=True)
        settings.default_space = other
        settings.mode = "hybrid"
        settings.alpha = 0.25
        settings.save()
        result = search(SearchRequest(text="광합성"))
        self.assertEqual((result.space, result.alpha, result.mode), ("other64", 0.25, "hybrid"))


def bmp_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="BMP")
    return buf.getvalue()


class BadInputTestCase(EngineTestCase):
    def assertRefused(self, request: SearchRequest, words: str) -> None:
        before = (Item.objects.count(), ItemEmbedding.objects.count())
        with translation.override("en"), self.assertRaises(SearchError) as ctx:
            search(request)
        self.assertIn(words, str(ctx.exception))
        self.assertEqual((Item.objects.count(), ItemEmbedding.objects.count()), before)

    def test_bad_queries(self) -> None:
        png = png_bytes()
        cases = [
            (SearchRequest(), "Type a question"),
            (SearchRequest(text="   \n "), "Type a question"),
            (SearchRequest(text="가" * 10_000), "at most 5000"),
            (SearchRequest(text="a\x00b"), "cannot be searched"),
            (SearchRequest(image=b"not an image at all"), "not a readable image"),
            (SearchRequest(image=png[: len(png) // 2]), "not a readable image"),
            (SearchRequest(image=bmp_bytes()), "not a PNG, JPEG, GIF or WebP"),
            (SearchRequest(image=b""), "is empty"),
            (SearchRequest(text="근", space="nope"), "no embedding space named nope"),
            (SearchRequest(item_id=987654), "no item with id 987654"),
            (SearchRequest(item_id=self.items[0].pk, text="근"), "not both"),
            (SearchRequest(text="근", k=0), "at least one"),
            (SearchRequest(text="근", k=-3), "at least one"),
            (SearchRequest(text="근", k=10**9), "At most 200"),
            (SearchRequest(text="근", k="10"), "whole number"),
            (SearchRequest(text="근", k=True), "whole number"),
            (SearchRequest(text="근", mode="hybrid", alpha=1.5), "between 0 and 1"),
            (SearchRequest(text="근", mode="hybrid", alpha=float("nan")), "between 0 and 1"),
            (SearchRequest(text="근", mode="vector"), "Unknown search mode vector"),
            (SearchRequest(text="근", rerank="yes"), "true or false"),
            (SearchRequest(image=png_bytes(), mode="bm25"), "Keyword search needs text"),
            (SearchRequest(text="근", exclude_ids=("x",)), "ids"),
        ]
        for request, words in cases:
            with self.subTest(words=words):
                self.assertRefused(request, words)

    def test_bad_filters(self) -> None:
        cases = [
            ({"subject": "수학'; DROP TABLE itembank_item; --"}, "filter subject is not valid"),
            ({"grade": "1 OR 1=1"}, "filter grade is not valid"),
            ({"grade": 40}, "filter grade is not valid"),
            ({"status": "deleted"}, "filter status is not valid"),
            ({"has_image": "maybe"}, "filter has_image is not valid"),
            ({"colour": "red"}, "Unknown filter: colour"),
            ({"subject": ["수학"]}, "unexpected value"),
            ({"q": "근"}, "not in the filters"),
        ]
        for filters, words in cases:
            for mode in MODES:
                with self.subTest(filters=filters, mode=mode):
                    self.assertRefused(SearchRequest(text="근", mode=mode, filters=filters), words)
        # SQL-looking text in the unit filter is just text: nothing matches.
        result = search(SearchRequest(text="근", filters={"unit": "' OR 1=1 --"}))
        self.assertEqual(result.hits, [])

    def test_space_without_vectors(self) -> None:
        make_space("empty", dimensions=64)
        for mode in ("dense", "hybrid", "rrf"):
            with self.subTest(mode=mode):
                self.assertRefused(
                    SearchRequest(text="근", space="empty", mode=mode), "has no vectors yet"
                )
        # keyword search does not need vectors
        self.assertEqual(
            search(SearchRequest(text="광합성", space="empty", mode="bm25")).space, None
        )

    def test_item_without_a_vector_in_the_space(self) -> None:
        fresh = make_item("NEW-1", stem="아직 벡터가 없는 문항", choices=[])
        self.assertRefused(SearchRequest(item_id=fresh.pk, mode="dense"), "has no vector")

    def test_no_space_at_all(self) -> None:
        ItemEmbedding.objects.all().delete()
        self.space.delete()
        self.assertRefused(SearchRequest(text="근", mode="dense"), "No embedding space")

    def test_reranker_weights_missing(self) -> None:
        settings = SearchSettings.load()
        settings.reranker_model_path = ""
        settings.save()
        self.assertRefused(SearchRequest(text="근", rerank=True), "No reranker weights")
        settings.reranker_model_path = "/nonexistent/reranker"
        settings.save()
        for backend in ("qwen3-vl-reranker", "cross-encoder"):
            settings.reranker_backend = backend
            settings.save()
            with self.subTest(backend=backend):
                self.assertRefused(SearchRequest(text="근", rerank=True), "reranker could not run")


class GpuQueryTestCase(EngineTestCase):
    """A space whose model runs on the GPU worker: the query goes through Celery."""

    def setUp(self) -> None:
        super().setUp()
        self.gpu = embedded_space(self.items, "gpu64", other=True, device="cuda")

    def test_eager_round_trip_gives_the_cpu_result(self) -> None:
        cpu = search(SearchRequest(text="이차방정식 근", mode="dense", k=5))
        app.conf.task_always_eager = True
        self.addCleanup(setattr, app.conf, "task_always_eager", False)
        with mock.patch("embeddings.tasks.embed_query.apply_async", wraps=None) as sent:
            from embeddings.tasks import embed_query

            sent.side_effect = lambda args, kwargs, **kw: embed_query.apply(args, kwargs)
            gpu = search(SearchRequest(text="이차방정식 근", mode="dense", k=5, space="gpu64"))
        self.assertEqual(sent.call_args.kwargs["queue"], "gpu")
        # Same vectors, same scores; items tied on score at the cut-off may come back in either
        # order from the HNSW scan, so ids are compared where the scores differ.
        self.assertEqual(
            [round(h.dense, 4) for h in gpu.hits], [round(h.dense, 4) for h in cpu.hits]
        )
        scores = [round(h.dense, 4) for h in cpu.hits]
        for g, c, score in zip(gpu.hits, cpu.hits, scores, strict=True):
            if scores.count(score) == 1:
                self.assertEqual(g.item.pk, c.item.pk)
        self.assertEqual(gpu.space, "gpu64")
        self.assertIn("embed", gpu.timings)

    def test_broker_down_is_a_clear_error(self) -> None:
        old = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        self.addCleanup(setattr, app.conf, "broker_url", old)
        started = time.monotonic()
        with translation.override("en"), self.assertRaises(SearchError) as ctx:
            search(SearchRequest(text="근", mode="dense", space="gpu64"))
        self.assertIn("GPU worker could not be reached", str(ctx.exception))
        self.assertLess(time.monotonic() - started, 10)

    def test_no_worker_is_a_timeout(self) -> None:
        settings = SearchSettings.load()
        settings.query_timeout = 0.5
        settings.save()
        client = redis.Redis.from_url(app.conf.broker_url)
        self.addCleanup(client.delete, "gpu")
        client.delete("gpu")
        with translation.override("en"), self.assertRaises(SearchError) as ctx:
            search(SearchRequest(text="근", mode="dense", space="gpu64"))
        self.assertIn("did not answer within 0.5 seconds", str(ctx.exception))
        self.assertEqual(client.llen("gpu"), 1)  # a worker will skip it: past its deadline

    def test_more_like_this_needs_no_worker(self) -> None:
        old = app.conf.broker_url
        app.conf.broker_url = "redis://127.0.0.1:1/0"
        self.addCleanup(setattr, app.conf, "broker_url", old)
        result = similar_items(self.items[0], k=3, space="gpu64", mode="dense")
        self.assertEqual(len(result.hits), 3)
