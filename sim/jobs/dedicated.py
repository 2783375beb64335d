"""Jobs that compare variants of the dedicated setup on one workload.

* ``burst``: the pool without and with elastic burst capacity (``dedicated.burst``), under
  whatever traffic the experiment gives (a spike in ``experiment=burst``): TTFT, cost,
  burst GPU-seconds, and a timeline figure.
* ``failures``: no failures, failures with retries (``dedicated.failures`` as configured)
  and failures without retries (``max_attempts=1``), with common random numbers (the same
  failure times in both failing variants): availability against the SLA, requests lost
  and retried, and a timeline figure.

Each variant is a run of the ``dedicated`` setup with a few keys changed; its rows in
``summary.csv`` carry the variant's label in the ``setup`` column.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.simulation.build import build_catalog
from sim.jobs.simulate import frames, setup_tables, stability_notes
from sim.jobs import job
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.simulation.progress import progress_printer
from sim.simulation.simulate import simulate
from sim.workload import build_workload


def run_variants(cfg, variants: list[tuple[str, dict]], progress: bool = False):
    """Run the dedicated setup once per (label, {dotted key: value}) on one workload."""
    from omegaconf import OmegaConf

    catalog = build_catalog(cfg)
    workload = build_workload(cfg, catalog, int(cfg.calibration.closed_loop_requests_per_client))
    runs = []
    for label, changes in variants:
        c = copy.deepcopy(cfg)
        for k, v in changes.items():
            OmegaConf.update(c, k, v, merge=False)
        update, close = progress_printer(progress, label)
        try:
            r = simulate(c, workload, "dedicated", catalog, update)
        finally:
            close()
        r.setup = label
        runs.append(r)
    return workload, runs, catalog


def _all_row(summary: pd.DataFrame, label: str) -> pd.Series:
    return summary[(summary["setup"] == label) & (summary["tenant"] == "__all__")].iloc[0]


def _binned_p99(arrival: np.ndarray, ttft: np.ndarray, edges: np.ndarray) -> np.ndarray:
    out = np.full(edges.size - 1, np.nan)
    idx = np.digitize(arrival, edges) - 1
    for i in range(edges.size - 1):
        x = ttft[(idx == i) & ~np.isnan(ttft)]
        if x.size:
            out[i] = np.percentile(x, 99)
    return out


def _finish(res: Result, cfg, out_dir, figure) -> Result:
    if out_dir is not None:
        out_dir = Path(out_dir)
        if cfg.output.plots:
            out_dir.mkdir(parents=True, exist_ok=True)
            res.figures.extend(figure(res, out_dir))
        write_outputs(res, cfg, out_dir)
    return res


# ---------------------------------------------------------------------------------- burst
BURST_VARIANTS = [("dedicated", {"dedicated.burst.enabled": False}),
                  ("dedicated+burst", {"dedicated.burst.enabled": True})]


@job("burst")
def burst_job(cfg, out_dir, progress) -> Result:
    workload, runs, catalog = run_variants(cfg, BURST_VARIANTS, progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    tables = setup_tables(runs)
    rows = []
    for r in runs:
        s = _all_row(summary, r.setup)
        burst_rows = [u for u in r.ledger if u.tier == "burst"]
        rows.append({
            "setup": r.setup, "requests": int(s["requests"]), "completed": int(s["completed"]),
            "ttft_p50_s": s["ttft_p50_s"], "ttft_p99_s": s["ttft_p99_s"],
            "slo_attainment": s["slo_attainment"], "cost_usd": s["cost_usd"],
            "cost_dedicated_usd": s["cost_dedicated_usd"], "cost_burst_usd": s["cost_burst_usd"],
            "burst_replicas": len(burst_rows),
            "burst_gpu_s": sum(u.up_s * u.gpus for u in burst_rows),
            "burst_loading_gpu_s": sum(min(u.loading_s, u.up_s) * u.gpus for u in burst_rows),
            "burst_requests": int((r.log.tier == r.log.tiers.code("burst")).sum()),
            "cost_per_mtok_out_usd": s["cost_per_mtok_out_usd"],
            "monthly_cost_usd": s["monthly_cost_usd"],
        })
    tables = {"comparison": pd.DataFrame(rows), **tables}
    notes = stability_notes(workload, runs)
    a, b = rows[0], rows[-1]
    notes.append(
        f"burst capacity moved p99 TTFT from {a['ttft_p99_s']:.2f} s to {b['ttft_p99_s']:.2f} s "
        f"and the bill from ${a['cost_usd']:.2f} to ${b['cost_usd']:.2f} "
        f"({b['burst_replicas']} burst replicas, {b['burst_gpu_s']:.0f} GPU-s, "
        f"of which {b['burst_loading_gpu_s']:.0f} loading).")
    res = Result(summary=summary, requests=requests, tables=tables, notes=notes)
    return _finish(res, cfg, out_dir, lambda res, d: burst_figure(res, d, runs, workload))


def _replica_counts(life: pd.DataFrame, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Burst replicas provisioning and serving at each time in ``t``."""
    prov = np.zeros(t.size)
    serve = np.zeros(t.size)
    for _, b in life.iterrows():
        warm = b["warm_s"] if not math.isnan(b["warm_s"]) else np.inf
        stop = b["stop_s"] if not math.isnan(b["stop_s"]) else np.inf
        prov += (t >= b["provision_s"]) & (t < warm)
        serve += (t >= warm) & (t < stop)
    return prov, serve


