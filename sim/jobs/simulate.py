"""The ``simulate`` job: one workload, every requested setup, tables and files."""

from __future__ import annotations

import gc

from sim.analysis.signals import check_config, signals_table
from sim.analysis.standalone import standalone_rows
from sim.jobs import job
from sim.metrics.events import EventRows, LedgerRows
from sim.metrics.runnotes import run_notes
from sim.platform.hybrid import background_only_notes, unused_reservation_notes
from sim.platform.placement import script_elsewhere_notes
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.frames import (
    frames,
    percentiles_notes,
    pipeline_tables,
    setup_tables,
)
from sim.simulation.simulate import simulate_setups
from sim.simulation.streamed import STREAM_BLOCK, Streamed, stream_folds
from sim.simulation.unread import simulate_notes


@job("simulate")
def simulate_job(cfg, out_dir, progress) -> Result:
    kept_whole: list[str] = []  # why a run asked to fold while it went could not
    workload, runs, catalog = simulate_setups(cfg, progress, stream_folds(cfg, kept_whole),
                                              STREAM_BLOCK)
    summary, requests = frames(cfg, workload, runs, catalog, built=False)
    folded = {r.setup: r.folded.notes for r in runs if isinstance(r.folded, Streamed)}
    res = Result(summary=summary, requests=requests,
                 notes=simulate_notes(cfg, workload) + run_notes(cfg, workload, runs, folded)
                 + background_only_notes(cfg, workload)
                 + unused_reservation_notes(cfg, workload) + script_elsewhere_notes(cfg, workload)
                 + percentiles_notes(cfg) + kept_whole)
    res.tables.update(setup_tables(runs, workload))
    if cfg.tenants:
        check_config(cfg)
        alone = (standalone_rows(cfg, [t for t in workload.tenants if t in cfg.tenants])
                 if cfg.signals.standalone else None)
        res.tables["signals"] = signals_table(cfg, workload, runs, summary, alone)
    # replica lives and events, as long as the run: built when read, written a block at a time
    res.tables["replicas"] = LedgerRows(runs)
    res.tables.update(pipeline_tables(cfg, workload, runs, res))
    events = EventRows(runs)
    if len(events):
        res.tables["events"] = events
    # what the files need is in res now: the runs' ledgers, platforms and logs go before the
    # files are written (unless res's unbuilt rows hold a log), not after
    del workload, runs
    if folded:  # the mode that keeps memory to the requests in flight: their engines' and
        gc.collect()  # platforms' reference cycles too (0.1 s after the 24-hour benchmark)
    if out_dir is not None:
        write_outputs(res, cfg, out_dir)
    return res

