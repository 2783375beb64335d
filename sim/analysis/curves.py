"""Curve maths for sweeps and break-even studies: crossings and interpolation.

Cost curves sampled at a few loads are joined by straight lines in log-log space where
every value is positive (exact for a fixed bill spread over a growing number of tokens,
cost per token ~ 1/load), else linearly.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from sim.records import ALL

REFERENCE = "per-token list price"


def curves(table: pd.DataFrame, x: str, y: str, others: list[str], tenant: str = ALL):
    """Yield (setup, combo values, frame sorted by x) for every curve of ``y`` against ``x``.
    A point several jobs of the sweep ran (the same overrides: ``repeats_note`` in
    :mod:`sim.sweep.consistency`) is on its curve once, as the
    first of them (the curves held it twice: a vertical step, break-evens of mismatched
    lengths)."""
    rows = table[table["tenant"] == tenant] if "tenant" in table.columns else table
    rows = rows[rows[y].notna()] if y in rows.columns else rows.iloc[0:0]
    by = ["setup"] + others
    for key, g in rows.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield str(key[0]), tuple(key[1:]), g.drop_duplicates(x).sort_values(x, kind="stable")


# two costs (or latencies) within this fraction of each other are a tie, not a crossing:
# sweep points that differ by rounding (a setup identical to another, float noise) must
# not produce break-evens (assumption: 0.1 % is below any difference a decision rests on)
TIE_RTOL = 1e-3


def crossings(x, a, b, log: bool = False, rtol: float = TIE_RTOL) -> list[float]:
    """x where curve a passes from one side of curve b to the other (both sampled at the
    same increasing x), interpolating between the two samples either side. Samples where
    the curves are within ``rtol`` of each other are ties: they are skipped, so curves that
    coincide, touch, or differ by noise cross nowhere, and a crossing through a stretch of
    ties is placed between its last sample on one side and its first on the other. With
    ``log``, the interpolation is straight in log(x), log(y), which is exact for power laws
    such as a fixed bill spread over a growing number of tokens (cost per token ~ 1/load)."""
    x, a, b = np.asarray(x, float), np.asarray(a, float), np.asarray(b, float)
    if log:
        if (x <= 0).any() or (a <= 0).any() or (b <= 0).any():
            raise ValueError("log interpolation needs positive values")
        tie = np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b))
        found = crossings(np.log(x), np.where(tie, 0.0, np.log(a)), np.where(tie, 0.0, np.log(b)),
                          rtol=0.0)
        return [float(np.exp(v)) for v in found]
    d = a - b
    tie = np.abs(d) <= rtol * np.maximum(np.abs(a), np.abs(b))
    side = np.where(np.isnan(d) | tie, 0.0, np.sign(d))
    out: list[float] = []
    last = None  # the last sample clearly on one side
    for i in range(len(x)):
        if side[i] == 0:
            continue
        if last is not None and side[i] != side[last]:
            d0, d1 = d[last], d[i]
            out.append(float(x[last] + (x[i] - x[last]) * d0 / (d0 - d1)))
        last = i
    return out


def cost_crossings(x, a, b) -> list[float]:
    """Crossings of two cost curves: in log-log space when every value is positive."""
    x, a, b = np.asarray(x, float), np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) | np.isnan(b))
    x, a, b = x[ok], a[ok], b[ok]
    positive = len(x) and (x > 0).all() and (a > 0).all() and (b > 0).all()
    return crossings(x, a, b, log=bool(positive))


def interp_loglog(x, xs, ys) -> float:
    """y at x on the curve (xs, ys), straight in log-log space when all values are positive."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    ok = ~np.isnan(ys)
    xs, ys = xs[ok], ys[ok]
    if not len(xs):
        return float("nan")
    if x > 0 and (xs > 0).all() and (ys > 0).all():
        return float(np.exp(np.interp(np.log(x), np.log(xs), np.log(ys))))
    return float(np.interp(x, xs, ys))


NOT_ONE_CURVE = ("no figure against {x} and no break-even: each job's summary holds several rows "
                 "a setup (its study's own scenarios), which are not points of one curve; each "
                 "job's report has them")


def not_one_curve(table: pd.DataFrame, x: str, others: list[str], tenant: str = ALL) -> bool:
    """Whether a job has several rows of a setup at one ``x`` (break-even loads, keep-alive
    policies, background levels: a study's jobs), which no curve goes through (until December
    2026 the curves were drawn through them and the break-evens an IndexError the sweep left
    unsaid). Rows of one point from several jobs are repeats of it (drawn once: :func:`curves`),
    not a study's scenarios (until December 2026 they were taken for them: an Optuna study
    whose sampler proposed a point twice drew no figure, "several rows a setup")."""
    rows = table[table["tenant"] == tenant] if "tenant" in table.columns else table
    keys = ["setup", *others, x]
    return bool(rows.duplicated((["job"] if "job" in rows.columns else []) + keys).any())


def breakevens(table: pd.DataFrame, x: str, others: list[str], y: str = "cost_per_mtok_out_usd",
               reference: str = "list_price_usd_per_mtok_out") -> pd.DataFrame:
    """Every crossing of two cost curves in the same combination of the other swept keys: one
    setup against another, and each setup against the per-token list price. Between sweep
    points the curves are taken as straight lines in log-log space (see :func:`crossings`)."""
    rows = []
    by_combo: dict[tuple, dict[str, pd.DataFrame]] = {}
    for setup, combo, g in curves(table, x, y, others):
        by_combo.setdefault(combo, {})[setup] = g
    for combo, per_setup in by_combo.items():
        names = list(per_setup)
        pairs = list(itertools.combinations(names, 2))
        for a, b in pairs:
            ga, gb = per_setup[a], per_setup[b]
            common = np.intersect1d(ga[x].to_numpy(float), gb[x].to_numpy(float))
            ya = ga.set_index(x).loc[common, y].to_numpy(float)
            yb = gb.set_index(x).loc[common, y].to_numpy(float)
            for xc in cost_crossings(common, ya, yb):
                rows.append({**dict(zip(others, combo)), "a": a, "b": b, x: xc,
                             y: interp_loglog(xc, common, ya)})
        if reference in table.columns:
            for a in names:
                g = per_setup[a]
                for xc in cost_crossings(g[x], g[y], g[reference]):
                    rows.append({**dict(zip(others, combo)), "a": a, "b": REFERENCE, x: xc,
                                 y: interp_loglog(xc, g[x], g[y])})
    cols = others + ["a", "b", x, y]
    return pd.DataFrame(rows, columns=cols)
