"""Cohen's κ, Fleiss' κ and Krippendorff's α against hand-computed examples and the
independent `krippendorff` package."""

from __future__ import annotations

import math
import random

import krippendorff
import numpy as np
import pytest

from search.review.agreement import (
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)


def test_cohen_kappa_by_hand() -> None:
    # 10 units; raters agree on 7. A: 5 yes 5 no; B: 6 yes 4 no.
    a = ["y", "y", "y", "y", "y", "n", "n", "n", "n", "n"]
    b = ["y", "y", "y", "y", "n", "y", "y", "n", "n", "n"]
    # y/y x4, y/n x1, n/y x2, n/n x3: 7 of 10 agree
    p_o = 0.7
    p_e = 0.5 * 0.6 + 0.5 * 0.4  # 0.5
    assert cohen_kappa(a, b) == pytest.approx((p_o - p_e) / (1 - p_e))  # 0.4


def test_cohen_kappa_wikipedia_example() -> None:
    # Wikipedia: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> kappa 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_kappa_undefined_and_perfect() -> None:
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement is already 1
    assert cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        cohen_kappa(["a"], ["a", "b"])
    # each rater used one label, not the same one: no agreement beyond chance, not undefined
    assert cohen_kappa(["a", "a"], ["b", "b"]) == pytest.approx(0.0)
    assert cohen_kappa(("y", "n", "y"), ("y", "n", "n")) == pytest.approx(0.4)


def test_fleiss_kappa_wikipedia_example() -> None:
    # The worked example of Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories,
    # kappa = 0.210.
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    units = [[cat for cat, n in enumerate(row) for _ in range(n)] for row in table]
    assert fleiss_kappa(units) == pytest.approx(0.2099, abs=1e-4)


def test_fleiss_kappa_needs_equal_raters() -> None:
    assert fleiss_kappa([]) is None
    with pytest.raises(ValueError):
        fleiss_kappa([["a", "b"], ["a", "b", "c"]])
    with pytest.raises(ValueError):
        fleiss_kappa([["a"], ["b"]])
    assert fleiss_kappa([["a", "a"], ["a", "a"]]) is None


def test_fleiss_equals_scotts_pi_for_two_raters() -> None:
    # For two raters Fleiss' kappa is Scott's pi: p_e from the pooled distribution.
    units = [["y", "y"], ["y", "n"], ["n", "n"], ["n", "n"]]
    p_o = 3 / 4
    pooled = {"y": 3 / 8, "n": 5 / 8}
    p_e = sum(v * v for v in pooled.values())
    assert fleiss_kappa(units) == pytest.approx((p_o - p_e) / (1 - p_e))


def test_krippendorff_alpha_by_hand() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example with
    # missing values: alpha = 0.743.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[row[u] for row in data if row[u] is not None] for u in range(12)]
    assert krippendorff_alpha(units) == pytest.approx(0.743, abs=1e-3)


def _to_matrix(units: list[list], raters: int, labels: list[str]) -> np.ndarray:
    matrix = np.full((raters, len(units)), np.nan)
    for u, unit in enumerate(units):
        for r, value in enumerate(unit):
            matrix[r, u] = labels.index(value)
    return matrix


def test_krippendorff_alpha_matches_the_krippendorff_package() -> None:
    rng = random.Random(7)
    labels = ["duplicate", "similar", "not_similar"]
    for _trial in range(20):
        units = []
        for _u in range(rng.randint(5, 40)):
            truth = rng.choice(labels)
            m = rng.randint(1, 4)
            units.append([truth if rng.random() < 0.7 else rng.choice(labels) for _ in range(m)])
        ours = krippendorff_alpha(units)
        theirs = krippendorff.alpha(
            reliability_data=_to_matrix(units, 4, labels), level_of_measurement="nominal"
        )
        if ours is None:
            assert math.isnan(theirs) or theirs == pytest.approx(1.0) or theirs == 0
        else:
            assert ours == pytest.approx(theirs, abs=1e-9)


def test_krippendorff_alpha_edge_cases() -> None:
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha([["a"], ["b"]]) is None  # nothing pairable
    assert (
        krippendorff_alpha([["a", "a"], ["a", "a"]]) is None
    )  # one label: no expected disagreement
    assert krippendorff_alpha([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)


def test_percent_agreement() -> None:
    assert percent_agreement([["a", "a"], ["a", "b"], ["c"]]) == pytest.approx(0.5)
    assert percent_agreement([["a"]]) is None
