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
Loads from remote storage share its bandwidth (processor sharing, re-planned whenever a load
starts or ends).

Every replica is one ledger row: billed per token (the row is the provider's GPU time,
``billing="per_token"``) or per GPU-second from container start to stop, loading and idle
time included, with a minimum increment.
"""

from __future__ import annotations

from typing import Callable, Mapping

import pandas as pd
from simpy.events import Timeout

from sim.engine import ENGINES, Request, RequestQueue
from sim.errors import InputError, InvariantError
from sim.records import UsageRow
from sim.platform.coldstart import stages, tier_bandwidth_gbps
from sim.platform.serverless.autoscaler import Autoscaler
from sim.platform.serverless.eviction import EVICTIONS, IdleReplica, NodeView, choose_node
from sim.platform.serverless.interference import InterferedPerf
from sim.platform.serverless.keepalive import make_keepalive
from sim.platform.serverless.ratelimit import TenantLimiter
from sim.platform.storage import TIER_ORDER, NodeStorage, SharedBandwidth

LOADING, WARM, STOPPED = 0, 1, 2
_LOCAL = set(TIER_ORDER)


def _enum(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


class Node:
    __slots__ = ("id", "gpu", "gpus", "free", "ready_at", "storage", "image_cached", "slots")

    def __init__(self, nid, gpu, gpus, ready_at, storage, image_cached):
        self.id = nid
        self.gpu = gpu
        self.gpus = gpus
        self.free = gpus
        self.ready_at = ready_at
        self.storage = storage
        self.image_cached = image_cached
        self.slots: list[Slot] = []


class Slot:
    """One replica's life on the pool (loading, warm, stopped)."""

    __slots__ = ("id", "model", "node", "gpus", "state", "rep", "row", "t_place", "t_warm",
                 "idle_since", "ka_gen", "prewarm_until", "tier", "prewarm")

    def __init__(self, sid, model, node, gpus, t_place, tier, row, prewarm_until):
        self.id = sid
        self.model = model
        self.node = node
        self.gpus = gpus
        self.state = LOADING
        self.rep = None
        self.row = row
        self.t_place = t_place
        self.t_warm = -1.0
        self.idle_since = t_place
        self.ka_gen = 0
        self.prewarm_until = prewarm_until
        self.prewarm = prewarm_until is not None
        self.tier = tier


class ModelState:
    __slots__ = ("idx", "name", "dep", "perf", "queue", "slots", "scaler", "inflight",
                 "idle_since", "ready", "loading", "pending", "wait_armed", "prewarm_gen",
                 "last_load_s", "weight_bytes", "min", "max", "desired", "active",
                 "usd_per_gpu_hour")

    def __init__(self, idx, name, dep, perf, max_queue, scaler, min_r, max_r):
        self.idx = idx
        self.name = name
        self.dep = dep
        self.perf = perf
        self.queue = RequestQueue(max_queue)
        self.slots: list[Slot] = []
        self.scaler = scaler
        self.inflight = 0
        self.idle_since: float | None = None
        self.ready = 0
        self.loading = 0
        self.pending = False
        self.wait_armed = False
        self.prewarm_gen = 0
        self.last_load_s = -1.0
        self.weight_bytes = dep.model.weight_bytes(dep.precision)
        self.min = min_r
        self.max = max_r
        self.desired = min_r
        self.active = False
        self.usd_per_gpu_hour = 0.0


