"""Elastic burst capacity for a pool of warm replicas.

When the pool's estimated queueing wait passes a threshold, on-demand replicas are
provisioned (node, container, weights, engine init: :mod:`sim.platform.coldstart`), join
the pool's queue when warm, and are drained when the pool has gone without queueing for an
idle window. A drained replica admits nothing new, finishes what it runs, and only then
stops and closes its ledger row. Borrowing from another region (``remote``) adds the
network round trip to the TTFT and end-to-end time of every request served there.

* :class:`WaitEstimator` (plain): the wait of a request joining the back of the queue now,
  ``W = queued / mu``, with ``mu`` the pool's completions per second over the last
  ``window_s`` (shorter at the start of the run). It is Little's law for the queue alone,
  under the assumption that the pool keeps completing requests at its recent rate; when
  the queue is non-empty and nothing completed in the window it is infinite, and so it is
  when a request was turned away since the last look (a full queue, or no replica up
  with per-replica queues).
* :class:`BurstPolicy` (plain): when to add a replica (wait above threshold, at most one
  per ``scale_up_interval_s``, local region first) and when to drain one (wait at or
  below the threshold for ``idle_window_s``, and the recent completion rate fits in the
  replicas that remain at ``drain_fill`` of the per-replica throughput measured while the
  pool was saturated, so a pool under sustained overload does not drain and re-provision;
  until a saturated throughput has been measured, e.g. when every scale-up came from an
  unbounded wait, the perf model's flat-out completions per second of one replica of the
  pool's deployment on the offered mean shape stand in for it).
* :class:`BurstPool`: the SimPy side for one :class:`~sim.platform.base.ModelPool`.

Billing: each burst replica has its own ledger row in tier ``burst``, billed per
GPU-second at on-demand x ``price_multiplier`` from the start of provisioning (the
provisioning and cold start are billed, as on per-second platforms, CAL §5) to the moment
its drain completes (or the end of the billing period), at least ``min_billed_s``.
"""

from __future__ import annotations

import math
from collections import deque

from sim.platform.coldstart import stages
from sim.platform.predict import PromptMean, predicted_ttft
from sim.records import UsageRow

LOCAL, REMOTE = "local", "remote"


class WaitEstimator:
    def __init__(self, window_s: float, t0: float = 0.0):
        self.window_s = float(window_s)
        self.t0 = float(t0)
        self._done: deque[float] = deque()

    def record(self, now: float) -> None:
        self._done.append(now)

    def rate(self, now: float) -> float:
        """Completions per second over the last window (or since ``t0`` if shorter)."""
        cut = now - self.window_s
        d = self._done
        while d and d[0] <= cut:
            d.popleft()
        span = min(self.window_s, now - self.t0)
        return len(d) / span if span > 0 else 0.0

    def estimate(self, queued: int, now: float) -> float:
        if queued <= 0:
            return 0.0
        mu = self.rate(now)
        return queued / mu if mu > 0 else math.inf


class BurstPolicy:
    """Decides scale-up and drain of burst replicas; keeps only its own timers and the
    per-replica capacity it has seen.

    Capacity: whenever the wait is above the threshold the pool is saturated, so its
    completion rate per serving replica is what a replica can do; the policy keeps the
    largest such value. A burst replica is drained when the wait has stayed at or below
    the threshold for ``idle_window_s`` and the recent completion rate would keep the
    replicas that remain below ``drain_fill`` of that capacity (hysteresis: a pool under
    sustained overload does not drain and re-provision)."""

    def __init__(self, wait_threshold_s: float, max_local: int, max_remote: int,
                 scale_up_interval_s: float, idle_window_s: float, drain_fill: float):
        self.wait_threshold_s = wait_threshold_s
        self.max_local = max_local
        self.max_remote = max_remote
        self.scale_up_interval_s = scale_up_interval_s
        self.idle_window_s = idle_window_s
        self.drain_fill = drain_fill
        self.capacity_per_replica = 0.0  # completions/s of one saturated replica (0 = unseen)
        self._last_up = -math.inf
        self._quiet_since: float | None = None

    def observe(self, wait_s: float, rate: float, n_serving: int) -> None:
        if wait_s > self.wait_threshold_s and n_serving > 0 and math.isfinite(wait_s):
            self.capacity_per_replica = max(self.capacity_per_replica, rate / n_serving)

    def scale_up(self, now: float, wait_s: float, n_local: int, n_remote: int) -> str | None:
        """The region to provision one replica in, or None. ``n_*`` count replicas that
        are provisioning, serving or draining."""
        if not wait_s > self.wait_threshold_s:
            return None
        if now - self._last_up < self.scale_up_interval_s:
            return None
        if n_local < self.max_local:
            region = LOCAL
        elif n_remote < self.max_remote:
            region = REMOTE
        else:
            return None
        self._last_up = now
        return region

    def scale_down(self, now: float, wait_s: float, rate: float, n_serving: int,
                   n_burst_serving: int, modelled=lambda: 0.0) -> bool:
        """Drain one burst replica now? ``n_serving`` counts every replica admitting work
        (reserved and burst), ``rate`` is the pool's recent completions per second;
        ``modelled()`` (completions/s of one replica flat out, from the perf model) is the
        capacity used while none has been measured."""
        if wait_s > self.wait_threshold_s:
            self._quiet_since = None
            return False
        if self._quiet_since is None:
            self._quiet_since = now
        if now - self._quiet_since < self.idle_window_s or n_burst_serving == 0:
            return False
        cap = self.capacity_per_replica if self.capacity_per_replica > 0 else modelled()
        if rate > self.drain_fill * cap * (n_serving - 1):
            return False
        self._quiet_since = now  # the next drain needs another quiet window
        return True


