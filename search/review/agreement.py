"""Inter-rater agreement as plain functions on nominal labels.

- `cohen_kappa(a, b)`: two raters over the same units, (p_o − p_e) / (1 − p_e) with the chance
  agreement p_e from each rater's own label distribution.
- `fleiss_kappa(units)`: every unit rated by the same number m ≥ 2 of raters (who need not be the
  same people): (P̄ − P̄_e) / (1 − P̄_e).
- `krippendorff_alpha(units)`: nominal α = 1 − D_o / D_e from the coincidence matrix; units may
  have any number of values, units with fewer than two are not pairable and are left out.

Every function returns None where the figure is undefined (no units, or chance agreement is
already perfect because a single label was used throughout) rather than a number that would read
as a verdict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    if len(a) != len(b):
        raise ValueError("both raters must label the same units")
    n = len(a)
    if n == 0:
        return None
    observed = sum(1 for x, y in zip(a, b, strict=True) if x == y) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def fleiss_kappa(units: Sequence[Sequence[Hashable]]) -> float | None:
    if not units:
        return None
    raters = len(units[0])
    if raters < 2 or any(len(unit) != raters for unit in units):
        raise ValueError("every unit needs the same number of raters, at least two")
    totals: Counter = Counter()
    p_units = []
    for unit in units:
        counts = Counter(unit)
        totals.update(counts)
        p_units.append((sum(c * c for c in counts.values()) - raters) / (raters * (raters - 1)))
    p_bar = sum(p_units) / len(units)
    all_ratings = len(units) * raters
    p_e = sum((c / all_ratings) ** 2 for c in totals.values())
    if p_e >= 1.0:
        return None
    return (p_bar - p_e) / (1.0 - p_e)


def krippendorff_alpha(units: Iterable[Sequence[Hashable]]) -> float | None:
    coincidences: Counter = Counter()
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        counts = Counter(unit)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                coincidences[(c, k)] += pairs / (m - 1)
    n_label: Counter = Counter()
    for (c, _k), value in coincidences.items():
        n_label[c] += value
    n = sum(n_label.values())
    if n <= 1:
        return None
    observed = sum(v for (c, k), v in coincidences.items() if c != k)
    expected = sum(n_label[c] * n_label[k] for c in n_label for k in n_label if c != k)
    if expected == 0:
        return None
    return 1.0 - (n - 1) * observed / expected


def percent_agreement(units: Iterable[Sequence[Hashable]]) -> float | None:
    """The share of units (with two or more values) on which every rater gave the same label."""
    rated = [unit for unit in units if len(unit) >= 2]
    if not rated:
        return None
    return sum(1 for unit in rated if len(set(unit)) == 1) / len(rated)
