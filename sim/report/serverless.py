"""Figures of the serverless experiments (PNG + SVG under the run's plots/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.style import color, legend_below, pyplot, save, tight_layout

STAGES = [("provision_s", "node provisioning", "#8c8c8c"), ("container_s", "container start", "#a6cee3"),
          ("weights_s", "weight load", "#1f78b4"), ("init_s", "engine init", "#fdbf6f")]


def cold_start_figure(by_tier: pd.DataFrame, requests: pd.DataFrame, out_dir: Path) -> list[str]:
    """Left: mean duration of each cold-start stage per (model, storage tier), from the
    simulated loads. Right: TTFT of requests that waited for a cold start vs those that did
    not (serverless setup)."""
    if by_tier.empty:
        return []
    plt = pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 0.55 * len(by_tier) + 3.0),
                                  gridspec_kw={"width_ratios": [1.4, 1]})
    labels = [f"{m}\n{t} (n={n})" for m, t, n in zip(by_tier["model"], by_tier["tier"], by_tier["loads"])]
    y = np.arange(len(by_tier))
    left = np.zeros(len(by_tier))
    for col, name, c in STAGES:
        v = by_tier[f"mean_{col}"].to_numpy()
        if not (v > 0).any():  # a stage no load went through: not drawn, not in the legend
            continue
        ax.barh(y, v, left=left, color=c, label=name, edgecolor="white")
        left += v
    for yi, tot in zip(y, left):
        ax.text(tot, yi, f" {tot:.1f} s", va="center", fontsize=8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean cold-start duration (s)")
    ax.set_title("Cold start by stage, model and storage tier")
    legend_below(ax, fontsize=8, ncol=4)
    ax.grid(True, axis="x", alpha=0.3)
    done = requests[(requests["outcome"] == "completed") & (requests["setup"] == "serverless")]
    for cold, g in done.groupby(done["cold_start_wait_s"] > 0):
        x = np.sort(g["ttft_s"].to_numpy())
        if x.size:
            ax2.plot(x, np.arange(1, x.size + 1) / x.size, color=color("serverless"),
                     ls="-" if cold else "--",
                     label=f"{'waited for a cold start' if cold else 'warm'} (n={x.size})")
    for setup, g in requests[(requests["outcome"] == "completed") & (requests["setup"] != "serverless")].groupby("setup", observed=True):
        x = np.sort(g["ttft_s"].to_numpy())
        if x.size:
            ax2.plot(x, np.arange(1, x.size + 1) / x.size, color=color(str(setup)), label=f"{setup} (n={x.size})")
    ax2.set_xscale("log")
    ax2.set_xlabel("time to first token (s, log scale)")
    ax2.set_ylabel("fraction of requests")
    ax2.set_title("TTFT: cold vs warm requests")
    ax2.grid(True, which="both", alpha=0.3)
    legend_below(ax2, fontsize=8)
    tight_layout(fig)
    files = save(fig, out_dir, "cold_start")
    return files


def keepalive_figure(table: pd.DataFrame, out_dir: Path) -> list[str]:
    """Cold-start rate against idle GPU time, one point per keep-alive policy: the fixed
    timeouts form a frontier; the hybrid histogram policy is one point."""
    if table.empty:
        return []
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.8))
    fx = table[table["policy"] == "fixed"].sort_values("keepalive_s")
    ax.plot(fx["idle_gpu_hours"], 100 * fx["cold_fraction"], "o-", color=color("serverless"),
            label="fixed idle timeout")
    # one label per distinct point (timeouts longer than every gap give the same run)
    for (x, y), g in fx.groupby(["idle_gpu_hours", "cold_fraction"], sort=False):
        ax.annotate(", ".join(f"{k:g}" for k in g["keepalive_s"]) + " s", (x, 100 * y),
                    textcoords="offset points", xytext=(5, 4), fontsize=8)
    hy = table[table["policy"] == "hybrid"]
    if not hy.empty:
        r = hy.iloc[0]
        ax.plot(hy["idle_gpu_hours"], 100 * hy["cold_fraction"], "*", ms=16, color="#7570b3",
                label="hybrid histogram (Shahrad et al.), final windows: pre-warm "
                      f"{r['final_prewarm_s']:g} s, keep-alive {r['final_keepalive_s']:g} s")
    if not table["cold_fraction"].notna().any():  # said, not points at a made-up 0 %
        ax.text(0.5, 0.5, "no request in the measured window: no cold fraction", ha="center",
                va="center", transform=ax.transAxes, fontsize=9, color="#666666")
    ax.set_xlabel("idle GPU time, loading included (GPU-hours)")
    ax.set_ylabel("requests that waited for a cold start (%)")
    ax.set_title("Keep-alive policies: cold starts vs idle GPU time")
    ax.grid(True, alpha=0.3)
    legend_below(ax, fontsize=8)
    files = save(fig, out_dir, "keepalive")
    return files


def isolation_figure(table: pd.DataFrame, out_dir: Path) -> list[str]:
    """p99 (solid) and p50 (dashed) TTFT of each user tenant against the background load."""
    if table.empty:
        return []
    plt = pyplot()
    tenants = list(dict.fromkeys(table["tenant"]))
    fig, axes = plt.subplots(1, len(tenants), figsize=(5.5 * len(tenants), 4.2), squeeze=False)
    for ax, tenant in zip(axes[0], tenants):
        g = table[table["tenant"] == tenant]
        if not g["ttft_p99_s"].notna().any():  # said, not an empty panel with a legend
            ax.text(0.5, 0.5, f"no request of {tenant} completed at any level", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9, color="#666666")
            ax.set_title(f"tenant {tenant}: TTFT vs noisy neighbours")
            ax.set_xlabel("background load (requests/s offered to the pool)")
            continue
        for setup, s in g.groupby("setup", sort=False):
            s = s.sort_values("background_rps")
            ax.plot(s["background_rps"], s["ttft_p99_s"], "o-", color=color(setup), label=f"{setup} p99")
            ax.plot(s["background_rps"], s["ttft_p50_s"], "s--", color=color(setup), alpha=0.7,
                    label=f"{setup} p50")
        ax.set_yscale("log")
        ax.set_xlabel("background load (requests/s offered to the pool)")
        ax.set_ylabel("time to first token (s, log scale)")
        ax.set_title(f"tenant {tenant}: TTFT vs noisy neighbours")
        ax.grid(True, which="both", alpha=0.3)
        legend_below(ax, fontsize=8, ncol=2)
    tight_layout(fig)
    files = save(fig, out_dir, "isolation")
    return files
