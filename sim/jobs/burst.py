"""``experiment=burst``: a dedicated pool without and with elastic burst capacity.

Both variants run the ``dedicated`` setup on the same requests (``dedicated.burst.enabled``
off, then on); rows of ``summary.csv`` carry the variant in the ``setup`` column. Table
``comparison``: TTFT, cost, burst GPU-seconds; figure ``plots/burst_timeline``.
"""

from __future__ import annotations

import pandas as pd

from sim.jobs import job
from sim.metrics.runnotes import run_notes
from sim.metrics.summary import summary_row
from sim.records import Result
from sim.report.dedicated import burst_figure
from sim.report.outputs import write_outputs
from sim.simulation.frames import variant_frames
from sim.simulation.unread import job_note

BURST_VARIANTS = [("dedicated", {"dedicated.burst.enabled": False}),
                  ("dedicated+burst", {"dedicated.burst.enabled": True})]


def _s(v: float) -> str:
    """A p99 in a note; none when no request completed (was printed "nan s")."""
    return f"{v:.2f} s" if v == v else "- (no request completed)"


@job("burst", own_setups=(("dedicated",), "the dedicated setup without and with burst capacity"),
     sets=lambda cfg: {"dedicated.burst.enabled": "it runs it false, then true, on the same requests"})
def burst_job(cfg, out_dir, progress) -> Result:
    workload, runs, summary, requests, tables = variant_frames(
        cfg, "dedicated", BURST_VARIANTS, progress)
    rows = []
    for r in runs:
        s = summary_row(summary, r.setup)
        burst_rows = [u for u in r.ledger if u.tier == "burst"]
        rows.append({
            "setup": r.setup, "requests": int(s["requests"]), "completed": int(s["completed"]),
            "ttft_p50_s": s["ttft_p50_s"], "ttft_p99_s": s["ttft_p99_s"],
            "slo_attainment": s["slo_attainment"], "cost_usd": s["cost_usd"],
            "cost_dedicated_usd": s["cost_dedicated_usd"], "cost_burst_usd": s["cost_burst_usd"],
            "burst_replicas": len(burst_rows),
            "burst_gpu_s": sum(u.billed_s * u.gpus for u in burst_rows),  # billed
            "burst_loading_gpu_s": sum(min(u.loading_s, u.up_s) * u.gpus for u in burst_rows),
            "burst_requests": int((r.log.tier == r.log.tiers.code("burst")).sum()),
            "cost_per_mtok_out_usd": s["cost_per_mtok_out_usd"],
            "monthly_cost_usd": s["monthly_cost_usd"],
        })
    tables = {"comparison": pd.DataFrame(rows), **tables}
    notes = run_notes(cfg, workload, runs)
    a, b = rows[0], rows[-1]
    notes.append(
        f"burst capacity moved p99 TTFT from {_s(a['ttft_p99_s'])} to {_s(b['ttft_p99_s'])} "
        f"and the bill from ${a['cost_usd']:.2f} to ${b['cost_usd']:.2f} "
        f"({b['burst_replicas']} burst replicas, {b['burst_gpu_s']:.0f} GPU-s, "
        f"of which {b['burst_loading_gpu_s']:.0f} loading).")
    res = Result(summary=summary, requests=requests, tables=tables, notes=notes)
    res.notes = job_note("burst") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: burst_figure(res, d, runs, workload))
    return res