class BurstOption:
    """A deployment burst replicas may use: the pool's own or a variant on another GPU
    class (``dedicated.burst.variants``), its cold-start stages, price and limit."""

    def __init__(self, dep, perf, cold, usd_per_gpu_hour: float, max_replicas: int):
        self.dep, self.perf, self.cold = dep, perf, cold
        self.usd_per_gpu_hour = usd_per_gpu_hour
        self.max_replicas = max_replicas

    def usd_per_token(self, mean_in: float, mean_out: float) -> float:
        """Its price over what one replica delivers flat out on requests of this shape."""
        tok_s = self.perf.saturated_tok_s(mean_in, mean_out, self.dep.max_num_seqs)
        return self.usd_per_gpu_hour * self.dep.tp / 3600.0 / tok_s if tok_s > 0 else math.inf


class BurstReplica:
    """One burst replica's life, for the ledger and the lifecycle table."""

    def __init__(self, region: str, row: UsageRow, t_provision: float, warm_after_s: float,
                 rtt_s: float, option: int = 0):
        self.option = option  # index into BurstPool.options
        self.region = region
        self.row = row
        self.t_provision = t_provision
        self.warm_after_s = warm_after_s
        self.rtt_s = rtt_s
        self.t_warm: float | None = None
        self.t_drain: float | None = None
        self.t_stop: float | None = None
        self.rep = None
        self.ledger_i = -1
        self.served = 0

    @property
    def serving(self) -> bool:
        return self.rep is not None and self.t_drain is None