class ServerlessPlatform:
    """A shared pool serving ``models`` (model index -> name) of a run.

    ``finish(req, now)`` and ``reject(req, reason)`` end a request; by default they write
    the run's log (tier ``tier``) and call ``ctx.on_end``. An embedding setup may pass its
    own (e.g. to spill a rejected request elsewhere) but must still end it exactly once.
    ``cold(req, wait_s, storage_tier)`` records that a request waited for a cold start (by
    default in the run's log; an embedding setup may keep requests of its own apart).
    """

    def __init__(self, ctx, cfg, catalog, models: Mapping[int, str], *, tier: str = "serverless",
                 finish: Callable | None = None, reject: Callable | None = None,
                 cold: Callable | None = None):
        self.ctx = ctx
        self.env = ctx.env
        self.cfg = cfg
        sc = self.sc = cfg.serverless
        cs = cfg.cold_start
        self.tier = tier
        self.tier_code = ctx.log.tiers.code(tier)
        self.finish = finish or self._log_finish
        self.reject_cb = reject or self._log_reject
        self.cold_cb = cold or self._log_cold
        # ---------------------------------------------------------------- checks
        self.max_wait = float(sc.max_wait_s)
        if not self.max_wait > 0:
            raise InputError("must be > 0", key="serverless.max_wait_s")
        if int(sc.max_queue) < 1:
            raise InputError("must be >= 1", key="serverless.max_queue")
        speed = float(sc.runtime_speedup)
        if not speed > 0:
            raise InputError("must be > 0", key="serverless.runtime_speedup")
        a = sc.autoscaler
        if not a.tick_s > 0:
            raise InputError("must be > 0", key="serverless.autoscaler.tick_s")
        self.tick_s = float(a.tick_s)
        self.billing = _enum(sc.billing)
        if not sc.min_increment_s >= 0:
            raise InputError("must be >= 0", key="serverless.min_increment_s")
        self.alpha = float(sc.interference.per_neighbour)
        if self.alpha < 0:
            raise InputError("must be >= 0", key="serverless.interference.per_neighbour")
        # ---------------------------------------------------------------- storage
        self.tier_gbps = {t: tier_bandwidth_gbps(cfg, t) for t in cs.tiers}
        for t in TIER_ORDER:
            if t not in self.tier_gbps:
                raise InputError(f"the serverless pool needs storage tier {t!r}", key="cold_start.tiers")
        self.remote_tier = str(cs.remote_tier)
        if self.remote_tier not in self.tier_gbps or self.remote_tier in _LOCAL:
            raise InputError(f"must be a remote tier of cold_start.tiers (not {sorted(_LOCAL)}), "
                             f"got {self.remote_tier!r}", key="cold_start.remote_tier")
        remote_bw = self.tier_gbps[self.remote_tier]
        shared = cs.remote_shared_gbps if cs.remote_shared_gbps is not None else remote_bw
        if not shared > 0:
            raise InputError("must be > 0", key="cold_start.remote_shared_gbps")
        self.link = SharedBandwidth(float(shared) * 1e9, remote_bw * 1e9)
        self.link_gen = 0
        self.link_events: dict = {}
        preload = str(cs.preloaded_tier)
        if preload not in ("remote", "local_nvme", "host_dram"):
            raise InputError(f"must be remote, local_nvme or host_dram, not {preload!r}",
                             key="cold_start.preloaded_tier")
        # ---------------------------------------------------------------- the pool
        self.nodes: list[Node] = []
        self.by_class: dict[str, list[Node]] = {}
        self.pool_cfg = {}
        for gpu_key, pc in sc.pool.items():
            key = f"serverless.pool.{gpu_key}"
            catalog.gpu(gpu_key, key)
            if int(pc.nodes) < 0 or int(pc.gpus_per_node) < 1:
                raise InputError("needs nodes >= 0 and gpus_per_node >= 1", key=key)
            max_nodes = int(pc.max_nodes) if pc.max_nodes is not None else int(pc.nodes)
            if max_nodes < int(pc.nodes):
                raise InputError("max_nodes must be >= nodes", key=key + ".max_nodes")
            if pc.dram_cache_gb < 0 or pc.nvme_cache_gb < 0:
                raise InputError("cache sizes must be >= 0", key=key)
            self.pool_cfg[gpu_key] = (int(pc.gpus_per_node), max_nodes, float(pc.dram_cache_gb),
                                      float(pc.nvme_cache_gb))
            self.by_class[gpu_key] = []
            for _ in range(int(pc.nodes)):
                self._new_node(gpu_key, 0.0, bool(cs.image_cached_at_start))
        self.keepalive = make_keepalive(sc.keepalive)
        self.eviction = EVICTIONS[_enum(sc.eviction)]()
        # ---------------------------------------------------------------- models
        for m in a.min_replicas:
            if m not in models.values() and m not in catalog.models:
                raise InputError(f"unknown model {m!r}", key=f"serverless.autoscaler.min_replicas.{m}")
        if int(a.max_replicas) < 1:
            raise InputError("must be >= 1", key="serverless.autoscaler.max_replicas")
        self.models: dict[int, ModelState] = {}
        for mi, name in models.items():
            dep = ctx.deployment_for(name)
            perf = ctx.perf_for(name, speed)
            g = dep.gpu.key
            if g not in self.pool_cfg:
                raise InputError(f"model {name} runs on {g} but the pool has no {g} nodes "
                                 f"(it has {sorted(self.pool_cfg)})", key="serverless.pool")
            if dep.tp > self.pool_cfg[g][0]:
                raise InputError(f"model {name} needs {dep.tp} GPUs of one node; {g} nodes have "
                                 f"{self.pool_cfg[g][0]}", key=f"serverless.pool.{g}.gpus_per_node")
            min_r = int(a.min_replicas.get(name, 0))
            max_r = int(a.max_replicas)
            if not 0 <= min_r <= max_r:
                raise InputError(f"must be in [0, max_replicas={max_r}]",
                                 key=f"serverless.autoscaler.min_replicas.{name}")
            try:
                scaler = Autoscaler(a.target_concurrency, a.stable_window_s, a.panic_window_s,
                                    a.panic_threshold, min_r, max_r, bucket_s=min(1.0, self.tick_s))
            except ValueError as e:
                raise InputError(str(e), key="serverless.autoscaler") from None
            ms = ModelState(mi, name, dep, perf, int(sc.max_queue), scaler, min_r, max_r)
            if self.billing == "gpu_second":
                if dep.gpu.serverless_usd_per_s is None:
                    raise InputError(f"GPU {g} has no serverless $/s price for gpu_second billing",
                                     key=f"catalog.gpus.{g}.serverless_usd_per_s")
                ms.usd_per_gpu_hour = dep.gpu.serverless_usd_per_s * 3600.0
            else:
                mm = dep.model
                if mm.price_in_usd_per_mtok is None or mm.price_out_usd_per_mtok is None:
                    raise InputError(f"model {name} has no per-token price for per_token billing",
                                     key=f"catalog.models.{name}.price_in_usd_per_mtok")
                ms.usd_per_gpu_hour = dep.gpu.on_demand_usd_per_hour  # the provider's cost
            self.models[mi] = ms
            if preload != "remote":
                for node in self.by_class[g]:
                    node.storage.preload(mi, ms.weight_bytes, preload)
        # ---------------------------------------------------------------- tenants
        self.tenant_names = list(getattr(ctx, "tenant_names", []) or [])
        if self.tenant_names:
            for t in sc.rate_limits:
                if t not in self.tenant_names:
                    raise InputError(f"unknown tenant {t!r}", key=f"serverless.rate_limits.{t}")
        self.limiters: dict[int, TenantLimiter | None] = {}
        # ---------------------------------------------------------------- state
        self.slots: dict[int, Slot] = {}  # every replica ever, by id (creation order)
        self.pending: list[int] = []  # models waiting for GPUs, FIFO
        self.active: dict[int, ModelState] = {}  # models the autoscaler ticks over
        self.ticking = False
        self.retry_armed = False
        self.loads: list[tuple] = []  # one row per cold start (see extra)
        self.stats = {"evictions": 0, "scale_ups": 0, "keepalive_stops": 0, "scale_in_stops": 0,
                      "prewarm_unloads": 0, "prewarms": 0, "nodes_provisioned": 0}
        for ms in self.models.values():
            for _ in range(ms.min):
                if not self._place(ms, 0.0, warm_now=True):
                    raise InputError(f"the pool cannot hold the minimum replicas of {ms.name}",
                                     key=f"serverless.autoscaler.min_replicas.{ms.name}")

    # ================================================================== small helpers
    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        Timeout(self.env, max(delay, 0.0)).callbacks.append(lambda _ev: fn())

    def _new_node(self, gpu_key: str, ready_at: float, image_cached: bool) -> Node:
        gpn, _, dram, nvme = self.pool_cfg[gpu_key]
        node = Node(len(self.nodes), gpu_key, gpn, ready_at,
                    NodeStorage(dram * 1e9, nvme * 1e9, bool(self.cfg.cold_start.snapshots)),
                    image_cached)
        self.nodes.append(node)
        self.by_class[gpu_key].append(node)
        return node

    def _limiter(self, tenant: int) -> TenantLimiter | None:
        if tenant in self.limiters:
            return self.limiters[tenant]
        name = self.tenant_names[tenant] if tenant < len(self.tenant_names) else None
        rl = self.sc.rate_limits.get(name) if name is not None else None
        if rl is None:
            rl = self.sc.default_rate_limit
        lim = None
        if rl.rpm is not None or rl.tpm is not None or rl.concurrency is not None:
            key = f"serverless.rate_limits.{name}" if name in self.sc.rate_limits else "serverless.default_rate_limit"
            try:
                lim = TenantLimiter(rl.rpm, rl.tpm, rl.concurrency)
            except ValueError as e:
                raise InputError(str(e), key=key) from None
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
        now = self.env.now
        ms = self.models.get(req.model)
        if ms is None:
            raise InvariantError(f"request {req.id} for model {req.model}, which this platform does not serve")
        lim = self._limiter(req.tenant)
        if lim is not None:
            why = lim.admit(now, req.n_in + req.n_out)
            if why is not None:
                self.reject_cb(req, why)
                return
        if req.n_in + req.n_out > ms.perf.kv_capacity_tokens:
            self._release(req)
            self.reject_cb(req, "exceeds_kv_capacity")
            return
        if ms.idle_since is not None:  # the model was idle: one idle time for keep-alive
            self.keepalive.observe(ms.idx, now - ms.idle_since)
            ms.idle_since = None
            ms.prewarm_gen += 1  # cancels a pending pre-warm unload or load
        if not ms.queue.push(req):
            self._release(req)
            self.reject_cb(req, "queue_full")
            if ms.inflight == 0:
                ms.idle_since = now
            return
        ms.inflight += 1
        ms.scaler.observe(now, ms.inflight)
        if ms.ready == 0 and ms.loading == 0 and not ms.pending:
            ms.desired = max(ms.desired, 1)  # activator: scale from zero now
            self._scale_up(ms, 1, now)
        if ms.queue.items and not ms.wait_armed:
            self._arm_wait(ms)
        self._activate(ms)

    def _release(self, req: Request) -> None:
        lim = self.limiters.get(req.tenant)
        if lim is not None:
            lim.release()

    def _settle(self, req: Request, now: float) -> None:
        """A request of this platform ended: in-flight accounting, maybe the model idles."""
        ms = self.models[req.model]
        ms.inflight -= 1
        ms.scaler.observe(now, ms.inflight)
        self._release(req)
        if ms.inflight == 0:
            self._model_idle(ms, now)

    def _done(self, req: Request, now: float) -> None:  # engine sink
        self._settle(req, now)
        self.finish(req, now)

    def _log_finish(self, req: Request, now: float) -> None:
        self.ctx.log.complete(req, self.tier_code)
        self.ctx.on_end(req, now)

    def _log_reject(self, req: Request, reason: str) -> None:
        self.ctx.log.reject(req.id, reason, self.tier_code)
        self.ctx.on_end(req, self.env.now)

    def _log_cold(self, req: Request, wait_s: float, storage_tier: str) -> None:
        self.ctx.log.cold(req.id, wait_s, storage_tier)

    # ------------------------------------------------------------------ bounded wait
    def _arm_wait(self, ms: ModelState) -> None:
        ms.wait_armed = True
        head = ms.queue.items[0]
        self._later(head.arrival + self.max_wait - self.env.now, lambda: self._wait_fire(ms))

    def _wait_fire(self, ms: ModelState) -> None:
        ms.wait_armed = False
        now = self.env.now
        q = ms.queue.items
        while q and q[0].arrival + self.max_wait <= now + 1e-9:
            r = q.popleft()
            if ms.ready > 0:
                reason = "timeout_queued"
            else:
                loading = [s for s in ms.slots if s.state == LOADING]
                reason = "timeout_cold_start" if loading else "timeout_no_capacity"
                self.cold_cb(r, now - r.arrival, loading[0].tier if loading else "none")
            self._settle(r, now)
            self.reject_cb(r, reason)
        if q:
            self._arm_wait(ms)

    # ================================================================== autoscaling
    def _activate(self, ms: ModelState) -> None:
        if not ms.active:
            ms.active = True
            self.active[ms.idx] = ms
        if not self.ticking:
            self.ticking = True
            self._later(self.tick_s, self._tick)

    def _tick(self) -> None:
        now = self.env.now
        for mi in list(self.active):
            ms = self.active[mi]
            ms.desired = ms.scaler.decide(now, ms.ready)
            want = self._want(ms)
            have = ms.ready + ms.loading
            floor = max(ms.desired, ms.min, 1)  # scale in on the smoothed view, never to zero
            if want > have:
                self._scale_up(ms, want - have, now)
            elif ms.ready > floor:
                self._scale_in(ms, ms.ready - floor, now)
            if ms.inflight == 0 and ms.loading == 0 and not ms.pending and ms.ready <= max(ms.min, 1):
                ms.active = False
                del self.active[mi]
        if self.active:
            self._later(self.tick_s, self._tick)
        else:
            self.ticking = False

    def _scale_in(self, ms: ModelState, n: int, now: float) -> None:
        idle = [s for s in ms.slots if s.state == WARM and s.rep.n_running == 0]
        idle.sort(key=lambda s: (s.idle_since, s.id))
        for s in idle[:n]:
            if ms.queue.items:
                break
            self.stats["scale_in_stops"] += 1
            self._stop(s, now)

    def _scale_up(self, ms: ModelState, n: int, now: float) -> None:
        if ms.pending:
            return  # already waiting in line for GPUs
        for _ in range(n):
            if ms.ready + ms.loading >= ms.max:
                return
            if not self._place(ms, now):
                ms.pending = True
                self.pending.append(ms.idx)
                return

    def _retry_later(self) -> None:
        if self.pending and not self.retry_armed:
            self.retry_armed = True
            self._later(0.0, self._retry_pending)

    def _retry_pending(self) -> None:
        self.retry_armed = False
        now = self.env.now
        still = []
        for mi in self.pending:
            ms = self.models[mi]
            need = self._want(ms) - ms.ready - ms.loading
            while need > 0 and self._place(ms, now):
                need -= 1
            if need > 0:
                still.append(mi)
            else:
                ms.pending = False
        self.pending = still

    def warm_up(self, model_idx: int) -> bool:
        """Start a replica of a model with none warm or loading now (a pipeline's coordinated
        pre-warm, sim/pipeline.py); once warm it lives by the keep-alive like any idle
        replica. True if one was started."""
        ms = self.models.get(model_idx)
        if ms is None or ms.ready + ms.loading > 0 or ms.pending:
            return False
        if not self._place(ms, self.env.now, prewarm=True):
            return False
        self.stats["pipeline_prewarms"] = self.stats.get("pipeline_prewarms", 0) + 1
        return True

    # ================================================================== keep-alive
    def _model_idle(self, ms: ModelState, now: float) -> None:
        ms.idle_since = now
        pre, keep = self.keepalive.windows(ms.idx)
        if pre > 0:
            gen = ms.prewarm_gen
            self._later(0.0, lambda: self._prewarm_unload(ms, gen, now, pre, keep))

    def _prewarm_unload(self, ms, gen, t_idle, pre, keep) -> None:
        """Hybrid policy with a pre-warm window: unload now, load again just in time."""
        if ms.prewarm_gen != gen or ms.inflight > 0:
            return
        now = self.env.now
        for s in [s for s in ms.slots if s.state == WARM and s.rep.n_running == 0]:
            if ms.ready <= ms.min:
                break
            self.stats["prewarm_unloads"] += 1
            self._stop(s, now)
        lead = ms.last_load_s if ms.last_load_s >= 0 else 0.0
        at = max(t_idle + pre - lead, now)
        self._later(at - now, lambda: self._prewarm(ms, gen, t_idle + pre + keep))

    def _prewarm(self, ms, gen, until: float) -> None:
        if ms.prewarm_gen != gen or ms.ready + ms.loading > 0 or ms.pending:
            return
        if self._place(ms, self.env.now, prewarm_until=until):
            self.stats["prewarms"] += 1

    def _replica_idle(self, rep, now: float) -> None:  # engine hook
        slot = self.slots[rep.rid]
        if slot.state != WARM:
            return
        slot.idle_since = now
        self._retry_later()  # an idle replica can be evicted for a waiting scale-up
        ms = self.models[slot.model]
        if slot.prewarm_until is not None and rep.completed == 0:
            deadline = max(slot.prewarm_until, now)
        else:
            slot.prewarm_until = None
            pre, keep = self.keepalive.windows(ms.idx)
            if pre > 0 and ms.inflight == 0:
                return  # the model-level pre-warm unload takes it
            deadline = now + keep
        slot.ka_gen += 1
        gen = slot.ka_gen
        self._later(deadline - now, lambda: self._expire(slot, gen))

    def _expire(self, slot: Slot, gen: int) -> None:
        if slot.state != WARM or slot.ka_gen != gen or slot.rep.n_running > 0:
            return
        ms = self.models[slot.model]
        if ms.queue.items or ms.ready <= ms.min:
            return
        self.stats["keepalive_stops"] += 1
        self._stop(slot, self.env.now)

    # ================================================================== placement
    def _evictable(self, s: Slot, ms: ModelState) -> bool:
        if s.state != WARM or s.model == ms.idx or s.rep.n_running > 0:
            return False
        other = self.models[s.model]
        return not other.queue.items and other.ready > other.min

    def _place(self, ms: ModelState, now: float, prewarm_until: float | None = None,
               warm_now: bool = False, prewarm: bool = False) -> bool:
        dep = ms.dep
        cls, tp = dep.gpu.key, dep.tp
        nodes = self.by_class[cls]
        views = [NodeView(n.id, n.free, n.ready_at <= now, n.storage.best_tier(ms.idx)) for n in nodes]
        nid = choose_node(views, tp)
        victims = []
        if nid is None and not warm_now:
            idle = [IdleReplica(s.id, n.id, s.gpus, s.idle_since)
                    for n in nodes for s in n.slots if self._evictable(s, ms)]
            got = self.eviction.choose(views, tp, idle)
            if got is not None:
                nid, victims = got
        if nid is None and not warm_now and len(nodes) < self.pool_cfg[cls][1]:
            node = self._new_node(cls, now + float(self.cfg.cold_start.node_provision_s), False)
            self.stats["nodes_provisioned"] += 1
            nid = node.id
        if nid is None:
            return False
        for v in victims:
            self.stats["evictions"] += 1
            self._stop(self.slots[v], now)
        self._start(ms, self.nodes[nid], now, prewarm_until, warm_now, prewarm)
        return True

    def _start(self, ms: ModelState, node: Node, now: float, prewarm_until, warm_now: bool,
               prewarm: bool = False) -> None:
        dep = ms.dep
        local = node.storage.best_tier(ms.idx)
        tier = local or self.remote_tier
        node.storage.record_load(ms.idx, ms.weight_bytes, local)
        row = UsageRow(model=ms.name, gpu=dep.gpu.key, gpus=dep.tp, tier=self.tier,
                       start_s=max(now, node.ready_at), end_s=max(now, node.ready_at), busy_s=0.0,
                       billing="per_token" if self.billing == "per_token" else "gpu_second",
                       usd_per_gpu_hour=ms.usd_per_gpu_hour,
                       min_increment_s=float(self.sc.min_increment_s) if self.billing == "gpu_second" else 0.0)
        self.ctx.ledger.append(row)
        slot = Slot(self.ctx.new_replica_id(), ms.idx, node, dep.tp, now, tier, row, prewarm_until)
        self.slots[slot.id] = slot
        node.free -= dep.tp
        node.slots.append(slot)
        ms.slots.append(slot)
        ms.loading += 1
        if warm_now:  # provisioned before the run: warm at t=0
            slot.tier = "resident"
            self._warm(slot, now)
            return
        self.stats["scale_ups"] += 1
        st = stages(self.cfg, dep, tier, need_node=False, image_cached=node.image_cached,
                    bandwidth_gbps=self.tier_gbps[tier])
        self.env.process(self._load(slot, ms, node, st, tier, prewarm_until is not None or prewarm))

    def _load(self, slot: Slot, ms: ModelState, node: Node, st, tier: str, prewarm: bool):
        env = self.env
        t0 = env.now
        if node.ready_at > t0:  # the node is being provisioned
            yield env.timeout(node.ready_at - t0)
        t1 = env.now
        yield env.timeout(st.container_s)
        node.image_cached = True
        t2 = env.now
        if tier == self.remote_tier:
            ev = env.event()
            self.link.start(slot.id, ms.weight_bytes, t2)
            self.link_events[slot.id] = ev
            self._link_replan()
            yield ev
        else:
            yield env.timeout(st.weights_s)
        t3 = env.now
        yield env.timeout(st.init_s)
        t4 = env.now
        ms.last_load_s = t4 - t0
        self.loads.append((slot.id, ms.name, node.id, tier, bool(prewarm), t0, t1 - t0, t2 - t1,
                           t3 - t2, t4 - t3, t4 - t0, t4))
        self._warm(slot, t4)

    # ------------------------------------------------------------------ remote link
    def _link_replan(self) -> None:
        self.link_gen += 1
        t = self.link.next_finish()
        if t is None:
            return
        gen = self.link_gen
        self._later(t - self.env.now, lambda: self._link_fire(gen))

    def _link_fire(self, gen: int) -> None:
        if gen != self.link_gen:
            return
        self.link.advance(self.env.now)
        # done: less than a nanosecond of transfer left at the current share (float slack)
        tol = self.link.rate * 1e-9
        for k in [k for k, v in self.link.left.items() if v <= tol]:
            del self.link.left[k]
            self.link_events.pop(k).succeed()
        self._link_replan()

    # ------------------------------------------------------------------ warm / stop
    def _warm(self, slot: Slot, now: float) -> None:
        ms = self.models[slot.model]
        ms.loading -= 1
        ms.ready += 1
        slot.state = WARM
        slot.t_warm = now
        slot.row.loading_s = max(now - slot.row.start_s, 0.0)
        if ms.ready == 1:
            # the model was cold: every queued request waited for this cold start
            for r in ms.queue.items:
                self.cold_cb(r, now - r.arrival, slot.tier)
        perf = InterferedPerf(ms.perf) if self.alpha > 0 else ms.perf
        rep = ENGINES[self.ctx.engine](self.env, slot.id, perf, ms.dep, ms.queue, self._done)
        rep.on_idle = self._replica_idle
        slot.rep = rep
        slot.idle_since = now
        slot.node.storage.record_snapshot(ms.idx)
        self._interference(slot.node)
        if ms.queue.items:
            ms.queue.notify()
        if rep.n_running == 0:
            self._replica_idle(rep, now)
        if ms.pending and ms.ready + ms.loading >= self._want(ms):
            ms.pending = False
            self.pending.remove(ms.idx)
        self._activate(ms)

    def _stop(self, slot: Slot, now: float) -> None:
        ms = self.models[slot.model]
        left = slot.rep.abort()
        if left:
            raise InvariantError(f"replica {slot.id} stopped with {len(left)} requests in flight")
        slot.state = STOPPED
        ms.ready -= 1
        ms.slots.remove(slot)
        node = slot.node
        node.free += slot.gpus
        node.slots.remove(slot)
        slot.row.end_s = now
        slot.row.busy_s = slot.rep.busy_s
        self._interference(node)
        self._retry_later()

    def _interference(self, node: Node) -> None:
        if self.alpha <= 0:
            return
        warm = [s for s in node.slots if s.state == WARM]
        f = 1.0 + self.alpha * (len(warm) - 1)
        for s in warm:
            s.rep.perf.factor = f

    def expected_wait(self, model: int, now: float) -> float:
        """How long a request for ``model`` arriving now would wait for a replica (for an
        embedding setup choosing where to send it): none with a warm replica, the rest of a
        load in progress, else a whole cold start (as long as the model's last one, or the
        stages from the remote tier before any)."""
        ms = self.models.get(model)
        if ms is None:
            return float("inf")
        if ms.ready > 0:
            return 0.0
        est = ms.last_load_s
        if est < 0:
            est = stages(self.cfg, ms.dep, self.remote_tier,
                         bandwidth_gbps=self.tier_gbps[self.remote_tier]).total_s
        started = [s.t_place for s in ms.slots if s.state == LOADING]
        return max(min(started) + est - now, 0.0) if started else est

    # ================================================================== end of run
    def close(self, t_end: float) -> None:
        for slot in self.slots.values():
            row = slot.row
            if slot.state == WARM:
                row.end_s = t_end
                row.busy_s = slot.rep.busy_s
            elif slot.state == LOADING:
                row.end_s = t_end
                row.loading_s = max(t_end - row.start_s, 0.0)
            row.start_s = min(row.start_s, t_end)
            row.end_s = min(max(row.end_s, row.start_s), t_end)
            row.loading_s = min(row.loading_s, row.end_s - row.start_s)
            # serving follows loading; work past t_end (a hybrid's shadow copies, outside the
            # log, can keep a replica busy after the last logged request) is not in the row
            row.busy_s = min(row.busy_s, row.end_s - row.start_s - row.loading_s)

    def cold_starts(self) -> pd.DataFrame:
        cols = ["replica", "model", "node", "tier", "prewarm", "start_s", "provision_s",
                "container_s", "weights_s", "init_s", "total_s", "warm_s"]
        if not self.loads:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
        return pd.DataFrame(self.loads, columns=cols)

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
            "keepalive_windows": ka,  # each model's (pre-warm, keep-alive) at the end
            "stats": dict(self.stats, replicas=len(self.slots), nodes=len(self.nodes),
                          gpu_s=up, busy_gpu_s=busy, loading_gpu_s=loading,
                          idle_gpu_s=up - busy),
        }


__all__ = ["ServerlessPlatform"]
