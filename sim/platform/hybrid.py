"""Hybrid setup: critical models on dedicated replicas, the long tail on the shared
serverless pool, spillover from the first to the second.

Placement (``hybrid.placement``: model or tenant name -> ``dedicated`` | ``serverless``; a
tenant entry wins over its model's; ``hybrid.default_tier`` for the rest) decides each
request's tier. Background tenants always go to the serverless pool.

* The dedicated tier is a :class:`~sim.platform.dedicated.DedicatedSetup` over the
  dedicated-tier models only: ``dedicated.replicas.<model>`` warm replicas each (required,
  >= 1), billed per GPU-hour busy or idle, ``dedicated.runtime_speedup``, the router, and
  burst and failures if enabled.
* The serverless tier is a :class:`~sim.platform.serverless.ServerlessPlatform` over the
  other models (and the dedicated ones too when requests can spill or be mirrored to it and
  the pool has nodes of their GPU class: otherwise they neither spill nor are mirrored),
  billed per ``serverless.billing``.
* Spillover (:class:`SpilloverPolicy`, plain): a dedicated-tier request goes to the
  serverless pool instead when its model's dedicated pool is saturated (no replica has room
  for the head of its queue) and the queue's estimated wait, ``(queued + 1) / completions
  per second over the last rate_window_s`` (the head's wait so far while nothing completed
  in the window), exceeds ``wait_threshold_s``, or when the queue holds ``max_queue``
  requests; also when the dedicated queue is full or no replica is up to take it (a retry
  of an interrupted request too, and, without burst replicas, what a central queue holds
  when the model's last replica that admits fails, is reclaimed or noticed:
  ``DedicatedSetup.overflow``); else
  the choice is made on arrival. With ``cold_aware`` it spills only when
  that wait also exceeds the pool's (:meth:`ServerlessPlatform.expected_wait`: none with
  the model warm, else the rest of a load or a whole cold start); in an outage the wait is
  the time until a replica admits again (:meth:`DedicatedSetup.back_at`), except for a
  per-replica router, which has no queue to keep it in. It is logged in tier ``serverless`` with
  ``spilled`` set (the ``spilled`` column of requests.parquet and the summary).
* Shadow (``shadow_fraction``): a random fraction of the dedicated-tier requests served on
  dedicated replicas is mirrored to the serverless pool. A copy takes capacity there (it
  joins batches, may trigger cold starts and keep replicas warm) but is no user request: it
  has no row in the request log, is never billed per token and never calls ``on_end``. Its
  times go to the ``shadow`` table (per tenant, shadow TTFT against the served TTFT of the
  same requests). Under ``gpu_second`` billing the replica time shadows keep alive is in
  the serverless ledger like any other.
"""

from __future__ import annotations

import math

from sim.engine import Request
from sim.platform.dedicated import DedicatedSetup
from sim.platform.dedicated.burst import WaitEstimator
from sim.platform.placement import DEDICATED, SERVERLESS, dedicated_models
from sim.platform.predict import PromptMean, predicted_ttft
from sim.platform.serverless import ServerlessPlatform
from sim.platform.spillover import SpilloverPolicy
from sim.records import EventLog
from sim.rng import stream


def background_only_notes(cfg, workload) -> list[str]:
    """A note per model the hybrid's placement puts on reserved replicas that only background
    tenants call: it gets none (see :func:`dedicated_models`), which is said."""
    if "hybrid" not in [str(s) for s in cfg.setups]:
        return []
    n_user = len(workload.tenants) - int(workload.background_tenants)
    tm = workload.tenant_models
    bg = sorted({m for t in workload.tenants[n_user:] for m in tm.get(t, [])})
    default = str(cfg.hybrid.default_tier)
    placed = [m for m in bg if str(cfg.hybrid.placement.get(m, default)) == DEDICATED]
    reserved = dedicated_models(cfg, placed, workload.tenants[:n_user], tm)
    return [f"hybrid: {m} is placed dedicated but only background tenants call it, and they are "
            "served on the pool: no replica of it is reserved (nor billed)"
            for m in placed if m not in reserved]


