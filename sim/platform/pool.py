"""A pool of replicas serving one model: how requests reach them (:mod:`.routers`)."""

from __future__ import annotations

from typing import Callable

from sim.engine import ENGINES, Request, RequestQueue
from sim.perf import Deployment
from sim.platform.base import RunContext
from sim.platform.routers import ROUTERS
from sim.records import UsageRow


class ModelPool:
    """The replicas of one model in one setup, and how requests reach them.

    ``central`` routing keeps one bounded queue that every replica pulls from; ``jsq`` and
    ``round_robin`` give each replica its own queue (bounded at ``max_queue`` each).
    """

    def __init__(self, ctx: RunContext, model: str, dep: Deployment, perf, router: str,
                 max_queue: int, tier: str, on_done: Callable[[Request, float], None],
                 cache_router=None):
        self.ctx = ctx
        self.model = model
        self.deployment = dep
        self.perf = perf
        if router == "cache_aware" and cache_router is not None:
            self.router = ROUTERS[router](float(cache_router.threshold),
                                          int(cache_router.balance_abs),
                                          float(cache_router.balance_rel))
        else:
            self.router = ROUTERS[router]() if router in ROUTERS else None
        self.max_queue = max_queue
        self.tier = tier
        self.tier_code = ctx.log.tiers.code(tier)
        self.on_done = on_done
        self.central = RequestQueue(max_queue) if router == "central" else None
        self.replicas: list = []
        self.kv_max = perf.kv_capacity_tokens  # the largest KV capacity of any replica

    def add_replica(self, usage: UsageRow | None = None, dep: Deployment | None = None,
                    perf=None):
        """A replica of the pool's deployment, or of another (``dep``, ``perf``: a
        heterogeneous fleet's other GPU class)."""
        queue = self.central if self.central is not None else RequestQueue(self.max_queue)
        cls = ENGINES[self.ctx.engine]
        if dep is not None:
            self.kv_max = max(self.kv_max, perf.kv_capacity_tokens)
        rep = cls(self.ctx.env, self.ctx.new_replica_id(), perf or self.perf, dep or self.deployment,
                  queue, self.on_done)
        rep.usage = usage
        if usage is not None:
            rep.attach(usage.kv)  # the row's cache and load statistics, over its replicas
        self.replicas.append(rep)
        if queue.items:
            queue.notify()
        return rep

    def fits(self, req: Request) -> bool:
        """Could some replica of the pool ever hold ``req``?"""
        return req.n_in + req.n_out <= self.kv_max

    @property
    def queued(self) -> int:
        if self.central is not None:
            return len(self.central)
        return sum(len(r.queue) for r in self.replicas)

    def route(self, req: Request) -> str | None:
        """Send ``req`` to a replica's queue; return a rejection reason if it cannot go."""
        if not self.fits(req):
            return "exceeds_kv_capacity"
        if self.central is not None:
            return None if self.central.push(req) else "queue_full"
        # (in a fleet of several GPU classes, only those whose KV memory can hold it)
        live = [r for r in self.replicas if r.accepting and r.fits(req)]
        if not live:
            return "no_replica"
        rep = live[self.router.choose(live, req)]
        return None if rep.queue.push(req) else "queue_full"
