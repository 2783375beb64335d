"""The capacity planner's search: the cheapest way to serve each model's tenants.

For one model (the tenants that call it, on the run's own requests) the candidates are a
serverless placement (the configured pool, billed per token) and dedicated pools of
``n`` replicas of a deployment ``(gpu, precision, tp)`` at a pricing (reserved, on-demand,
or spot: all ``n`` replicas spot instances, reclaimed and replaced as ``dedicated.spot``
simulates, so a spot candidate is simulated on its own and billed by its run). A candidate
is feasible when every tenant of the model with a TTFT SLO meets it for at least
``attainment`` of its requests (a rejected request is a miss, except one beyond its model's
context: every candidate rejects it alike, so it is left out of the count and said in a
note, :func:`servable_attainment`) and every tenant with a TPOT
objective (``tenants.<t>.slo_tpot_s``) has at least that share of its completed requests
decoding within it, and its run keeps up with the offered load, batch tenants' included
(its replicas' closed-loop capacity carries the offered output tokens/s, the search's bound
below, and the run's own stability check does not call it "unstable at this load",
:func:`sim.analysis.plan_judge.falls_behind`: a plan is bought for a continuing workload,
and a count whose backlog the drain after a finite horizon works off falls further behind
every hour; until December 2026 such counts were chosen, 5 H100s for 39,944 output tok/s
at 6,912 a replica, confirmed "unstable at this load" beside "meet the SLO"). Candidates are ranked by what they cost an hour (``usd_per_hour``), not
by the bill over the run: a dedicated pool is billed until its last request ends, and that
drain, an artefact of a finite horizon, made a 60 s plan pick serverless at $2.65/h over a
feasible H100 at $2.37/h (until December 2026).

The search is branch and bound on simulated runs:

* each deployment that builds (the model fits, the GPU runs the precision) gets its
  saturated capacity from a closed-loop run (:func:`sim.analysis.capacity.measure_capacity`)
  and a lower bound on replicas to start the search from, ``ceil(offered output tokens/s /
  capacity)`` (at least 1): fewer replicas carry less than the offered load, so they fall
  behind it whatever the horizon, and are not simulated; it is not a count that suffices:
  the runs, with their stability check, decide. Until December 2026 the bound was rounded
  down and a short run's stability check (a backlog above 5 % of the requests) the only
  judge: at 60 s two L40S, 4,284 output tok/s, were bought for 4,932 offered;
* deployments are taken in order of the hourly cost of that lower bound at their cheapest
  pricing; one whose bound costs at least the best feasible candidate found so far is
  skipped, and so is every one after it; one whose bound exceeds ``max_replicas`` is not
  simulated;
* for a deployment, the bound is simulated first; if it misses, ``max_replicas``, then a
  bisection between them finds the smallest count meeting the SLOs (more replicas are taken
  never to hurt, so that count is the deployment's cheapest); its bill at each fixed pricing
  is its GPU-hours at that price, its hourly cost its GPUs at that price; spot is simulated at that count and at one more (a spare
  for the replica a reclaim takes away), the cheaper feasible one kept.

Every simulated configuration is remembered (``Evaluations``): none runs twice.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
from omegaconf import OmegaConf, open_dict

from sim.analysis.capacity import measure_capacity
from sim.analysis.plan_judge import (
    falls_behind,
    measured_tenant_rows,
    tpot_attainment,
    tpot_slos,
    ttft_deadline_attainment,
)
from sim.analysis.plan_why import behind_text, bound_text, outcome
from sim.config import DeploymentConfig, variant
from sim.errors import InputError
from sim.simulation.build import build, build_catalog, build_workload
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate


@dataclass
class Candidate:
    model: str
    placement: str  # dedicated | serverless
    gpu: str = ""
    precision: str = ""
    tp: int = 0
    replicas: int = 0
    pricing: str = ""  # reserved | on_demand | spot ("" for serverless)
    cost_usd: float = math.nan  # over the run (its billing period: horizon + drain)
    # what it costs an hour, the rank: a fixed-price pool its GPUs at the catalog price, a
    # spot pool its run's bill over its period, serverless its bill over the horizon
    usd_per_hour: float = math.nan
    worst_attainment: float = math.nan  # the lowest SLO attainment among the tenants
    worst_p99_over_slo: float = math.nan  # the highest p99 TTFT / SLO among the tenants
    feasible: bool = False
    # the run keeps up with the offered load (its stability check does not call it unstable);
    # a candidate that meets the SLOs only because the drain works its backlog off is not
    # feasible (plan_judge.falls_behind)
    keeps_up: bool = True

    @property
    def gpus(self) -> int:
        return self.replicas * self.tp  # 0 for serverless

    @property
    def label(self) -> str:
        if self.placement == "serverless":
            return "serverless"
        return f"{self.replicas} x {self.gpu} {self.precision} TP{self.tp} {self.pricing}"


@dataclass
class ModelPlan:
    model: str
    best: Candidate | None
    tried: list = field(default_factory=list)  # every Candidate priced
    why: list = field(default_factory=list)  # lines saying how the size was reached
    idle: bool = False  # no request of its tenants arrived: nothing to size against
    over_context: int = 0  # its tenants' requests beyond the model's context (no plan serves them)
    skipped_from: str = ""  # the deployment from which branch and bound skipped the rest


def model_config(cfg, models):
    """``cfg`` with only the tenants that call ``models`` (a name or a set of names; their
    requests are unchanged: each tenant draws from its own named streams)."""
    keep = {models} if isinstance(models, str) else set(models)
    out = copy.deepcopy(cfg)
    with open_dict(out):
        for t in [t for t in out.tenants if out.tenants[t].model not in keep]:
            del out.tenants[t]
    return out


def with_deployment(cfg, model: str, gpu: str, precision: str, tp: int, replicas: int):
    """``cfg`` serving ``model`` on ``replicas`` dedicated replicas of that deployment (its
    other deployment keys kept)."""
    if model in cfg.deployments:
        dep = {f"deployments.{model}.gpu": gpu, f"deployments.{model}.precision": precision,
               f"deployments.{model}.tp": int(tp)}
    else:  # the schema's defaults with these three (a plain dict is refused by the schema)
        dep = {f"deployments.{model}": DeploymentConfig(gpu=gpu, precision=precision, tp=int(tp))}
    return variant(cfg, **dep, **{"dedicated.replicas": {model: int(replicas)},
                                  "setups": ["dedicated"]})


class Evaluations:
    """Simulated runs of one model's tenants, remembered by configuration."""

    def __init__(self, cfg, model: str, attainment: float, progress: bool = False):
        self.cfg = variant(model_config(cfg, model), **{"output.parquet": False})
        self.model = model
        self.catalog = build_catalog(self.cfg)
        self.attainment = attainment
        self.progress = progress
        self.workload = build_workload(self.cfg)
        self.runs = 0
        self._seen: dict = {}
        self.tpot_slos = tpot_slos(self.cfg)
        # the search's unit: an embedding model's or a reranker's requests produce no output
        # token (its capacity read 0 output tok/s: "its saturated run completed nothing")
        self.prefill_only = self.catalog.models[model].prefill_only
        self.unit = "requests/s" if self.prefill_only else "output tok/s"

    @property
    def offered(self) -> float:
        """What the model's own tenants send within its context, in :attr:`unit` (output
        tokens/s; requests/s of a prefill-only model): background tenants
        (which only the serverless pool serves) are not the dedicated replicas' load, nor are
        requests over the context, rejected by every candidate (until December 2026 they were:
        113 of 277 over the 8B's context bought 8 H100s where 5 served the rest)."""
        served = self.servable()
        sent = served.sum() if self.prefill_only else self.workload.output_tokens[served].sum()
        return float(sent) / float(self.cfg.horizon_s)

    def servable(self):
        """The model's own tenants' requests within its context."""
        wl = self.workload
        over = wl.over_context
        return wl.user_mask() & (True if over is None else ~over)

    def _judge(self, cfg, setup: str) -> tuple:
        """(cost over the run, worst attainment, worst p99/SLO, the run, its period in
        hours, whether it keeps up with the load) of ``setup``."""
        run = simulate(cfg, self.workload, setup, self.progress)
        self.runs += 1  # a run refused before it started is none (why.csv said "1 simulated runs")
        s = frames(cfg, self.workload, [run], self.catalog)[0]
        rows = measured_tenant_rows(s)
        att = min(ttft_deadline_attainment(self.workload, run.log, s), self.tpot_attainment(run))
        over = rows["ttft_p99_s"] / rows["slo_ttft_s"]
        ratio = float(over.max()) if over.notna().any() else (0.0 if att >= 1.0 else math.inf)
        total = s[s["tenant"] == "__all__"]
        cost = float(total["cost_usd"].iloc[0])
        keeps_up = not falls_behind(cfg, self.workload, run)
        return cost, att, ratio, run, float(total["period_s"].iloc[0]) / 3600.0, keeps_up

    def tpot_attainment(self, run) -> float:
        """The lowest share of completed requests within their TPOT objective
        (:func:`sim.analysis.plan_judge.tpot_attainment`)."""
        return tpot_attainment(self.workload, run.log, self.tpot_slos, float(self.cfg.metrics.warmup_s))

    def dedicated(self, gpu: str, precision: str, tp: int, replicas: int) -> tuple:
        key = ("dedicated", gpu, precision, tp, replicas)
        if key not in self._seen:
            c = with_deployment(self.cfg, self.model, gpu, precision, tp, replicas)
            cost, att, ratio, run, _, ok = self._judge(c, "dedicated")
            gpu_h = sum(u.up_s * u.gpus for u in run.ledger) / 3600.0
            self._seen[key] = (gpu_h, att, ratio, cost, ok)
        return self._seen[key]

    def spot(self, gpu: str, precision: str, tp: int, replicas: int) -> tuple:
        """(cost, attainment, p99/SLO, $/h, keeps up) of ``replicas`` spot replicas, reclaimed and
        replaced as ``dedicated.spot`` simulates (billed by the run: replacements load at
        cost; $/h is that bill over the run's period)."""
        key = ("spot", gpu, precision, tp, replicas)
        if key not in self._seen:
            c = with_deployment(self.cfg, self.model, gpu, precision, tp, replicas)
            c = variant(c, **{"dedicated.spot.replicas": {self.model: int(replicas)}})
            cost, att, ratio, _, period_h, ok = self._judge(c, "dedicated")
            self._seen[key] = (cost, att, ratio, cost / period_h, ok)
        return self._seen[key]

    def seen_dedicated(self, gpu: str, precision: str, tp: int) -> list:
        """The keys of the dedicated runs of one deployment simulated so far."""
        return [k for k in self._seen if k[:4] == ("dedicated", gpu, precision, tp)]

    def serverless(self) -> tuple:
        if "serverless" not in self._seen:
            cost, att, ratio, _, _, ok = self._judge(self.cfg, "serverless")
            self._seen["serverless"] = (cost, att, ratio, ok)
        return self._seen["serverless"]

    def meets(self, gpu: str, precision: str, tp: int, replicas: int) -> bool:
        """That dedicated count meets the SLOs and keeps up with the load."""
        _, att, _, _, ok = self.dedicated(gpu, precision, tp, replicas)
        return att >= self.attainment and ok


