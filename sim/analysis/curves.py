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
    """Yield (setup, combo values, frame sorted by x) for every curve of ``y`` against ``x``."""
    rows = table[table["tenant"] == tenant] if "tenant" in table.columns else table
    rows = rows[rows[y].notna()] if y in rows.columns else rows.iloc[0:0]
    by = ["setup"] + others
    for key, g in rows.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield str(key[0]), tuple(key[1:]), g.sort_values(x)


def crossings(x, a, b, log: bool = False) -> list[float]:
    """x where curves a and b (sampled at the same increasing x) cross, interpolating between
    neighbouring samples; a touch at a sample counts once. With ``log``, the interpolation is
    straight in log(x), log(y), which is exact for power laws such as a fixed bill spread over
    a growing number of tokens (cost per token ~ 1/load)."""
    x, a, b = np.asarray(x, float), np.asarray(a, float), np.asarray(b, float)
    if log:
        if (x <= 0).any() or (a <= 0).any() or (b <= 0).any():
            raise ValueError("log interpolation needs positive values")
        return [float(np.exp(v)) for v in crossings(np.log(x), np.log(a), np.log(b))]
    d = a - b
    out: list[float] = []
    for i in range(len(x) - 1):
        d0, d1 = d[i], d[i + 1]
        if np.isnan(d0) or np.isnan(d1):
            continue
        if d0 == 0 and (not out or out[-1] != x[i]):
            out.append(float(x[i]))
        elif d0 * d1 < 0:
            out.append(float(x[i] + (x[i + 1] - x[i]) * d0 / (d0 - d1)))
    if len(d) and d[-1] == 0 and (not out or out[-1] != x[-1]):
        out.append(float(x[-1]))
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
