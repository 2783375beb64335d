"""Figures of the dedicated-setup jobs: the burst timeline and the failures timeline."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from sim.records import COMPLETED, FAILED, Result
from sim.report.style import legend_right, pyplot, save


def _binned_p99(arrival: np.ndarray, ttft: np.ndarray, edges: np.ndarray) -> np.ndarray:
    out = np.full(edges.size - 1, np.nan)
    idx = np.digitize(arrival, edges) - 1
    for i in range(edges.size - 1):
        x = ttft[(idx == i) & ~np.isnan(ttft)]
        if x.size:
            out[i] = np.percentile(x, 99)
    return out


def _line(k: int) -> dict:
    """The k-th variant's line: where variants agree (before a spike, a failure) the first,
    wide and solid, shows under the later, thinner and dashed ones."""
    return {"lw": 2.6, "alpha": 0.8} if k == 0 else {"lw": 1.3, "ls": ("--", ":", "-.")[(k - 1) % 3]}


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


def offered_range(arrival_s: np.ndarray, horizon_s: float, bin_s: float = 30.0) -> str:
    """The lowest and highest arrival rate over the ``bin_s`` bins that lie whole within the
    horizon, or the mean rate over a horizon shorter than one bin. Until December 2026 the
    bins were cut at the last arrival's, which dropped the last whole bin (16.8 to 16.8
    req/s at horizon_s=60 with bins of 16.8 and 17.9), and a horizon under 30 s gave its
    arrivals over 30 s (0.6 req/s for 18 requests in 1 s)."""
    n_whole = int(math.floor(horizon_s / bin_s + 1e-9))
    if n_whole < 1:
        return (f"{len(arrival_s) / horizon_s:.3g} req/s over the {horizon_s:g} s horizon "
                f"(shorter than a {bin_s:g} s bin)")
    counts, _ = np.histogram(arrival_s, np.arange(n_whole + 1) * bin_s)
    rate = counts / bin_s
    return f"{rate.min():.3g} to {rate.max():.3g} req/s ({bin_s:g} s bins)"


def burst_figure(res: Result, out_dir: Path, runs, wl) -> list[str]:
    plt = pyplot()
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
    for k, r in enumerate(runs):
        ttft = r.log.first_s - r.log.arrival_s
        ax[1].plot(mid, _binned_p99(r.log.arrival_s, ttft, edges), drawstyle="steps-mid",
                   color=colors.get(r.setup, "#666666"), **_line(k),
                   label=f"{r.setup}: p99 {comp.loc[r.setup, 'ttft_p99_s']:.2f} s, "
                         f"${comp.loc[r.setup, 'cost_usd']:.2f}")
    if slo is not None:
        ax[1].axhline(slo, color="#999999", ls="--", lw=1, label=f"TTFT SLO {slo:g} s")
    ax[1].set_yscale("log")
    ax[1].set_ylabel("TTFT p99 per 30 s\nof arrivals (s)")
    legend_right(ax[1], fontsize=8)
    life = res.tables.get("dedicated+burst_burst_replicas")
    t = np.linspace(0.0, t_max, 2000)
    if life is not None and len(life):
        prov, serve = _replica_counts(life, t)
        ax[2].fill_between(t, 0, serve, step="post", color="#e7298a", alpha=0.6,
                           label="serving" if serve.any() else None)
        ax[2].fill_between(t, serve, serve + prov, step="post", color="#e7298a", alpha=0.2,
                           label="provisioning + cold start (billed)" if prov.any() else None)
        legend_right(ax[2], fontsize=8)
    else:  # said, not an empty panel
        ax[2].text(0.5, 0.5, "no burst replica was started in this run", ha="center",
                   va="center", transform=ax[2].transAxes, fontsize=9, color="#666666")
    ax[2].set_ylabel("burst replicas")
    ax[2].set_xlabel("time (s)")
    # what this run offered (until December 2026 "A traffic spike ...", also on a run whose
    # horizon or curve had none)
    ax[0].set_title(f"Offered load {offered_range(wl.arrival_s, float(wl.horizon_s))} on a "
                    "dedicated pool, without and with burst capacity", fontsize=10)
    for a in ax:
        a.grid(True, alpha=0.3)
    files = save(fig, out_dir, "burst_timeline")
    plt.close(fig)
    return files


def _fraction(x: float) -> str:
    return "- (no request decided by the run's end)" if math.isnan(x) else f"{x:.4f}"


def failures_figure(res: Result, out_dir: Path, runs) -> list[str]:
    plt = pyplot()
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
    cut = {r.setup: int(av.loc[r.setup, "unfinished_at_end"]) for r in runs}
    edges = np.arange(0.0, t_max + 15.0, 15.0)
    mid = (edges[:-1] + edges[1:]) / 2
    width = 15.0 / (len(runs) + 1)
    for k, r in enumerate(runs):
        log = r.log
        c = colors.get(r.setup, "#666666")
        ttft = log.first_s - log.arrival_s
        ax[1].plot(mid, _binned_p99(log.arrival_s, ttft, edges), drawstyle="steps-mid", color=c,
                   **_line(k), label=f"{r.setup}: {int(av.loc[r.setup, 'failed']) - cut[r.setup]} "
                         f"failed, {int(av.loc[r.setup, 'retries'])} retried"
                         + (f", {cut[r.setup]} unfinished at the end" if cut[r.setup] else ""))
        # those unfinished when the run stopped did not fail: not in the bars (until December
        # 2026 they were, labelled failed)
        gone = log.outcome == FAILED
        if "unfinished_at_end" in log.reasons.names:
            gone &= log.reason != log.reasons.names.index("unfinished_at_end")
        failed, _ = np.histogram(log.arrival_s[gone], edges)
        retried, _ = np.histogram(log.arrival_s[(log.attempts > 0) & (log.outcome == COMPLETED)], edges)
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
    legend_right(ax[1], fontsize=8)
    ax[2].set_ylabel("requests per 15 s")
    ax[2].set_xlabel("arrival time (s)")
    if ax[2].has_data():
        legend_right(ax[2], fontsize=8)
    else:  # said, not an empty panel (until December 2026 it was left blank)
        ax[2].text(0.5, 0.5, "no request failed or was retried in this run", ha="center",
                   va="center", transform=ax[2].transAxes, fontsize=9, color="#666666")
    a = av.loc["dedicated+failures"]
    ax[0].set_title(f"Replica failures: capacity availability {a['capacity_availability']:.4f} "
                    f"(analytic {a['analytic_capacity_availability']:.6f}), requests not failed "
                    f"without retries {_fraction(av['not_failed_fraction'].min())}; "
                    f"SLA {a['sla']:g}",
                    fontsize=9)
    for x in ax:
        x.grid(True, alpha=0.3)
    files = save(fig, out_dir, "failures_timeline")
    plt.close(fig)
    return files
