"""The per-token list price of a sweep job's summary rows, beside its simulated costs
(``list_price_usd_per_mtok_out`` in the sweep-root table, :mod:`sim.sweep.aggregate`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.records import ALL, is_aggregate
from sim.sweep.jobfiles import SUMMARY_NUMBERS, check_rows, read_frame


def list_price_per_mtok_out(summary: pd.DataFrame, catalog: dict) -> pd.Series:
    """What the completed tokens of each row would cost at the catalog's per-token list prices,
    per million output tokens: a reference price, not a simulated setup. ``__all__`` rows
    add up their setup's tenant rows of the same window (``metrics.warmup_s``)."""
    models = (catalog or {}).get("models", {})

    def usd(model, n_in, n_out):
        m = models.get(str(model), {})
        pin, pout = m.get("price_in_usd_per_mtok"), m.get("price_out_usd_per_mtok")
        if pin is None or pout is None:
            return float("nan")
        return (n_in * pin + n_out * pout) / 1e6

    out = pd.Series(float("nan"), index=summary.index)
    if not {"model", "input_tokens", "output_tokens"} <= set(summary.columns):
        return out
    # a row and its warm-up twin (``chat@warmup``, sim/metrics/windows.py) are priced over
    # both windows' tokens: the whole run's, as the cost columns beside them are (until
    # December 2026 each window's own, so after a warm-up a pool billed at the list price
    # read $0.935/M beside a "list price" of $1.023/M, and a sweep drew a break-even between
    # them). ``__all__`` rows add up the tenants' rows, not the other aggregates (model,
    # tier, background rows)
    label = summary["tenant"].astype(str).str.split("@").str[0]
    is_all = label == ALL
    tenant_rows = ~label.map(is_aggregate)
    whole = summary.assign(_label=label).groupby(["setup", "_label"], sort=False)
    n_in = whole["input_tokens"].transform("sum")
    n_out = whole["output_tokens"].transform("sum")
    cost = pd.Series([usd(m, i, o) for m, i, o in zip(summary["model"], n_in, n_out)],
                     index=summary.index)
    per_out = cost / n_out.where(n_out > 0) * 1e6
    out[~is_all] = per_out[~is_all]  # a model row at its model's prices; tier rows: NaN
    own = pd.Series([usd(m, i, o) for m, i, o in zip(summary["model"], summary["input_tokens"],
                                                      summary["output_tokens"])], index=summary.index)
    for setup in summary.loc[is_all, "setup"].drop_duplicates():
        same = summary["setup"] == setup
        rows = tenant_rows & same  # both windows' tenant rows: the whole run
        tokens = summary.loc[rows, "output_tokens"].sum()
        total = own[rows].sum(min_count=1)
        out[is_all & same] = total / tokens * 1e6 if tokens > 0 else float("nan")
    return out


def _list_price(d: Path, s: pd.DataFrame, catalog, done: dict | None = None) -> pd.Series:
    """:func:`list_price_per_mtok_out` of a job's summary rows; with replications, the mean
    of each seed's, as ``cost_per_mtok_out_usd`` is (a price of the mean tokens, a ratio of
    means, read $0.9083/M beside $0.9070/M for serverless billed at that very price)."""
    if not (d / "replications.csv").is_file() or "replications" not in s.columns:
        return list_price_per_mtok_out(s, catalog)
    r = check_rows(read_frame(d / "replications.csv", "replications.csv", ("seed", "setup", "tenant"),
                              SUMMARY_NUMBERS), d / "replications.csv", done)  # as summary.csv
    r["lp"] = pd.concat([list_price_per_mtok_out(g, catalog) for _, g in r.groupby("seed")])
    keys = [k for k in ("setup", "tenant", "window") if k in r.columns and k in s.columns]
    mean = r.groupby(keys, dropna=False)["lp"].mean()
    return pd.Series([mean.get(tuple(v) if len(keys) > 1 else v[0], float("nan"))
                      for v in s[keys].itertuples(index=False)], index=s.index)
