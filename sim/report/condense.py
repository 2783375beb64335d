"""Summaries readable at scale: aggregate rows first, then only the busiest tenants.

summary.csv keeps every row; the console table, report.md and a sweep's summary.md show
the aggregate rows (``__all__``, ``__background__``, ``__model__:<m>``) and the
:data:`TOP_TENANTS` tenants with the most requests, and say how many rows they left out.
A run holding several scenarios (keep-alive policies, background levels, load points,
traces) gets a ``scenario`` column naming each row's (:func:`with_scenario`).
"""

from __future__ import annotations

import pandas as pd

from sim.records import is_aggregate

TOP_TENANTS = 10  # assumption: what a reader takes in at a glance


def condense(summary: pd.DataFrame, top: int = TOP_TENANTS) -> tuple[pd.DataFrame, int]:
    """``summary`` without the rows of tenants beyond the ``top`` busiest (by requests, the
    most any setup saw; ties in order of appearance), and how many rows were left out."""
    if "tenant" not in summary.columns or "requests" not in summary.columns:
        return summary, 0
    agg = summary["tenant"].astype(str).map(is_aggregate).astype(bool)  # an empty map is of object dtype
    tenants = summary[~agg]
    if tenants["tenant"].nunique() <= top:
        return summary, 0
    traffic = tenants.groupby("tenant", sort=False)["requests"].max()
    keep = set(traffic.sort_values(ascending=False, kind="stable").index[:top])
    mask = agg | summary["tenant"].isin(keep)
    return summary[mask], int((~mask).sum())


# summary columns a job adds when one run holds several scenarios, and how each reads
SCENARIO_KEYS = {"policy": "{}", "keepalive_s": "idle {:g} s", "background_level": "background x{:g}",
                 "background_rps": "({:.2f} req/s)", "load_fraction": "load {:g}",
                 "rate_rps": "({:.3g} req/s)", "trace": "{}"}


def with_scenario(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` with a first column ``scenario`` naming each row's scenario when the run
    holds several (its rows would otherwise repeat the same setup and tenant, told apart by
    nothing shown); unchanged when it holds one or names them already."""
    if "scenario" in summary.columns or not len(summary):
        return summary
    varies = [k for k in SCENARIO_KEYS
              if k in summary.columns and summary[k].nunique(dropna=False) > 1]
    if not varies:
        return summary
    # a key in brackets qualifies the key before it (a level's rate): shown with it only
    order = list(SCENARIO_KEYS)
    keys = [k for i, k in enumerate(order) if k in summary.columns and (
        order[i - 1] in varies if SCENARIO_KEYS[k].startswith("(") else k in varies)]
    names = []
    for values in summary[keys].itertuples(index=False):
        name = ""
        for k, v in zip(keys, values):
            if pd.isna(v):
                continue
            part = SCENARIO_KEYS[k].format(v)
            name += (" " if part.startswith("(") else ", " if name else "") + part
        names.append(name or "-")
    out = summary.copy()
    out.insert(0, "scenario", names)
    return out


def left_out_note(n: int, top: int = TOP_TENANTS) -> str:
    return (f"{n} rows of tenants beyond the {top} busiest are left out here; every row is in "
            "summary.csv")


def slo_by_tenant(table: pd.DataFrame, index: list[str], top: int = TOP_TENANTS) -> pd.DataFrame:
    """One row per tenant (the ``top`` busiest) and ``index`` combination (a sweep's job, its
    swept values, the setup), in the table's order: its requests, p99 TTFT, SLO and SLO
    attainment over the measured window (warm-up rows, ``<tenant>@warmup``, left out)."""
    if not {"tenant", "slo_attainment"} <= set(table.columns):
        return pd.DataFrame()
    rows = table[~table["tenant"].astype(str).map(is_aggregate).astype(bool)]  # (empty: not column labels)
    if "window" in rows.columns:
        rows = rows[rows["window"].astype(str) != "warmup"]
    rows, _ = condense(rows, top)
    cols = [c for c in [*index, "tenant", "requests", "completed", "ttft_p99_s", "slo_ttft_s",
                        "slo_attainment"] if c in rows.columns]
    return rows[cols].reset_index(drop=True)