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

import copy

import numpy as np
import pandas as pd
from omegaconf import OmegaConf, open_dict

from sim.simulation.build import build_catalog
from sim.errors import InputError
from sim.metrics.summary import requests_frame, summarize
from sim.simulation.pipeline import pipeline_summary, stage_summary
from sim.config import variant
from sim.jobs import job
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.progress import progress_printer
from sim.simulation.simulate import simulate
from sim.workload import build_workload


def first_pipeline_only(wl):
    """The workload cut to its first pipeline request's stage requests (and nothing else)."""
    pr = wl.pipelines
    lo, hi = pr.base, int(pr.first[1])
    out = copy.copy(wl)
    keep = np.r_[lo:hi]
    out.arrival_s = wl.arrival_s[keep]
    out.tenant = wl.tenant[keep]
    out.model = wl.model[keep]
    out.input_tokens = wl.input_tokens[keep]
    out.output_tokens = wl.output_tokens[keep]
    out.think_s = None if wl.think_s is None else wl.think_s[keep]
    out.pipelines = p = copy.copy(pr)
    p.arrival_s, p.tenant, p.spec = pr.arrival_s[:1], pr.tenant[:1], pr.spec[:1]
    p.first = pr.first[:2] - lo
    p.stage, p.tool_s = pr.stage[: hi - lo], pr.tool_s[: hi - lo]
    return out


def chain_variant(cfg, name: str, models) -> object:
    """``cfg`` with the pipeline ``name``'s model stages replaced by a sequence of ``models``
    (each like the pipeline's last model stage: same prompt and output lengths)."""
    src = cfg.pipelines[name]
    last = [s for s in src.stages if getattr(src.stages[s].kind, "value", None) == "model"][-1]
    proto = OmegaConf.to_container(src.stages[last], enum_to_str=True)
    stages = {}
    prev = None
    for i, m in enumerate(models):
        st = dict(copy.deepcopy(proto), model=m, after=[prev] if prev else [], fanout=1, probability=1.0)
        stages[f"llm{i + 1}"] = st
        prev = f"llm{i + 1}"
    out = copy.deepcopy(cfg)
    with open_dict(out):
        from sim.config import PipelineConfig

        out.pipelines["chain"] = OmegaConf.merge(OmegaConf.structured(PipelineConfig),
                                                 {"prewarm": False, "stages": stages})
        for t in out.tenants:
            if out.tenants[t].get("pipeline") == name:
                out.tenants[t].pipeline = "chain"
    return out


def _tenant_of(cfg, pipeline: str) -> str:
    ts = [t for t in cfg.tenants if cfg.tenants[t].get("pipeline") == pipeline]
    if not ts:
        raise InputError(f"no tenant sends pipeline {pipeline!r}", key="compound.pipeline")
    return ts[0]


def _run(cfg, wl, setup, catalog, progress, label):
    update, close = progress_printer(progress, label, total_s=wl.horizon_s)
    try:
        return simulate(cfg, wl, setup, catalog, update)
    finally:
        close()


def _mixed(cfg):
    """The mixed placement through the hybrid setup, or None while it is not registered."""
    from sim.platform import SETUPS

    if "hybrid" not in SETUPS:
        return None
    placement = dict(cfg.compound.mixed_placement)
    return variant(cfg, **{"hybrid.placement": placement, "hybrid.default_tier": "serverless"})


def loads_text(run) -> str:
    cs = run.extra.get("cold_starts") if run.extra else None
    if cs is None or not len(cs):
        return ""
    return ", ".join(f"{r.model} {r.total_s:.2f} s{' (pre-warm)' if r.prewarm else ''}"
                     for r in cs.itertuples())


