"""A percentile that ignores missing values: the one helper every table uses."""

from __future__ import annotations

import math

import numpy as np


def percentile(x, q: float) -> float:
    """The ``q``-th percentile of ``x`` without its NaNs (NaN when nothing is left)."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(np.percentile(x, q)) if x.size else math.nan
