"""Token-length distributions for prompts and outputs (integers, clipped to [min, max]).

* ``fixed``: always ``mean``;
* ``lognormal``: given mean and coefficient of variation (sigma^2 = ln(1 + cv^2));
* ``geometric``: on 1, 2, ... with the given mean;
* ``empirical``: drawn from a PMF file (``value,probability``, e.g. ServeGen's token PMFs)
  or, with ``column``, resampled from a trace's recorded lengths;
* ``trace``: the lengths recorded with each replayed trace request (handled by the
  workload builder, since they follow the arrivals).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.paths import resolve


@lru_cache(maxsize=16)
def load_pmf(path: str) -> tuple[np.ndarray, np.ndarray]:
    p = Path(path)
    if not p.is_file():
        raise InputError("PMF file not found", path=path)
    try:
        df = pd.read_csv(p)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=path) from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        raise InputError(f"cannot parse as CSV ({e})", path=path) from None
    if df.shape[1] != 2 or "probability" not in df.columns:
        raise InputError(f"expected two columns <value>,probability; found {list(df.columns)}",
                         path=path, line=1)
    vcol = [c for c in df.columns if c != "probability"][0]
    v = pd.to_numeric(df[vcol], errors="coerce")
    pr = pd.to_numeric(df["probability"], errors="coerce")
    bad = v.isna() | pr.isna() | (pr < 0) | (v < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError("non-numeric or negative value", path=path, line=i + 2)
    prob = pr.to_numpy(float)
    if prob.sum() <= 0:
        raise InputError("probabilities sum to zero", path=path)
    return v.to_numpy(np.int64), prob / prob.sum()


def sample_lengths(cfg, n: int, rng: np.random.Generator,
                   trace_column: np.ndarray | None = None) -> np.ndarray:
    """``n`` lengths from the (checked) length config ``cfg``; ``trace_column``: the recorded
    lengths a ``trace`` or column-``empirical`` distribution takes."""
    kind = str(cfg.kind)
    lo, hi = int(cfg.min), int(cfg.max)
    if kind == "fixed":
        x = np.full(n, float(cfg.mean))
    elif kind == "lognormal":
        s2 = np.log1p(cfg.cv ** 2)
        x = rng.lognormal(np.log(cfg.mean) - s2 / 2.0, np.sqrt(s2), n)
    elif kind == "geometric":
        x = rng.geometric(1.0 / cfg.mean, n).astype(float)
    elif kind == "empirical" and trace_column is not None:
        x = rng.choice(trace_column, n).astype(float)
    elif kind == "empirical":
        values, prob = load_pmf(resolve(str(cfg.path)))
        x = rng.choice(values, n, p=prob).astype(float)
    else:  # trace
        x = trace_column.astype(float)
    return np.clip(np.rint(x), lo, hi).astype(np.int32)