def cheaper(c: Candidate, best: Candidate | None) -> bool:
    """``c`` costs less an hour than ``best``, or as much on fewer GPUs (a free GPU class: any
    count costs $0, and 3 x L40S TP2 was chosen over 2 x TP1, 2 GPUs meeting the SLO, until
    December 2026), or as much on as many with a lower worst p99 / SLO."""
    return best is None or ((c.usd_per_hour, c.gpus, c.worst_p99_over_slo)
                            < (best.usd_per_hour, best.gpus, best.worst_p99_over_slo))


def first_feasible(ev: Evaluations, g: str, p: str, tp: int, lo: int, hi: int,
                   attainment: float) -> int | None:
    """The smallest replica count in [lo, hi] meeting the SLOs and keeping up with the load
    (:meth:`Evaluations.meets`), by bisection (more replicas are taken never to hurt), or
    None when ``hi`` does not."""
    if ev.meets(g, p, tp, lo):
        return lo
    if lo >= hi or not ev.meets(g, p, tp, hi):
        return None
    while hi - lo > 1:  # lo fails, hi meets
        mid = (lo + hi) // 2
        if ev.meets(g, p, tp, mid):
            hi = mid
        else:
            lo = mid
    return hi


def deployment_capacity(ev: Evaluations, gpu: str, precision: str, tp: int):
    """Saturated capacity of one replica (in ev.unit), or why it cannot run: the highest
    over the model's tenants, each measured on its own lengths (tenants with the same
    lengths once), so that offered / capacity stays a lower bound on replicas whatever the
    tenants' mix (until December 2026 only the busiest tenant's lengths were measured: a
    prompt-heavy busiest tenant beside a decode-heavy one bought 44 H100s where one met
    the SLO)."""
    c = with_deployment(ev.cfg, ev.model, gpu, precision, tp, 1)
    try:
        build(c)
    except InputError as e:
        return None, str(e)
    wl = ev.workload
    within = wl.over_context is None or ~wl.over_context
    sent = {t: int(((wl.tenant == wl.tenants.index(t)) & within).sum()) for t in c.tenants}
    measured: dict = {}
    for t in sorted(c.tenants, key=lambda t: (-sent[t], t)):
        if sent[t] == 0:
            # sent nothing within the context: its lengths carry no load (a tenant all over
            # the context was measured, a traceback: too few completions)
            continue
        tc = OmegaConf.to_container(c.tenants[t])
        lengths = repr({k: v for k, v in tc.items() if k not in ("arrival", "slo_ttft_s", "slo_tpot_s")})
        if lengths not in measured:
            cap = measure_capacity(c, t)
            measured[lengths] = cap.rps if ev.prefill_only else cap.tok_s
    if not measured:
        return None, f"every request of {ev.model}'s tenants exceeds its context"
    return max(measured.values()), ""


