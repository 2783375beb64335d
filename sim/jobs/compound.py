"""``experiment=compound``: cascading cold starts along a compound AI pipeline.

1. **Cold chain.** One pipeline request (the first of the workload) with every model idle,
   in scenarios: all serverless; serverless with coordinated pre-warm; the dialogue model
   dedicated and the rest serverless (the ``hybrid`` setup, ``compound.mixed_placement``);
   the same stages on three ~15 s LLMs (``compound.chain_models``). Each row reports the
   cold-start wait accumulated on the critical path, from the simulated loads.
2. **Bursty traffic.** The whole workload on every setup in ``compound.bursty_setups``
   (plus serverless with pre-warm): p50/p99 end-to-end latency, final-stage TTFT, cold
   starts and cost per pipeline request.

Tables: ``chain``, ``chain_stages`` (the waterfall's data), ``bursty``, ``bursty_stages``
(per stage: TTFT and latency percentiles, cold starts), ``pipelines`` (one row per pipeline
request of the bursty runs) and the usual summary; figures
``pipeline_waterfall`` and ``pipeline_latency_cdf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import pandas as pd

from sim.analysis.cold_chain import cold_chain, mixed_variant, tenants_of
from sim.config import HybridTier, variant
from sim.errors import InputError
from sim.jobs import check_distinct, job
from sim.metrics.pipelines import (
    pipeline_notes,
    pipeline_summary,
    stage_summary,
    with_window,
)
from sim.metrics.requests import requests_frame
from sim.metrics.runnotes import variant_notes
from sim.platform import SETUPS
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.report.pipelines import latency_cdf, waterfall
from sim.simulation.build import build_catalog, build_workload
from sim.simulation.build.models import model
from sim.simulation.frames import keep_of, model_prices, setup_summary
from sim.simulation.simulate import simulate
from sim.simulation.unread import job_note

EMPTY = ": every figure of the run is empty"  # the workload's note (sim/metrics/runnotes.py)


@dataclass
class CompoundConfig:
    """``experiment=compound``: cascading cold starts of a pipeline."""

    pipeline: str = "rag"  # the pipeline the cold-chain scenarios send once, all models idle
    # the same stages on three LLMs of ~15 s cold start each (the brief's 45 s chain)
    chain_models: List[str] = field(default_factory=list)
    bursty_setups: List[str] = field(default_factory=lambda: ["serverless", "dedicated", "hybrid"])
    # the mixed placement: model -> dedicated | serverless (hybrid.placement)
    mixed_placement: Dict[str, HybridTier] = field(default_factory=dict)


def bursty(cfg, catalog, progress=False):
    """(bursty table, per-pipeline rows, summary, requests, notes) over the full workload."""

    name = str(cfg.compound.pipeline)
    notes = []
    variants = []
    for s in cfg.compound.bursty_setups:
        s = str(s)
        if s == "hybrid":
            mixed = mixed_variant(cfg)
            if mixed is None:
                notes.append("bursty: hybrid (mixed placement) skipped: the setup is not registered")
                continue
            variants.append(("hybrid/mixed", "hybrid", mixed))
            variants.append(("hybrid/mixed+prewarm", "hybrid",
                             variant(mixed, **{f"pipelines.{name}.prewarm": True})))
        elif s in SETUPS:
            variants.append((s, s, variant(cfg, **{f"pipelines.{name}.prewarm": False})))
            if s == "serverless":
                variants.append(("serverless/prewarm", s, variant(cfg, **{f"pipelines.{name}.prewarm": True})))
    wl = build_workload(cfg)
    prices = model_prices(catalog, wl.served_models)
    pipes, sums, reqs, runs = [], [], [], []
    for label, setup, c in variants:
        run = simulate(c, wl, setup, progress, label)
        run.setup = label  # rows are labelled by variant (colours follow the setup prefix)
        runs.append((label, c, run))
        s = setup_summary(c, wl, run, prices)
        sums.append(s)
        pipes.append(run.pipelines.frame(label))
        reqs.append(requests_frame(wl, run))
    warmup = float(cfg.metrics.warmup_s)
    pipes = with_window(pd.concat(pipes, ignore_index=True), warmup)
    summary = pd.concat(sums, ignore_index=True)
    table = pipeline_summary(pipes, summary)
    requests = pd.concat(reqs, ignore_index=True)
    # what the workload did not take as given (a trace's rows), then each run's stability
    notes += variant_notes(cfg, wl, runs) + pipeline_notes(pipes, warmup)
    return table, pipes, summary, requests, notes


def check(cfg) -> None:
    """The pipeline exists and a tenant sends it; chain models and bursty setups are known."""

    cc = cfg.compound
    if cc.pipeline not in cfg.pipelines:
        raise InputError(f"unknown pipeline {cc.pipeline!r}", key="compound.pipeline")
    if not tenants_of(cfg, cc.pipeline):
        raise InputError(f"no tenant sends pipeline {cc.pipeline!r}", key="compound.pipeline")
    catalog = build_catalog(cfg)
    for m in cc.chain_models:  # the scenario is a chain of LLMs (each decodes its answer)
        if model(catalog, m, "compound.chain_models").prefill_only:
            raise InputError(f"{m!r} is an {catalog.models[m].kind} model, not an LLM: the "
                             "chain scenario sends a chain of LLMs", key="compound.chain_models")
    for m in cc.mixed_placement:  # as hybrid.placement reads it: a model, or a tenant
        if m not in cfg.tenants:
            model(catalog, m, f"compound.mixed_placement.{m}")
    check_distinct(cfg, "compound.bursty_setups")
    for s in cc.bursty_setups:
        if s not in SETUPS:
            raise InputError(f"unknown setup {s!r}; known: {', '.join(sorted(SETUPS))}",
                             key="compound.bursty_setups")


def chain_loads(r) -> str:
    """A cold-chain row's cold stages and loads in words; a scenario that loaded no model
    (every stage placed dedicated) says so rather than listing nothing."""
    stages = f"{r.cold_starts} cold stages"
    return f"{stages}; loads: {r.loads}" if r.loads else f"{stages}; no model loaded"


@job("compound", config=CompoundConfig, check=check,
     own_setups=(("serverless",), "its cold-chain scenarios and the setups of compound.bursty_setups"),
     sets=lambda cfg: {
         f"pipelines.{cfg.compound.pipeline}.prewarm": "it runs its setups with and without "
         "coordinated pre-warm",
         "hybrid.placement": "set the mixed placement with compound.mixed_placement",
         "hybrid.default_tier": "its mixed placement sends the models compound.mixed_placement "
         "does not list to serverless"})
def compound_job(cfg, out_dir, progress) -> Result:
    catalog = build_catalog(cfg)
    chain, chain_stages, notes = cold_chain(cfg, catalog, progress)
    table, pipes, summary, requests, more = bursty(cfg, catalog, progress)
    # the cold chain sends a pipeline request of its own: only the bursty runs' figures are
    # empty (until December 2026 the note said every figure was, beside a full waterfall)
    notes += [m.replace(EMPTY, ": the bursty runs' tables and pipeline latency CDF are empty "
                        "(the cold-chain scenarios send a pipeline request of their own)")
              for m in more]
    for r in chain.itertuples():
        if r.outcome != "completed":  # printed "nan s of cold start" until December 2026
            notes.append(f"cold chain, {r.scenario}: its pipeline request was {r.outcome} "
                         f"({r.reason or 'no reason'}): no cold-start or end-to-end time "
                         f"({chain_loads(r)})")
            continue
        notes.append(f"cold chain, {r.scenario}: {r.cold_wait_critical_s:.1f} s of cold start on "
                     f"the critical path ({chain_loads(r)}); end-to-end {r.e2e_s:.1f} s")
    for r in table.itertuples():
        if not r.completed:  # "p50 nan s ... over 0 pipelines ($nan per 1k)" until December 2026
            notes.append(f"bursty, {r.setup}: no pipeline completed of the {r.requests} measured "
                         f"({r.failed} failed, {r.rejected} rejected): no end-to-end time; "
                         f"{r.cold_starts} cold stage requests, ${r.cost_usd:.3f} ("
                         + ("none of the run's pipelines completed: no cost per pipeline)"
                            if pd.isna(r.cost_per_1k_pipelines_usd) else
                            f"${r.cost_per_1k_pipelines_usd:.3f} per 1k of the run's pipelines, "
                            "warm-up included)"))
            continue
        notes.append(f"bursty, {r.setup}: p50 {r.e2e_p50_s:.2f} s, p99 {r.e2e_p99_s:.2f} s "
                     f"end-to-end over {r.completed} pipelines, {r.cold_starts} cold stage "
                     f"requests, ${r.cost_usd:.3f} (${r.cost_per_1k_pipelines_usd:.3f} per 1k"
                     + (" of the run's pipelines, warm-up included" if r.window == "measured" else "")
                     + ")")
    res = Result(summary=summary, requests=keep_of(cfg, requests), notes=notes)
    res.tables["chain"] = chain
    cols = ["scenario", "setup", "request_id", "stage", "model", "tier", "arrival_s", "admit_s",
            "first_token_s", "finish_s", "cold_start_wait_s", "outcome", "cold_wait_critical_s"]
    # each row carries its scenario's critical-path cold wait (the waterfall's panel title)
    crit = dict(zip(chain["scenario"], chain["cold_wait_critical_s"]))
    res.tables["chain_stages"] = chain_stages.assign(
        cold_wait_critical_s=chain_stages["scenario"].map(crit))[cols]
    res.tables["bursty"] = table
    res.tables["bursty_stages"] = stage_summary(requests, pipes)
    res.tables["pipelines"] = pipes
    res.notes = job_note("compound") + res.notes  # keys no run of it read
    if out_dir is not None:
        if cfg.output.plots:
            res.figures += waterfall(res.tables["chain_stages"], out_dir)
            res.figures += latency_cdf(pipes, out_dir)
        write_outputs(res, variant(cfg, **{"output.plots": False}), out_dir)
    return res
