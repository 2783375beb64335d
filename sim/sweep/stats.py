"""Independent replications: the mean of a per-replication statistic and its 95 % interval.

Each replication (one seed) yields one value of, say, p99 TTFT; the values are independent
and identically distributed, so ``mean +- t(0.975, n-1) * s / sqrt(n)`` (``s`` the sample
standard deviation) is the usual Student-t 95 % confidence interval of their expectation.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

KEY_COLUMNS = ("setup", "tenant", "model")
# columns that describe the run rather than vary with the seed
_FIXED = {"slo_ttft_s"}
_CI_PATTERN = re.compile(r"(_s$|cost|slo_attainment|busy_fraction|throughput|gpu_hours)")


def mean_ci95(values) -> tuple[float, float]:
    """(mean, half-width of the 95 % Student-t interval); NaNs are dropped; the half-width is
    NaN with fewer than two values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan")
    from scipy import (
        stats,  # heavy (about 0.8 s): loaded when an interval is first needed
    )

    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, half


def ci_columns(columns) -> list[str]:
    """The summary columns that get a ``_ci95`` companion: times, costs, attainment, utilisation."""
    return [c for c in columns if c not in _FIXED and _CI_PATTERN.search(c)]


def combine(per_seed: pd.DataFrame, keys=KEY_COLUMNS) -> pd.DataFrame:
    """Collapse per-seed summary rows (a ``seed`` column plus the summary columns) into one row
    per row of the job's summary: every numeric column's mean, ``<col>_ci95`` after each
    time/cost column, and the number of replications; the other columns (``window``, a
    study's ``policy``) as the rows have them. A row's replications are the rows of the other
    seeds with the same setup, tenant, model and other text columns, in the same place among
    such rows (a job's summary has the same rows in the same order on every seed). Until
    December 2026 rows were matched by setup, tenant and model alone, so a study with several
    rows a setup, the keep-alive policies or the break-even loads, averaged them together,
    and the text columns were dropped. Row order follows the first seed's rows."""
    keys = [k for k in keys if k in per_seed.columns]
    if "seed" not in per_seed.columns:
        per_seed = per_seed.assign(seed=0)
    numeric = [c for c in per_seed.columns
               if c not in keys and c != "seed" and pd.api.types.is_numeric_dtype(per_seed[c])]
    labels = [c for c in per_seed.columns if c not in keys and c != "seed" and c not in numeric]
    with_ci = set(ci_columns(numeric))
    described = keys + labels
    place = per_seed.groupby(["seed"] + described, sort=False, dropna=False).cumcount()
    rows = []
    for _, g in per_seed.assign(_place=place).groupby(described + ["_place"], sort=False,
                                                       dropna=False):
        first = g.iloc[0]
        row = {k: first[k] for k in keys}
        row["replications"] = int(g["seed"].nunique())
        for c in numeric:
            m, h = mean_ci95(g[c].to_numpy())
            row[c] = m
            if c in with_ci:
                row[f"{c}_ci95"] = h
        for c in labels:
            row[c] = first[c]
        rows.append(row)
    return pd.DataFrame(rows)
