"""A tenant's standalone cost: what it would pay alone, on the cheapest setup of the run that
meets its SLO (opt-in: ``signals.standalone: true``; it re-runs every setup once per tenant).

In the shared run a tenant pays a share of pools it shares with the run's other tenants (a
dedicated replica bought for several tenants is cheap per token for each of them). Alone,
the tenant's requests (the same ones: each tenant draws from its own named streams) run on
every setup of the run as configured (the same replicas, pool and prices; the platform's
background tenants stay, they are not the user's), and the tenant pays for all of it. Its
standalone setup is the cheapest per output token among those meeting its TTFT SLO for at
least ``signals.slo_target`` of its requests. :mod:`sim.analysis.signals` then judges a move
to the dedicated setup by the dedicated figure of this run.
"""

from __future__ import annotations

import math

import pandas as pd
from omegaconf import open_dict

from sim.analysis.capacity import only_tenant
from sim.records import ALL, BACKGROUND
from sim.simulation.frames import run_frames

STANDALONE_COLUMNS = ["standalone_setup", "standalone_cost_usd", "standalone_cost_per_mtok_usd",
                      "standalone_cost_per_mtok_total_usd", "standalone_slo_attainment",
                      "standalone_dedicated_cost_per_mtok_usd"]


def alone(cfg, tenant: str):
    """``cfg`` with only ``tenant`` (generated tenants are not generated again)."""
    out = only_tenant(cfg, tenant)
    with open_dict(out):
        out.tenants_from.servegen.clients = 0
        out.tenants_from.servegen.client_ids = []
        out.output.parquet = False
    return out


def standalone_rows(cfg, tenants: list[str]) -> dict[str, pd.DataFrame]:
    """Per tenant: its summary rows (indexed by setup) when it runs alone."""
    out = {}
    for t in tenants:
        summary, _ = run_frames(alone(cfg, t))
        rows = summary[~summary["tenant"].isin([ALL, BACKGROUND])]
        out[t] = rows[rows["tenant"] == t].set_index("setup")
    return out


def cheapest_key(current: str):
    """The order of setups meeting the SLO, in the recommendation and the standalone pick
    alike: the cheapest per output token; ties: the better attainment, then staying where
    the tenant is (``current``: a hybrid serving it exactly as the pool does is no reason
    to move), then the name. Until December 2026 the standalone pick broke a tie by name
    alone: at one cost ($4.5753/M) and SLO it said hybrid where the recommendation said
    serverless, the setup the tenant is on."""
    return lambda setup, cost, att: (cost, -att, setup != current, setup)


def standalone_figures(rows: pd.DataFrame, target: float, current: str = "",
                       ruled_out=()) -> dict:
    """The cheapest setup (per output token) meeting the SLO for ``target`` of the
    requests when the tenant runs alone, ties broken as the recommendation's
    (:func:`cheapest_key`), among the setups not ``ruled_out`` (a shared pool, for a tenant
    whose requirements rule one out, as the recommendation does: until December 2026 a
    data-residency tenant was told the serverless pool alone); NaN and "" when none does."""
    ok = rows[(rows["slo_attainment"] >= target) & rows["cost_per_mtok_out_usd"].notna()
              & ~rows.index.isin(list(ruled_out))]
    ded = (float(rows.loc["dedicated", "cost_per_mtok_out_usd"]) if "dedicated" in rows.index
           else math.nan)
    if ok.empty:
        return {"standalone_setup": "", "standalone_cost_usd": math.nan,
                "standalone_cost_per_mtok_usd": math.nan,
                "standalone_cost_per_mtok_total_usd": math.nan,
                "standalone_slo_attainment": math.nan,
                "standalone_dedicated_cost_per_mtok_usd": ded}
    key = cheapest_key(current)
    best = min((r for _, r in ok.reset_index().iterrows()),
               key=lambda r: key(str(r["setup"]), float(r["cost_per_mtok_out_usd"]),
                                 float(r["slo_attainment"])))
    return {"standalone_setup": str(best["setup"]), "standalone_cost_usd": float(best["cost_usd"]),
            "standalone_cost_per_mtok_usd": float(best["cost_per_mtok_out_usd"]),
            "standalone_cost_per_mtok_total_usd": float(best["cost_per_mtok_total_usd"]),
            "standalone_slo_attainment": float(best["slo_attainment"]),
            "standalone_dedicated_cost_per_mtok_usd": ded}
