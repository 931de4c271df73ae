"""Exact matching: the normalised text of an item and perceptual hashes of its figures.

Two items are an exact match on text when their normalised texts are equal and their figures
match one for one; on figures when their figures match one for one but the text differs (the
same graph asked about twice: a likely enemy pair).

Normalisation, in order (what re-typing an item changes without changing the question):
1. Unicode NFKC (full-width letters and digits become ASCII), lower case.
2. LaTeX spelling: the math delimiters `$`, `\\(`, `\\)`, `\\[`, `\\]` go; spacing commands
   (`\\,` `\\;` `\\:` `\\!` `\\quad` `\\qquad` `~` `\\ `) and `\\left`/`\\right` go; `\\dfrac`
   and `\\tfrac` become `\\frac`; a single-character group after `^` or `_` loses its braces
   (`x^{2}` = `x^2`).
3. A thousands comma goes (`1,000` = `1000`); any other point or comma between two digits is
   kept (as one mark): `1.5` is not `15`. Otherwise
   all whitespace and sentence punctuation (Unicode categories Po, Pi, Pf: `. , ? ! ; : ' "`
   `·` …) go. Brackets, dashes, math symbols and `\\ % & * / # @` stay: they change what a
   formula means.
4. Choices are compared as a set: a re-typed item with its choices in another order is the same
   item.
Figures match when their files are identical (SHA-256) or their 64-bit perceptual hashes
(`imagehash.phash`) differ in at most `PHASH_DISTANCE` bits: re-encoding as JPEG or resizing
keeps a figure within that bound. Blank or single-colour figures (a hash with almost no bits
set) match only when identical.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import imagehash
from PIL import Image

PHASH_DISTANCE = 6

LATEX_DELIMITERS = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]")
LATEX_SPACING = re.compile(r"\\(?:,|;|:|!|quad\b|qquad\b| )|~|\\left\b|\\right\b")
LATEX_FRAC = re.compile(r"\\[dt]frac\b")
SINGLE_GROUP = re.compile(r"([\^_])\{\s*(\\?[^{}\s\\]|\\[a-zA-Z]+)\s*\}")
DROPPED_CATEGORIES = {"Po", "Pi", "Pf"}
KEPT = set("\\%&*/#@")  # punctuation by category, but LaTeX or math
# A thousands comma goes (1,000 = 1000); any other point or comma between digits is part of a
# number (1.5 is not 15) and is kept as one mark.
THOUSANDS_SEPARATOR = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
NUMBER_SEPARATOR = re.compile(r"(?<=\d)[.,](?=\d)")
DECIMAL_MARK = "\u2396"  # ⎖, a symbol (category So), so the filter below keeps it


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = LATEX_DELIMITERS.sub(" ", text)
    text = LATEX_SPACING.sub(" ", text)
    text = LATEX_FRAC.sub(r"\\frac", text)
    text = SINGLE_GROUP.sub(r"\1\2", text)
    text = THOUSANDS_SEPARATOR.sub("", text)
    text = NUMBER_SEPARATOR.sub(DECIMAL_MARK, text)
    return "".join(
        ch
        for ch in text
        if not ch.isspace() and (ch in KEPT or unicodedata.category(ch) not in DROPPED_CATEGORIES)
    )


def text_key(stem: str, choices: Sequence[str]) -> str:
    """A hash equal for two items exactly when their normalised stems are equal and their
    normalised choices are the same set (in any order); "" when nothing is left of the text
    (such items are matched by their figures only)."""
    parts = [normalise(stem), *sorted(normalise(c) for c in choices)]
    if not any(parts):
        return ""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def image_hash(path: str) -> str:
    """The figure's 64-bit perceptual hash as 16 hex digits."""
    with Image.open(path) as img:
        img.load()
        return str(imagehash.phash(img.convert("RGB")))


def hash_distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def degenerate(phash: str) -> bool:
    """A hash with (almost) no structure: blank or single-colour figures all hash alike, so
    such figures match only when their files are identical."""
    bits = int(phash, 16).bit_count()
    return bits < 4 or bits > 60


def figure_matches(x: Sequence[str], y: Sequence[str], bound: int = PHASH_DISTANCE) -> bool:
    """`x` and `y` are (sha256, phash) of two figures."""
    if x[0] == y[0]:
        return True
    if degenerate(x[1]) or degenerate(y[1]):
        return False
    return hash_distance(x[1], y[1]) <= bound


def figures_match(a: Sequence, b: Sequence, bound: int = PHASH_DISTANCE) -> bool:
    """Both items have figures, as many, and each matches the other's in the same place."""
    if not a or len(a) != len(b):
        return False
    return all(figure_matches(x, y, bound) for x, y in zip(a, b, strict=True))


def band_keys(phash: str, bound: int = PHASH_DISTANCE) -> list[tuple[int, int]]:
    """Split the 64 bits into bound + 1 bands: two hashes within `bound` bits of each other
    agree on at least one band (pigeonhole), so bucketing by band finds every near match."""
    value = int(phash, 16)
    bands = bound + 1
    width = -(-64 // bands)
    return [(i, (value >> (i * width)) & ((1 << width) - 1)) for i in range(bands)]


def bucket_keys(figure: Sequence[str], bound: int = PHASH_DISTANCE) -> list:
    """Buckets a figure (sha256, phash) goes in: every figure it can match shares one."""
    keys: list = [("sha", figure[0])]
    if not degenerate(figure[1]):
        keys += band_keys(figure[1], bound)
    return keys
