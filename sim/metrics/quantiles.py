"""A percentile that ignores missing values: the one helper every table uses."""

from __future__ import annotations

import math

import numpy as np


def percentile(x, q: float) -> float:
    """The ``q``-th percentile of ``x`` without its NaNs (NaN when nothing is left)."""
    x = np.asarray(x, float)
    x = x[~np.isnan(x)]
    return float(np.percentile(x, q)) if x.size else math.nan


def percentiles(x: np.ndarray, qs) -> list[float]:
    """The ``qs``-th percentiles of ``x`` without its NaNs, as :func:`percentile` gives them
    one by one, partitioning ``x`` in place (a caller's own temporary, whose order it may
    lose): no copy of ``x`` unless it holds NaNs."""
    nan = np.isnan(x)
    if nan.any():
        x = x[~nan]
    del nan
    if not x.size:
        return [math.nan] * len(qs)
    return [float(v) for v in np.percentile(x, qs, overwrite_input=True)]
