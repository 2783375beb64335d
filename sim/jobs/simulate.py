"""The ``simulate`` job: one workload, every requested setup, tables and files."""

from __future__ import annotations

import time

import pandas as pd

from sim.analysis.signals import check_config, signals_table
from sim.analysis.standalone import standalone_rows
from sim.jobs import GIVEN, job
from sim.metrics.events import events_frame, ledger_frame
from sim.metrics.overload import run_notes
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.build import run_setups, setup_serves_background
from sim.simulation.frames import frames, pipeline_tables, setup_tables
from sim.simulation.simulate import simulate_setups

# the config sections only some setups read (the hybrid setup runs a dedicated and a
# serverless part); background tenants go to setups with a shared pool
READ_BY = {"dedicated": ("dedicated", "hybrid"), "serverless": ("serverless", "hybrid"),
           "hybrid": ("hybrid",)}


def unread_notes(cfg, given) -> list[str]:
    """A note naming the overrides in ``given`` that no setup of this run reads
    (``setups=[dedicated] serverless.keepalive.idle_s=5``), or none."""
    setups = run_setups(cfg)
    keys = []
    for text in given:
        key = text.lstrip("+~").split("=", 1)[0]
        top = key.split(".", 1)[0]
        if top == "background":
            unread = not any(setup_serves_background(s) for s in setups)
        else:
            unread = top in READ_BY and not set(READ_BY[top]) & set(setups)
        if unread:
            keys.append(key)
    if not keys:
        return []
    return [f"not read by this run: {', '.join(dict.fromkeys(keys))} (no setup of it uses them; "
            f"setups: {', '.join(setups)})"]


@job("simulate")
def simulate_job(cfg, out_dir, progress) -> Result:
    t0 = time.perf_counter()
    workload, runs, catalog = simulate_setups(cfg, progress)
    summary, requests = frames(cfg, workload, runs, catalog, built=False)
    res = Result(summary=summary, requests=requests,
                 notes=unread_notes(cfg, GIVEN.get())
                 + run_notes(cfg, workload, runs))
    res.tables.update(setup_tables(runs, workload))
    if cfg.tenants:
        check_config(cfg)
        alone = (standalone_rows(cfg, [t for t in workload.tenants if t in cfg.tenants])
                 if cfg.signals.standalone else None)
        res.tables["signals"] = signals_table(cfg, workload, runs, summary, alone)
    res.tables["replicas"] = ledger_frame(runs)
    res.tables.update(pipeline_tables(runs, res))
    events = events_frame(runs)
    if len(events):
        res.tables["events"] = events
    res.tables["wall"] = pd.DataFrame({"requests": [len(workload)],
                                       "wall_s": [round(time.perf_counter() - t0, 3)]})
    if out_dir is not None:
        res.tables.pop("wall")  # wall time is not deterministic; keep files byte-identical
        write_outputs(res, cfg, out_dir)
    return res
