"""Qwen3-VL-Embedding backend on a tiny random checkpoint built offline (qwen3-vl.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.images import smart_resize, to_rgb
from embeddings.backends.qwen3_vl import Qwen3VLEmbedder, instruction_text
from embeddings.backends.registry import clear_cache, load_backend
from itembank.content import ModelInput, item_text
from tests.support.checkpoints import build_tiny_qwen3_vl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# 2 shared cores: one intra-op thread is far faster than two threads fighting for them.
torch.set_num_threads(1)

TEXT = item_text("이차방정식 $x^2-5x+6=0$의 두 근의 합은?", ["$1$", "$5$", "$6$"])


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("qwen") / "ckpt")


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("img")
    rng = np.random.default_rng(0)
    paths = {}
    for name, size in (("a", (100, 70)), ("b", (300, 200)), ("c", (64, 64))):
        arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        paths[name] = str(d / f"{name}.png")
        Image.fromarray(arr).save(paths[name])
    return paths


def make(ckpt: Path, **kw) -> Qwen3VLEmbedder:
    options = kw.pop("options", {})
    return Qwen3VLEmbedder(
        BackendConfig(backend="qwen3-vl", model_path=str(ckpt), options=options, **kw)
    )


@pytest.fixture(scope="module")
def embedder(ckpt) -> Qwen3VLEmbedder:
    return make(ckpt)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_shapes_norms_finite_for_every_modality(embedder, images):
    items = [
        ModelInput(TEXT),
        ModelInput("", (images["a"],)),
        ModelInput(TEXT, (images["b"], images["c"])),
        ModelInput(""),
    ]
    vectors = embedder.embed(items)
    assert vectors.shape == (4, 64) and vectors.dtype == np.float32
    assert embedder.dimensions == 64 and embedder.modalities == {"text", "image"}
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_different_images_give_different_vectors(embedder, images):
    a, b, c, text_only, text_a = embedder.embed(
        [
            ModelInput("", (images["a"],)),
            ModelInput("", (images["b"],)),
            ModelInput("", (images["c"],)),
            ModelInput(TEXT),
            ModelInput(TEXT, (images["a"],)),
        ]
    )
    assert cos(a, b) < 0.9999 and cos(a, c) < 0.9999 and cos(b, c) < 0.9999
    assert cos(text_only, text_a) < 0.9999
    assert cos(text_a, a) < 0.9999


def test_batched_equals_one_at_a_time_in_input_order(embedder, images):
    items = [
        ModelInput("짧은 문항"),
        ModelInput(TEXT * 3, (images["a"],)),
        ModelInput("", (images["b"],)),
        ModelInput(TEXT),
        ModelInput("√2 × √8 의 값은?", (images["c"], images["a"])),
    ]
    batched = embedder.embed(items, batch_size=3)
    single = np.stack([embedder.embed([item], batch_size=1)[0] for item in items])
    np.testing.assert_allclose(batched, single, atol=1e-4)
    # a different order gives the same rows, permuted
    permuted = embedder.embed(items[::-1], batch_size=2)
    np.testing.assert_allclose(permuted[::-1], single, atol=1e-4)


def test_matryoshka_truncation_is_renormalised(ckpt, embedder, images):
    items = [ModelInput(TEXT), ModelInput(TEXT, (images["a"],))]
    full = embedder.embed(items)
    short = make(ckpt, dimensions=16).embed(items)
    assert short.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(short, axis=1), 1.0, atol=1e-5)
    expected = full[:, :16] / np.linalg.norm(full[:, :16], axis=1, keepdims=True)
    np.testing.assert_allclose(short, expected, atol=1e-5)
    with pytest.raises(BackendError, match="dimensions"):
        make(ckpt, dimensions=65)


def test_instruction_rule():
    assert instruction_text("") == "Represent the user's input."
    assert instruction_text("  Retrieve similar test items ") == "Retrieve similar test items."
    assert instruction_text("유사한 문항을 찾으시오.") == "유사한 문항을 찾으시오."
    assert instruction_text("What is similar?") == "What is similar?"


def test_chat_template_and_instruction_reach_the_tokenizer(ckpt, embedder, images):
    prepared = embedder.prepare(0, ModelInput("문항 본문", (images["a"],)), embedder.instruction)
    assert prepared.prompt == (
        "<|im_start|>system\nRepresent the user's input.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>문항 본문<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    empty = embedder.prepare(0, ModelInput(""), embedder.instruction)
    assert "<|im_start|>user\nNULL<|im_end|>" in empty.prompt
    # what the tokenizer receives decodes back to the rendered prompt
    ids = embedder.tokenizer(prepared.prompt)["input_ids"]
    assert embedder.tokenizer.decode(ids) == prepared.prompt
    # and the instruction changes the vector: it reaches the model, not just the string
    custom = make(ckpt, instruction="Retrieve Korean math items with the same solution")
    assert custom.instruction == "Retrieve Korean math items with the same solution."
    assert custom.render("x", 0, custom.instruction).startswith(
        "<|im_start|>system\nRetrieve Korean math items with the same solution.<|im_end|>"
    )
    item = [ModelInput(TEXT)]
    assert cos(custom.embed(item)[0], embedder.embed(item)[0]) < 0.9999


def test_query_instruction(ckpt, embedder):
    np.testing.assert_allclose(
        embedder.embed_query(TEXT), embedder.embed([ModelInput(TEXT)])[0], atol=1e-5
    )
    queried = make(ckpt, options={"query_instruction": "Find items similar to this query"})
    assert queried.query_instruction == "Find items similar to this query."
    assert queried.embed_query(TEXT).shape == (64,)
    assert cos(queried.embed_query(TEXT), queried.embed([ModelInput(TEXT)])[0]) < 0.9999


def test_long_text_is_cut_but_image_placeholders_never(ckpt, images):
    small = make(ckpt, options={"max_length": 300})
    item = ModelInput(TEXT * 40, (images["b"],))
    prepared = small.prepare(0, item, small.instruction)
    blocks = (prepared.images[0].width // 32) * (prepared.images[0].height // 32)
    assert prepared.length <= 300
    inputs = small.processor(
        text=[prepared.prompt], images=prepared.images, do_resize=False, return_tensors="pt"
    )
    assert int((inputs["input_ids"][0] == small.image_token_id).sum()) == blocks
    assert inputs["input_ids"].shape[1] == prepared.length
    assert prepared.prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")
    vector = small.embed([item])[0]
    assert np.isfinite(vector).all()
    # many images: each one's pixel cap is lowered so that all of them fit
    many = ModelInput("", tuple([images["b"]] * 6))
    prepared = small.prepare(0, many, small.instruction)
    assert prepared.length <= 300 and len(prepared.images) == 6


def test_smart_resize_rule():
    for h, w in [(70, 100), (1000, 3000), (5, 5), (4000, 4000), (33, 990)]:
        rh, rw = smart_resize(h, w)
        assert rh % 32 == 0 and rw % 32 == 0
        assert 4 * 32 * 32 <= rh * rw <= 1800 * 32 * 32
    assert smart_resize(64, 96) == (64, 96)
    assert smart_resize(4000, 4000) == (1344, 1344)  # floor(4000/sqrt(4000²/1800·32²)/32)·32
    assert smart_resize(5, 5) == (64, 64)
    with pytest.raises(ValueError, match="aspect"):
        smart_resize(10, 3000)


def test_transparent_images_become_white_rgb():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    rgb = to_rgb(rgba)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((1, 1)) == (255, 255, 255) and rgb.getpixel((0, 0)) == (0, 0, 255)
    assert to_rgb(Image.new("L", (2, 2), 0)).getpixel((0, 0)) == (0, 0, 0)


def test_undecodable_image_is_named(embedder, tmp_path):
    bad = tmp_path / "그림1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(BackendError, match=r"그림1\.png"):
        embedder.embed([ModelInput("문항", (str(bad),))])
    with pytest.raises(BackendError, match=r"not found.*missing\.png"):
        embedder.embed([ModelInput("문항", (str(tmp_path / "missing.png"),))])


def test_missing_or_broken_model_dirs_give_clear_errors(ckpt, tmp_path):
    with pytest.raises(BackendError, match="model directory not found"):
        make(tmp_path / "nowhere")
    with pytest.raises(BackendError, match=r"no config\.json"):
        make(tmp_path)
    no_weights = tmp_path / "no-weights"
    shutil.copytree(ckpt, no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(BackendError, match="no model weights"):
        make(no_weights)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(ckpt, corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(BackendError, match="could not load the model weights"):
        make(corrupt)
    bad_json = tmp_path / "bad-json"
    shutil.copytree(ckpt, bad_json)
    (bad_json / "config.json").write_text("{not json")
    with pytest.raises(BackendError, match=r"config.json .* unreadable"):
        make(bad_json)
    other = tmp_path / "other"
    shutil.copytree(ckpt, other)
    (other / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(BackendError, match="'bert' model"):
        make(other)


def test_weights_that_do_not_fit_are_refused(ckpt, tmp_path):
    from safetensors.torch import load_file, save_file

    partial = tmp_path / "partial"
    shutil.copytree(ckpt, partial)
    tensors = load_file(str(partial / "model.safetensors"))
    dropped = {k: v for k, v in tensors.items() if "layers.1." not in k}
    save_file(dropped, str(partial / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(BackendError, match="missing"):
        make(partial)


def test_hf_cache_layout_and_bare_model_layout_load_the_same_weights(ckpt, embedder, tmp_path):
    repo = tmp_path / "hub" / "models--Qwen--Qwen3-VL-Embedding-2B"
    snapshot = repo / "snapshots" / "0123abcd"
    shutil.copytree(ckpt, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    item = [ModelInput(TEXT)]
    for path in (repo, tmp_path / "hub"):
        loaded = make(path)
        assert loaded.model_dir == snapshot
        assert loaded.revision == embedder.revision
        np.testing.assert_allclose(loaded.embed(item), embedder.embed(item), atol=1e-6)
    bare = build_tiny_qwen3_vl(tmp_path / "bare", bare=True)
    np.testing.assert_allclose(make(bare).embed(item), embedder.embed(item), atol=1e-6)


def test_revision_identifies_weights_and_options(ckpt, embedder, tmp_path):
    assert make(ckpt).revision == embedder.revision
    assert make(ckpt, dimensions=32).revision != embedder.revision
    other = build_tiny_qwen3_vl(tmp_path / "seed1", seed=1)
    assert make(other).revision != embedder.revision


def test_registry_and_device_dtype_errors(ckpt):
    clear_cache()
    config = BackendConfig(backend="qwen3-vl", model_path=str(ckpt))
    backend = load_backend(config)
    assert isinstance(backend, Qwen3VLEmbedder) and load_backend(config) is backend
    clear_cache()
    with pytest.raises(BackendError, match="dtype"):
        make(ckpt, dtype="int3")
    if not torch.cuda.is_available():
        with pytest.raises(BackendError, match="CUDA"):
            make(ckpt, device="cuda")


def test_bfloat16_runs_close_to_float32(ckpt, embedder, images):
    items = [ModelInput(TEXT, (images["a"],)), ModelInput("짧은 문항")]
    half = make(ckpt, dtype="bfloat16").embed(items)
    assert half.dtype == np.float32
    assert (np.sum(half * embedder.embed(items), axis=1) > 0.95).all()