def unused_reservation_notes(cfg, workload) -> list[str]:
    """A note per model the hybrid reserves replicas for (placed dedicated, by its entry or
    by ``default_tier``) whose every user tenant is placed serverless by its own entry: no
    request reaches those replicas, yet they are billed, and as every tenant of the model is
    billed per token only, to those tenants (:func:`sim.metrics.cost._bill_run` leaves no
    GPU time unattributed), by the billing-period rule of :mod:`sim.metrics.billing`: each
    stretch of time evenly among those of them still in their billing period (the horizon
    plus their own drain), time after all their periods to the tenants draining then. Until
    December 2026 the note said "evenly" alone beside a split of $0.043085 and $0.039500."""
    if "hybrid" not in [str(s) for s in cfg.setups]:
        return []
    hc = cfg.hybrid
    placement = {k: str(v) for k, v in hc.placement.items()}
    n_user = len(workload.tenants) - int(workload.background_tenants)
    users = workload.tenants[:n_user]
    tm = workload.tenant_models
    out = []
    for m in sorted(dedicated_models(cfg, list(workload.models), set(users), tm)):
        callers = [t for t in users if m in tm.get(t, [])]
        if callers and all(placement.get(t) == SERVERLESS for t in callers):
            where = (f"hybrid.placement.{m}" if m in placement
                     else f"hybrid.default_tier {hc.default_tier}")
            out.append(f"hybrid: {m} is placed dedicated ({where}) but every tenant calling it "
                       f"is placed serverless ({', '.join(callers)}): its reserved replicas serve "
                       f"no request and their GPU time is billed to {', '.join(callers)} "
                       "beside their tokens, each stretch of the run evenly among those of "
                       "them still in their billing period (the horizon plus their own "
                       "drain; time after all their periods to the tenants draining then)")
    return out


def deployment_gpu_tp(deployment_for):
    """:func:`tier_models`'s ``gpu_tp`` from built deployments."""
    def gpu_tp(m: str) -> tuple[str, int]:
        dep = deployment_for(m)
        return dep.gpu.key, dep.tp
    return gpu_tp


def tier_models(cfg, models: list[str], tenants: list[str], n_user: int, gpu_tp,
                tenant_models: dict) -> tuple[set[str], set[str]]:
    """``(dedicated, serverless)``: the models each part of the hybrid serves. The pool
    serves every model a request can reach it with: background tenants and tenants placed
    serverless may call any model; spilled and mirrored requests reach it only where the
    pool has nodes that can hold the model (``gpu_tp(model)``: its GPU class and GPUs a
    replica)."""
    hc = cfg.hybrid
    ded = dedicated_models(cfg, models, set(tenants[:n_user]), tenant_models)
    placed_there = (len(tenants) > n_user
                    or any(t in tenants and str(v) == SERVERLESS for t, v in hc.placement.items()))
    overflow = bool(hc.spillover.enabled) or hc.shadow_fraction > 0

    def pool_holds(m: str) -> bool:
        g, tp = gpu_tp(m)
        pc = cfg.serverless.pool.get(g)
        return pc is not None and tp <= int(pc.gpus_per_node)

    sl = {m for m in models if m not in ded or placed_there or (overflow and pool_holds(m))}
    return ded, sl


