"""Pieces every setup uses: the run context, a pool of replicas serving one model, routers.

Routers are plain policies (no simpy): given the replicas, they pick one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sim.engine import ENGINES, Request, RequestQueue
from sim.records import RequestLog, UsageRow
from sim.perf import Deployment


# ------------------------------------------------------------------------------ routers
class JoinShortestQueue:
    """The replica with the fewest outstanding requests; the lowest id on a tie."""

    def choose(self, replicas, req) -> int:
        best, best_n = 0, None
        for i, r in enumerate(replicas):
            n = r.outstanding
            if best_n is None or n < best_n:
                best, best_n = i, n
        return best


class RoundRobin:
    def __init__(self):
        self.next = 0

    def choose(self, replicas, req) -> int:
        i = self.next % len(replicas)
        self.next = i + 1
        return i


ROUTERS = {"jsq": JoinShortestQueue, "round_robin": RoundRobin}


# --------------------------------------------------------------------------- run context
@dataclass
class RunContext:
    """What a setup needs from the run: clock, log, engine choice, and the end-of-request
    callback that drives closed loops and pipelines."""

    env: object
    log: RequestLog
    engine: str
    perf_for: Callable[..., object]  # (model_key, runtime_speedup) -> PerfModel
    deployment_for: Callable[[str], Deployment]
    model_names: list[str]
    on_end: Callable[[Request, float], None] = lambda req, now: None
    ledger: list[UsageRow] = field(default_factory=list)
    next_replica_id: int = 0
    tenant_names: list[str] = field(default_factory=list)  # by tenant index (rate limits)
    n_user_tenants: int | None = None  # tenants after these are background (None: none are)

    def new_replica_id(self) -> int:
        self.next_replica_id += 1
        return self.next_replica_id - 1


# ------------------------------------------------------------------------------- a pool
class ModelPool:
    """The replicas of one model in one setup, and how requests reach them.

    ``central`` routing keeps one bounded queue that every replica pulls from; ``jsq`` and
    ``round_robin`` give each replica its own queue (bounded at ``max_queue`` each).
    """

    def __init__(self, ctx: RunContext, model: str, dep: Deployment, perf, router: str,
                 max_queue: int, tier: str, on_done: Callable[[Request, float], None]):
        self.ctx = ctx
        self.model = model
        self.deployment = dep
        self.perf = perf
        self.router_kind = router
        self.router = ROUTERS[router]() if router in ROUTERS else None
        self.max_queue = max_queue
        self.tier = tier
        self.tier_code = ctx.log.tiers.code(tier)
        self.on_done = on_done
        self.central = RequestQueue(max_queue) if router == "central" else None
        self.replicas: list = []

    def add_replica(self, usage: UsageRow | None = None):
        queue = self.central if self.central is not None else RequestQueue(self.max_queue)
        cls = ENGINES[self.ctx.engine]
        rep = cls(self.ctx.env, self.ctx.new_replica_id(), self.perf, self.deployment, queue,
                  self.on_done)
        rep.usage = usage
        self.replicas.append(rep)
        if queue.items:
            queue.notify()
        return rep

    def fits(self, req: Request) -> bool:
        return req.n_in + req.n_out <= self.perf.kv_capacity_tokens

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
        live = [r for r in self.replicas if r.accepting]
        if not live:
            return "no_replica"
        rep = live[self.router.choose(live, req)]
        return None if rep.queue.push(req) else "queue_full"