def cold_chain(cfg, catalog, progress=False):
    """(chain table, stage rows of each scenario's pipeline request, notes)."""
    name = str(cfg.compound.pipeline)
    if name not in cfg.pipelines:
        raise InputError(f"unknown pipeline {name!r}", key="compound.pipeline")
    scenarios = [("all serverless", "serverless", variant(cfg, **{f"pipelines.{name}.prewarm": False})),
                 ("serverless + coordinated pre-warm", "serverless",
                  variant(cfg, **{f"pipelines.{name}.prewarm": True}))]
    notes = []
    mixed = _mixed(variant(cfg, **{f"pipelines.{name}.prewarm": False}))
    if mixed is not None:
        scenarios.append(("dialogue model dedicated (hybrid)", "hybrid", mixed))
    else:
        notes.append("mixed placement skipped: the hybrid setup is not registered on this branch")
    chain_models = list(cfg.compound.chain_models)
    if chain_models:
        for m in chain_models:
            catalog.model(m, "compound.chain_models")
        scenarios.append((f"{len(chain_models)} LLMs in sequence, all serverless", "serverless",
                          chain_variant(cfg, name, chain_models)))
    rows, stages = [], []
    tenant = _tenant_of(cfg, name)
    for label, setup, c in scenarios:
        # the first request of a 1/s Poisson stream over 60 s: P(none) = e^-60
        c = variant(c, **{f"tenants.{tenant}.arrival.kind": "poisson",
                          f"tenants.{tenant}.arrival.rate_rps": 1.0,
                          f"tenants.{tenant}.arrival.curve": "none", "horizon_s": 60.0})
        wl = build_workload(c, catalog)
        if not len(wl.pipelines):  # pragma: no cover - e^-60
            raise InputError("no pipeline request drawn", key=f"tenants.{tenant}.arrival")
        wl = first_pipeline_only(wl)
        run = _run(c, wl, setup, catalog, progress, label)
        p = run.pipelines.frame(setup).iloc[0]
        req = requests_frame(wl, run)
        models = [m for m in req["model"].astype(str) if not m.startswith("tool:")]
        rows.append({"scenario": label, "setup": setup, "models": " -> ".join(models),
                     "outcome": str(p.outcome), "e2e_s": p.e2e_s, "final_ttft_s": p.final_ttft_s,
                     "cold_starts": int(p.cold_starts),
                     "cold_wait_critical_s": p.cold_wait_critical_s,
                     "cold_wait_total_s": p.cold_wait_total_s, "loads": loads_text(run)})
        stages.append(req.assign(scenario=label))
    return pd.DataFrame(rows), pd.concat(stages, ignore_index=True), notes


def bursty(cfg, catalog, progress=False):
    """(bursty table, per-pipeline rows, summary, requests, notes) over the full workload."""
    from sim.platform import SETUPS

    name = str(cfg.compound.pipeline)
    notes = []
    variants = []
    for s in cfg.compound.bursty_setups:
        s = str(s)
        if s == "hybrid":
            mixed = _mixed(cfg)
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
        else:
            raise InputError(f"unknown setup {s!r}; known: {', '.join(sorted(SETUPS))}",
                             key="compound.bursty_setups")
    wl = build_workload(cfg, catalog)
    prices = {m: (catalog.models[m].price_in_usd_per_mtok, catalog.models[m].price_out_usd_per_mtok)
              for m in wl.served_models}
    pipes, sums, reqs = [], [], []
    for label, setup, c in variants:
        run = _run(c, wl, setup, catalog, progress, label)
        run.setup = label  # rows are labelled by variant (colours follow the setup prefix)
        s = summarize(wl, run, prices)
        sums.append(s)
        pipes.append(run.pipelines.frame(label))
        reqs.append(requests_frame(wl, run))
    pipes = pd.concat(pipes, ignore_index=True)
    summary = pd.concat(sums, ignore_index=True)
    table = pipeline_summary(pipes, summary)
    requests = pd.concat(reqs, ignore_index=True)
    return table, pipes, summary, requests, notes


@job("compound")
def compound_job(cfg, out_dir, progress) -> Result:
    catalog = build_catalog(cfg)
    chain, chain_stages, notes = cold_chain(cfg, catalog, progress)
    table, pipes, summary, requests, more = bursty(cfg, catalog, progress)
    notes += more
    for r in chain.itertuples():
        notes.append(f"cold chain, {r.scenario}: {r.cold_wait_critical_s:.1f} s of cold start on "
                     f"the critical path ({r.cold_starts} cold stages; loads: {r.loads}); "
                     f"end-to-end {r.e2e_s:.1f} s")
    for r in table.itertuples():
        notes.append(f"bursty, {r.setup}: p50 {r.e2e_p50_s:.2f} s, p99 {r.e2e_p99_s:.2f} s "
                     f"end-to-end over {r.completed} pipelines, {r.cold_starts} cold stage "
                     f"requests, ${r.cost_usd:.3f} (${r.cost_per_1k_pipelines_usd:.3f} per 1k)")
    res = Result(summary=summary, requests=requests if cfg.output.parquet else pd.DataFrame(),
                 notes=notes)
    res.tables["chain"] = chain
    cols = ["scenario", "setup", "request_id", "stage", "model", "tier", "arrival_s", "admit_s",
            "first_token_s", "finish_s", "cold_start_wait_s", "outcome"]
    res.tables["chain_stages"] = chain_stages[cols]
    res.tables["bursty"] = table
    res.tables["bursty_stages"] = stage_summary(requests)
    res.tables["pipelines"] = pipes
    if out_dir is not None:
        if cfg.output.plots:
            from sim.report.pipelines import latency_cdf, waterfall

            res.figures += waterfall(res.tables["chain_stages"], out_dir)
            res.figures += latency_cdf(pipes, out_dir)
        write_outputs(res, variant(cfg, **{"output.plots": False}), out_dir)
    return res