def burst_figure(res: Result, out_dir: Path, runs, wl) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.figures import save

    t_max = max(r.period_s for r in runs)
    edges = np.arange(0.0, t_max + 30.0, 30.0)
    mid = (edges[:-1] + edges[1:]) / 2
    fig, ax = plt.subplots(3, 1, figsize=(8, 8), sharex=True,
                           gridspec_kw={"height_ratios": [1, 2, 1]})
    counts, _ = np.histogram(wl.arrival_s, edges)
    ax[0].step(edges[:-1], counts / 30.0, where="post", color="#444444")
    ax[0].set_ylabel("offered req/s")
    colors = {"dedicated": "#1b9e77", "dedicated+burst": "#e7298a"}
    slo = min(wl.slo_ttft_s.values()) if wl.slo_ttft_s else None
    comp = res.tables["comparison"].set_index("setup")
    for r in runs:
        ttft = r.log.first_s - r.log.arrival_s
        ax[1].plot(mid, _binned_p99(r.log.arrival_s, ttft, edges), drawstyle="steps-mid",
                   color=colors.get(r.setup, "#666666"),
                   label=f"{r.setup}: p99 {comp.loc[r.setup, 'ttft_p99_s']:.2f} s, "
                         f"${comp.loc[r.setup, 'cost_usd']:.2f}")
    if slo is not None:
        ax[1].axhline(slo, color="#999999", ls="--", lw=1, label=f"TTFT SLO {slo:g} s")
    ax[1].set_yscale("log")
    ax[1].set_ylabel("TTFT p99 per 30 s\nof arrivals (s)")
    ax[1].legend(fontsize=8)
    life = res.tables.get("dedicated+burst_burst_replicas")
    t = np.linspace(0.0, t_max, 2000)
    if life is not None and len(life):
        prov, serve = _replica_counts(life, t)
        ax[2].fill_between(t, 0, serve, step="post", color="#e7298a", alpha=0.6, label="serving")
        ax[2].fill_between(t, serve, serve + prov, step="post", color="#e7298a", alpha=0.2,
                           label="provisioning + cold start (billed)")
        ax[2].legend(fontsize=8, loc="upper right")
    ax[2].set_ylabel("burst replicas")
    ax[2].set_xlabel("time (s)")
    ax[0].set_title("A traffic spike on a dedicated pool, without and with burst capacity")
    for a in ax:
        a.grid(True, alpha=0.3)
    files = save(fig, out_dir, "burst_timeline")
    plt.close(fig)
    return files


# ------------------------------------------------------------------------------- failures
def failure_variants(cfg) -> list[tuple[str, dict]]:
    mode = cfg.dedicated.failures.mode
    mode = mode.value if hasattr(mode, "value") else str(mode)
    if mode == "none":
        mode = "random"
    return [("dedicated", {"dedicated.failures.mode": "none"}),
            ("dedicated+failures", {"dedicated.failures.mode": mode}),
            ("dedicated+failures,no_retry", {"dedicated.failures.mode": mode,
                                             "dedicated.failures.max_attempts": 1})]