def plan_model(cfg, model: str, gpus, precisions, tps, pricings, placements, max_replicas: int,
               attainment: float, progress: bool = False) -> ModelPlan:
    """The cheapest feasible candidate for ``model`` (see the module doc)."""
    ev = Evaluations(cfg, model, attainment, progress)
    mp = ModelPlan(model, None)
    if not ev.workload.user_mask().any():  # no attainment to judge (background aside)
        mp.idle = True
        mp.why.append(f"no request of {model}'s tenants arrived within the horizon "
                      f"({float(cfg.horizon_s):g} s): nothing to plan from")
        return mp
    wl = ev.workload
    if wl.over_context is not None:
        mp.over_context = int(np.count_nonzero(wl.over_context & wl.user_mask()))
    if mp.over_context:
        verb = "exceeds" if mp.over_context == 1 else "exceed"
        mp.why.append(f"{mp.over_context:,} of {int(wl.user_mask().sum()):,} requests {verb} "
                      f"{model}'s context (prompt + output): rejected by every candidate, left "
                      "out of the attainment")
    catalog_gpus = cfg.catalog.gpus
    spot = "spot" in pricings
    pricings = [p for p in pricings if p != "spot"]  # fixed prices: re-priced, not re-run
    price = {(g, p): float(catalog_gpus[g][f"{p}_usd_per_hour"]) for g in gpus for p in pricings}
    spot_price = {g: catalog_gpus[g].get("spot_usd_per_hour") for g in gpus} if spot else {}
    hours = float(cfg.horizon_s) / 3600.0
    if "serverless" in placements:
        try:
            cost, att, ratio, ok = ev.serverless()
        except InputError as e:  # the pool cannot serve the model as deployments.<m> says
            mp.why.append(f"serverless: cannot run ({e})")
        else:
            c = Candidate(model, "serverless", cost_usd=cost, usd_per_hour=cost / hours,
                          worst_attainment=att, worst_p99_over_slo=ratio,
                          feasible=att >= attainment and ok, keeps_up=ok)
            mp.tried.append(c)
            mp.why.append(f"serverless: attainment {att:.3f}, ${cost:.2f}" + outcome(att, ok, attainment))
            if c.feasible:
                mp.best = c
    if "dedicated" not in placements:
        return mp
    offered = ev.offered
    bounds = []
    for g in gpus:
        offers = [price[g, q] for q in pricings] + ([float(spot_price[g])] if spot_price.get(g) is not None else [])
        if not offers:  # plan.pricing=[spot] on a GPU with no spot price (was a traceback)
            mp.why.append(f"{g}: no spot price in the catalog and no other pricing in "
                          "plan.pricing; not tried")
            continue
        for p in precisions:
            for tp in tps:
                cap, reason = deployment_capacity(ev, g, p, tp)
                if cap is None or not cap > 0:
                    mp.why.append(f"{g} {p} TP{tp}: cannot run "
                                  f"({reason or 'its saturated run completed nothing'})")
                    continue
                lb = max(1, math.ceil(offered / cap))
                # equal bounds: the fewest GPUs (as cheaper ranks), then the fastest first
                bounds.append((lb * tp * min(offers), lb * tp, -cap, g, p, tp, lb, cap))
    bounds.sort()
    for bound_usd, bound_gpus, _, g, p, tp, lb, cap in bounds:
        best = (mp.best.usd_per_hour, mp.best.gpus) if mp.best is not None else (math.inf, 0)
        if (bound_usd, bound_gpus) >= best:  # on a cost tie, on no fewer GPUs
            mp.skipped_from = f"{g} {p} TP{tp}"
            tie = bound_usd == best[0]  # then the GPUs decide
            mp.why.append(f"{g} {p} TP{tp} and the rest: skipped (their lower bound, "
                          f"${bound_usd:.2f}/h{f' on {bound_gpus} GPUs' if tie else ''}, is not "
                          f"below the best found, ${best[0]:.2f}/h{f' on {best[1]}' if tie else ''})")
            break
        size = f"{g} {p} TP{tp}: {bound_text(cap, offered, lb, ev.unit)}"
        if lb > max_replicas:  # it was simulated and could be chosen above the limit
            mp.why.append(f"{size}, more than plan.max_replicas ({max_replicas}); not simulated")
            continue
        found = first_feasible(ev, g, p, tp, lb, max_replicas, attainment)
        for n in sorted(k[4] for k in ev.seen_dedicated(g, p, tp)):
            if n == found:
                continue  # priced below, as a choice
            gpu_h, att, ratio, _, ok = ev.dedicated(g, p, tp, n)  # for the cost-latency frontier
            mp.tried += [Candidate(model, "dedicated", g, p, tp, n, q, gpu_h * price[g, q],
                                   n * tp * price[g, q], att, ratio, att >= attainment and ok, ok)
                         for q in pricings]
        if found is None:
            mp.why.append(f"{size}; no count up to {max_replicas} meets the SLO and keeps up with "
                          f"the load{behind_text(ev, g, p, tp)}")
            continue
        n = found
        gpu_h, att, ratio, _, _ = ev.dedicated(g, p, tp, n)
        for q in pricings:
            c = Candidate(model, "dedicated", g, p, tp, n, q, gpu_h * price[g, q],
                          n * tp * price[g, q], att, ratio, True)
            mp.tried.append(c)
            if cheaper(c, mp.best):
                mp.best = c
        if spot and spot_price.get(g) is None:
            mp.why.append(f"{g}: no spot price in the catalog; spot not tried")
        elif spot:
            # the count on fixed capacity, then one spare (within max_replicas: the spare
            # was simulated, and could be chosen, past it)
            for k in [k for k in (n, n + 1) if k <= max_replicas]:
                cost_s, att_s, ratio_s, hourly, ok = ev.spot(g, p, tp, k)
                c = Candidate(model, "dedicated", g, p, tp, k, "spot", cost_s, hourly, att_s,
                              ratio_s, att_s >= attainment and ok, ok)
                mp.tried.append(c)
                mp.why.append(f"{g} {p} TP{tp}: {k} spot replicas: attainment {att_s:.3f}, "
                              f"${cost_s:.2f}" + outcome(att_s, ok, attainment))
                if c.feasible:
                    if cheaper(c, mp.best):
                        mp.best = c
                    break
        mp.why.append(f"{size}; {n} {'meets' if n == 1 else 'meet'} the SLO and "
                      f"{'keeps' if n == 1 else 'keep'} up with the load (attainment {att:.3f})"
                      + ("" if n == lb else f", {n - 1} {'does' if n == 2 else 'do'} not")
                      + behind_text(ev, g, p, tp))
    mp.why.append(f"{ev.runs} simulated runs")
    return mp

