"""Summaries readable at scale: aggregate rows first, then only the busiest tenants.

summary.csv keeps every row; the console table, report.md and a sweep's summary.md show
the aggregate rows (``__all__``, ``__background__``, ``__model__:<m>``) and the
:data:`TOP_TENANTS` tenants with the most requests, and say how many rows they left out.
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
    agg = summary["tenant"].astype(str).map(is_aggregate)
    tenants = summary[~agg]
    if tenants["tenant"].nunique() <= top:
        return summary, 0
    traffic = tenants.groupby("tenant", sort=False)["requests"].max()
    keep = set(traffic.sort_values(ascending=False, kind="stable").index[:top])
    mask = agg | summary["tenant"].isin(keep)
    return summary[mask], int((~mask).sum())


def left_out_note(n: int, top: int = TOP_TENANTS) -> str:
    return (f"{n} rows of tenants beyond the {top} busiest are left out here; every row is in "
            "summary.csv")


def slo_by_tenant(table: pd.DataFrame, index: list[str], top: int = TOP_TENANTS) -> pd.DataFrame:
    """One row per tenant (the ``top`` busiest) and ``index`` combination (a sweep's job, its
    swept values, the setup), in the table's order: its requests, p99 TTFT, SLO and SLO
    attainment over the measured window (warm-up rows, ``<tenant>@warmup``, left out)."""
    if not {"tenant", "slo_attainment"} <= set(table.columns):
        return pd.DataFrame()
    rows = table[~table["tenant"].astype(str).map(is_aggregate)]
    if "window" in rows.columns:
        rows = rows[rows["window"].astype(str) != "warmup"]
    rows, _ = condense(rows, top)
    cols = [c for c in [*index, "tenant", "requests", "completed", "ttft_p99_s", "slo_ttft_s",
                        "slo_attainment"] if c in rows.columns]
    return rows[cols].reset_index(drop=True)