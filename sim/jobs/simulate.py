"""The ``simulate`` job: one workload, every requested setup, tables and files."""

from __future__ import annotations

import time

import pandas as pd

from sim.simulation.build import build_catalog
from sim.metrics.cost import attribute_cost
from sim.errors import InputError
from sim.metrics.invariants import check_outputs
from sim.metrics.events import ledger_frame
from sim.metrics.summary import requests_frame, summarize
from sim.metrics.overload import stability_notes  # noqa: F401  (re-exported for the other jobs)
from sim.jobs import job
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.progress import progress_printer
from sim.simulation.simulate import simulate
from sim.workload import build_workload


def model_prices(catalog, models) -> dict:
    return {m: (catalog.models[m].price_in_usd_per_mtok, catalog.models[m].price_out_usd_per_mtok)
            for m in models}


def simulate_setups(cfg, progress: bool = False):
    """Run every setup in ``cfg.setups`` on one workload; return (workload, runs, catalog)."""
    catalog = build_catalog(cfg)
    setups = list(cfg.setups)
    if setups == ["all"]:  # every registered setup, so sweeps pick up new ones unchanged
        from sim.platform import SETUPS

        setups = list(SETUPS)
    if not setups:
        raise InputError("no setups to run", key="setups")
    if len(set(setups)) != len(setups):
        raise InputError(f"setups repeat: {setups}", key="setups")
    workload = build_workload(cfg, catalog, int(cfg.calibration.closed_loop_requests_per_client))
    runs = []
    for i, name in enumerate(setups):
        label = name if len(setups) == 1 else f"{name} [{i + 1}/{len(setups)}]"
        update, close = progress_printer(progress, label, total_s=workload.horizon_s)
        try:
            runs.append(simulate(cfg, workload, name, catalog, update))
        finally:
            close()
    return workload, runs, catalog


def frames(cfg, workload, runs, catalog):
    prices = model_prices(catalog, workload.served_models)
    parts = []
    for r in runs:
        costs = attribute_cost(workload, r, prices)
        part = summarize(workload, r, prices, costs)
        check_outputs(workload, r, costs, part)
        parts.append(part)
    summary = pd.concat(parts, ignore_index=True)
    want_requests = bool(cfg.output.parquet)
    parts = [requests_frame(workload, r) for r in runs] if want_requests else []
    requests = (parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
                if parts else pd.DataFrame())
    return summary, requests


def setup_tables(runs) -> dict:
    """Tables a setup reports through ``extra()["tables"]``, named ``<setup>_<table>``."""
    return {f"{r.setup}_{k}": t for r in runs for k, t in r.extra.get("tables", {}).items()}


def pipeline_tables(runs, summary, requests) -> dict:
    """``pipelines`` (one row per pipeline request and setup), ``pipeline_summary``,
    ``pipeline_stages``: empty when the workload has no pipelines."""
    if not runs or runs[0].pipelines is None:
        return {}
    from sim.simulation.pipeline import pipeline_summary, stage_summary

    pipes = pd.concat([r.pipelines.frame(r.setup) for r in runs], ignore_index=True)
    out = {"pipelines": pipes, "pipeline_summary": pipeline_summary(pipes, summary)}
    if len(requests):
        out["pipeline_stages"] = stage_summary(requests)
    return out


@job("simulate")
def simulate_job(cfg, out_dir, progress) -> Result:
    t0 = time.perf_counter()
    workload, runs, catalog = simulate_setups(cfg, progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    res = Result(summary=summary, requests=requests, notes=stability_notes(workload, runs))
    res.tables.update(setup_tables(runs))
    if cfg.tenants:
        from sim.analysis.signals import check_config, signals_table

        check_config(cfg)
        res.tables["signals"] = signals_table(cfg, workload, runs, summary)
    res.tables["replicas"] = ledger_frame(runs)
    res.tables.update(pipeline_tables(runs, summary, requests))
    events = [(r.extra["events"], r.setup) for r in runs if r.extra.get("events") is not None]
    if events:
        res.tables["events"] = pd.concat([e.frame(s) for e, s in events], ignore_index=True)
    res.tables["wall"] = pd.DataFrame({"requests": [len(workload)],
                                       "wall_s": [round(time.perf_counter() - t0, 3)]})
    if out_dir is not None:
        res.tables.pop("wall")  # wall time is not deterministic; keep files byte-identical
        write_outputs(res, cfg, out_dir)
    return res
