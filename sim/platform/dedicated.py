"""Dedicated setup: reserved replicas per model, warm from t=0, billed per GPU-hour.

Weights are resident before the first request, so there is no cold start; the replicas
run the tuned runtime (``dedicated.runtime_speedup``) and are billed for the whole period,
busy or idle.
"""

from __future__ import annotations

from sim.engine import Request
from sim.errors import InputError
from sim.metrics.log import UsageRow
from sim.platform.base import ModelPool, RunContext


def _enum(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


class DedicatedSetup:
    name = "dedicated"

    def __init__(self, ctx: RunContext, cfg, catalog, models: list[str]):
        self.ctx = ctx
        dc = cfg.dedicated
        speed = float(dc.runtime_speedup)
        if speed <= 0:
            raise InputError("must be > 0", key="dedicated.runtime_speedup")
        for m in dc.replicas:
            if m not in models and m not in catalog.models:
                raise InputError(f"unknown model {m!r}", key=f"dedicated.replicas.{m}")
        self.pools: dict[int, ModelPool] = {}
        pricing = _enum(dc.pricing)
        for mi, m in enumerate(models):
            n = int(dc.replicas.get(m, 1))
            if n < 1:
                raise InputError("needs at least 1 replica", key=f"dedicated.replicas.{m}")
            dep = ctx.deployment_for(m)
            perf = ctx.perf_for(m, speed)
            pool = ModelPool(ctx, m, dep, perf, _enum(dc.router), int(dc.max_queue), "dedicated",
                             self._done)
            price = (dep.gpu.reserved_usd_per_hour if pricing == "reserved"
                     else dep.gpu.on_demand_usd_per_hour)
            for _ in range(n):
                row = UsageRow(model=m, gpu=dep.gpu.key, gpus=dep.tp, tier="dedicated",
                               start_s=0.0, end_s=0.0, busy_s=0.0, billing="gpu_hour",
                               usd_per_gpu_hour=price)
                ctx.ledger.append(row)
                pool.add_replica(row)
            self.pools[mi] = pool

    def submit(self, req: Request) -> None:
        pool = self.pools[req.model]
        reason = pool.route(req)
        if reason is not None:
            self.ctx.log.reject(req.id, reason, pool.tier_code)
            self.ctx.on_end(req, self.ctx.env.now)

    def _done(self, req: Request, now: float) -> None:
        self.ctx.log.complete(req, self.pools[req.model].tier_code)
        self.ctx.on_end(req, now)

    def close(self, t_end: float) -> None:
        """Bill every reserved replica for the whole period."""
        for pool in self.pools.values():
            for rep in pool.replicas:
                rep.usage.end_s = t_end
                rep.usage.busy_s = rep.busy_s
