"""Billing: GPU time from the usage ledger, tokens from the request log.

* GPU-time rows (``gpu_hour``, ``gpu_second``) cost ``billed seconds x GPUs x $/GPU-hour``.
  The cost of a (model, tier) pool is split among the tenants of that model in proportion
  to the output tokens they completed on it (prompt tokens for prefill-only models); a pool
  that served nothing is split evenly among its model's tenants. So tenant costs add up to
  the total: nothing is left unattributed.
* Per-token tiers bill each completed request ``input x price_in + output x price_out``
  (the GPU time behind them is the provider's and costs the tenant nothing more).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.metrics.log import COMPLETED


class CostBreakdown:
    def __init__(self):
        self.by_tenant: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.totals: dict[str, float] = defaultdict(float)
        self.util_by_model: dict[str, tuple[float, float]] = {}

    def tenant(self, name: str, model: str) -> dict[str, float]:
        d = self.by_tenant.get(name, {})
        busy, up = self.util_by_model.get(model, (0.0, 0.0))
        return {
            "cost_usd": float(d.get("cost_usd", 0.0)),
            "gpu_cost_usd": float(d.get("gpu_cost_usd", 0.0)),
            "token_cost_usd": float(d.get("token_cost_usd", 0.0)),
            "gpu_hours": float(d.get("gpu_hours", 0.0)),
            "idle_gpu_hours": float(d.get("idle_gpu_hours", 0.0)),
            "gpu_utilization": busy / up if up > 0 else float("nan"),
        }

    def total(self) -> dict[str, float]:
        busy = sum(b for b, _ in self.util_by_model.values())
        up = sum(u for _, u in self.util_by_model.values())
        out = {k: float(self.totals.get(k, 0.0)) for k in
               ("cost_usd", "gpu_cost_usd", "token_cost_usd", "gpu_hours", "idle_gpu_hours")}
        out["gpu_utilization"] = busy / up if up > 0 else float("nan")
        return out


def attribute_cost(workload, run, prices: dict[str, tuple[float | None, float | None]]) -> CostBreakdown:
    log = run.log
    cb = CostBreakdown()
    done = log.outcome == COMPLETED
    # ---- GPU-time pools
    pools: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_token_tiers: set[tuple[str, str]] = set()
    for row in run.ledger:
        k = (row.model, row.tier)
        if row.billing == "per_token":
            per_token_tiers.add(k)
        p = pools[k]
        p["cost"] += row.cost_usd
        p["gpu_s"] += row.up_s * row.gpus
        p["busy_gpu_s"] += min(row.busy_s, row.up_s) * row.gpus
        busy, up = cb.util_by_model.get(row.model, (0.0, 0.0))
        cb.util_by_model[row.model] = (busy + min(row.busy_s, row.up_s) * row.gpus,
                                       up + row.up_s * row.gpus)
    tenants_of_model = defaultdict(list)
    for ti, t in enumerate(workload.tenants):
        sel = workload.tenant == ti
        if sel.any():
            tenants_of_model[workload.models[int(workload.model[sel][0])]].append(ti)
    for (model, tier), p in sorted(pools.items()):
        billed_tenant = (model, tier) not in per_token_tiers
        cost = p["cost"] if billed_tenant else 0.0
        gpu_h = p["gpu_s"] / 3600.0 if billed_tenant else 0.0
        idle_h = (p["gpu_s"] - p["busy_gpu_s"]) / 3600.0 if billed_tenant else 0.0
        tids = tenants_of_model.get(model, [])
        if not tids:
            continue
        mi = workload.models.index(model) if model in workload.models else -1
        tc = log.tiers.code(tier)
        on_pool = done & (workload.model == mi) & (log.tier == tc)
        weights = np.array([
            workload.output_tokens[on_pool & (workload.tenant == ti)].sum(dtype=np.int64)
            for ti in tids], dtype=float)
        if weights.sum() == 0:
            weights = np.array([workload.input_tokens[on_pool & (workload.tenant == ti)]
                                .sum(dtype=np.int64) for ti in tids], dtype=float)
        if weights.sum() == 0:
            weights = np.ones(len(tids))
        share = weights / weights.sum()
        for ti, s in zip(tids, share):
            d = cb.by_tenant[workload.tenants[ti]]
            d["gpu_cost_usd"] += cost * s
            d["cost_usd"] += cost * s
            d["gpu_hours"] += gpu_h * s
            d["idle_gpu_hours"] += idle_h * s
        cb.totals["gpu_cost_usd"] += cost
        cb.totals["cost_usd"] += cost
        cb.totals["gpu_hours"] += gpu_h
        cb.totals["idle_gpu_hours"] += idle_h
    # ---- per-token billing
    if per_token_tiers:
        for model, tier in sorted(per_token_tiers):
            pin, pout = prices.get(model, (None, None))
            mi = workload.models.index(model) if model in workload.models else -1
            sel = done & (workload.model == mi) & (log.tier == log.tiers.code(tier))
            if not sel.any():
                continue
            usd = (workload.input_tokens[sel].astype(float) * (pin or 0.0)
                   + workload.output_tokens[sel].astype(float) * (pout or 0.0)) / 1e6
            for ti in np.unique(workload.tenant[sel]).tolist():
                s = float(usd[workload.tenant[sel] == ti].sum())
                d = cb.by_tenant[workload.tenants[ti]]
                d["token_cost_usd"] += s
                d["cost_usd"] += s
                cb.totals["token_cost_usd"] += s
                cb.totals["cost_usd"] += s
    return cb
