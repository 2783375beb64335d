"""The dedicated setup's own tables: availability under failures, the spot fleet's summary."""

from __future__ import annotations

import math

import pandas as pd

from sim.platform.dedicated.failures import availability


def availability_table(setup) -> pd.DataFrame:
    """Per model: the reserved pool's availability over the billing period, and what
    the failures did to requests (retried tries, requests failed after the last try)."""
    rows = []
    for mi, pool in sorted(setup.pools.items()):
        slots = [s for s in setup.slots if s.pool is pool]
        a = availability([[(x, y) for x, y in s.down] for s in slots], setup.t_end)
        # each replica's MTBF / (MTBF + MTTR), the variants' TP differing; their mean, as
        # capacity_availability is the replicas' mean up fraction (one value: itself, exactly)
        each = [1.0 if math.isinf(f) else f / (f + r) for f, r in (
            setup._mtbf_mttr.get((pool.model, s.index), (math.nan, math.nan)) for s in slots)]
        analytic = (each[0] if len(set(each)) == 1 else sum(each) / len(each)) if each else math.nan
        rows.append({
            "model": pool.model, "replicas": len(slots), "period_s": setup.t_end,
            "failures": sum(s.failures for s in slots), "down_s": a["down_s"],
            "capacity_availability": a["capacity"], "all_up_availability": a["all_up"],
            "any_up_availability": a["any_up"],
            "analytic_capacity_availability": (
                analytic if setup.failure_mode == "random" else math.nan),
            "retried_tries": setup._retried.get(("replica_failure", pool.model), 0),
            "failed_requests": setup._failed.get(("replica_failure", pool.model), 0),
            "sla": setup.sla, "meets_sla_any_up": bool(a["any_up"] >= setup.sla),
            "meets_sla_capacity": bool(a["capacity"] >= setup.sla),
        })
    return pd.DataFrame(rows)


def spot_summary(setup) -> pd.DataFrame:
    """Per model with spot replicas: reclaims, what they did to requests, the spot bill."""
    rows = []
    for mi, pool in sorted(setup.pools.items()):
        slots = [s for s in setup.spot.slots if s.pool is pool]
        if not slots:
            continue
        inst = [i for s in slots for i in s.instances]
        key = ("spot_preemption", pool.model)
        rows.append({
            "model": pool.model, "spot_replicas": len(slots),
            "preemptions": sum(i.t_reclaim is not None and i.t_reclaim <= setup.t_end for i in inst),
            "replacements": len(inst) - len(slots),
            "interrupted_requests": sum(i.interrupted for i in inst),
            "retried_tries": setup._retried.get(key, 0),
            "failed_requests": setup._failed.get(key, 0),
            "spot_gpu_hours": sum(i.row.up_s * i.row.gpus for i in inst) / 3600.0,
            "loading_gpu_hours": sum(i.row.loading_s * i.row.gpus for i in inst) / 3600.0,
            "spot_cost_usd": sum(i.row.cost_usd for i in inst),
        })
    return pd.DataFrame(rows)


def setup_tables(setup) -> dict:
    """The tables a dedicated setup returns in ``extra()``: availability and downtime under
    failures, the burst replicas', the spot fleet's."""
    tables = {}
    if setup.failure_mode != "none":
        tables["availability"] = availability_table(setup)
        tables["downtime"] = pd.DataFrame(
            [{"model": s.pool.model, "replica": s.index, "down_s": a, "up_s": min(b, setup.t_end)}
             for s in setup.slots for a, b in s.down if a < setup.t_end],
            columns=["model", "replica", "down_s", "up_s"])
    burst = [r for bp in setup.burst.values() for r in bp.table()]
    if setup.burst:
        tables["burst_replicas"] = pd.DataFrame(burst, columns=[
            "model", "replica", "gpu", "region", "provision_s", "warm_s", "drain_s", "stop_s",
            "requests", "busy_s", "billed_s", "cost_usd"])
    if setup.spot is not None:
        tables["spot"] = pd.DataFrame(setup.spot.table())
        tables["spot_summary"] = spot_summary(setup)
    return tables