class HybridSetup:
    name = "hybrid"
    serves_background = True  # the serverless part is a shared pool

    def __init__(self, ctx, cfg, catalog, models: list[str]):
        self.ctx = ctx
        hc = cfg.hybrid
        self.n_log = ctx.log.n
        tenants = list(ctx.tenant_names)
        n_user = ctx.n_user_tenants if ctx.n_user_tenants is not None else len(tenants)
        self.user_tenants = set(tenants[:n_user])
        self.placement = {k: str(v) for k, v in hc.placement.items()}
        self.default_tier = str(hc.default_tier)
        sp = hc.spillover
        self.policy = SpilloverPolicy(bool(sp.enabled), float(sp.wait_threshold_s),
                                      None if sp.max_queue is None else int(sp.max_queue),
                                      bool(sp.cold_aware))
        self.slo_trigger = str(sp.trigger) == "slo"
        slo_of = getattr(ctx.workload, "slo_ttft_s", None) or {}
        self.slo_s = [float(slo_of.get(t, math.inf)) * float(sp.slo_fraction) for t in tenants]
        self.shadow_fraction = float(hc.shadow_fraction)
        self.shadow_rng = stream(int(cfg.seed), "hybrid/shadow")
        # ---------------------------------------------------------------- tiers
        ded, sl = tier_models(cfg, models, tenants, n_user, deployment_gpu_tp(ctx.deployment_for),
                              ctx.tenant_models)
        self.models = list(models)
        ded_idx = {i: m for i, m in enumerate(models) if m in ded}
        sl_idx = {i: m for i, m in enumerate(models) if m in sl}
        self._tier: dict[tuple[int, int], str] = {}
        # the tenants whose every request goes to the pool (background ones, as _tier_for
        # decides): submit sends them there without the memo's (tenant, model) key
        self._pool_tenants = {i for i, name in enumerate(tenants) if name not in self.user_tenants}
        self.estimators = {i: WaitEstimator(float(sp.rate_window_s)) for i in ded_idx}
        self.prompts = {i: PromptMean() for i in ded_idx}  # offered prompts, per model
        self.dedicated = (DedicatedSetup(ctx, cfg, catalog, ded_idx, on_complete=self._ded_done)
                          if ded_idx else None)
        if self.dedicated is not None:  # what it cannot route again may spill
            self.dedicated.overflow = self._overflow
        self.serverless = (ServerlessPlatform(ctx, cfg, catalog, sl_idx, finish=self._sl_finish,
                                              reject=self._sl_reject, cold=self._sl_cold,
                                              logged_below=self.n_log,
                                              on_pool=self._pool_share)
                           if sl_idx else None)
        self.tier_code = ctx.log.tiers.code(SERVERLESS)
        # ---------------------------------------------------------------- shadows
        self.shadows: list[list] = []  # [orig id, tenant, arrival, first, done, outcome, cold wait]
        self.spill_count = 0
        # reserved models the pool cannot hold (no node of their GPU class): with spillover
        # or shadows on they neither spill nor are mirrored, which the run's notes say
        overflow = bool(sp.enabled) or self.shadow_fraction > 0
        self.no_overflow = {m: ctx.deployment_for(m).gpu.key for m in sorted(ded - sl)} if overflow else {}
        # dedicated-tier models a warm pool placed no replica of: it does not foresee
        # spillover, so their first spilled request starts cold, which the notes say
        pool = self.serverless
        warm = pool is not None and bool(sp.enabled) and str(cfg.serverless.start) == "warm"
        self.spill_cold = sorted(m for i, m in ded_idx.items()
                                 if warm and i in pool.models and pool.models[i].ready == 0)

    def warm_up(self, model_idx: int, tenant: int) -> bool:
        """A pipeline's coordinated pre-warm (sim/simulation/pipeline.py): only what ``tenant``'s
        stage requests of the model would meet on the pool scales to zero, so the tier is the
        one submit gives them (``_tier_for``: the tenant's placement wins over the model's);
        dedicated-tier ones are warm. Until December 2026 the model's placement alone decided."""
        if self.serverless is None or self._tier_for(tenant, model_idx) != SERVERLESS:
            return False
        return self.serverless.warm_up(model_idx)

    # ------------------------------------------------------------------------ placement
    def _tier_for(self, tenant: int, model: int) -> str:
        key = (tenant, model)
        tier = self._tier.get(key)
        if tier is None:
            tenants = self.ctx.tenant_names
            name = tenants[tenant] if tenant < len(tenants) else None
            if name is not None and name not in self.user_tenants:
                tier = SERVERLESS  # background tenants live on the shared pool
            elif name in self.placement:
                tier = self.placement[name]
            else:
                tier = self.placement.get(self.models[model], self.default_tier)
            self._tier[key] = tier
        return tier

    def _pool_share(self, tenant: int, model: int) -> float:
        """The share of a tenant's requests for a model that the pool serves, for its warm
        start: all where placed there; ``shadow_fraction`` of a dedicated-tier model's (its
        mirrored copies, submit's rule: never a batch tier's); spillover is not foreseen."""
        if self._tier_for(tenant, model) == SERVERLESS:
            return 1.0
        batch = self.dedicated is not None and tenant in self.dedicated.batch_tids
        return 0.0 if batch else self.shadow_fraction

    # ------------------------------------------------------------------------- requests
    def submit(self, req: Request) -> None:
        if req.tenant in self._pool_tenants:  # _tier_for's first rule
            self.serverless.submit(req)
            return
        tier = self._tier.get((req.tenant, req.model))  # _tier_for's memo, read inline
        if tier is None:
            tier = self._tier_for(req.tenant, req.model)
        if tier == SERVERLESS:
            self.serverless.submit(req)
            return
        d = self.dedicated  # the build layer checks every dedicated-tier request has a pool
        if req.tenant in d.batch_tids:  # batch tier: it waits for spare capacity, never
            # spills or mirrors
            reason = d.admit(req)
            if reason is not None:
                d.turn_away(req, reason)
            return
        now = self.ctx.env._now
        sl = self.serverless
        to_pool = sl is not None and req.model in sl.models  # the pool can take overflow
        if to_pool and self.policy.enabled and (
                self._should_spill(req, now) if d.burst or d.pools[req.model].up
                else self._outlasts_pool(req, now)):  # none up, no burst: the outage's rule
            self._spill(req)
            return
        reason = d.admit(req)
        if reason is None:
            if (to_pool and self.shadow_fraction > 0
                    and self.shadow_rng.random() < self.shadow_fraction):
                self._mirror(req, now)
            return
        if not self._overflow(req, reason):
            d.turn_away(req, reason)

    def _overflow(self, req: Request, reason: str) -> bool:
        """Spill a request the dedicated side cannot take (its queue full, or no replica up
        to route to: at arrival or when an interrupted one is routed again) or that waits in
        a central queue the model's last replica left (``stranded``: unless
        :meth:`_outlasts_pool` says its wait there is the shorter), if spillover is on and
        the pool can hold its model; whether it did. Until December 2026 only a full queue
        spilled: with a per-replica router an outage's requests were all lost."""
        if (reason not in ("queue_full", "no_replica", "stranded") or not self.policy.enabled
                or self.serverless is None or req.model not in self.serverless.models
                or reason == "stranded" and not self._outlasts_pool(req, self.ctx.env.now)):
            return False
        self._spill(req)
        return True

    def _outlasts_pool(self, req: Request, now: float) -> bool:
        """With no replica of ``req``'s model up: whether it goes to the pool rather than
        wait for one (:meth:`SpilloverPolicy.outage`), the wait being the time until a
        replica admits again (:meth:`DedicatedSetup.back_at`: a repair and reload, a spot
        replacement's load; none scheduled, infinite). Until December 2026 cold_aware was
        not read here: a replica down 1 s sent its request to a 27.4 s cold start."""
        pol = self.policy
        if not pol.cold_aware:
            return pol.outage(math.inf, 0.0)
        return pol.outage(self.dedicated.back_at(req.model) - now,
                          self.serverless.expected_wait(req.model, now))

    def _ded_done(self, req: Request, now: float) -> None:
        self.estimators[req.model].record(now)  # the dedicated pool's completion rate

    def _should_spill(self, req: Request, now: float) -> bool:
        queued, saturated, head_wait = self.dedicated.queue_state(req, now)
        rate = self.estimators[req.model].rate(now)
        pool_wait = self.serverless.expected_wait(req.model, now) if self.policy.cold_aware else 0.0
        if not self.slo_trigger or not self.dedicated.pools[req.model].up:
            # with no replica up (an outage under dedicated.burst) there is no replica to
            # predict a TTFT on: the queue's rule keeps the request for the burst replicas,
            # under either trigger (until December 2026 the slo trigger read an infinite TTFT
            # and sent it to a 27 s cold start with the repair 0.5 s away)
            return self.policy.spill(queued, saturated, rate, head_wait, pool_wait)
        prompts = self.prompts[req.model]
        prompts.observe(req.n_in)
        slot = self.policy.estimate(queued, saturated, rate, head_wait)
        pred = predicted_ttft(self.dedicated.pools[req.model].replicas, req.n_in, slot, queued,
                              prompts.mean)
        slo = self.slo_s[req.tenant] if req.tenant < len(self.slo_s) else math.inf
        return self.policy.spill(queued, saturated, rate, head_wait, pool_wait, pred, slo)

    def _spill(self, req: Request) -> None:
        self.ctx.log.put("spilled", req.id, True)
        self.spill_count += 1
        now = self.ctx.env._now
        if now > req.arrival:  # it waited on the dedicated side: its cold wait starts now
            self.serverless.joined[req.id] = now
        self.serverless.submit(req)

    def _mirror(self, req: Request, now: float) -> None:
        sid = self.n_log + len(self.shadows)
        self.shadows.append([req.id, req.tenant, now, math.nan, math.nan, "pending", 0.0])
        self.serverless.submit(Request(sid, req.tenant, req.model, now, req.n_in, req.n_out,
                                       pfx=req.pfx, out_key=req.out_key))

    # ------------------------------------------------------- serverless-side callbacks
    def _sl_finish(self, req: Request, now: float) -> None:
        # (the pool logs the requests below n_log itself, as below: logged_below)
        if req.id >= self.n_log:
            row = self.shadows[req.id - self.n_log]
            row[3], row[4], row[5] = req.t_first, req.t_done, "completed"
            return
        ctx = self.ctx  # RunContext.complete, written out (most requests end here)
        ctx.log.complete(req, self.tier_code)
        ctx.on_end(req, now)

    def _sl_reject(self, req: Request, reason: str) -> None:
        if req.id >= self.n_log:
            self.shadows[req.id - self.n_log][5] = f"rejected:{reason}"
            return
        self.ctx.reject(req, reason, self.tier_code)

    def _sl_cold(self, req: Request, wait_s: float, storage_tier: str) -> None:
        if req.id >= self.n_log:
            self.shadows[req.id - self.n_log][6] = wait_s
            return
        self.ctx.log.cold(req.id, wait_s, storage_tier)

    # -------------------------------------------------------------------------- the end
    def held(self) -> list[tuple[Request, int]]:
        """``(request, tier code)`` of each user request still held: on the reserved
        replicas or their queues (dedicated, burst), or on the pool (serverless, spilled
        ones too); shadow copies are no requests of the log."""
        out = list(self.dedicated.held()) if self.dedicated is not None else []
        if self.serverless is not None:
            out += [h for h in self.serverless.held() if h[0].id < self.n_log]
        return out

    def close(self, t_end: float) -> None:
        if self.dedicated is not None:
            self.dedicated.close(t_end)
        if self.serverless is not None:
            # a shadow copy still waiting for its model's first replica at the end waited a
            # cold start, as a real request there does (held(), which runs only when a real
            # request is unfinished; until December 2026 such copies counted 0 cold starts)
            for r, wait, tier in self.serverless.cold_waiters():
                if r.id >= self.n_log:
                    self._sl_cold(r, wait, tier)
            self.serverless.close(t_end)

    def extra(self) -> dict:
        out: dict = {"tables": {}}
        events = EventLog()
        if self.serverless is not None:
            out.update(self.serverless.extra())
            events.extend(out["events"])
            out["tables"] = {}
        if self.dedicated is not None:
            ded = self.dedicated.extra()
            out["tables"].update(ded["tables"])
            events.extend(ded["events"])
            out["scripts_unfired"] = ded["scripts_unfired"]
            out["stranded"] = ded["stranded"]
        out["events"] = events
        if self.shadow_fraction > 0:
            # [original id, tenant, arrival, first token, done, outcome, cold wait] per copy
            out["shadows"] = self.shadows
        out["spilled"] = self.spill_count
        out["no_overflow"] = self.no_overflow
        out["warm_start_spill_cold"] = self.spill_cold
        return out
