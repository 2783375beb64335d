"""``job=plan``: what to buy. The cheapest deployment meeting every tenant's SLO.

For each model its tenants call, :func:`sim.analysis.plan.plan_model` searches serverless
placement and dedicated pools over GPU classes x precisions x TP x replicas x pricing on
the run's own requests (branch and bound on simulated runs, each configuration simulated
once). The plan is the feasible candidate per model cheapest an hour; it is then confirmed by one
simulation of all tenants together (models that share the serverless pool meet there).

Tables: ``plan`` (the choice per model, with its cost over the run and per hour),
``candidates`` (every candidate priced, feasible or not), ``pareto`` (the cost-latency
frontier of whole plans over the candidates the search simulated: per-model candidates
combined, cost an hour summed, latency the worst p99 TTFT / SLO over all tenants; branch and
bound skips some deployments, the note says which), ``why`` (how each model's size was reached). Figure
``plots/plan``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field
from typing import List

import pandas as pd

from sim.analysis.plan import model_config, plan_model, with_deployment
from sim.analysis.plan_judge import worst_attainment
from sim.config import variant
from sim.config.rules import SEARCH_REPLICAS, rule
from sim.errors import InputError
from sim.jobs import check_distinct, job
from sim.metrics.runnotes import run_notes
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.report.plan import plan_figure
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_variants
from sim.simulation.unread import job_note

ALL_GPUS = ["H100", "H200", "B200", "A100", "L40S", "MI300X"]


@dataclass
class PlanConfig:
    gpus: List[str] = field(default_factory=lambda: list(ALL_GPUS))
    precisions: List[str] = field(default_factory=lambda: ["fp8", "bf16"])
    tp: List[int] = field(default_factory=lambda: [1, 2, 4, 8])
    pricing: List[str] = field(default_factory=lambda: ["reserved", "on_demand"])
    placements: List[str] = field(default_factory=lambda: ["dedicated", "serverless"])
    # per model and deployment; at most SEARCH_REPLICAS (sim/config/rules.py)
    max_replicas: int = rule(16, ge=1, le=SEARCH_REPLICAS)
    # a tenant's SLO is met when at least this fraction of its requests get their first
    # token within slo_ttft_s (rejections count as misses): 0.99 is "p99 TTFT <= SLO"
    # in (0, 1]: at 0 every candidate was feasible, the search a no-op
    attainment: float = rule(0.99, gt=0, le=1)
    frontier_per_model: int = rule(6, ge=1, le=50)  # candidates per model in the frontier


def check(cfg) -> None:
    pc = cfg.plan
    known = set(cfg.catalog.gpus)
    # a wrong entry is named by its index, plan.tp[1], as other list keys' entries are
    for i, g in enumerate(pc.gpus):
        if g not in known:
            raise InputError(f"unknown GPU {g!r}; known: {', '.join(sorted(known))}", key=f"plan.gpus[{i}]")
    for i, p in enumerate(pc.precisions):
        if p not in ("bf16", "fp8", "fp4"):
            raise InputError(f"unknown precision {p!r}; known: bf16, fp8, fp4", key=f"plan.precisions[{i}]")
    for i, t in enumerate(pc.tp):
        if int(t) < 1:
            raise InputError(f"tensor parallelism must be >= 1, got {t}", key=f"plan.tp[{i}]")
    for i, p in enumerate(pc.pricing):
        if p not in ("reserved", "on_demand", "spot"):
            raise InputError(f"unknown pricing {p!r}; known: reserved, on_demand, spot",
                             key=f"plan.pricing[{i}]")
    for i, p in enumerate(pc.placements):
        if p not in ("dedicated", "serverless"):
            raise InputError(f"unknown placement {p!r}; known: dedicated, serverless",
                             key=f"plan.placements[{i}]")
    if "dedicated" in pc.placements:  # the empty list named (it said only 'plan')
        for k in ("gpus", "precisions", "tp", "pricing"):
            if not pc[k]:
                raise InputError("empty: a dedicated search needs GPUs, precisions, TP degrees "
                                 "and pricings (or plan.placements=[serverless])", key=f"plan.{k}")
    if not pc.placements:
        raise InputError("list at least one placement", key="plan.placements")
    if "dedicated" in pc.placements and bool(cfg.dedicated.burst.enabled):
        # burst replicas ran in every candidate, billed on demand, but were neither searched nor
        # in the hourly rank: "1 x L40S, $1.17/h" whose run billed $0.14 for $0.08 (Dec 2026)
        raise InputError("the planner sizes fixed pools: burst replicas are neither searched nor "
                         "priced in its hourly rank; set it false to plan", key="dedicated.burst.enabled")
    if "dedicated" in pc.placements:
        # the planner sizes each model's one fleet: a heterogeneous fleet rode along in every
        # candidate unpriced (two A100s billed at an L40S's rate), and spot replicas ran in every
        # candidate priced as reserved, then left out of the confirmation (December 2026)
        if len(cfg.dedicated.variants):
            raise InputError("the planner sizes one fleet per model: heterogeneous fleets are "
                             "not searched; leave dedicated.variants empty to plan",
                             key="dedicated.variants")
        for m, n in cfg.dedicated.spot.replicas.items():
            if int(n):
                raise InputError("the planner chooses spot replicas itself (plan.pricing "
                                 "with spot); leave dedicated.spot.replicas empty to plan",
                                 key=f"dedicated.spot.replicas.{m}")
    check_distinct(cfg, "plan.gpus", "plan.precisions", "plan.tp", "plan.pricing", "plan.placements",
                   nonempty=False)
    for t, tc in cfg.tenants.items():
        if tc.pipeline is not None:
            raise InputError("the planner sizes single-model tenants; pipelines are not planned",
                             key=f"tenants.{t}.pipeline")


def frontier(points: list[tuple[float, int, float, bool, object]]) -> list:
    """The (cost, GPUs, latency, meets the SLO, item) points no other point beats: one beats
    another when it costs no more (on a cost tie, on no more GPUs, as the plan ranks), its
    latency is no higher and it meets the SLO if the other does, one of them strictly (ties
    kept once). So the plan, the cheapest meeting the SLO, is never beaten: until December 2026
    a cheaper plan missing the SLO on TPOT or deadlines with a lower p99 / SLO could push it
    off, and at a GPU price of 0 a free plan on more GPUs with a lower p99 / SLO. A point with
    no latency (NaN) has no place."""
    out, best_all, best_met = [], None, None  # the lowest latency so far, of all and of those met
    pts = [p for p in points if not math.isnan(p[2]) and not math.isnan(p[0])]
    for cost, gpus, lat, met, item in sorted(pts, key=lambda x: (x[0], x[1], x[2], not x[3])):
        best = best_met if met else best_all
        if best is None or lat < best:  # an infinite latency (nothing to rank by) kept once
            out.append((cost, gpus, lat, met, item))
        best_all = lat if best_all is None else min(best_all, lat)
        if met:
            best_met = lat if best_met is None else min(best_met, lat)
    return out


def frontier_table(per_model: list[list], keep: int = 6, chosen: tuple = ()) -> pd.DataFrame:
    """``pareto.csv``: the frontier of whole plans (one candidate per model, cost an hour summed,
    latency the worst p99 / SLO, meeting the SLO when every model's candidate does) over the
    candidates the search simulated (``per_model``: each model's). Each model's own frontier
    suffices (a beaten candidate of one model only makes a combination worse); of it the
    ``keep`` cheapest are combined, and the ``chosen`` candidates always. A model with no
    point (no candidate simulated, or none with a cost and a p99 / SLO: :func:`unplotted`)
    is left out of the plans, which cover the other models (until December 2026 one such
    model, e.g. with no request in the horizon, left the file empty beside plans chosen
    for the others)."""
    fronts = []
    for cands in per_model:
        pts = frontier([(c.usd_per_hour, c.gpus, c.worst_p99_over_slo, c.feasible, c)
                        for c in cands])
        fronts.append([p for i, p in enumerate(pts) if i < keep or any(p[4] is b for b in chosen)])
    fronts = [f for f in fronts if f]
    combos = []
    if fronts:
        for combo in itertools.product(*fronts):
            combos.append((sum(p[0] for p in combo), sum(p[1] for p in combo),
                           max(p[2] for p in combo), all(p[3] for p in combo), combo))
    return pd.DataFrame([{"cost_usd": sum(p[4].cost_usd for p in combo), "usd_per_hour": h,
                          "worst_p99_over_slo": lat, "meets_slo": met,
                          "plan": " + ".join(f"{p[4].model}: {p[4].label}" for p in combo)}
                         for h, _, lat, met, combo in frontier(combos)],
                        columns=["cost_usd", "usd_per_hour", "worst_p99_over_slo", "meets_slo", "plan"])


def unplotted(cands) -> bool:
    """Whether a model's candidates give no point to ``pareto.csv`` (none has both a cost and a
    p99 / SLO)."""
    return not any(not math.isnan(c.usd_per_hour) and not math.isnan(c.worst_p99_over_slo)
                   for c in cands)


def left_out_note(plans) -> list[str]:
    """The note naming the models ``pareto.csv`` leaves out, and why (none when it covers all)."""
    left = [mp for mp in plans if unplotted(mp.tried)]
    if not left:
        return []
    why = [f"{mp.model} (" + ("no request within the horizon" if mp.idle else
                              "no candidate could run" if not mp.tried else
                              "no candidate with a p99 / SLO") + ")" for mp in left]
    kept = [mp.model for mp in plans if mp not in left]
    return [f"pareto: its plans cover {', '.join(kept)} only; {', '.join(why)} "
            f"{'has' if len(left) == 1 else 'have'} no simulated point to combine"
            if kept else f"pareto.csv is empty: no model has a simulated point to combine "
            f"({', '.join(why)})"]


def confirm(cfg, chosen: dict, progress: bool) -> tuple[pd.DataFrame, list[str], float]:
    """All tenants on the plan: the dedicated-placed models' tenants on their pools in one
    simulation, the serverless-placed models' tenants on the shared pool (with any
    background load) in another; the two parts share nothing. Their summary rows, and the
    runs' notes (:func:`sim.metrics.runnotes.run_notes`), and the lowest attainment as the
    search judges it (:func:`sim.analysis.plan_judge.worst_attainment`: TTFT over the
    requests a deployment could serve, batch deadlines, TPOT; 1 when no tenant sent a
    request)."""
    parts, notes, worst = [], [], 1.0
    for placement in ("dedicated", "serverless"):
        models = {m: b for m, b in chosen.items() if b.placement == placement}
        if not models:
            continue
        groups = _by_pricing(models) if placement == "dedicated" else [(None, models)]
        for pricing, group in groups:
            label = placement if len(groups) == 1 else f"{placement}, {pricing}"
            part, more, least = _confirm_part(cfg, placement, pricing, group, label, progress)
            parts.append(part)
            notes += more
            worst = min(worst, least)
    return pd.concat(parts, ignore_index=True), notes, worst


def _by_pricing(models: dict) -> list[tuple[str | None, dict]]:
    """The dedicated models by the pricing the plan chose for their reserved replicas, a
    confirmation run each (``dedicated.pricing`` is one for a run; until December 2026 the run
    billed every model at the config's, so an on-demand run confirmed a reserved plan at the
    on-demand price); spot-only models join the first group (their price is the spot one)."""
    groups: dict = {}
    for m, b in models.items():
        groups.setdefault(None if b.pricing == "spot" else b.pricing, {})[m] = b
    spot = groups.pop(None, {})
    out = sorted(groups.items())
    if not out:
        return [(None, spot)]
    out[0] = (out[0][0], {**out[0][1], **spot})
    return out


def _confirm_part(cfg, placement: str, pricing: str | None, models: dict, label: str,
                  progress: bool) -> tuple[pd.DataFrame, list[str], float]:
    """One confirmation run of ``models`` (placed ``placement``, reserved replicas at
    ``pricing`` unless None): its summary rows, notes and lowest attainment."""
    c = model_config(cfg, set(models))
    if placement == "dedicated":
        for m, b in models.items():
            c = with_deployment(c, m, b.gpu, b.precision, b.tp, b.replicas)
        c = variant(c, **{"dedicated.replicas": {m: b.replicas for m, b in models.items()},
                          "dedicated.spot.replicas": {m: b.replicas for m, b in models.items()
                                                      if b.pricing == "spot"}})
        if pricing is not None:
            c = variant(c, **{"dedicated.pricing": pricing})
    c = variant(c, **{"output.parquet": False, "setups": [placement]})
    wl, runs, cat = simulate_variants(c, placement, [(f"plan ({label})", {})], progress)
    part = frames(c, wl, runs, cat)[0]
    # as the search judged each candidate: TTFT, batch deadlines and TPOT (TTFT alone
    # until December 2026: the note's lowest attainment could disagree with plan.csv's)
    worst = worst_attainment(c, wl, runs[0].log, part)
    # what the chosen plan's run did not take as given (trace rows past the horizon,
    # lengths changed), as every other job says (before: unsaid in plan's report)
    return part, [f"plan ({label}): {n}" for n in run_notes(c, wl, runs)], worst


def _planned_setups(cfg) -> list[str]:
    """What the plan job runs instead of ``setups``: its placements."""
    return [str(p) for p in cfg.plan.placements]


@job("plan", config=PlanConfig, check=check,
     own_setups=(_planned_setups, "the placements of plan.placements"))
def plan_job(cfg, out_dir, progress) -> Result:
    pc = cfg.plan
    models = sorted({str(tc.model) for tc in cfg.tenants.values()})
    plans = [plan_model(cfg, m, list(pc.gpus), list(pc.precisions), [int(t) for t in pc.tp],
                        list(pc.pricing), list(pc.placements), int(pc.max_replicas),
                        float(pc.attainment), progress) for m in models]
    rows, cands, why, notes = [], [], [], []
    for mp in plans:
        why += [{"model": mp.model, "step": i, "reason": w} for i, w in enumerate(mp.why)]
        cands += [{**asdict(c), "label": c.label} for c in mp.tried]
        b = mp.best
        cannot = [w for w in mp.why if ": cannot run (" in w]
        if mp.over_context:  # rejected by every candidate: out of the attainment, said
            k = mp.over_context
            notes.append(f"{mp.model}: {k:,} of its tenants' requests {'exceeds' if k == 1 else 'exceed'} "
                         "the model's context (prompt + output) and "
                         f"{'is' if k == 1 else 'are'} rejected by every candidate; attainment "
                         "is judged on the others (workload.overlength; the summary's "
                         "slo_attainment counts them as misses)")
        if mp.idle:  # before, every candidate "met" an undefined (NaN) attainment
            notes.append(f"{mp.model}: {mp.why[0]}; lengthen horizon_s or raise its tenants' rates")
        elif b is None and not mp.tried:  # nothing ran: every deployment was refused
            notes.append(f"{mp.model}: no candidate could run ({len(cannot)} deployment(s) "
                         f"refused, e.g. {cannot[0] if cannot else 'none tried'}; table why); "
                         "widen plan.* (GPUs, precisions, TP, placements)")
        elif b is None:  # the deployments refused said too (plan.tp=[3]: only they, unsaid)
            ded = [w for w in cannot if not w.startswith("serverless:")]
            refused = (f" ({len(ded)} dedicated deployment(s) could not run, e.g. {ded[0]}; "
                       "table why)" if ded else "")
            notes.append(f"{mp.model}: no candidate meets the SLO{refused}; widen plan.* (GPUs, TP, "
                         f"max_replicas) or relax the SLO")
        if b is None:
            rows.append({"model": mp.model, "choice": "none"})
            continue
        if not b.usd_per_hour > 0:  # a free choice: "cheapest" no longer sizes it (unsaid before)
            notes.append(
                f"{mp.model}: {b.label} costs nothing (catalog.gpus.{b.gpu}.{b.pricing}_usd_per_hour "
                "is 0): any number of its replicas is free, so the plan is the fewest GPUs meeting "
                "the SLO and keeping up with the load; check the price" if b.placement == "dedicated" else
                f"{mp.model}: the serverless pool bills it nothing (catalog.models.{mp.model}."
                "price_in_usd_per_mtok and price_out_usd_per_mtok are 0); check the prices")
        rows.append({"model": mp.model, "choice": b.label, "placement": b.placement,
                     "gpu": b.gpu, "precision": b.precision, "tp": b.tp, "replicas": b.replicas,
                     "gpus": b.replicas * b.tp, "pricing": b.pricing, "cost_usd": b.cost_usd,
                     "usd_per_hour": b.usd_per_hour, "worst_attainment": b.worst_attainment,
                     "worst_p99_over_slo": b.worst_p99_over_slo})
    tables = {"plan": pd.DataFrame(rows), "candidates": pd.DataFrame(cands), "why": pd.DataFrame(why)}
    # the frontier of whole plans (cost an hour, the rank, against the worst p99 / SLO) over
    # the candidates simulated; branch and bound never simulated the deployments it skipped
    tables["pareto"] = frontier_table([mp.tried for mp in plans], int(pc.frontier_per_model),
                                      tuple(mp.best for mp in plans if mp.best is not None))
    skipped = [f"{mp.model}'s {mp.skipped_from}" if len(plans) > 1 else mp.skipped_from
               for mp in plans if mp.skipped_from]
    if len(tables["pareto"]):
        notes.append(f"pareto: the cost-latency frontier of the {len(tables['candidates'])} candidates "
                     "priced from the search's simulated runs (candidates.csv), not of every "
                     "configuration: "
                     + (f"branch and bound skipped the deployments from {', '.join(skipped)} on (their "
                        "lower bound cost at least the plan), so a point dearer than the plan may be "
                        "beaten by one never simulated" if skipped else "no deployment was skipped"))
    notes += left_out_note(plans)
    chosen = {mp.model: mp.best for mp in plans if mp.best is not None}
    summary = pd.DataFrame()
    if len(chosen) == len(plans):
        summary, run_said, worst = confirm(cfg, chosen, progress)
        notes += run_said
        total = sum(b.cost_usd for b in chosen.values())
        ok = worst >= float(pc.attainment)
        # the confirmation's own bill: run together, every dedicated pool is up until the
        # last request of any of its models ends, so with several models it can exceed the
        # sum of the per-model bills (each to its own last request); until December 2026 the
        # note gave only that sum
        together = float(summary.loc[summary["tenant"] == "__all__", "cost_usd"].sum())
        notes.append(f"plan: ${total:,.2f} over the run "
                     f"(${sum(b.usd_per_hour for b in chosen.values()):,.2f}/h), ${together:,.2f} "
                     f"simulated together; all tenants "
                     f"together {'meet' if ok else 'MISS'} the SLO (lowest attainment {worst:.3f}"
                     + (", of the requests within the context)" if any(mp.over_context for mp in plans)
                        else ")"))
    res = Result(summary=summary, requests=pd.DataFrame(), tables=tables, notes=notes)
    res.notes = job_note("plan") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: plan_figure(res, d))
    return res
