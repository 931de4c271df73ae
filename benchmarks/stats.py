"""The figures every benchmark and the load test report."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """numpy.percentile (linear interpolation between order statistics); NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else math.nan
