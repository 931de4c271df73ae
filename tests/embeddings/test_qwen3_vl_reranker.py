"""Qwen3-VL-Reranker on a tiny random checkpoint with `yes`/`no` LM-head rows."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.qwen3_vl_reranker import SYSTEM_PROMPT, Qwen3VLReranker
from itembank.content import ModelInput
from tests.support.checkpoints import build_tiny_qwen3_vl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# 2 shared cores: one intra-op thread is far faster than two threads fighting for them.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("rr") / "ckpt", reranker=True)


@pytest.fixture(scope="module")
def reranker(ckpt) -> Qwen3VLReranker:
    return Qwen3VLReranker(BackendConfig(backend="qwen3-vl-reranker", model_path=str(ckpt)))


@pytest.fixture(scope="module")
def figure(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("fig") / "fig.png"
    arr = np.random.default_rng(1).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return str(path)


def docs(figure: str) -> list[ModelInput]:
    return [
        ModelInput("이차방정식 $x^2-5x+6=0$의 두 근의 합은?"),
        ModelInput("", (figure,)),
        ModelInput("그림의 삼각형에서 변 BC의 길이는? ① 1 ② 2", (figure,)),
        ModelInput("짧은 문항"),
    ]


def test_prompt_follows_the_official_layout(reranker, figure):
    conversation, images = reranker.conversation(
        ModelInput("근의 합"), ModelInput("삼각형", (figure,))
    )
    prompt = reranker.processor.apply_chat_template(
        conversation, add_generation_prompt=True, tokenize=False
    )
    assert prompt == (
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n"
        "<Instruct>: Given a search query, retrieve relevant candidates that answer the query."
        "<Query>:근의 합\n<Document>:<|vision_start|><|image_pad|><|vision_end|>삼각형"
        "<|im_end|>\n<|im_start|>assistant\n"
    )
    assert len(images) == 1
    empty, _ = reranker.conversation(ModelInput(""), ModelInput("x"))
    assert {"type": "text", "text": "NULL"} in empty[1]["content"]


def test_score_equals_sigmoid_of_the_yes_no_logit_difference(ckpt, reranker, figure):
    query = ModelInput("삼각형 ABC의 넓이", (figure,))
    documents = docs(figure)
    scores = reranker.score(query, documents, batch_size=4)
    assert scores.shape == (4,) and ((scores > 0) & (scores < 1)).all()

    from transformers import Qwen3VLForConditionalGeneration

    lm = Qwen3VLForConditionalGeneration.from_pretrained(str(ckpt)).eval()
    vocab = reranker.processor.tokenizer.get_vocab()
    inputs = reranker.inputs(query, documents)
    assert (inputs["attention_mask"][:, -1] == 1).all()  # left padding
    with torch.no_grad():
        logits = lm(**inputs).logits[:, -1]
    expected = torch.sigmoid(logits[:, vocab["yes"]] - logits[:, vocab["no"]]).numpy()
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert np.ptp(scores) > 0  # the documents are told apart


def test_batched_scores_equal_single_scores(reranker, figure):
    query = ModelInput("근의 합을 구하시오")
    batched = reranker.score(query, docs(figure), batch_size=3)
    single = np.array([reranker.score(query, [d], batch_size=1)[0] for d in docs(figure)])
    np.testing.assert_allclose(batched, single, atol=1e-4)


def test_instruction_changes_the_score(reranker, figure):
    query, documents = ModelInput("근의 합"), docs(figure)[:2]
    other = reranker.score(query, documents, instruction="Find items with the same figure.")
    assert not np.allclose(other, reranker.score(query, documents), atol=1e-6)


def test_missing_weights_and_too_long_pairs(ckpt, tmp_path, reranker):
    with pytest.raises(BackendError, match="model directory not found"):
        Qwen3VLReranker(BackendConfig(backend="r", model_path=str(tmp_path / "none")))
    empty = tmp_path / "empty"
    shutil.copytree(ckpt, empty)
    (empty / "model.safetensors").unlink()
    with pytest.raises(BackendError, match="no model weights"):
        Qwen3VLReranker(BackendConfig(backend="r", model_path=str(empty)))
    short = Qwen3VLReranker(
        BackendConfig(backend="r", model_path=str(ckpt), options={"max_length": 40})
    )
    with pytest.raises(BackendError, match="max_length=40"):
        short.score(ModelInput("근의 합 " * 20), [ModelInput("문항")])
