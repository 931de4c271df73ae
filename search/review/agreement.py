"""Inter-rater agreement as plain functions on nominal labels.

- `cohen_kappa(a, b)`: two raters over the same units (scikit-learn's `cohen_kappa_score`).
- `fleiss_kappa(units)`: every unit rated by the same number m ≥ 2 of raters (who need not be the
  same people): (P̄ − P̄_e) / (1 − P̄_e). Written here: the one maintained implementation
  (statsmodels' `fleiss_kappa`) would bring statsmodels, scipy's stats and pandas for 15 lines.
- `krippendorff_alpha(units)`: nominal α (the `krippendorff` package); units may have any number
  of values, units with fewer than two are not pairable and are left out.

Every function returns None where the figure is undefined (no units, or chance agreement is
already perfect because a single label was used throughout) rather than a number that would read
as a verdict; the libraries would answer nan or raise there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import krippendorff
import numpy as np


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    if len(a) != len(b):
        raise ValueError("both raters must label the same units")
    if not a or len(set(a) | set(b)) < 2:
        return None
    # scikit-learn takes ~1 s to import; only the agreement page and report need it.
    from sklearn.metrics import cohen_kappa_score

    return float(cohen_kappa_score(list(a), list(b)))


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
    pairable = [unit for unit in units if len(unit) >= 2]
    labels = sorted({value for unit in pairable for value in unit}, key=repr)
    if len(labels) < 2:
        return None
    index = {label: i for i, label in enumerate(labels)}
    # units x labels: how often each label was given to each unit (no rater identities needed)
    counts = np.zeros((len(pairable), len(labels)), dtype=np.int64)
    for u, unit in enumerate(pairable):
        for value in unit:
            counts[u, index[value]] += 1
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def percent_agreement(units: Iterable[Sequence[Hashable]]) -> float | None:
    """The share of units (with two or more values) on which every rater gave the same label."""
    rated = [unit for unit in units if len(unit) >= 2]
    if not rated:
        return None
    return sum(1 for unit in rated if len(set(unit)) == 1) / len(rated)
