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
from sim.workload.traces import MAX_TOKENS

PMF_SUM_TOLERANCE = 1e-3  # rounding of the published values, not a different distribution


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
    v = pd.to_numeric(df[vcol], errors="coerce").astype(float)
    pr = pd.to_numeric(df["probability"], errors="coerce").astype(float)
    bad = (~np.isfinite(v) | ~np.isfinite(pr) | (pr < 0) | (v < 0) | (v != np.floor(v))
           | (v > MAX_TOKENS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{vcol} must be an integer in [0, {MAX_TOKENS}] and probability a "
                         f"finite number >= 0", path=path, line=i + 2)
    prob = pr.to_numpy(float)
    total = float(prob.sum())
    if abs(total - 1.0) > PMF_SUM_TOLERANCE:
        raise InputError(f"probabilities sum to {total:.6g}, not 1 (within {PMF_SUM_TOLERANCE:g})",
                         path=path)
    # the rounding left in a published PMF (ServeGen's sum to 1 + 2e-7) is spread evenly
    return v.to_numpy().astype(np.int64), prob / total


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
