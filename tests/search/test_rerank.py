"""Two-stage search: the first stage's top N re-scored by the Qwen3-VL reranker (tiny random
checkpoint, text and images on both sides) or by a cross-encoder from a local directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from django.utils import translation

from embeddings.backends.base import BackendConfig
from embeddings.backends.qwen3_vl_reranker import Qwen3VLReranker
from itembank.celery import app
from itembank.content import ModelInput, model_input
from search import keyword, rerank
from search.engine import SearchError, SearchRequest, search
from search.models import SearchSettings
from tests.base import BaseTestCase, make_item, png_bytes
from tests.search.test_engine import embedded_space, ids, make_bank
from tests.support.checkpoints import build_tiny_qwen3_vl, build_tiny_text_encoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(1)


def build_tiny_cross_encoder(path: Path, seed: int = 0) -> Path:
    """A tiny random BERT sequence classifier (one logit) with a WordPiece tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    build_tiny_text_encoder(path / "base", pooling=None)
    tokenizer = AutoTokenizer.from_pretrained(str(path / "base"))
    config = BertConfig.from_pretrained(str(path / "base"), num_labels=1)
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(path / "ce")
    tokenizer.save_pretrained(path / "ce")
    return path / "ce"


class RerankTestCase(BaseTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="rerank-test-"))
        cls.qwen = build_tiny_qwen3_vl(cls.tmp / "qwen", reranker=True)
        cls.cross = build_tiny_cross_encoder(cls.tmp / "cross")

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.tmp, ignore_errors=True)
        rerank.clear_cache()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        keyword.reset_index()
        self.addCleanup(keyword.reset_index)
        self.items = make_bank()
        self.figure = make_item(
            "FIG-1", stem="그림의 삼각형에서 변 BC의 길이는?", choices=[], images=[png_bytes("red")]
        )
        self.items.append(self.figure)
        self.space = embedded_space(self.items)

    def configure(self, backend: str, path: Path, top_n: int = 30) -> SearchSettings:
        settings = SearchSettings.load()
        settings.reranker_backend = backend
        settings.reranker_model_path = str(path)
        settings.rerank_top_n = top_n
        settings.save()
        return settings

    def test_qwen3_vl_reranker_orders_by_the_yes_probability(self) -> None:
        self.configure("qwen3-vl-reranker", self.qwen)
        text = "삼각형 변 BC의 길이"
        first = search(SearchRequest(text=text, mode="hybrid", k=5))
        result = search(SearchRequest(text=text, image=png_bytes("red"), mode="hybrid", k=5,
                                      rerank=True))  # fmt: skip
        self.assertTrue(result.reranked)
        self.assertEqual(result.mode, "hybrid+rerank")
        self.assertIn("rerank", result.timings)
        # The official score, computed directly on the same pairs (query image included).
        model = Qwen3VLReranker(
            BackendConfig(backend="qwen3-vl-reranker", model_path=str(self.qwen))
        )
        with rerank.query_input(rerank.RerankQuery.build(text, png_bytes("red"))) as query:
            self.assertEqual(len(query.image_paths), 1)
            direct = model.score(query, [model_input(h.item) for h in result.hits])
        got = np.array([h.rerank for h in result.hits])
        np.testing.assert_allclose(got, direct, atol=1e-5)
        self.assertTrue(((got > 0) & (got < 1)).all())
        self.assertEqual([h.score for h in result.hits], sorted(got.tolist(), reverse=True))
        for hit in result.hits:
            self.assertEqual(hit.mode, "hybrid+rerank")
            self.assertEqual(hit.score, hit.rerank)
        # Reranking reorders the first stage's candidates (all items here: k ≤ top N).
        self.assertLessEqual(set(ids(result)), set(i.pk for i in self.items))
        self.assertEqual(len(first.hits), 5)

    def test_top_n_bounds_what_is_reranked(self) -> None:
        self.configure("qwen3-vl-reranker", self.qwen, top_n=3)
        with mock.patch("search.rerank.score_items", wraps=rerank.score_items) as scored:
            result = search(SearchRequest(text="이차방정식 근", mode="dense", k=2, rerank=True))
        self.assertEqual(len(scored.call_args.args[2]), 3)
        self.assertEqual(len(result.hits), 2)

    def test_more_like_this_reranks_with_the_items_images(self) -> None:
        self.configure("qwen3-vl-reranker", self.qwen)
        result = search(SearchRequest(item_id=self.figure.pk, mode="dense", k=3, rerank=True))
        self.assertNotIn(self.figure.pk, ids(result))
        model = rerank.get_reranker(rerank.RerankerConfig("qwen3-vl-reranker", str(self.qwen)))
        direct = model.score(model_input(self.figure), [model_input(h.item) for h in result.hits])
        np.testing.assert_allclose([h.rerank for h in result.hits], direct, atol=1e-5)

    def test_cross_encoder(self) -> None:
        self.configure("cross-encoder", self.cross)
        text = "이차방정식의 두 근의 합"
        result = search(SearchRequest(text=text, mode="bm25", k=4, rerank=True))
        self.assertEqual(result.mode, "bm25+rerank")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(self.cross))
        model = AutoModelForSequenceClassification.from_pretrained(str(self.cross)).eval()
        docs = [model_input(h.item).text for h in result.hits]
        with torch.inference_mode():
            logits = model(
                **tok([text] * len(docs), docs, padding=True, return_tensors="pt")
            ).logits
        np.testing.assert_allclose(
            [h.rerank for h in result.hits], torch.sigmoid(logits[:, 0]).numpy(), atol=1e-5
        )
        scores = [h.score for h in result.hits]
        self.assertEqual(scores, sorted(scores, reverse=True))
        with translation.override("en"), self.assertRaises(SearchError) as ctx:
            search(SearchRequest(image=png_bytes("red"), mode="dense", rerank=True))
        self.assertIn("reads text only", str(ctx.exception))

    def test_missing_or_broken_weights_are_a_clear_error(self) -> None:
        broken = self.tmp / "broken"
        broken.mkdir(exist_ok=True)
        (broken / "config.json").write_text("{not json")
        for backend, path, words in [
            ("qwen3-vl-reranker", self.tmp / "missing", "model directory not found"),
            ("qwen3-vl-reranker", broken, "unreadable"),
            ("cross-encoder", self.tmp / "missing", "No cross-encoder weights"),
            ("cross-encoder", broken, "Could not load the cross-encoder"),
        ]:
            with self.subTest(backend=backend, path=path.name):
                self.configure(backend, path)
                with translation.override("en"), self.assertRaises(SearchError) as ctx:
                    search(SearchRequest(text="근", k=3, rerank=True))
                self.assertIn(words, str(ctx.exception))

    def test_gpu_reranker_runs_on_the_worker_queue(self) -> None:
        settings = self.configure("cross-encoder", self.cross)
        settings.reranker_device = "cuda"
        settings.save()
        app.conf.task_always_eager = True
        self.addCleanup(setattr, app.conf, "task_always_eager", False)
        from search.tasks import rerank_task

        # The worker side is this process (eager); it runs the model on the CPU for the test.
        def run_here(args, kwargs, **options):
            self.assertEqual(options["queue"], "gpu")
            config = {**args[0], "device": "cpu"}
            return rerank_task.apply((config, *args[1:]), kwargs)

        with mock.patch.object(rerank_task, "apply_async", side_effect=run_here) as sent:
            result = search(SearchRequest(text="이차방정식 근", k=3, mode="bm25", rerank=True))
        self.assertEqual(sent.call_count, 1)
        self.assertTrue(all(h.rerank is not None for h in result.hits))
        # Without the worker override, the CPU-only machine cannot run a cuda model: clear error.
        with translation.override("en"), self.assertRaises(SearchError) as ctx:
            search(SearchRequest(text="이차방정식 근", k=3, mode="bm25", rerank=True))
        self.assertIn("GPU worker could not run", str(ctx.exception))

    def test_rerank_defaults_from_settings(self) -> None:
        settings = self.configure("cross-encoder", self.cross)
        settings.rerank = True
        settings.save()
        self.assertTrue(search(SearchRequest(text="이차방정식 근", k=2)).reranked)
        self.assertFalse(search(SearchRequest(text="이차방정식 근", k=2, rerank=False)).reranked)


def test_query_input_of_text_only() -> None:
    with rerank.query_input(rerank.RerankQuery.build("근의 합")) as q:
        assert q == ModelInput(text="근의 합")
