"""Generic local text / image / concat backends on tiny random models built offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.local import ConcatEncoder, ImageEncoder, TextEncoder
from embeddings.backends.registry import clear_cache, load_backend
from itembank.content import ModelInput, item_text
from tests.support.checkpoints import build_tiny_siglip, build_tiny_text_encoder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# 2 shared cores: one intra-op thread is far faster than two threads fighting for them.
torch.set_num_threads(1)

TEXTS = [
    item_text("이차방정식 $x^2-5x+6=0$의 두 근의 합은?", ["$1$", "$5$"]),
    "함수 $f(x)=\\frac{1}{x-1}$의 정의역을 구하시오.",
    "광합성은 식물이 빛 에너지를 이용하는 과정이다.",
]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("local")
    rng = np.random.default_rng(0)
    figs = []
    for i, size in enumerate([(40, 30), (64, 64), (90, 20)]):
        path = root / f"fig{i}.png"
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
        figs.append(path)
    return {
        "cls": build_tiny_text_encoder(root / "text-cls", pooling="cls"),
        "mean": build_tiny_text_encoder(root / "text-mean", pooling="mean"),
        "bare": build_tiny_text_encoder(root / "text-bare", pooling=None),
        "siglip": build_tiny_siglip(root / "siglip"),
        "figs": figs,
    }


def text_encoder(path: Path, **options) -> TextEncoder:
    return TextEncoder(BackendConfig(backend="local-text", model_path=str(path), options=options))


def image_encoder(path: Path, **kw) -> ImageEncoder:
    return ImageEncoder(BackendConfig(backend="local-image", model_path=str(path), **kw))


def reference_pool(path: Path, texts: list[str], pooling: str) -> np.ndarray:
    """The pooling computed independently from the HF model, for comparison."""
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    rows = []
    for text in texts:
        enc = tok(text, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state[0]
        v = hidden[0] if pooling == "cls" else hidden.mean(0)
        rows.append((v / v.norm()).numpy())
    return np.stack(rows)


def test_text_encoder_pooling_from_sentence_transformers_config(dirs):
    for pooling in ("cls", "mean"):
        encoder = text_encoder(dirs[pooling])
        assert encoder.pooling == pooling and encoder.dimensions == 32
        vectors = encoder.embed([ModelInput(t) for t in TEXTS], batch_size=2)
        assert vectors.shape == (3, 32) and np.isfinite(vectors).all()
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        # batched with padding == one at a time, computed by hand
        np.testing.assert_allclose(
            vectors, reference_pool(dirs[pooling], TEXTS, pooling), atol=1e-5
        )
    assert text_encoder(dirs["bare"]).pooling == "mean"
    assert text_encoder(dirs["bare"], pooling="cls").pooling == "cls"
    with pytest.raises(BackendError, match="pooling"):
        text_encoder(dirs["bare"], pooling="max")


def test_text_encoder_prefixes_truncation_and_errors(dirs, tmp_path):
    plain = text_encoder(dirs["mean"])
    prefixed = text_encoder(dirs["mean"], query_prefix="query: ")
    assert float(prefixed.embed_query(TEXTS[0]) @ plain.embed_query(TEXTS[0])) < 0.99999
    np.testing.assert_allclose(
        plain.embed_query(TEXTS[0]), plain.embed([ModelInput(TEXTS[0])])[0], atol=1e-6
    )
    short = TextEncoder(
        BackendConfig(backend="local-text", model_path=str(dirs["mean"]), dimensions=8)
    )
    v = short.embed([ModelInput(TEXTS[1])])[0]
    full = plain.embed([ModelInput(TEXTS[1])])[0]
    np.testing.assert_allclose(v, full[:8] / np.linalg.norm(full[:8]), atol=1e-5)
    with pytest.raises(BackendError, match="model directory not found"):
        text_encoder(tmp_path / "missing")
    broken = tmp_path / "broken"
    shutil.copytree(dirs["mean"], broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(BackendError, match="no model weights"):
        text_encoder(broken)


def test_image_encoder_matches_siglip_and_handles_missing_images(dirs, tmp_path):
    encoder = image_encoder(dirs["siglip"])
    assert encoder.dimensions == 32 and encoder.modalities == {"image"}
    figs = [str(p) for p in dirs["figs"]]
    vectors = encoder.embed(
        [
            ModelInput("", (figs[0],)),
            ModelInput("x", (figs[1],)),
            ModelInput("no figure"),
            ModelInput("", (figs[0], figs[2])),
        ],
        batch_size=2,
    )
    assert vectors.shape == (4, 32) and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) < 0.9999
    np.testing.assert_allclose(vectors[2], encoder.blank, atol=1e-6)  # the white-image fallback

    # our preprocessing + get_image_features equals the reference computed by hand
    from transformers import SiglipModel

    model = SiglipModel.from_pretrained(str(dirs["siglip"])).eval()
    img = Image.open(figs[0]).convert("RGB").resize((32, 32), Image.Resampling.BICUBIC)
    arr = (np.asarray(img, np.float32) / 255 - 0.5) / 0.5
    with torch.no_grad():
        feats = model.get_image_features(
            pixel_values=torch.from_numpy(arr.transpose(2, 0, 1))[None]
        )
    feats = feats if isinstance(feats, torch.Tensor) else feats.pooler_output
    ref = feats[0].numpy() / np.linalg.norm(feats[0].numpy())
    np.testing.assert_allclose(vectors[0], ref, atol=1e-5)
    # two images: the mean of their unit vectors, re-normalised
    a, c = encoder.embed([ModelInput("", (figs[0],)), ModelInput("", (figs[2],))])
    np.testing.assert_allclose(vectors[3], (a + c) / np.linalg.norm(a + c), atol=1e-5)

    bad = tmp_path / "bad.png"
    bad.write_bytes(b"GIF89a broken")
    with pytest.raises(BackendError, match=r"bad\.png"):
        encoder.embed([ModelInput("", (str(bad),))])


def test_image_encoder_needs_an_image_model(dirs):
    with pytest.raises(BackendError):
        image_encoder(dirs["mean"])


def test_concat_is_text_then_image_normalised(dirs):
    figs = [str(p) for p in dirs["figs"]]
    options = {
        "text": {"model_path": str(dirs["cls"])},
        "image": {"model_path": str(dirs["siglip"])},
    }
    clear_cache()
    concat = load_backend(BackendConfig(backend="concat", options=options))
    assert isinstance(concat, ConcatEncoder)
    assert concat.dimensions == 64 and concat.modalities == {"text", "image"}
    items = [ModelInput(TEXTS[0], (figs[0],)), ModelInput(TEXTS[1])]
    vectors = concat.embed(items)
    text_part = text_encoder(dirs["cls"]).embed(items)
    image_part = image_encoder(dirs["siglip"]).embed(items)
    expected = np.hstack([text_part, image_part]) / np.sqrt(2)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    query = concat.embed_query(TEXTS[0], [figs[0]])
    np.testing.assert_allclose(query, vectors[0], atol=1e-5)
    assert len(concat.revision) == 16
    clear_cache()
    with pytest.raises(BackendError, match="options\\['image'\\]"):
        ConcatEncoder(BackendConfig(backend="concat", options={"text": options["text"]}))
