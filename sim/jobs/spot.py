"""``experiment=spot``: the same requests on on-demand replicas only, half of them spot, all of
them spot, and half spot with one spare spot replica (SkyServe's over-provisioning).

Every variant runs the ``dedicated`` setup; the spot replicas of each model are the last of its
``dedicated.replicas`` (``dedicated.spot``). Reclaim times use one named random stream per
spot replica (``spot/<model>/<i>``), so replica ``i`` is reclaimed at the same times in every
variant where it is spot and up (common random numbers). Table ``comparison``: p50/p99 TTFT,
SLO attainment, reclaims, retried and failed requests, the bill, and the cost saving and p99
change against the on-demand variant.
"""

from __future__ import annotations

import pandas as pd

from sim.errors import InputError
from sim.jobs import job
from sim.metrics.runnotes import run_notes
from sim.metrics.summary import summary_row
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.frames import frames, setup_tables
from sim.simulation.simulate import simulate_variants
from sim.simulation.unread import job_note


def baseline(cfg) -> str:
    """The name of the mix without spot replicas: their pricing, ``on_demand`` or ``reserved``."""
    return str(getattr(cfg.dedicated.pricing, "value", cfg.dedicated.pricing))


def spot_variants(cfg, models=()) -> list[tuple[str, dict]]:
    """(label, {dotted key: value}) per variant, over every model with replicas listed and
    every model in ``models`` (those the dedicated setup serves), whose count when not
    listed is the one replica the setup gives it: until December 2026 a model without a
    ``dedicated.replicas`` entry (the default experiment's) got no spot replica in any mix,
    and the job's four mixes ran the same fleet, unsaid."""
    reps = {m: int(n) for m, n in cfg.dedicated.replicas.items()}
    for m in models:
        reps.setdefault(m, 1)
    def spot(f):
        return {f"dedicated.spot.replicas.{m}": f(n) for m, n in reps.items()}
    spare = {f"dedicated.replicas.{m}": n + 1 for m, n in reps.items()}
    # the mix without spot is named after how its replicas are billed (dedicated.pricing:
    # until December 2026 "on_demand" also when they were billed at the reserved rate)
    return [(baseline(cfg), spot(lambda n: 0)),
            ("half_spot", spot(lambda n: n // 2)),
            ("all_spot", spot(lambda n: n)),
            ("half_spot+spare", {**spare, **spot(lambda n: n // 2 + 1)})]


def check_spot_job(cfg) -> None:
    """The job sets ``dedicated.spot.replicas`` in each variant: a value given for it would go
    unused, so it is refused rather than overwritten."""
    for m, n in cfg.dedicated.spot.replicas.items():
        raise InputError(f"the spot job (experiment=spot) sets the spot replicas itself, in each "
                         f"of its mixes (none, half, all, half + a spare of dedicated.replicas), "
                         f"so {n} would go unused; size the mixes with dedicated.replicas.{m}, or "
                         "run this one mix without experiment=spot",
                         key=f"dedicated.spot.replicas.{m}")


def _s(v: float) -> str:
    """A p99 in a note; none when no request completed (was printed "nan s")."""
    return f"{v:.2f} s" if v == v else "- (no request completed)"


@job("spot", check=check_spot_job,
     own_setups=(("dedicated",), "the dedicated setup in its spot mixes"))
def spot_job(cfg, out_dir, progress) -> Result:
    workload, runs, catalog = simulate_variants(
        cfg, "dedicated", lambda wl: spot_variants(cfg, wl.user_models), progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    tables = setup_tables(runs, workload)
    rows = []
    for r in runs:
        s = summary_row(summary, r.setup)
        sm = tables.get(f"{r.setup}_spot_summary")
        spot = sm.sum(numeric_only=True) if sm is not None and len(sm) else None
        rows.append({
            "setup": r.setup, "replicas": sum(1 for u in r.ledger if u.start_s == 0.0),
            "spot_replicas": int(spot["spot_replicas"]) if spot is not None else 0,
            "preemptions": int(spot["preemptions"]) if spot is not None else 0,
            "requests": int(s["requests"]), "completed": int(s["completed"]),
            "failed": int(s["failed"]), "retries": int(s["retries"]),
            "ttft_p50_s": s["ttft_p50_s"], "ttft_p99_s": s["ttft_p99_s"],
            "slo_attainment": s["slo_attainment"], "cost_usd": s["cost_usd"],
            "cost_spot_usd": s.get("cost_spot_usd", 0.0) if pd.notna(s.get("cost_spot_usd")) else 0.0,
            "loading_gpu_hours": s["loading_gpu_hours"],
            "cost_per_mtok_out_usd": s["cost_per_mtok_out_usd"],
        })
    cmp = pd.DataFrame(rows)
    base = cmp.iloc[0]
    cmp["cost_saving"] = 1.0 - cmp["cost_usd"] / base["cost_usd"]
    cmp["p99_ratio"] = cmp["ttft_p99_s"] / base["ttft_p99_s"]
    tables = {"comparison": cmp, **tables}
    notes = run_notes(cfg, workload, runs)
    only = base["setup"].replace("_", "-") + " only"  # "on-demand only", "reserved only"
    for _, c in cmp.iloc[1:].iterrows():
        saving = 100 * c["cost_saving"]  # a spare can cost more: "44 % above", not "-44 % below"
        notes.append(
            f"{c['setup']}: the bill {abs(saving):.0f} % {'below' if saving >= 0 else 'above'} {only} "
            f"(${c['cost_usd']:.2f} against ${base['cost_usd']:.2f}), p99 TTFT "
            f"{_s(c['ttft_p99_s'])} against {_s(base['ttft_p99_s'])} "
            f"({c['preemptions']} reclaims, {c['retries']} retried tries, {c['failed']} failed).")
    res = Result(summary=summary, requests=requests, tables=tables, notes=notes)
    res.notes = job_note("spot") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, generic_plots=False)
    return res
