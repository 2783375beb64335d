"""A pool of replicas serving one model: how requests reach them (:mod:`.routers`)."""

from __future__ import annotations

from typing import Callable

from sim.engine import ENGINES, BatchQueue, Request, RequestQueue
from sim.perf import Deployment
from sim.platform.base import RunContext
from sim.platform.routers import ROUTERS
from sim.records import UsageRow


class ModelPool:
    """The replicas of one model in one setup, and how requests reach them.

    ``central`` routing keeps one bounded queue that every replica pulls from; ``jsq`` and
    ``round_robin`` give each replica its own queue (bounded at ``max_queue`` each). With
    :meth:`enable_batch`, batch-tier requests wait in one more queue of the pool, which the
    replicas added with ``batch=True`` fill their spare capacity from.
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
        self.kv_max = dep.longest_request(perf.kv_capacity_tokens)  # of any replica
        self.batch: BatchQueue | None = None
        self.batch_share = 0  # the largest batch share (cap - keep) of a batch replica so far

    def enable_batch(self, running_fraction: float, kv_fraction: float) -> None:
        """A batch queue for this pool: each replica admits its requests below
        ``running_fraction`` x its ``max_num_seqs`` running sequences and with KV use staying
        within ``kv_fraction`` of its own cache (:class:`~sim.engine.request.BatchQueue`)."""
        self.batch = BatchQueue(running_fraction, kv_fraction)

    def add_replica(self, usage: UsageRow | None = None, dep: Deployment | None = None,
                    perf=None, batch: bool = False, row: int = -1):
        """A replica of the pool's deployment, or of another (``dep``, ``perf``: a
        heterogeneous fleet's other GPU class); ``batch``: it fills spare capacity from the
        pool's batch queue; ``row``: its ledger row (RunContext.new_replica_id)."""
        queue = self.central if self.central is not None else RequestQueue(self.max_queue)
        cls = ENGINES[self.ctx.engine]
        if dep is not None:
            self.kv_max = max(self.kv_max, dep.longest_request(perf.kv_capacity_tokens))
        rep = cls(self.ctx.env, self.ctx.new_replica_id(row), perf or self.perf, dep or self.deployment,
                  queue, self.on_done)
        rep.usage = usage
        if usage is not None:
            rep.attach(usage.kv)  # the row's cache and load statistics, over its replicas
        self.replicas.append(rep)
        if batch and self.batch is not None:
            rep.fill_from(self.batch)
            self.batch_share = max(self.batch_share, rep.kv.cap - rep.batch_keep)
        if queue.items:
            queue.notify()
        if batch and self.batch is not None and self.batch.items:
            self.batch.notify()
        return rep

    def fits(self, req: Request) -> bool:
        """Could some replica of the pool ever hold ``req``?"""
        return req.n_in + req.n_out <= self.kv_max

    @property
    def queued(self) -> int:
        if self.central is not None:
            return len(self.central)
        return sum(len(r.queue) for r in self.replicas)

    @property
    def up(self) -> bool:
        """Whether some replica is alive and admits new requests."""
        return any(r.accepting and r.alive for r in self.replicas)

    def offer_queued(self, take: Callable[[Request], bool]) -> None:
        """With no replica up, offer each request of the central queue to ``take`` (whether
        it took it), in queue order; those it leaves keep their order."""
        if self.central is not None and self.central.items and not self.up:
            self.central.items.extend([r for r in self.central.drop_all() if not take(r)])

    def route_batch(self, req: Request) -> str | None:
        """Send a batch-tier request to the batch queue; the reason it cannot go, if so."""
        if not self.fits(req):
            return "exceeds_kv_capacity"
        lane = self.batch
        share = self.batch_share
        if not share:  # no batch replica yet: the base deployment's share
            cap = int(self.perf.kv_capacity_tokens)
            share = int(lane.kv_fraction * cap)
        if req.n_in + req.n_out > self.deployment.longest_request(share):
            return "exceeds_batch_kv_share"  # no replica of the pool could ever admit it as fill
        lane.push(req)
        return None

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
        if self.router.reads_state:
            for r in live:
                r.catch_up()
        rep = live[self.router.choose(live, req)]
        return None if rep.queue.push(req) else "queue_full"

    def held(self):
        """``(request, tier code)`` of each request the pool holds: waiting in one of its
        queues (the pool's tier), or admitted to or preempted on a replica (the tier of the
        replica's ledger row: dedicated, burst or spot)."""
        code = self.tier_code
        queues = [self.central] if self.central is not None else [r.queue for r in self.replicas]
        if self.batch is not None:
            queues.append(self.batch)
        for q in queues:
            for req in q.items:
                yield req, code
        tiers = self.ctx.log.tiers
        for rep in self.replicas:
            on = code if rep.usage is None else tiers.code(rep.usage.tier)
            for req in (*rep.running.values(), *rep.waiting):
                yield req, on

    def queue_state(self, req: Request, now: float) -> tuple[int, bool, float]:
        """``(queued, saturated, head_wait_s)`` of the pool: requests waiting,
        whether no live replica has room for the head of the queue (``req`` if it is empty),
        and how long the oldest waiting request has waited."""
        central = self.central
        if central is not None:  # one queue: its head is the oldest (no lists, no generator)
            items = central.items
            head = items[0] if items else req
            wait = now - head.arrival if items and self.replicas else 0.0
            for r in self.replicas:
                if r.alive and r.has_room(head):
                    return len(items), False, wait
            return len(items), True, wait
        saturated = not any(r.has_room(req) for r in self.replicas if r.alive)
        waits = [r.queue.items[0].arrival for r in self.replicas if r.queue.items]
        return self.queued, saturated, now - min(waits) if waits else 0.0
