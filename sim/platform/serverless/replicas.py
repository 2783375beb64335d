"""A replica's life on the shared pool: placement, cold start, warm, keep-alive, stop.

:class:`ReplicaLifecycle` is the half of :class:`~sim.platform.serverless.platform.
ServerlessPlatform` that starts and stops replicas (scale-up, scale-in, the FIFO of
scale-ups waiting for GPUs); the platform (the other half: the
request path and the autoscaler) inherits it and owns the state both use: ``env``, ``cfg``,
``sc``, ``ctx``, ``pool``, ``loader``, ``keepalive``, ``models``, ``slots``, ``pending``,
``stats``, ``tier``, ``tier_code``, ``tier_gbps``, ``remote_tier``, ``billing``, ``alpha``,
``cold_cb``.

Keep-alive: an idle replica stops when its keep-alive runs out (``fixed``: ``idle_s``;
``hybrid``: the histogram policy's window, which may instead unload at once and load again
just before the next request is expected), unless the autoscaler wants it: with requests in
flight, its count at least the replicas up (scaling down is then the autoscaler's decision). Placement takes ``tp`` GPUs of one node
(:class:`~sim.platform.serverless.nodes.NodePool`), evicting idle replicas of other models
or provisioning a node when allowed; a replica placed at t=0 for ``min_replicas`` or a warm start
(``serverless.start: warm``, sized by sizing.py) is warm at once ("resident").
"""

from __future__ import annotations

import numpy as np

from sim.engine import ENGINES, Request
from sim.errors import InvariantError
from sim.platform.coldstart import stages
from sim.platform.serverless.interference import InterferedPerf
from sim.platform.serverless.sizing import (
    closed_inflight,
    sent_estimate,
    warm_inflight,
    warm_replicas,
)
from sim.platform.serverless.state import LOADING, STOPPED, WARM, ModelState, Node, Slot
from sim.records import UsageRow