class BurstPool:
    """Burst replicas of one :class:`ModelPool`; a controller process checks it periodically.

    ``cold`` and ``cold_remote`` are :class:`~sim.platform.coldstart.ColdStartStages`.
    """

    def __init__(self, ctx, pool, policy: BurstPolicy, estimator: WaitEstimator, cold,
                 cold_remote, usd_per_gpu_hour: float, rtt_s: float, min_billed_s: float,
                 check_interval_s: float, predict: bool = False,
                 variants: list[BurstOption] | None = None):
        """``predict``: the policy's signal is the predicted TTFT of a request of the pool's
        mean prompt joining now (:mod:`sim.platform.predict`; its threshold an SLO), not
        the queue wait. ``variants``: other deployments local burst replicas may use; each
        scale-up takes the option cheapest per token (on the offered mix) with room, each
        drain removes the dearest serving replica first."""
        self.ctx = ctx
        self.env = ctx.env
        self.pool = pool
        self.policy = policy
        self.estimator = estimator
        self.cold = {LOCAL: cold, REMOTE: cold_remote}
        self.usd_per_gpu_hour = usd_per_gpu_hour
        self.options = [BurstOption(pool.deployment, pool.perf, cold, usd_per_gpu_hour,
                                    policy.max_local), *(variants or [])]
        policy.max_local = sum(o.max_replicas for o in self.options)
        self.outputs = PromptMean()  # output lengths offered (set by the setup)
        self.rtt = {LOCAL: 0.0, REMOTE: rtt_s}
        self.min_billed_s = min_billed_s
        self.check_interval_s = check_interval_s
        self.replicas: list[BurstReplica] = []
        self.by_rid: dict[int, BurstReplica] = {}
        self.turned_away = 0  # requests rejected since the last look (set by the setup)
        self.predict = predict
        self.prompts = PromptMean()  # prompts offered to the pool (set by the setup)
        self.env.process(self._control())

    # ------------------------------------------------------------------------ controller
    def _control(self):
        while True:
            yield self.env.timeout(self.check_interval_s)
            self.step(self.env.now)

    def _count(self, region: str) -> int:
        return sum(1 for b in self.replicas if b.region == region and b.t_stop is None)

    def step(self, now: float) -> None:
        pool = self.pool
        wait = self.estimator.estimate(pool.queued, now)
        if self.predict:
            m = self.prompts.mean
            wait = predicted_ttft(pool.replicas, m, wait, pool.queued, m)
        if self.turned_away:  # a request found no room at all: its wait was unbounded
            wait = math.inf
            self.turned_away = 0
        rate = self.estimator.rate(now)
        n_serving = sum(1 for r in pool.replicas if r.accepting)
        self.policy.observe(wait, rate, n_serving)
        region = self.policy.scale_up(now, wait, self._count(LOCAL), self._count(REMOTE))
        if region is not None:
            self.provision(region, now)
        burst_serving = [b for b in self.replicas if b.serving]
        if self.policy.scale_down(now, wait, rate, n_serving, len(burst_serving),
                                  self._modelled_capacity):
            # remote replicas first (they add a round trip), then the dearest per token, then
            # the one that empties soonest
            price = self._price()
            b = min(burst_serving, key=lambda b: (b.region != REMOTE, -price[b.option],
                                                  b.rep.n_running, -b.rep.rid))
            self.drain(b, now)

    def _modelled_capacity(self) -> float:
        """Completions per second of one replica of the pool's deployment flat out on the
        offered mean shape (the perf model's saturated throughput; 0 before any request)."""
        mi, mo = self.prompts.mean, self.outputs.mean
        if mo <= 0:
            return 0.0
        return self.pool.perf.saturated_tok_s(mi, mo, self.pool.deployment.max_num_seqs) / mo

    # ------------------------------------------------------------------------- lifecycle
    def _price(self) -> list[float]:
        """$ per output token of each option on the offered mix (its order when untried)."""
        mi, mo = self.prompts.mean or 1.0, self.outputs.mean or 1.0
        return [o.usd_per_token(mi, mo) for o in self.options]

    def _option(self, region: str) -> int:
        """The cheapest option per token with room (remote regions: the pool's own)."""
        if region == REMOTE or len(self.options) == 1:
            return 0
        used = [0] * len(self.options)
        for b in self.replicas:
            if b.region == LOCAL and b.t_stop is None:
                used[b.option] += 1
        price = self._price()
        free = [i for i, o in enumerate(self.options) if used[i] < o.max_replicas]
        return min(free, key=lambda i: (price[i], i)) if free else 0

    def provision(self, region: str, now: float) -> BurstReplica:
        k = self._option(region)
        opt = self.options[k]
        dep = opt.dep
        cold = self.cold[region] if k == 0 else opt.cold
        row = UsageRow(model=self.pool.model, gpu=dep.gpu.key, gpus=dep.tp, tier="burst",
                       start_s=now, end_s=now, busy_s=0.0, billing="gpu_second",
                       usd_per_gpu_hour=opt.usd_per_gpu_hour, loading_s=cold.total_s,
                       min_increment_s=self.min_billed_s)
        # its engine's perf model from the start: its loading time counts as idle capacity
        # in the load figures (sim/metrics/load.py) even if it is still loading at the end
        row.kv.peak_bandwidth = opt.perf.peak_bandwidth
        row.kv.saturation = (opt.perf, dep.max_num_seqs)
        b = BurstReplica(region, row, now, cold.total_s, self.rtt[region], k)
        b.ledger_i = self.ctx.add_row(row)  # replicas.csv's row (requests.parquet's replica)
        self.replicas.append(b)
        self.env.timeout(cold.total_s).callbacks.append(lambda ev, b=b: self._warm(b))
        return b

    def _warm(self, b: BurstReplica) -> None:
        b.t_warm = self.env.now
        opt = self.options[b.option]
        rep = (self.pool.add_replica(b.row) if b.option == 0
               else self.pool.add_replica(b.row, opt.dep, opt.perf))
        rep.on_idle = self._on_idle
        b.rep = rep
        self.by_rid[rep.rid] = b

    def drain(self, b: BurstReplica, now: float) -> None:
        """Admit nothing new; stop when the last running request is out."""
        b.t_drain = now
        rep = b.rep
        rep.stop_admitting()
        if rep.queue is not self.pool.central:  # its own queue: send the waiting elsewhere
            for req in rep.queue.drop_all():
                reason = self.pool.route(req)
                if reason is not None:
                    self.ctx.reject(req, reason, self.pool.tier_code)
        if rep.n_running == 0:
            self._stop(b, now)

    def _on_idle(self, rep, now: float) -> None:
        b = self.by_rid[rep.rid]
        if b.t_drain is not None and b.t_stop is None:
            self._stop(b, now)

    def _stop(self, b: BurstReplica, now: float) -> None:
        b.t_stop = now
        b.row.end_s = now
        b.row.busy_s = b.rep.busy_s

    def close(self, t_end: float) -> None:
        """Settle rows at the end of the billing period [0, t_end]."""
        for b in self.replicas:
            row = b.row
            if b.t_stop is None or row.end_s > t_end:
                row.end_s = max(row.start_s, t_end)
            if b.rep is not None:
                b.rep.settle()
                row.busy_s = min(b.rep.busy_s, row.up_s)
            row.loading_s = min(b.warm_after_s, row.up_s)

    def table(self) -> list[dict]:
        out = []
        for b in self.replicas:
            out.append({
                "model": self.pool.model, "replica": b.ledger_i,  # replicas.csv's row
                "gpu": b.row.gpu,
                "region": b.region, "provision_s": b.t_provision,
                "warm_s": b.t_warm if b.t_warm is not None else math.nan,
                "drain_s": b.t_drain if b.t_drain is not None else math.nan,
                "stop_s": b.t_stop if b.t_stop is not None else math.nan,
                "requests": b.served, "busy_s": b.row.busy_s,
                "billed_s": b.row.billed_s, "cost_usd": b.row.cost_usd,
            })
        return out


