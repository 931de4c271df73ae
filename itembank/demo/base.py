"""Shared pieces of the demo generator: the item draft, templates and small helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from random import Random
from typing import Any

CIRCLED = "①②③④⑤"


@dataclass(frozen=True)
class FigureSpec:
    """A figure to draw: the drawing function's name in `figures.DRAWERS` and its parameters."""

    kind: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Draft:
    """One item before it gets an external ID, a source and its figure file."""

    subject: str
    school_level: str
    grade: int
    unit: str
    achievement_standard: str
    stem: str
    item_type: str = "multiple_choice"
    choices: tuple[str, ...] = ()
    answer: str = ""
    explanation: str = ""
    difficulty: str = "medium"
    tags: tuple[str, ...] = ()
    figure: FigureSpec | None = None

    def with_changes(self, **changes: Any) -> Draft:
        return replace(self, **changes)


Build = Callable[[Random, str], Draft]


@dataclass(frozen=True)
class Template:
    """A parametrised item. Each topic is a separate "slot": items from one slot with other
    parameters are variants of each other, items from different slots are unrelated."""

    name: str
    subject: str
    build: Build
    topics: tuple[str, ...] = ("",)
    weight: float = 1.0
    tags: tuple[str, ...] = field(default=())


def multiple_choice(
    rng: Random, correct: str, distractors: Sequence[str], *, keep_order: bool = False
) -> tuple[tuple[str, ...], str]:
    """Five choices with the correct one at a random place; returns (choices, answer "1"–"5")."""
    options: list[str] = []
    for option in distractors:
        if option != correct and option not in options:
            options.append(option)
    if len(options) < 4:
        raise ValueError(f"need four distinct distractors for {correct!r}, got {options!r}")
    options = options[:4]
    if keep_order:
        ordered = sorted([correct, *options], key=sort_key)
        return tuple(ordered), str(ordered.index(correct) + 1)
    position = rng.randrange(5)
    options.insert(position, correct)
    return tuple(options), str(position + 1)


# \frac{3}{4} (or \dfrac, -\frac) as 3/4, so numeric choices sort by value.
FRACTION = re.compile(r"\\[dt]?frac\{(-?\d+)\}\{(\d+)\}")


def sort_key(text: str) -> tuple[int, float, str]:
    """Numeric choices are listed in increasing order, as printed tests do."""
    bare = FRACTION.sub(r"\1/\2", text.strip("$ ")).replace(" ", "")
    try:
        return (0, float(Fraction(bare)), text)
    except (ValueError, ZeroDivisionError):
        return (1, 0.0, text)


def numeric_choices(
    rng: Random, correct: int, *, spread: int = 6, positive: bool = False
) -> tuple[tuple[str, ...], str]:
    """Five integer choices in increasing order around the correct value, wrapped in $…$."""
    candidates = [correct + d for d in range(-spread, spread + 1) if d]
    if positive:
        candidates = [c for c in candidates if c > 0]
    rng.shuffle(candidates)
    return multiple_choice(rng, f"${correct}$", [f"${c}$" for c in candidates[:4]], keep_order=True)


def frac(value: Fraction) -> str:
    """LaTeX for a fraction (without the dollar signs)."""
    if value.denominator == 1:
        return str(value.numerator)
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def signed(value: int, *, first: bool = False) -> str:
    """`+ 3` / `- 3` for writing polynomials; `first` drops a leading plus."""
    if first:
        return str(value)
    return f"+ {value}" if value >= 0 else f"- {-value}"


def poly(coeffs: Sequence[int], var: str = "x") -> str:
    """LaTeX for a polynomial from the highest power down, e.g. [1, -3, 2] → x^2 - 3x + 2."""
    degree = len(coeffs) - 1
    parts: list[str] = []
    for i, c in enumerate(coeffs):
        power = degree - i
        if c == 0:
            continue
        body = var if power == 1 else f"{var}^{power}" if power > 1 else ""
        magnitude = abs(c)
        coef = "" if magnitude == 1 and body else str(magnitude)
        term = f"{coef}{body}"
        if not parts:
            parts.append(f"-{term}" if c < 0 else term)
        else:
            parts.append(f"{'-' if c < 0 else '+'} {term}")
    return " ".join(parts) or "0"


def pick(rng: Random, options: Sequence[Any], k: int) -> list[Any]:
    return rng.sample(list(options), k)
