"""From finished runs to the frames every job reports: summary, requests, setup tables.

:func:`frames` bills each run, summarises it per (setup, tenant), checks the accounting
invariants of the result, splits it by ``metrics.warmup_s`` (sim/metrics/windows.py) and builds the per-request frame; :func:`run_frames` is the whole
path from a composed config.
"""

from __future__ import annotations

import pandas as pd

from sim.metrics.cost import attribute_cost, model_prices
from sim.metrics.endrun import end_of_run
from sim.metrics.events import events_frame, ledger_frame
from sim.metrics.invariants import check_outputs
from sim.metrics.pipelines import (
    pipeline_notes,
    pipeline_summary,
    stage_summary,
    with_window,
)
from sim.metrics.requests import RequestRows, kept_rows, requests_frame
from sim.metrics.rows import ExactValues
from sim.metrics.shadow import shadow_table
from sim.metrics.sketch import RELATIVE_ACCURACY, SketchValues
from sim.metrics.summary import summarize
from sim.metrics.windows import apply_window
from sim.simulation.memory import release_freed
from sim.simulation.simulate import simulate_setups, simulate_variants
from sim.simulation.streamed import Streamed, kept_ids


def setup_summary(cfg, workload, run, prices, one_walk: bool = False) -> pd.DataFrame:
    """One run's summary rows: billed, summarised per tenant, its accounting invariants
    checked, split by ``metrics.warmup_s`` and stating the window and the pool's start. Every
    job that summarises a run goes through here, so every summary says what it measured.
    ``one_walk``: every stage fed by one walk over the log (sim/metrics/endrun.py; the same
    bytes), as with ``output.percentiles=sketch`` (each row's figures in a sketch)."""
    if isinstance(run.folded, Streamed):  # folded while the run went
        out = run.folded.summary()
        release_freed()
        return out
    sketch = str(cfg.output.percentiles) == "sketch"  # one walk, a sketch per row and figure
    store = SketchValues if sketch else ExactValues
    if (one_walk or sketch) and run.log.n == len(workload):
        out = end_of_run(workload, run, prices, cfg, store=store)
        release_freed()
        return out
    costs = attribute_cost(workload, run, prices)
    part = summarize(workload, run, prices, costs, one_pass=sketch, store=store)
    check_outputs(workload, run, costs, part)
    release_freed()  # the costs' and the summary's temporaries
    start = str(cfg.serverless.start) if "warm_start" in run.extra else "none"
    return apply_window(workload, run, part, float(cfg.metrics.warmup_s), start, store=store)


def percentiles_notes(cfg) -> list[str]:
    """The ``note:`` line of a run whose summary percentiles come from a sketch."""
    if str(cfg.output.percentiles) != "sketch":
        return []
    return [f"output.percentiles=sketch: the summary's percentile columns (TTFT, TPOT, E2E, cold-"
            f"start wait) are a DDSketch's, each within {RELATIVE_ACCURACY:.1%} (relative) of "
            "the exact one; counts, tokens and costs are exact, ttft_mean_s a running sum's "
            "(to rounding)" + (
                "; with replications, a percentile's _ci95 half-width is the spread of the "
                "seeds' sketched values and has no such bound (a spread of the order of the "
                "sketch's error can move by far more than it)"
                if int(cfg.replications or 1) > 1 else "")]


def frames(cfg, workload, runs, catalog, built: bool = True):
    """``(summary, requests)`` of the runs (requests empty unless ``output.parquet``);
    ``built=False``: the requests as :class:`~sim.metrics.requests.RequestRows`, not yet
    built (a frame on first read of ``Result.requests``; written a row group at a time)."""
    prices = model_prices(catalog, workload.served_models)
    summary = pd.concat([setup_summary(cfg, workload, r, prices) for r in runs], ignore_index=True)
    rows = RequestRows([(workload, r, kept_ids(cfg, workload)) for r in runs])
    return summary, rows.frame() if built else rows


def keep_of(cfg, requests: pd.DataFrame) -> pd.DataFrame:
    """The rows of a full per-request frame that ``output.requests`` keeps (a job that needs
    every request for its own tables builds them all, then keeps these)."""
    mode = str(cfg.output.requests) if cfg.output.parquet else "none"
    if mode == "full" or not len(requests):
        return requests if mode == "full" else pd.DataFrame()
    rows = kept_rows(int(requests["request_id"].max()) + 1, mode, float(cfg.output.requests_sample))
    return requests[requests["request_id"].isin(rows)].reset_index(drop=True)


def kept_requests(cfg, workload, run) -> pd.DataFrame:
    """The per-request rows a run keeps (``output.requests``: full, a deterministic sample
    by request id, or none; ``output.parquet=false`` keeps none); empty when none."""
    rows = kept_ids(cfg, workload)
    if rows is not None and not rows.size:
        return pd.DataFrame()
    return requests_frame(workload, run, rows)


def run_frames(cfg, progress: bool = False):
    """Simulate every setup of ``cfg`` and return ``(summary, requests)``."""
    workload, runs, catalog = simulate_setups(cfg, progress)
    return frames(cfg, workload, runs, catalog)


def setup_tables(runs, workload) -> dict:
    """Tables a setup reports through ``extra()["tables"]``, named ``<setup>_<table>``, and the
    hybrid's shadow traffic (``<setup>_shadow``)."""
    out = {f"{r.setup}_{k}": t for r in runs for k, t in r.extra.get("tables", {}).items()}
    for r in runs:
        if "shadows" in r.extra:
            out[f"{r.setup}_shadow"] = shadow_table(r.extra["shadows"], r.log, workload.tenants)
    return out


def pipeline_tables(cfg, workload, runs, res) -> dict:
    """``pipelines`` (one row per pipeline request and setup), ``pipeline_summary``,
    ``pipeline_stages`` of a job's result ``res``: empty when the workload has no pipelines
    (its per-request frame is then not read, so not built). The stage table reads every
    stage request: with a sample or none kept (``output.requests``) it builds the runs' whole
    frames for itself (until December 2026 it summarised the sample, and with none kept was
    not written)."""
    if not runs or runs[0].pipelines is None:
        return {}

    warmup = float(cfg.metrics.warmup_s)
    pipes = with_window(pd.concat([r.pipelines.frame(r.setup) for r in runs], ignore_index=True),
                        warmup)
    out = {"pipelines": pipes, "pipeline_summary": pipeline_summary(pipes, res.summary)}
    rows = res.requests if kept_ids(cfg, workload) is None else RequestRows(
        [(workload, r, None) for r in runs]).frame()
    if len(rows):
        out["pipeline_stages"] = stage_summary(rows, pipes)
    res.notes += pipeline_notes(pipes, warmup)
    return out


def variant_frames(cfg, setup: str, variants, progress: bool = False):
    """Run ``setup`` once per variant (:func:`~sim.simulation.simulate.simulate_variants`) and
    return (workload, runs, summary, requests, tables): the setups' tables with every
    replica's life (``replicas``) and the setups' events (``events``, when any), which the
    generic timeline draws (without them its replica panels were empty)."""
    workload, runs, catalog = simulate_variants(cfg, setup, variants, progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    tables = setup_tables(runs, workload)
    tables["replicas"] = ledger_frame(runs)
    events = events_frame(runs)
    if len(events):
        tables["events"] = events
    return workload, runs, summary, requests, tables