def tightest_slo(ctx, model: str) -> float:
    """The tightest TTFT SLO among the tenants calling ``model`` (inf without a workload)."""
    wl = ctx.workload
    if wl is None:
        return math.inf
    slos = [wl.slo_ttft_s[t] for t, ms in wl.tenant_models.items()
            if model in ms and t in wl.slo_ttft_s]
    return min(slos) if slos else math.inf


def burst_pool(ctx, cfg, pool) -> BurstPool:
    """The burst capacity of one model pool as ``dedicated.burst`` configures it: its policy
    (the queue-wait or the SLO trigger), its options (the pool's deployment and the
    ``variants`` on other GPU classes) and their cold-start stages and prices."""
    bc = cfg.dedicated.burst
    dep = pool.deployment

    def cold(d):
        return stages(cfg, d, bc.storage_tier, need_node=bool(bc.need_node),
                      image_cached=bool(bc.image_cached))

    slo = str(bc.trigger) == "slo"
    threshold = (tightest_slo(ctx, pool.model) * float(bc.slo_fraction) if slo
                 else float(bc.wait_threshold_s))
    variants = []
    for vi, v in enumerate(bc.variants):  # other GPU classes burst replicas may use
        if v.model != pool.model:
            continue
        where = ("dedicated.burst.variants", vi)
        vdep = ctx.deployment_for(pool.model, where)
        variants.append(BurstOption(
            vdep, ctx.perf_for(pool.model, float(cfg.dedicated.runtime_speedup), where), cold(vdep),
            vdep.gpu.on_demand_usd_per_hour * float(bc.price_multiplier), int(v.replicas)))
    policy = BurstPolicy(threshold, int(bc.max_replicas), int(bc.remote.max_replicas),
                         float(bc.scale_up_interval_s), float(bc.idle_window_s), float(bc.drain_fill))
    c = cold(dep)
    return BurstPool(ctx, pool, policy, WaitEstimator(float(bc.rate_window_s)), c, c,
                     dep.gpu.on_demand_usd_per_hour * float(bc.price_multiplier),
                     float(bc.remote.rtt_s), float(bc.min_billed_s), float(bc.check_interval_s),
                     predict=slo, variants=variants)
