"""``experiment=cold_start``: how long a cold start takes, stage by stage, per model and tier.

Every setup in ``setups`` runs the configured scenario; table ``cold_starts`` has one row per
simulated replica load (stages, storage tier), ``cold_start_by_tier`` the mean stages per
model and tier; figure ``plots/cold_start``.
"""

from __future__ import annotations

import pandas as pd

from sim.jobs import job
from sim.metrics.requests import requests_frame
from sim.metrics.runnotes import run_notes
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.report.serverless import cold_start_figure
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_setups
from sim.simulation.unread import job_note


def cold_start_tables(runs) -> tuple[pd.DataFrame, pd.DataFrame]:
    parts = []
    for r in runs:
        cs = r.extra.get("cold_starts") if r.extra else None
        if cs is not None and len(cs):
            parts.append(cs.assign(setup=r.setup))
    if not parts:
        return pd.DataFrame(), pd.DataFrame()
    loads = pd.concat(parts, ignore_index=True)
    loads = loads[["setup"] + [c for c in loads.columns if c != "setup"]]
    g = loads.groupby(["setup", "model", "tier"], sort=True)
    by = g.agg(loads=("total_s", "size"),
               mean_provision_s=("provision_s", "mean"), mean_container_s=("container_s", "mean"),
               mean_weights_s=("weights_s", "mean"), mean_init_s=("init_s", "mean"),
               mean_total_s=("total_s", "mean"), min_total_s=("total_s", "min"),
               max_total_s=("total_s", "max")).reset_index()
    return loads, by


@job("cold_start")
def cold_start_job(cfg, out_dir, progress) -> Result:
    workload, runs, catalog = simulate_setups(cfg, progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    loads, by = cold_start_tables(runs)
    res = Result(summary=summary, requests=requests, notes=run_notes(cfg, workload, runs))
    res.tables["cold_start_by_tier"] = by
    res.tables["cold_starts"] = loads
    if not by.empty:
        res.notes.append("cold starts from simulated loads: " + "; ".join(
            f"{r.model} from {r.tier}: {r.mean_total_s:.1f} s mean over {r.loads}"
            for r in by.itertuples()))
    req = requests if len(requests) else pd.concat([requests_frame(workload, r) for r in runs])
    res.notes = job_note("cold_start") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: cold_start_figure(by, req, d))
    return res
