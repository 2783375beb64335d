"""``experiment=failures``: reserved replicas that fail, with and without retries.

Three variants of the ``dedicated`` setup on the same requests, with common random numbers
(the same failure times in both failing variants): no failures, failures with retries
(``dedicated.failures`` as configured) and failures without retries (``max_attempts=1``).
Table ``availability`` (against the SLA, with the analytic MTBF/(MTBF+MTTR)); figure
``plots/failures_timeline``.
"""

from __future__ import annotations

import math

import pandas as pd

from sim.analysis.breakeven_cut import cut_count
from sim.jobs import job
from sim.metrics.runnotes import run_notes
from sim.metrics.summary import summary_row
from sim.records import Result
from sim.report.dedicated import failures_figure
from sim.report.outputs import write_outputs
from sim.simulation.frames import variant_frames
from sim.simulation.unread import job_note


def failure_variants(cfg) -> list[tuple[str, dict]]:
    mode = str(cfg.dedicated.failures.mode)
    if mode == "none":
        mode = "random"
    return [("dedicated", {"dedicated.failures.mode": "none"}),
            ("dedicated+failures", {"dedicated.failures.mode": mode}),
            ("dedicated+failures,no_retry", {"dedicated.failures.mode": mode,
                                             "dedicated.failures.max_attempts": 1})]


@job("failures", own_setups=(("dedicated",), "the dedicated setup without and with failures"),
     sets=lambda cfg: {"dedicated.failures.mode=none": "it runs none for its baseline and random for "
                                           "the runs with failures (script when one is given)"})
def failures_job(cfg, out_dir, progress) -> Result:
    workload, runs, summary, requests, tables = variant_frames(
        cfg, "dedicated", failure_variants(cfg), progress)
    rows = []
    for r in runs:
        s = summary_row(summary, r.setup)
        av = tables.get(f"{r.setup}_availability")
        a = av.iloc[0] if av is not None and len(av) else None
        n = int(s["requests"])
        cut = cut_count(workload, r, float(cfg.metrics.warmup_s))
        decided = n - cut  # those still unfinished when the run stopped neither failed nor not
        rows.append({
            "setup": r.setup, "failures": int(a["failures"]) if a is not None else 0,
            "capacity_availability": a["capacity_availability"] if a is not None else 1.0,
            "analytic_capacity_availability": (a["analytic_capacity_availability"]
                                               if a is not None else math.nan),
            "any_up_availability": a["any_up_availability"] if a is not None else 1.0,
            "requests": n, "completed": int(s["completed"]), "failed": int(s["failed"]),
            "retries": int(s["retries"]), "unfinished_at_end": cut,
            # of the requests decided by the run's end (until December 2026 those unfinished
            # were counted failed: 0.1389 for a 1 s run with no drain and no failure)
            "not_failed_fraction": (1.0 - (int(s["failed"]) - cut + int(s["rejected"])) / decided
                                    if decided else math.nan),
            "slo_attainment": s["slo_attainment"], "ttft_p99_s": s["ttft_p99_s"],
            "sla": float(cfg.dedicated.failures.sla),
        })
    av = pd.DataFrame(rows)
    for col in ("capacity_availability", "any_up_availability", "not_failed_fraction",
                "slo_attainment"):
        # undefined (blank) where the value is: no verdict on no request
        av[f"{col}_meets_sla"] = (av[col] >= av["sla"]).astype(object).where(av[col].notna(), None)
    tables = {"availability": av, **tables}
    notes = run_notes(cfg, workload, runs)
    if av["unfinished_at_end"].any():
        notes.append("availability.csv: not_failed_fraction is over the requests decided by the "
                     "run's end; those still unfinished when it stopped (" + ", ".join(
                         f"{r.setup} {r.unfinished_at_end}" for r in av.itertuples())
                     + ") are left out, neither failed nor served (blank where none was decided)")
    res = Result(summary=summary, requests=requests, tables=tables, notes=notes)
    res.notes = job_note("failures") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: failures_figure(res, d, runs))
    return res
