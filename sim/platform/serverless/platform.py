"""The serverless platform: one shared GPU pool serving many models for many tenants.

:class:`ServerlessPlatform` is the SimPy glue around the plain policies of this package. It
can serve every model of a run (the ``serverless`` setup) or a subset (a hybrid setup
embeds it for its long tail). Per model it keeps one central queue that the model's warm
replicas pull from, so tenants calling the same model share its replicas and batches.

Life of a request (``submit``):

1. the tenant's rate limits (requests/tokens per minute, concurrency) may reject it;
2. it joins its model's queue; if the model has no warm replica it is a *cold waiter*: the
   activator asks for a replica at once (no autoscaler tick), and when the model's first
   replica becomes warm every waiting request records ``log.cold(id, wait, tier)``;
3. a request still queued ``max_wait_s`` after its arrival is rejected with a reason:
   ``timeout_no_capacity`` (no GPUs for a replica), ``timeout_cold_start`` (a replica is
   loading) or ``timeout_queued`` (warm replicas are busy).

Life of a replica: placement on ``tp`` free GPUs of one node (evicting idle replicas of
other models, provisioning a node if the pool may grow, else waiting in a FIFO of
scale-ups), then the cold-start stages (node provisioning, container start, weight load
from the fastest tier holding the weights, engine initialisation), then warm; it ends when
its keep-alive runs out, when the autoscaler removes it as excess, or when it is evicted.
Loads from remote storage share their node's link and the backend's total max-min fairly
(re-planned whenever a load starts or ends).

Every replica is one ledger row: billed per token (the row is the provider's GPU time,
``billing="per_token"``) or per GPU-second from container start to stop, loading and idle
time included, with a minimum increment.
"""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd

from sim.engine import Request
from sim.engine.tick import schedule
from sim.errors import InvariantError
from sim.platform.coldstart import tier_bandwidth_gbps
from sim.platform.routers import CacheAware
from sim.platform.serverless import waitbound
from sim.platform.serverless.autoscaler import Autoscaler
from sim.platform.serverless.closedrows import ClosedRows
from sim.platform.serverless.eviction import EVICTIONS
from sim.platform.serverless.keepalive import make_keepalive
from sim.platform.serverless.loading import Loader
from sim.platform.serverless.nodes import NodePool
from sim.platform.serverless.ratelimit import TenantLimiter, effective_limits
from sim.platform.serverless.replicas import ReplicaLifecycle
from sim.platform.serverless.state import LOADING, WARM, ModelState, Slot
from sim.platform.storage import FairShareBandwidth
from sim.records import EventLog

_UNSET = object()  # a tenant whose limits were not looked up yet

# platform decisions: the stats counter and the event kind each one is logged as
EVENT_KINDS = {"scale_ups": "scale_up", "evictions": "evict", "keepalive_stops": "keepalive_stop",
               "scale_in_stops": "scale_in", "prewarm_unloads": "prewarm_unload",
               "prewarms": "prewarm", "nodes_provisioned": "provision_node",
               "pipeline_prewarms": "pipeline_prewarm"}