@job("failures")
def failures_job(cfg, out_dir, progress) -> Result:
    workload, runs, catalog = run_variants(cfg, failure_variants(cfg), progress)
    summary, requests = frames(cfg, workload, runs, catalog)
    tables = setup_tables(runs)
    rows = []
    for r in runs:
        s = _all_row(summary, r.setup)
        av = tables.get(f"{r.setup}_availability")
        a = av.iloc[0] if av is not None and len(av) else None
        n = int(s["requests"])
        rows.append({
            "setup": r.setup, "failures": int(a["failures"]) if a is not None else 0,
            "capacity_availability": a["capacity_availability"] if a is not None else 1.0,
            "analytic_capacity_availability": (a["analytic_capacity_availability"]
                                               if a is not None else math.nan),
            "any_up_availability": a["any_up_availability"] if a is not None else 1.0,
            "requests": n, "completed": int(s["completed"]), "failed": int(s["failed"]),
            "retries": int(s["retries"]),
            "not_failed_fraction": 1.0 - (int(s["failed"]) + int(s["rejected"])) / n if n else math.nan,
            "slo_attainment": s["slo_attainment"], "ttft_p99_s": s["ttft_p99_s"],
            "sla": float(cfg.dedicated.failures.sla),
        })
    av = pd.DataFrame(rows)
    for col in ("capacity_availability", "any_up_availability", "not_failed_fraction",
                "slo_attainment"):
        av[f"{col}_meets_sla"] = av[col] >= av["sla"]
    tables = {"availability": av, **tables}
    notes = stability_notes(workload, runs)
    res = Result(summary=summary, requests=requests, tables=tables, notes=notes)
    return _finish(res, cfg, out_dir, lambda res, d: failures_figure(res, d, runs))


def failures_figure(res: Result, out_dir: Path, runs) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.figures import save

    t_max = max(r.period_s for r in runs)
    fig, ax = plt.subplots(3, 1, figsize=(8, 8), sharex=True,
                           gridspec_kw={"height_ratios": [1, 2, 1]})
    down = res.tables.get("dedicated+failures_downtime")
    t = np.linspace(0.0, t_max, 4000)
    n_rep = int(res.tables["dedicated+failures_availability"]["replicas"].sum())
    up = np.full(t.size, float(n_rep))
    if down is not None:
        for _, d in down.iterrows():
            up -= (t >= d["down_s"]) & (t < d["up_s"])
    ax[0].step(t, up, where="post", color="#1b9e77")
    ax[0].set_ylim(-0.2, n_rep + 0.5)
    ax[0].set_ylabel("reserved\nreplicas up")
    colors = {"dedicated": "#999999", "dedicated+failures": "#1b9e77",
              "dedicated+failures,no_retry": "#d95f02"}
    av = res.tables["availability"].set_index("setup")
    edges = np.arange(0.0, t_max + 15.0, 15.0)
    mid = (edges[:-1] + edges[1:]) / 2
    width = 15.0 / (len(runs) + 1)
    for k, r in enumerate(runs):
        log = r.log
        c = colors.get(r.setup, "#666666")
        ttft = log.first_s - log.arrival_s
        ax[1].plot(mid, _binned_p99(log.arrival_s, ttft, edges), drawstyle="steps-mid", color=c,
                   label=f"{r.setup}: {int(av.loc[r.setup, 'failed'])} failed, "
                         f"{int(av.loc[r.setup, 'retries'])} retried")
        failed, _ = np.histogram(log.arrival_s[log.outcome == 3], edges)
        retried, _ = np.histogram(log.arrival_s[(log.attempts > 0) & (log.outcome == 1)], edges)
        x = edges[:-1] + (k + 0.5) * width
        if failed.any():
            ax[2].bar(x, failed, width=width, color=c, label=f"failed ({r.setup})")
        if retried.any():
            ax[2].bar(x, retried, width=width, color=c, alpha=0.4, label=f"retried ({r.setup})")
    slo = res.summary["slo_ttft_s"].dropna()
    if len(slo):
        ax[1].axhline(float(slo.min()), color="#999999", ls="--", lw=1, label="TTFT SLO")
    ax[1].set_yscale("log")
    ax[1].set_ylabel("TTFT p99 per 15 s\nof arrivals (s)")
    ax[1].legend(fontsize=8)
    ax[2].set_ylabel("requests per 15 s")
    ax[2].set_xlabel("arrival time (s)")
    if ax[2].has_data():
        ax[2].legend(fontsize=8)
    a = av.loc["dedicated+failures"]
    ax[0].set_title(f"Replica failures: capacity availability {a['capacity_availability']:.4f} "
                    f"(analytic {a['analytic_capacity_availability']:.6f}), requests not failed "
                    f"without retries {av['not_failed_fraction'].min():.4f}; SLA {a['sla']:g}",
                    fontsize=9)
    for x in ax:
        x.grid(True, alpha=0.3)
    files = save(fig, out_dir, "failures_timeline")
    plt.close(fig)
    return files