class ReplicaLifecycle:
    # the replicas a warm start placed, until they stop, and per model when the last of
    # them stopped before serving (said in the run's notes); set by _start_warm
    warm_ids: frozenset | set = frozenset()
    warm_unused: dict = {}

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
            self._note("prewarm_unloads", now, ms.name, s.ledger_i)
            self._stop(s, now)
        lead = ms.last_load_s if ms.last_load_s >= 0 else 0.0
        at = max(t_idle + pre - lead, now)
        self._later(at - now, lambda: self._prewarm(ms, gen, t_idle + pre + keep))

    def _prewarm(self, ms, gen, until: float) -> None:
        if ms.prewarm_gen != gen or ms.ready + ms.loading > 0 or ms.pending:
            return
        if self._place(ms, self.env.now, prewarm_until=until):
            self._note("prewarms", self.env.now, ms.name, ms.slots[-1].ledger_i)  # the placed one

    def _replica_idle(self, rep, now: float) -> None:  # engine hook
        slot = self.slots.get(rep.rid)
        if slot is None or slot.state != WARM:  # stopped
            return
        slot.idle_since = now
        if self.pending:  # an idle replica can be evicted for a waiting scale-up
            self._retry_later()
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
        if ms.ready + ms.loading <= self._want(ms):
            # the autoscaler wants every replica up (requests in flight, its count at least
            # the replicas): scaling down is its decision, the idle timeout applies only to
            # what it does not want. Checked again each tick while idle (until December 2026
            # keep-alive stopped it and the same tick's scale-up loaded another, which idled
            # out in turn: 3 of 6 replicas loaded, never served, $0.345 of a $1.044 bill)
            self._later(self.tick_s, lambda: self._expire(slot, gen))
            return
        self._note("keepalive_stops", self.env.now, self.models[slot.model].name, slot.ledger_i)
        self._stop(slot, self.env.now)

    # ================================================================== scaling
    def _scale_in(self, ms: ModelState, n: int, now: float) -> None:
        idle = [s for s in ms.slots if s.state == WARM and s.rep.n_running == 0]
        idle.sort(key=lambda s: (s.idle_since, s.id))
        for s in idle[:n]:
            if ms.queue.items:
                break
            self._note("scale_in_stops", now, ms.name, s.ledger_i)
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

    # ================================================================== warm start
    def _start_warm(self, wl, on_pool) -> None:
        """``serverless.start: warm``: each model gets the replicas its first stable window
        needs (sizing.py), warm and billed from t=0, then lives by the autoscaler and the
        keep-alive like any replica; the pool's room at t=0 bounds them (models in index
        order)."""
        a = self.sc.autoscaler
        self.warm_ids, self.warm_unused = set(), {}
        # only requests sent in the first window count (sizing.warm_replicas): with every
        # arrival known and sorted, only those rows are read (the whole columns were 22
        # bytes a request of pages and temporaries at the 24-hour platform benchmark's start)
        # the first window, or the whole run when shorter: its arrivals over its own length
        # (until December 2026 over the 60 s window whatever the horizon, so a 20 s run was
        # sized for a third of its rate and its panic window loaded the rest mid-run)
        win = min(float(a.stable_window_s), float(wl.horizon_s))
        k = (len(wl) if wl.closed or wl.pipelines is not None
             else int(np.searchsorted(wl.arrival_s, win, side="left")))
        tenant, model, n_in, n_out = (c[:k] for c in (wl.tenant, wl.model, wl.input_tokens,
                                                      wl.output_tokens))
        served = np.isin(model, list(self.models))
        share = np.ones(k)  # of each request, the share the pool serves (on_pool)
        if on_pool is not None:
            code = tenant[served].astype(np.int64) * len(wl.models) + model[served]
            pairs, inv = np.unique(code, return_inverse=True)
            share[served] = np.array([float(on_pool(c // len(wl.models), c % len(wl.models)))
                                      for c in pairs.tolist()])[inv]
            served &= share > 0
        arrival = sent_estimate(wl)[:k]
        closed = np.isin(tenant, list(wl.closed)) if wl.closed else np.zeros(k, bool)
        for mi, ms in self.models.items():
            inflight = 0.0
            # each share's requests sized alone, then weighted: a hybrid's mirrored copies
            # (hybrid.shadow_fraction of a dedicated model's) beside the pool's own
            for w in np.unique(share[served & (model == mi)]).tolist():
                mask = served & (model == mi) & (share == w)
                loop = 0.0  # closed-loop clients' requests in flight
                for ti, clients in wl.closed.items():
                    own = mask & (tenant == ti)
                    if own.any():
                        think = float(wl.think_s[own].mean()) if wl.think_s is not None else 0.0
                        loop += closed_inflight(ms.perf, clients, think, float(n_in[own].mean()),
                                                float(n_out[own].mean()))
                mask &= ~closed
                inflight += w * warm_inflight(arrival[mask], n_in[mask], n_out[mask], ms.perf,
                                              win, closed=loop)
            n = warm_replicas(inflight, float(a.target_concurrency), ms.max)
            # as if the pool had served that over the window before t=0: the first ticks do not
            # scale in what the warm start sized (they averaged over (0, t] only until December
            # 2026, so at t=2 one request in flight undid it and the next requests reloaded)
            ms.scaler.seed(inflight)
            placed = 0
            while ms.ready < n and self._place(ms, 0.0, warm_now=True):
                placed += 1
                self.warm_ids.add(ms.slots[-1].id)
            self.warm_start[ms.name] = placed
            if ms.ready < n:  # the pool was full: said in the run's notes, not dropped silently
                self.warm_short[ms.name] = (ms.ready, n)

    # ================================================================== placement
    def _evictable(self, s: Slot, ms: ModelState) -> bool:
        if s.state != WARM or s.model == ms.idx or s.rep.n_running > 0:
            return False
        other = self.models[s.model]
        return not other.queue.items and other.ready > other.min

    def _place(self, ms: ModelState, now: float, prewarm_until: float | None = None,
               warm_now: bool = False, prewarm: bool = False) -> bool:
        dep = ms.dep
        evictable = None if warm_now else (lambda s: self._evictable(s, ms))
        node, victims, provisioned = self.pool.choose(ms.idx, dep.gpu.key, dep.tp, now, evictable,
                                                      may_provision=not warm_now)
        if node is None:
            return False
        if provisioned:
            self._note("nodes_provisioned", now, ms.name)
        for v in victims:
            self._note("evictions", now, self.models[self.slots[v].model].name, self.slots[v].ledger_i)
            self._stop(self.slots[v], now)
        self._start(ms, node, now, prewarm_until, warm_now, prewarm)
        return True

    def _start(self, ms: ModelState, node: Node, now: float, prewarm_until, warm_now: bool,
               prewarm: bool = False) -> None:
        dep = ms.dep
        local = node.storage.best_tier(ms.idx)  # the tier now; a load takes its own later
        tier = local or self.remote_tier
        gpu_second = self.billing == "gpu_second"
        row = UsageRow(model=ms.name, gpu=dep.gpu.key, gpus=dep.tp, tier=self.tier,
                       start_s=max(now, node.ready_at), end_s=max(now, node.ready_at), busy_s=0.0,
                       billing="gpu_second" if gpu_second else "per_token",
                       usd_per_gpu_hour=ms.usd_per_gpu_hour,
                       min_increment_s=float(self.sc.min_increment_s) if gpu_second else 0.0,
                       batch_price_factor=1.0 if gpu_second else float(self.sc.batch_price_factor))
        ledger_i = self.ctx.add_row(row)
        slot = Slot(self.ctx.new_replica_id(ledger_i), ms.idx, node, dep.tp, now, tier, row,
                    prewarm_until)
        slot.ledger_i = ledger_i
        self.slots[slot.id] = slot
        self.started += 1
        self.pool.occupy(node, slot, ms.weight_bytes, local, loaded=warm_now)
        ms.slots.append(slot)
        ms.loading += 1
        if warm_now:  # provisioned before the run: warm at t=0
            slot.tier = "resident"
            self._warm(slot, now)
            return
        self._note("scale_ups", now, ms.name, slot.ledger_i)
        st = stages(self.cfg, dep, tier, need_node=False, image_cached=node.image_cached,
                    bandwidth_gbps=self.tier_gbps[tier])
        self.loader.start(slot, ms, node, st.container_s, self._weight_stage,
                          prewarm_until is not None or prewarm, self._warm)

    def _weight_stage(self, slot: Slot, node: Node):
        """``(tier, stages)`` of ``slot``'s load as its weight stage starts: from the fastest
        tier holding the weights on its node then. Until December 2026 the tier was taken at
        placement, so a replica placed while its node was still downloading the weights read
        them from remote storage once they were in the page cache (27.42 s against 26.16 s from
        host memory), and three placed at once shared the node's link (3.19 s each, not 0.16)."""
        ms = self.models[slot.model]
        tier = node.storage.best_tier(ms.idx) or self.remote_tier
        slot.tier = tier
        return tier, stages(self.cfg, ms.dep, tier, bandwidth_gbps=self.tier_gbps[tier])

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
                self.cold_cb(r, self.waited(r, now), slot.tier)
        perf = InterferedPerf(ms.perf) if self.alpha > 0 else ms.perf
        rep = ENGINES[self.ctx.engine](self.env, slot.id, perf, ms.dep, ms.queue, self._done)
        rep.attach(slot.row.kv)  # its cache and load statistics land in its ledger row
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
        if slot.id in self.warm_ids:  # a warm start's replica stopped before serving: said
            self.warm_ids.discard(slot.id)
            if slot.rep.completed == 0 and ms.ready == 1:  # the model is back to none
                self.warm_unused[ms.name] = now
        ms.ready -= 1
        ms.slots.remove(slot)
        node = slot.node
        self.pool.vacate(node, slot)
        slot.row.end_s = now
        slot.row.busy_s = slot.rep.busy_s
        slot.row.kv.close()  # its replica is gone: the row kept small (sim/records.py)
        # and packed, a view in its place in the ledger (closedrows.py)
        row = self.ctx.ledger[slot.ledger_i] = self.closed_rows.pack(slot.row)
        del self.slots[slot.id]
        self.stopped_rows.append(row)
        self._interference(node)
        self._retry_later()

    def _interference(self, node: Node) -> None:
        if self.alpha <= 0:
            return
        warm = [s for s in node.slots if s.state == WARM]
        f = 1.0 + self.alpha * (len(warm) - 1)
        for s in warm:
            if s.rep.perf.factor != f:
                s.rep.perf.factor = f
                s.rep.replan()

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

    def waited(self, req: Request, now: float) -> float:
        """How long ``req`` has been in the pool at ``now``: since it joined (:attr:`joined`),
        else its arrival."""
        return now - self.joined.get(req.id, req.arrival)

    # ================================================================== the end
    def cold_waiters(self) -> list[tuple[Request, float, str]]:
        """``(request, wait so far, tier of the load)`` of each request queued now for a model
        with no ready replica: a cold waiter, whose wait a load or a timeout would log."""
        now = self.env.now
        out = []
        for ms in self.models.values():
            if ms.ready == 0 and ms.queue.items:
                loading = [s for s in ms.slots if s.state == LOADING]
                tier = loading[0].tier if loading else "none"
                out += [(r, self.waited(r, now), tier) for r in ms.queue.items]
        return out

    def held(self) -> list[tuple[Request, int]]:
        """``(request, tier code)`` of each request the pool holds (its tier): queued for
        its model or on a replica. Checked against the in-flight counts the request path
        keeps (a request held elsewhere would be a bug). A request queued for a model with no
        ready replica is logged cold, its wait to now, as a bounded wait's timeout logs it
        (until December 2026 it was not: with serverless.max_wait_s=inf a pool of no GPUs
        counted 0 cold requests, and 68 with the default 300 s)."""
        out = []
        for r, wait, tier in self.cold_waiters():
            self.cold_cb(r, wait, tier)
        for ms in self.models.values():
            n = len(out)
            out += [(r, self.tier_code) for r in ms.queue.items]
            for slot in ms.slots:
                if slot.rep is not None:
                    out += [(r, self.tier_code)
                            for r in (*slot.rep.running.values(), *slot.rep.waiting)]
            if len(out) - n != ms.inflight:
                raise InvariantError(f"{ms.name}: {len(out) - n} requests queued or on replicas, "
                                     f"{ms.inflight} in flight")
        return out
