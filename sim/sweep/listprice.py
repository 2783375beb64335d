"""The per-token list price of a sweep job's summary rows, beside its simulated costs
(``list_price_usd_per_mtok_out`` in the sweep-root table, :mod:`sim.sweep.aggregate`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.records import ALL, is_aggregate
from sim.report.condense import SCENARIO_KEYS
from sim.sweep.jobfiles import SUMMARY_NUMBERS, check_rows, read_frame


def scenario_keys(summary: pd.DataFrame) -> list[str]:
    """``setup`` and the columns naming a row's scenario in a study's summary (a trace, a
    keep-alive policy, a background level: :data:`sim.report.condense.SCENARIO_KEYS`): the
    rows of one run of one setup share them."""
    # not a level's rate in brackets ("background x0.5 (4.57 req/s)"): it names no scenario
    # of its own, and a replicated job's mean of it is no seed's
    return ["setup"] + [k for k in ("scenario", *SCENARIO_KEYS) if k in summary.columns
                        and not SCENARIO_KEYS.get(k, "").startswith("(")]


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
    tenant_rows = ~label.map(is_aggregate).astype(bool)
    # the rows of one run: a study's summary holds several (a trace, a policy, a background
    # level each), priced apart (until December 2026 grouped by setup and tenant alone, so
    # prefix_cache's two traces, billed at the list price at $12.061/M and $7.157/M, both
    # read a "list price" of $9.112/M)
    keys = scenario_keys(summary)
    whole = summary.assign(_label=label).groupby(keys + ["_label"], sort=False, dropna=False)
    n_in = whole["input_tokens"].transform("sum")
    n_out = whole["output_tokens"].transform("sum")
    cost = pd.Series([usd(m, i, o) for m, i, o in zip(summary["model"], n_in, n_out)],
                     index=summary.index)
    per_out = cost / n_out.where(n_out > 0) * 1e6
    out[~is_all] = per_out[~is_all]  # a model row at its model's prices; tier rows: NaN
    own = pd.Series([usd(m, i, o) for m, i, o in zip(summary["model"], summary["input_tokens"],
                                                      summary["output_tokens"])], index=summary.index)
    for _, idx in summary.groupby(keys, sort=False, dropna=False).groups.items():
        if not is_all[idx].any():
            continue
        rows = idx[tenant_rows[idx].to_numpy()]  # both windows' tenant rows: the whole run
        tokens = summary.loc[rows, "output_tokens"].sum()
        total = own[rows].sum(min_count=1)
        out[idx[is_all[idx].to_numpy()]] = total / tokens * 1e6 if tokens > 0 else float("nan")
    return out


def unpriced_note(table: pd.DataFrame, col: str = "list_price_usd_per_mtok_out") -> str | None:
    """Why ``col`` is empty in the rows summary.md shows (``__all__``), if it is (it was left
    empty unsaid until December 2026)."""
    if col not in table.columns or "tenant" not in table.columns:
        return None
    rows = table[table["tenant"] == ALL] if (table["tenant"] == ALL).any() else table
    n = int(rows[col].isna().sum())
    return (f"`{col}` is empty in {n} of the {len(rows)} rows: no list price can be given "
            "without a tenant row naming a model with catalog token prices (a study writing "
            "only `__all__` rows: `breakeven`, `batch_fill`) or without output tokens."
            ) if n else None


def _list_price(d: Path, s: pd.DataFrame, catalog, done: dict | None = None) -> pd.Series:
    """:func:`list_price_per_mtok_out` of a job's summary rows; with replications, the mean
    of each seed's, as ``cost_per_mtok_out_usd`` is (a price of the mean tokens, a ratio of
    means, read $0.9083/M beside $0.9070/M for serverless billed at that very price)."""
    if not (d / "replications.csv").is_file() or "replications" not in s.columns:
        return list_price_per_mtok_out(s, catalog)
    r = check_rows(read_frame(d / "replications.csv", "replications.csv", ("seed", "setup", "tenant"),
                              SUMMARY_NUMBERS), d / "replications.csv", done)  # as summary.csv
    r["lp"] = pd.concat([list_price_per_mtok_out(g, catalog) for _, g in r.groupby("seed")])
    keys = [k for k in (*scenario_keys(s), "tenant", "window") if k in r.columns and k in s.columns]
    mean = r.groupby(keys, dropna=False)["lp"].mean()
    # looked up with an empty key cell as one value (a tuple holding NaN matches no group's:
    # keepalive's hybrid policy, keepalive_s empty, read no list price with replications)
    found = {_cells(k if isinstance(k, tuple) else (k,)): v for k, v in mean.items()}
    return pd.Series([found.get(_cells(v), float("nan")) for v in s[keys].itertuples(index=False)],
                     index=s.index)


def _cells(values) -> tuple:
    """A row's key cells, an empty one (NaN) as one value."""
    return tuple(None if pd.isna(v) else v for v in values)