class ServerlessPlatform(ReplicaLifecycle):
    """A shared pool serving ``models`` (model index -> name) of a run.

    ``finish(req, now)`` and ``reject(req, reason)`` end a request; by default they write
    the run's log (tier ``tier``) and call ``ctx.on_end``. An embedding setup may pass its
    own (e.g. to spill a rejected request elsewhere) but must still end it exactly once.
    ``cold(req, wait_s, storage_tier)`` records that a request waited for a cold start (by
    default in the run's log; an embedding setup may keep requests of its own apart), its
    wait counted from when it joined the pool: its arrival, or its entry in :attr:`joined`
    (a request an embedding setup sends later, as a hybrid's spill from the dedicated side).
    """

    def __init__(self, ctx, cfg, catalog, models: Mapping[int, str], *, tier: str = "serverless",
                 finish: Callable | None = None, reject: Callable | None = None,
                 cold: Callable | None = None,
                 on_pool: Callable[[int, int], float] | None = None, logged_below: int = 0):
        """``cfg``: the typed, checked config (the build layer checks every rule this
        relies on: pool classes, prices for the billing mode, rate limits, tiers).
        ``on_pool(tenant, model)``: the share (0-1) of that tenant's requests for that model
        this pool serves (an embedding setup's placement; default all), for a warm start.
        ``logged_below``: with a ``finish``, the requests with a lower id are logged here, as
        without one (``finish`` would log them alike); only the others go to ``finish``, and
        they are not charged to a tenant's rate limits (a hybrid's shadow copies)."""
        self.ctx = ctx
        self.env = ctx.env
        self.cfg = cfg
        sc = self.sc = cfg.serverless
        cs = cfg.cold_start
        self.tier = tier
        self.tier_code = ctx.log.tiers.code(tier)
        self.finish = finish  # None: the run's log, then ctx.on_end (in _done)
        self.logged_below = (1 << 62) if finish is None else logged_below  # ids _done logs itself
        self.reject_cb = reject or self._log_reject
        self.cold_cb = cold or self._log_cold
        self.joined: dict[int, float] = {}  # request id -> when it joined, if after its arrival
        self.max_wait = float(sc.max_wait_s)
        speed = float(sc.runtime_speedup)
        a = sc.autoscaler
        self.tick_s = float(a.tick_s)
        self.billing = str(sc.billing)
        self.alpha = float(sc.interference.per_neighbour)
        # ---------------------------------------------------------------- storage
        self.tier_gbps = {t: tier_bandwidth_gbps(cfg, t) for t in cs.tiers}
        self.remote_tier = str(cs.remote_tier)
        remote_bw = self.tier_gbps[self.remote_tier]
        backend = cs.remote_backend_gbps
        # ---------------------------------------------------------------- the pool
        self.pool = NodePool.from_config(sc, cs, EVICTIONS[str(sc.eviction)]())
        link = FairShareBandwidth(None if backend is None else float(backend) * 1e9, remote_bw * 1e9,
                                  self.pool.link_bps)
        self.loader = Loader(self.env, self.remote_tier, link)
        preload = str(cs.preloaded_tier)
        self.keepalive = make_keepalive(sc.keepalive)
        # ---------------------------------------------------------------- models
        self.models: dict[int, ModelState] = {}
        for mi, name in models.items():
            dep = ctx.deployment_for(name)
            perf = ctx.perf_for(name, speed)
            min_r = int(a.min_replicas.get(name, 0))
            max_r = int(a.max_replicas)
            scaler = Autoscaler(a.target_concurrency, a.stable_window_s, a.panic_window_s,
                                a.panic_threshold, min_r, max_r, bucket_s=min(1.0, self.tick_s))
            chooser = None
            if str(sc.router) == "cache_aware":
                cr = sc.cache_router
                chooser = CacheAware(float(cr.threshold), int(cr.balance_abs), float(cr.balance_rel))
            ms = ModelState(mi, name, dep, perf, int(sc.max_queue), scaler, min_r, max_r, chooser)
            ms.usd_per_gpu_hour = (dep.gpu.serverless_usd_per_s * 3600.0 if self.billing == "gpu_second"
                                   else dep.gpu.on_demand_usd_per_hour)  # else the provider's cost
            self.models[mi] = ms
            if preload != "remote":
                self.pool.preload(dep.gpu.key, mi, ms.weight_bytes, preload)
        # the models some cache of the preloaded tier could not hold at t=0 (said in a note)
        self.preload_gaps = [(self.models[m].name, g, size, held or self.remote_tier, missed)
                             for g, m, size, held, missed in self.pool.preload_gaps(
                                 [(ms.dep.gpu.key, ms.idx, ms.weight_bytes) for ms in self.models.values()],
                                 preload)] if preload != "remote" else []
        # ---------------------------------------------------------------- tenants
        self.tenant_names = list(ctx.tenant_names)
        self.limiters: dict[int, TenantLimiter | None] = {}
        # ---------------------------------------------------------------- state
        self.slots: dict[int, Slot] = {}  # the replicas loading or warm, by id (creation order)
        self.row_of = ctx.row_of  # every replica's replicas.csv row by id (RunContext's)
        # the stopped ones' rows, packed (a week's run starts ~90,000 replicas); how many started
        self.stopped_rows: list = []
        self.closed_rows = ClosedRows()
        self.started = 0
        self.pending: list[int] = []  # models waiting for GPUs, FIFO
        self.active: dict[int, ModelState] = {}  # models the autoscaler ticks over
        self.ticking = False
        self.retry_armed = False
        self.stats = {k: 0 for k in EVENT_KINDS}
        self.events = EventLog()
        for ms in self.models.values():
            for _ in range(ms.min):
                if not self._place(ms, 0.0, warm_now=True):
                    raise InvariantError(f"the minimum replicas of {ms.name} did not fit "
                                         "(the build layer checks they do)")
        self.warm_start: dict[str, int] = {}  # model -> replicas placed warm at t=0 (start: warm)
        self.warm_short: dict[str, tuple] = {}  # model -> (ready, wanted) when the pool was full
        self.prewarm_no_room: dict[str, int] = {}  # model -> pipeline pre-warms with no room
        if str(sc.start) == "warm" and ctx.workload is not None:
            self._start_warm(ctx.workload, on_pool)

    # ================================================================== small helpers
    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        # as a SimPy Timeout would be scheduled (the same time, priority and event id)
        schedule(self.env, max(delay, 0.0), lambda _ev: fn())

    def _note(self, stat: str, now: float, model: str, replica: int = -1) -> None:
        """Count a decision and log it (``events.csv``; ``replica``: its ``replicas.csv`` row)."""
        self.stats[stat] += 1
        self.events.add(now, EVENT_KINDS[stat], model, replica)

    def _limiter(self, tenant: int) -> TenantLimiter | None:
        if tenant in self.limiters:
            return self.limiters[tenant]
        name = self.tenant_names[tenant] if tenant < len(self.tenant_names) else None
        rpm, tpm, conc = effective_limits(self.sc.rate_limits.get(name) if name is not None
                                          else None, self.sc.default_rate_limit)
        lim = None
        if rpm is not None or tpm is not None or conc is not None:
            lim = TenantLimiter(rpm, tpm, conc)
        self.limiters[tenant] = lim
        return lim

    def _want(self, ms: ModelState) -> int:
        """Replicas the model should have. Without a request in flight only its floor: the
        autoscaler adds replicas for demand, keep-alive decides how long idle ones stay
        (otherwise the trailing average would re-create a replica keep-alive just stopped)."""
        if ms.inflight == 0:
            return ms.min
        return min(max(ms.desired, ms.min, 1), ms.max)

    # ================================================================== requests
    def submit(self, req: Request) -> None:
        now = self.env._now
        ms = self.models.get(req.model)
        if ms is None:
            raise InvariantError(f"request {req.id} for model {req.model}, which this platform does not serve")
        if req.n_in + req.n_out > ms.kv_cap:  # never servable, whatever the rate limits' buckets
            self.reject_cb(req, "exceeds_kv_capacity")
            return
        # the tenant's rate limits (none for an embedder's own traffic, the ids from
        # logged_below on: a hybrid's shadow copies), checked now, charged once queued
        lim = self.limiters.get(req.tenant, _UNSET) if req.id < self.logged_below else None
        if lim is _UNSET:
            lim = self._limiter(req.tenant)
        if lim is not None:
            why = lim.check(now, req.n_in + req.n_out)
            if why is not None:
                self.reject_cb(req, why)
                return
        if ms.idle_since is not None:  # the model was idle: one idle time for keep-alive
            self.keepalive.observe(ms.idx, now - ms.idle_since)
            ms.idle_since = None
            ms.prewarm_gen += 1  # cancels a pending pre-warm unload or load
        queue = ms.queue  # RequestQueue.push, inlined (change both; a model's replicas share
        # one deployment, so none can never hold a head: no RequestQueue._offer_rest here)
        items = queue.items
        if len(items) >= queue.max_len:
            self.reject_cb(req, "queue_full")
            if ms.inflight == 0:
                ms.idle_since = now
            return
        if lim is not None:
            lim.take(req.n_in + req.n_out)
        items.append(req)
        if len(items) == 1:
            queue.notify()
        n = ms.inflight = ms.inflight + 1
        sig = ms.signal  # the autoscaler's observation: WindowedSignal.set, inlined (change both)
        dt = now - sig.t
        if dt:
            if dt < 0:
                raise ValueError(f"time went backwards: {now} < {sig.t}")
            q = now // sig.b
            if q != sig.q:
                sig._fill(q)
            sig.total += sig.value * dt
            sig.t = now
        sig.value = n  # (not 0: no zero_i to note)
        if ms.ready == 0 and ms.loading == 0 and not ms.pending:
            ms.desired = max(ms.desired, 1)  # activator: scale from zero now
            self._scale_up(ms, 1, now)
        if items and not ms.wait_armed:
            waitbound.arm(self, ms)  # (the bounded wait: waitbound.py)
        if not (ms.active and self.ticking):
            self._activate(ms)

    def _release(self, req: Request) -> None:
        lim = self.limiters.get(req.tenant)
        if lim is not None and req.id < self.logged_below:  # (submit charged it)
            lim.release()

    def _settle(self, req: Request, now: float) -> None:
        """A request of this platform ended: in-flight accounting, maybe the model idles."""
        ms = self.models[req.model]
        ms.inflight -= 1
        ms.signal.set(now, ms.inflight)  # the autoscaler's observation
        self._release(req)
        if ms.inflight == 0:
            self._model_idle(ms, now)

    def _done(self, req: Request, now: float) -> None:  # engine sink: _settle, then finish
        # the replica's replicas.csv row (its engine id until December 2026: in a hybrid run
        # a reserved replica's recovery or a burst request took ids and rows apart)
        req.replica = self.row_of[req.replica]
        ms = self.models[req.model]
        n = ms.inflight = ms.inflight - 1
        sig = ms.signal  # WindowedSignal.set(now, n), inlined (change both)
        dt = now - sig.t
        if dt:
            if dt < 0:
                raise ValueError(f"time went backwards: {now} < {sig.t}")
            q = now // sig.b
            if q != sig.q:
                sig._fill(q)
            sig.total += sig.value * dt
            sig.t = now
        if not n and sig.value:
            sig.zero_i = sig.i
        sig.value = n
        logged = req.id < self.logged_below
        lim = self.limiters.get(req.tenant)
        if lim is not None and logged:  # _release, inlined
            lim.release()
        if ms.inflight == 0:
            self._model_idle(ms, now)
        if logged:  # RunContext.complete, written out (most completions)
            ctx = self.ctx
            ctx.log.complete(req, self.tier_code)
            ctx.on_end(req, now)
        else:
            self.finish(req, now)

    def _log_reject(self, req: Request, reason: str) -> None:
        self.ctx.reject(req, reason, self.tier_code)

    def _log_cold(self, req: Request, wait_s: float, storage_tier: str) -> None:
        self.ctx.log.cold(req.id, wait_s, storage_tier)

    # ================================================================== autoscaling
    def _activate(self, ms: ModelState) -> None:
        if not ms.active:
            ms.active = True
            self.active[ms.idx] = ms
        if not self.ticking:
            self.ticking = True
            self._later(self.tick_s, self._tick)

    def _tick(self) -> None:
        now = self.env._now
        active = self.active
        for mi, ms in list(active.items()):  # (no max/min calls: this runs per model per tick)
            floor = ms.desired = ms.scaler.decide(now, ms.ready)
            least = ms.min if ms.min > 1 else 1
            if floor < least:
                floor = least  # scale in on the smoothed view, never to zero
            if ms.inflight:  # self._want(ms)
                want = floor if floor < ms.max else ms.max
            else:
                want = ms.min
            have = ms.ready + ms.loading
            if want > have:
                self._scale_up(ms, want - have, now)
            elif ms.ready > floor:
                self._scale_in(ms, ms.ready - floor, now)
            if ms.inflight == 0 and ms.loading == 0 and not ms.pending and ms.ready <= least:
                ms.active = False
                del active[mi]
        if self.active:
            self._later(self.tick_s, self._tick)
        else:
            self.ticking = False

    def warm_up(self, model_idx: int) -> bool:
        """Start a replica of a model with none warm or loading now (a pipeline's coordinated
        pre-warm, sim/simulation/pipeline.py); once warm it lives by the keep-alive like any idle
        replica. True if one was started."""
        ms = self.models.get(model_idx)
        if ms is None or ms.ready + ms.loading > 0 or ms.pending:
            return False
        if not self._place(ms, self.env.now, prewarm=True):  # no room: counted, said in a note
            self.prewarm_no_room[ms.name] = self.prewarm_no_room.get(ms.name, 0) + 1
            return False
        self._note("pipeline_prewarms", self.env.now, ms.name, ms.slots[-1].ledger_i)
        return True

    # ================================================================== end of run
    def close(self, t_end: float) -> None:
        for slot in self.slots.values():
            row = slot.row
            if slot.state == WARM:
                row.end_s = t_end
                slot.rep.settle()
                row.busy_s = slot.rep.busy_s
            elif slot.state == LOADING:
                row.end_s = t_end
                row.loading_s = max(t_end - row.start_s, 0.0)
        for row in [s.row for s in self.slots.values()] + self.stopped_rows:
            row.start_s = min(row.start_s, t_end)
            row.end_s = min(max(row.end_s, row.start_s), t_end)
            row.loading_s = min(row.loading_s, row.end_s - row.start_s)
            # serving follows loading; work past t_end (a hybrid's shadow copies, outside the
            # log, can keep a replica busy after the last logged request) is not in the row
            row.busy_s = min(row.busy_s, row.end_s - row.start_s - row.loading_s)

    def cold_starts(self) -> pd.DataFrame:
        return self.loader.table()

    def extra(self) -> dict:
        rows = self.ctx.ledger
        up = sum(r.up_s * r.gpus for r in rows if r.tier == self.tier)
        busy = sum(min(r.busy_s, r.up_s) * r.gpus for r in rows if r.tier == self.tier)
        loading = sum(min(r.loading_s, r.up_s) * r.gpus for r in rows if r.tier == self.tier)
        ka = {}
        for ms in self.models.values():
            pre, keep = self.keepalive.windows(ms.idx)
            ka[ms.name] = (pre, keep)
        return {
            "cold_starts": self.cold_starts(),
            "keepalive_windows": ka,
            "warm_start": dict(self.warm_start),  # model -> replicas warm at t=0
            # model -> (ready, wanted) at t=0, and its replicas loaded later in the run (not
            # loading still at its end: counted until December 2026)
            "warm_start_short": {m: (*rw, sum(1 for r in rows if r.tier == self.tier and r.model == m
                                               and r.start_s > 0 and r.loading_s < r.up_s))
                                 for m, rw in self.warm_short.items()},
            "warm_start_unused": dict(self.warm_unused),  # model -> its last stopped unused
            "preload_gaps": (str(self.cfg.cold_start.preloaded_tier), self.preload_gaps),
            "prewarm_no_room": dict(self.prewarm_no_room),
            "events": self.events,
            "stats": dict(self.stats, replicas=self.started, nodes=len(self.pool.nodes),
                          gpu_s=up, busy_gpu_s=busy, loading_gpu_s=loading,
                          idle_gpu_s=up - busy),
        }
