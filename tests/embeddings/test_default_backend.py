"""The offline default backend: the packaged USE-multilingual text model + perceptual hashes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from embeddings.backends.base import BackendConfig, BackendError
from embeddings.backends.default import (
    IMAGE_DIMS,
    TEXT_DIMS,
    DefaultBackend,
    image_features,
    normalise_text,
)
from embeddings.backends.registry import backend_class
from itembank.content import ModelInput, item_text

BASE = item_text(
    "한 변의 길이가 8 cm인 정사각형의 넓이는 몇 $\\mathrm{cm}^2$입니까?",
    ["$16$", "$32$", "$48$", "$64$"],
)
RETYPED = item_text(
    "한 변의 길이가 8cm 인 정사각형의 넓이는 몇 $\\mathrm{cm}^{2}$ 인가요?",
    ["16", "32", "48", "64"],
)
UNRELATED = item_text(
    "1919년에 일어난 민족 운동으로, 대한민국 임시 정부 수립의 계기가 된 것은?",
    ["3·1 운동", "6·10 만세 운동", "광주 학생 항일 운동", "물산 장려 운동"],
)
SCIENCE = item_text("광합성에 필요한 물질로 옳은 것을 모두 고른 것은?", ["물", "산소", "포도당"])


@pytest.fixture(scope="module")
def backend() -> DefaultBackend:
    return DefaultBackend(BackendConfig(backend="default"))


def triangle_figure(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A geometry figure: a triangle with a circle, labels drawn as marks."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.polygon([(0.1 * w, 0.9 * h), (0.9 * w, 0.9 * h), (0.3 * w, 0.15 * h)], outline="black")
    draw.ellipse([0.45 * w, 0.2 * h, 0.8 * w, 0.6 * h], outline="blue", width=3)
    draw.line([(0.3 * w, 0.15 * h), (0.3 * w, 0.9 * h)], fill="red", width=2)
    return img


def bar_chart() -> Image.Image:
    img = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(img)
    for i, height in enumerate([180, 60, 140, 30, 100]):
        draw.rectangle([20 + 60 * i, 230 - height, 60 + 60 * i, 230], fill="green")
    return img


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("default-figures")
    original = root / "triangle.png"
    triangle_figure().save(original)
    # The same figure as a teacher might re-upload it: resized, then saved as JPEG.
    reencoded = root / "triangle-small.jpg"
    Image.open(original).resize((224, 168), Image.Resampling.LANCZOS).save(reencoded, quality=70)
    other = root / "chart.png"
    bar_chart().save(other)
    broken = root / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a PNG")
    return {
        "original": str(original),
        "reencoded": str(reencoded),
        "other": str(other),
        "broken": str(broken),
        "missing": str(root / "missing.png"),
    }


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_registered_as_default() -> None:
    assert backend_class("default") is DefaultBackend


def test_unit_vectors_of_the_stated_dimensions(backend, figures) -> None:
    inputs = [
        ModelInput(text=BASE),
        ModelInput(text=UNRELATED, image_paths=(figures["original"],)),
        ModelInput(text=SCIENCE, image_paths=(figures["original"], figures["other"])),
    ]
    vectors = backend.embed(inputs, batch_size=2)
    assert backend.dimensions == TEXT_DIMS + IMAGE_DIMS == 682
    assert vectors.shape == (3, backend.dimensions)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # No figure: the image block is exactly zero; with one, it is not.
    assert not vectors[0, TEXT_DIMS:].any()
    assert np.abs(vectors[1, TEXT_DIMS:]).sum() > 0


def test_deterministic_and_independent_of_batching(backend, figures) -> None:
    inputs = [
        ModelInput(text=t, image_paths=p)
        for t, p in [(BASE, ()), (UNRELATED, (figures["other"],)), (SCIENCE, ()), (RETYPED, ())]
    ]
    one_by_one = np.stack([backend.embed([x])[0] for x in inputs])
    batched = backend.embed(inputs, batch_size=16)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)
    again = DefaultBackend(BackendConfig(backend="default")).embed(inputs)
    np.testing.assert_array_equal(batched, again)


def test_korean_retyped_item_is_closer_than_an_unrelated_one(backend) -> None:
    base, retyped, unrelated, science = backend.embed(
        [ModelInput(text=t) for t in (BASE, RETYPED, UNRELATED, SCIENCE)]
    )
    assert cos(base, retyped) > 0.8
    assert cos(base, retyped) > cos(base, unrelated) + 0.2
    assert cos(base, retyped) > cos(base, science) + 0.2


def test_normalisation_makes_retyped_latex_identical() -> None:
    assert normalise_text("\\(\\frac12 + x^{2}\\)") == normalise_text("$\\frac12+x^2$")
    assert normalise_text("연필 1,200원") == "연필 1200원"
    assert normalise_text("$30^\\circ$") == normalise_text("$30°$")
    # Words and numbers themselves are kept: a variant stays a different text.
    assert normalise_text("$37+25$") != normalise_text("$43+18$")


def test_items_without_figures_compare_as_their_texts(figures) -> None:
    plain = DefaultBackend(BackendConfig(backend="default"))
    text_only = DefaultBackend(BackendConfig(backend="default", options={"image_weight": 0}))
    texts = [ModelInput(text=t) for t in (BASE, RETYPED, UNRELATED)]
    a, b = plain.embed(texts), text_only.embed(texts)
    np.testing.assert_allclose(a @ a.T, b @ b.T, atol=1e-6)
    assert plain.revision != text_only.revision


def test_reencoded_figure_is_closer_than_a_different_figure(backend, figures) -> None:
    original, reencoded, other = (
        image_features(figures[k]) for k in ("original", "reencoded", "other")
    )
    assert cos(original, reencoded) > 0.8
    assert cos(original, other) < 0.5
    # In full item vectors, with the same text, the figure decides.
    items = backend.embed(
        [ModelInput(text=SCIENCE, image_paths=(figures[k],)) for k in ("original", "reencoded")]
        + [ModelInput(text=SCIENCE, image_paths=(figures["other"],))]
    )
    assert cos(items[0], items[1]) > cos(items[0], items[2]) + 0.05
    # An image-only query finds the item with the re-encoded figure first.
    query = backend.embed_query(image_paths=[figures["original"]])
    assert query.shape == (backend.dimensions,)
    assert not query[:TEXT_DIMS].any()
    assert cos(query, items[1]) > cos(query, items[2])


def test_text_and_image_query(backend, figures) -> None:
    item = backend.embed([ModelInput(text=BASE, image_paths=(figures["reencoded"],))])[0]
    both = backend.embed_query(BASE, [figures["original"]])
    text = backend.embed_query(BASE)
    assert np.isclose(np.linalg.norm(both), 1.0, atol=1e-5)
    assert cos(both, item) > cos(text, item) > 0.5
    with pytest.raises(BackendError):
        backend.embed_query("", [])


def test_empty_text_is_handled(backend, figures) -> None:
    empty, blank, with_figure = backend.embed(
        [
            ModelInput(text=""),
            ModelInput(text="   \n"),
            ModelInput(text="", image_paths=(figures["original"],)),
        ]
    )
    for vector in (empty, blank, with_figure):
        assert np.isfinite(vector).all()
        assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)
    assert not with_figure[:TEXT_DIMS].any()
    assert backend.embed([]).shape == (0, backend.dimensions)


@pytest.mark.parametrize("which", ["broken", "missing"])
def test_unreadable_image_names_the_file(backend, figures, which) -> None:
    with pytest.raises(BackendError) as caught:
        backend.embed([ModelInput(text=BASE, image_paths=(figures[which],))])
    assert Path(figures[which]).name in str(caught.value)


def test_loads_from_a_space_config() -> None:
    from embeddings.models import EmbeddingSpace

    space = EmbeddingSpace(
        name="default", backend="default", dimensions=682, query_instruction="검색: "
    )
    loaded = DefaultBackend(space.config())
    assert loaded.dimensions == 682
    assert loaded.modalities == {"text", "image"}


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(BackendError):
        DefaultBackend(BackendConfig(backend="default", dimensions=384))
    with pytest.raises(BackendError):
        DefaultBackend(BackendConfig(backend="default", options={"colour": True}))
    with pytest.raises(BackendError):
        DefaultBackend(BackendConfig(backend="default", options={"text_weight": 0}))
