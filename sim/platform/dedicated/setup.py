"""Dedicated setup: reserved replicas per model, warm from t=0, billed per GPU-hour.

Weights are resident before the first request, so there is no cold start; the replicas
run the tuned runtime (``dedicated.runtime_speedup``: every iteration takes the perf
model's time divided by it) and are billed for the whole period at the reserved or
on-demand rate, busy, idle or failed.

Optional pieces, each off by default:

* burst (``dedicated.burst``): on-demand replicas join a model's pool while its queue wait
  is high (:mod:`sim.platform.dedicated.burst`); requests they serve are logged in tier ``burst``
  and their GPU-seconds are billed in ledger tier ``burst``;
* failures (``dedicated.failures``): reserved replicas fail and come back
  (:mod:`sim.platform.dedicated.failures`). A failed replica's in-flight requests go back to the head
  of the queue (``attempts`` counts the interrupted tries) or fail with a reason; its
  ledger row keeps billing (the reservation runs on) and records the down time apart;
* spot replicas (``dedicated.spot``): some of a model's replicas are spot instances, billed
  at the spot price and reclaimed by the cloud after a notice, their requests retried the
  same way, a replacement loading cold (:mod:`sim.platform.dedicated.spot`). Failures
  apply to the other replicas.

Batch-tier tenants (``tenants.<t>.priority: batch``) wait in their pool's batch queue, which
the reserved replicas (not burst or spot replicas) fill their spare capacity from
(``dedicated.batch``, :class:`~sim.engine.request.BatchQueue`).
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

from sim.engine import Request
from sim.platform.base import RunContext
from sim.platform.coldstart import stages
from sim.platform.dedicated.burst import BurstPool, burst_pool
from sim.platform.dedicated.failures import (
    FailureDriver,
    FailurePlan,
    RetryPolicy,
    put_ahead,
)
from sim.platform.dedicated.spot import SpotFleet, drive_reclaims
from sim.platform.dedicated.tables import setup_tables
from sim.platform.placement import run_dedicated_models
from sim.platform.pool import ModelPool
from sim.records import EventLog, UsageRow


class Slot:
    """A reserved replica position: one ledger row, one replica at a time (a failure ends
    it; the recovery starts a new one)."""

    def __init__(self, index: int, pool: ModelPool, row: UsageRow, ledger_i: int):
        self.index = index
        self.pool = pool
        self.row, self.ledger_i = row, ledger_i  # its ledger row and that row's place (replicas.csv's row)
        self.rep = None
        self.dep = self.perf = None  # a heterogeneous fleet's variant (None: the pool's own)
        self.past_busy_s = 0.0  # busy time of replicas this slot had before a failure
        self.down: list[list[float]] = []  # [start, end] of each down period
        self.failures = 0
        self.plan: FailurePlan | None = None  # its failures' (dedicated.failures)

    @property
    def busy_s(self) -> float:
        return self.past_busy_s + (self.rep.busy_s if self.rep is not None else 0.0)


class DedicatedSetup:
    """Reserved replicas per model. Besides the :class:`~sim.platform.base.Setup` protocol it
    offers the pieces a composing setup (the hybrid) needs: :meth:`admit` and
    :meth:`turn_away` (``submit`` is the two together), :meth:`queue_state`,
    :meth:`back_at`, an ``on_complete(req, now)`` listener called at each completion and
    ``overflow(req, reason)``, offered each interrupted request that finds no replica to go
    to (reason ``no_replica`` or ``queue_full``) and, without burst replicas, each request
    of a central queue when the model's last replica that admits fails, is reclaimed or
    noticed (reason ``stranded``), whether it took it (the hybrid spills it to its pool)."""

    name = "dedicated"
    serves_background = False

    def __init__(self, ctx: RunContext, cfg, catalog, models: list[str] | Mapping[int, str],
                 on_complete: Callable[[Request, float], None] | None = None):
        """``models``: the run's models (a list), or a subset as model index -> name (a
        hybrid setup serves only its dedicated-tier models here)."""
        self.ctx = ctx
        self.on_complete = on_complete
        self.overflow: Callable[[Request, str], bool] = lambda req, reason: False
        self.events = EventLog()  # failures and recoveries
        dc = cfg.dedicated
        named = dict(models) if isinstance(models, Mapping) else dict(enumerate(models))
        models = list(named.values())
        speed = float(dc.runtime_speedup)
        self.pools: dict[int, ModelPool] = {}
        self.slots: list[Slot] = []
        self.burst: dict[int, BurstPool] = {}
        self.burst_code = ctx.log.tiers.code("burst")
        self.in_transit: dict[int, Request] = {}  # served remotely, tokens on their way back
        pricing = str(dc.pricing)
        self.retry = RetryPolicy(int(dc.failures.max_attempts))
        self._retried: dict[tuple[str, str], int] = {}  # (cause, model) -> retried tries
        self._failed: dict[tuple[str, str], int] = {}  # (cause, model) -> failed requests
        n_spot = {m: int(dc.spot.replicas.get(m, 0)) for m in models}
        self.spot = (SpotFleet(ctx, self._interrupt_spot, lambda pool, req, now: self._reroute(
                                   pool, req, now, "spot_preemption"), self.events,
                               float(dc.spot.preemption.notice_s), bool(dc.spot.replacement),
                               bool(dc.spot.replace_at_notice))
                     if any(n_spot.values()) else None)
        wl = ctx.workload
        self.batch_tids = wl.batch_tenant_ids() if wl is not None else set()
        for mi, m in named.items():
            n = int(dc.replicas.get(m, 1)) - n_spot[m]
            dep = ctx.deployment_for(m)
            perf = ctx.perf_for(m, speed)
            pool = ModelPool(ctx, m, dep, perf, str(dc.router), int(dc.max_queue), "dedicated",
                             self._done_burst if dc.burst.enabled else self._done,
                             dc.cache_router)
            if self.batch_tids:
                pool.enable_batch(float(dc.batch.running_fraction), float(dc.batch.kv_fraction))
            price = (dep.gpu.reserved_usd_per_hour if pricing == "reserved"
                     else dep.gpu.on_demand_usd_per_hour)
            fleet = [(dep, perf, price, n)]
            for vi, v in enumerate(dc.variants):  # the fleet's other GPU classes
                if v.model != m:
                    continue
                where = ("dedicated.variants", vi)
                vdep = ctx.deployment_for(m, where)
                vpricing = pricing if v.pricing is None else str(v.pricing)
                fleet.append((vdep, ctx.perf_for(m, speed, where),
                              vdep.gpu.reserved_usd_per_hour if vpricing == "reserved"
                              else vdep.gpu.on_demand_usd_per_hour, int(v.replicas)))
            i = 0
            for fdep, fperf, fprice, count in fleet:
                for _ in range(count):
                    row = UsageRow(model=m, gpu=fdep.gpu.key, gpus=fdep.tp, tier="dedicated",
                                   start_s=0.0, end_s=0.0, busy_s=0.0, billing="gpu_hour",
                                   usd_per_gpu_hour=fprice)
                    slot = Slot(i, pool, row, ctx.add_row(row))
                    if fdep is not dep:
                        slot.dep, slot.perf = fdep, fperf
                    slot.rep = pool.add_replica(row, slot.dep, slot.perf, batch=True,
                                                row=slot.ledger_i)
                    self.slots.append(slot)
                    i += 1
            if n_spot[m]:
                cold = stages(cfg, dep, dc.spot.storage_tier, need_node=bool(dc.spot.need_node),
                              image_cached=bool(dc.spot.image_cached))
                for i in range(n_spot[m]):
                    self.spot.add(pool, i, dep.gpu.spot_usd_per_hour, cold)
            self.pools[mi] = pool
        if dc.burst.enabled:
            self._setup_burst(cfg, named)
        self.failure_mode = str(dc.failures.mode)
        self.sla = float(dc.failures.sla)
        self._mtbf_mttr: dict[tuple[str, int], tuple[float, float]] = {}  # (model, replica)
        self._scripted: dict[str, list[FailurePlan]] = {}  # key or file -> its listed plans
        self.t_end = 0.0
        self.stranded: list[str] = []  # set by close()
        if self.spot is not None:
            drive_reclaims(self.spot, cfg, self._scripted, self._notice)
        if self.failure_mode != "none":
            self._setup_failures(cfg)

    # -------------------------------------------------------------------------- burst
    def _setup_burst(self, cfg, models: dict[int, str]) -> None:
        for mi in models:
            self.burst[mi] = burst_pool(self.ctx, cfg, self.pools[mi])

    def _setup_failures(self, cfg) -> None:
        fc = cfg.dedicated.failures
        script: dict[tuple[str, int], list] = {}
        ctx = self.ctx
        for ev in fc.script:  # checked by the build layer
            m = ev.model or run_dedicated_models(cfg, ctx.workload.user_models, ctx.tenant_names,
                                                 ctx.n_user_tenants, ctx.tenant_models)[0]
            script.setdefault((m, int(ev.replica)), []).append((float(ev.at_s), float(ev.down_s)))
        plans = []
        for s in self.slots:
            dep = s.dep or s.pool.deployment
            mtbf_s = float(fc.mtbf_gpu_hours) * 3600.0 / dep.tp
            reload_s = stages(cfg, dep, fc.reload_tier).total_s
            self._mtbf_mttr[(s.pool.model, s.index)] = (mtbf_s, float(fc.mttr_s) + reload_s)
            s.plan = FailurePlan(self.failure_mode, seed=int(cfg.seed),
                                 name=f"dedicated/{s.pool.model}/{s.index}", mtbf_s=mtbf_s,
                                 mttr_s=float(fc.mttr_s), reload_s=reload_s,
                                 script=script.get((s.pool.model, s.index)))
            plans.append((s, s.plan))
        self.failures = FailureDriver(self.ctx.env, plans, self._fail, self._recover)
        if self.failure_mode == "script":
            self._scripted["dedicated.failures.script"] = [p for _, p in plans]

    # ----------------------------------------------------------------------- failures
    def _fail(self, slot: Slot, now: float) -> None:
        rep = slot.rep
        slot.rep = None
        rep.settle()
        slot.past_busy_s += rep.busy_s
        slot.failures += 1
        slot.down.append([now, math.inf])
        self.events.add(now, "fail", slot.pool.model, slot.ledger_i)
        self._interrupt(slot.pool, rep, now, "replica_failure")

    def _interrupt_spot(self, pool: ModelPool, rep, now: float) -> None:
        self._interrupt(pool, rep, now, "spot_preemption")

    def _interrupt(self, pool: ModelPool, rep, now: float, cause: str) -> None:
        """Stop ``rep`` now: the requests it held go back to the head of the queue for
        another try, or fail with reason ``cause`` after ``max_attempts`` tries."""
        interrupted = rep.abort()
        if rep.queue is not pool.central:  # its own queue never started: route again
            for req in rep.queue.drop_all():
                self._reroute(pool, req, now, cause)
        key = (cause, pool.model)
        # a try given up ends in the tier of the replica that held it (a spot instance's
        # own, as a request the run's end cuts there): until December 2026 the pool's
        on = pool.tier_code if rep.usage is None else self.ctx.log.tiers.code(rep.usage.tier)
        again = []  # the retries a per-replica router routes again, in their order
        for req in reversed(interrupted):  # reversed + push_front keeps their order
            req.attempts += 1
            if not self.retry.retry(req.attempts):
                self._give_up(pool, req, cause, now, cause, on)
                continue
            self._retried[key] = self._retried.get(key, 0) + 1
            req.t_admit = req.t_first = req.t_done = -1.0
            req.replica = -1
            req.pf_left = req.n_in
            req.gen = req.tag = 0
            if req.tenant in self.batch_tids:
                pool.batch.push_front(req)
            elif pool.central is not None:
                pool.central.push_front(req)
            else:
                again.insert(0, req)
        put_ahead(pool, again, lambda req: self._reroute(pool, req, now, cause))
        self._strand(pool)

    def _notice(self, slot, now: float) -> None:
        self.spot.notice(slot, now)
        self._strand(slot.pool)

    def _strand(self, pool: ModelPool) -> None:
        """With no replica of ``pool`` left to admit and no burst pool to bring one, offer
        its queue to :attr:`overflow` (reason ``stranded``: what it leaves keeps its place)."""
        if not self.burst:
            pool.offer_queued(lambda req: self.overflow(req, "stranded"))

    def back_at(self, model: int) -> float:
        """When a replica of ``model``'s pool admits requests (now if one does): the soonest
        end of a failure (its repair and reload) or of a spot replacement's load under way
        (inf: none is scheduled, as for spot replicas reclaimed without replacement)."""
        now = self.ctx.env.now
        pool = self.pools[model]
        back = [now if s.rep is not None else s.plan.back_s for s in self.slots if s.pool is pool]
        if self.spot is not None:
            back += [self.spot.back_s(s, now) for s in self.spot.slots if s.pool is pool]
        return min(back, default=math.inf)

    def _reroute(self, pool: ModelPool, req: Request, now: float, cause: str) -> bool:
        """Route ``req`` again (whether it went); else to :attr:`overflow`, or it fails."""
        reason = pool.route(req)
        if reason is not None and not self.overflow(req, reason):
            self._give_up(pool, req, f"retry_{reason}", now, cause)
        return reason is None

    def _give_up(self, pool: ModelPool, req: Request, reason: str, now: float, cause: str,
                 tier_code: int | None = None) -> None:
        """End an interrupted request as failed, with the tries it had (``cause``: what
        interrupted it, replica_failure or spot_preemption), in tier ``tier_code`` (the
        replica's that held it; by default the pool's, for a request its queue held)."""
        self.ctx.log.put("attempts", req.id, req.attempts)
        key = (cause, pool.model)
        self._failed[key] = self._failed.get(key, 0) + 1
        self.ctx.fail(req, reason, pool.tier_code if tier_code is None else tier_code, now)

    def _recover(self, slot: Slot, now: float) -> None:
        self.events.add(now, "recover", slot.pool.model, slot.ledger_i)
        slot.down[-1][1] = now
        slot.rep = slot.pool.add_replica(slot.row, slot.dep, slot.perf, batch=True,
                                         row=slot.ledger_i)

    # ------------------------------------------------------------------------ requests
    def submit(self, req: Request) -> None:
        if self.burst or req.tenant in self.batch_tids:
            reason = self.admit(req)
        else:  # self.admit(req), inlined (the hot path)
            reason = self.pools[req.model].route(req)
        if reason is not None:
            self.turn_away(req, reason)

    def admit(self, req: Request) -> str | None:
        """Queue ``req`` at its model's pool (a batch-tier request at its batch queue); the
        reason it cannot go, if so (nothing ended)."""
        if req.tenant in self.batch_tids:
            return self.pools[req.model].route_batch(req)
        if self.burst:
            bp = self.burst[req.model]
            bp.prompts.observe(req.n_in)
            bp.outputs.observe(req.n_out)
        return self.pools[req.model].route(req)

    def turn_away(self, req: Request, reason: str) -> None:
        """End ``req`` as rejected with ``reason`` (counted against burst capacity unless the
        request can never fit)."""
        pool = self.pools[req.model]
        if self.burst and reason != "exceeds_kv_capacity" and req.tenant not in self.batch_tids:
            self.burst[req.model].turned_away += 1
        self.ctx.reject(req, reason, pool.tier_code)

    def queue_state(self, req: Request, now: float) -> tuple[int, bool, float]:
        """:meth:`ModelPool.queue_state` of ``req``'s model pool."""
        return self.pools[req.model].queue_state(req, now)

    def warm_up(self, model: int, tenant: int) -> bool:
        return False  # reserved replicas are warm from t=0

    def _home_code(self, req: Request) -> int:
        """The tier of a request completed on a reserved or spot replica; its ``replica``
        becomes that replica's ``replicas.csv`` row (the engine's id until December 2026:
        a reserved replica back from a failure got a new one, rows the ledger never had)."""
        rid = req.replica
        inst = self.spot.by_rid.get(rid) if self.spot is not None else None
        if inst is None:
            req.replica = self.ctx.row_of[rid]
            return self.pools[req.model].tier_code
        req.replica = inst.ledger_i
        return self.spot.completed(rid)

    def _done(self, req: Request, now: float) -> None:
        if self.on_complete is not None:
            self.on_complete(req, now)
        ctx = self.ctx  # ctx.complete, inlined (once per request)
        if self.spot is None:  # _home_code without spot instances, inlined
            req.replica = self.ctx.row_of[req.replica]
            ctx.log.complete(req, self.pools[req.model].tier_code)
        else:
            ctx.log.complete(req, self._home_code(req))
        ctx.on_end(req, now)

    def _done_burst(self, req: Request, now: float) -> None:
        if self.on_complete is not None:
            self.on_complete(req, now)
        bp = self.burst[req.model]
        bp.estimator.record(now)
        b = bp.by_rid.get(req.replica)
        if b is None:
            self.ctx.complete(req, self._home_code(req), now)
            return
        b.served += 1
        req.replica = b.ledger_i
        rtt = b.rtt_s
        if rtt > 0:  # served in another region: the first and last tokens come back later
            req.t_first += rtt
            req.t_done += rtt
            # it ends when its tokens are back (the log's open count with it: the run's
            # loop stops when that reaches 0); until then it is held in tier burst
            self.in_transit[req.id] = req
            self.ctx.env.timeout(rtt).callbacks.append(
                lambda ev, req=req, t=now + rtt: self._back(req, t))
        else:
            self.ctx.complete(req, self.burst_code, now)

    def _back(self, req: Request, now: float) -> None:
        self.in_transit.pop(req.id, None)
        self.ctx.complete(req, self.burst_code, now)

    def held(self):
        """``(request, tier code)`` of each request still held (:meth:`ModelPool.held`,
        and those whose tokens are on their way back from a remote burst replica)."""
        for pool in self.pools.values():
            yield from pool.held()
        for req in self.in_transit.values():
            yield req, self.burst_code

    # ------------------------------------------------------------------------- the end
    def close(self, t_end: float) -> None:
        """Bill every reserved replica for the whole period; settle burst rows. The run has
        played out the quiet tail after the last request (sim.simulation.simulate), so idle
        burst replicas drained as the policy says and down times are recorded to the end."""
        for s in self.slots:
            if s.rep is not None:
                s.rep.settle()
            s.row.end_s = t_end
            s.row.busy_s = min(s.busy_s, t_end)
            s.row.down_s = sum(min(b, t_end) - a for a, b in s.down if a < t_end)
        for bp in self.burst.values():
            bp.close(t_end)
        if self.spot is not None:
            self.spot.close(t_end)
        self.t_end = t_end
        # models left with no replica that admits (every one reclaimed, its replacement
        # still loading, or down) and no burst pool: what still waits for them waits for one
        self.stranded = sorted(p.model for mi, p in self.pools.items() if mi not in self.burst
                               and not p.up)

    def extra(self) -> dict:
        unfired = {k: (sum(p.scripted for p in ps), sum(p.scripted - p.fired for p in ps),
                       sorted(t for p in ps for t in p.late)) for k, ps in self._scripted.items()}
        return {"tables": setup_tables(self), "events": self.events,
                "scripts_unfired": {k: v for k, v in unfired.items() if v[1] or v[2]},
                "stranded": list(self.stranded)}
