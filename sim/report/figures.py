"""Figures for one run (PNG and SVG), colour-consistent per setup."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SETUP_COLORS = {"serverless": "#d95f02", "dedicated": "#1b9e77", "hybrid": "#7570b3"}


def color(setup: str) -> str:
    return SETUP_COLORS.get(setup, "#666666")


def _save(fig, out_dir: Path, stem: str) -> list[str]:
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    files = []
    for ext in ("png", "svg"):
        p = out_dir / "plots" / f"{stem}.{ext}"
        fig.savefig(p, dpi=150, bbox_inches="tight", metadata={"Date": None} if ext == "svg" else None)
        files.append(f"plots/{stem}.{ext}")
    return files


def ttft_cdf(requests, out_dir: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = requests[requests["outcome"] == "completed"]
    if done.empty:
        return []
    fig, ax = plt.subplots(figsize=(6, 4))
    for setup, g in done.groupby("setup", observed=True):
        x = np.sort(g["ttft_s"].to_numpy())
        y = np.arange(1, x.size + 1) / x.size
        ax.plot(x, y, label=str(setup), color=color(str(setup)))
    ax.set_xscale("log")
    ax.set_xlabel("time to first token (s, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("TTFT distribution per setup")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    files = _save(fig, out_dir, "ttft_cdf")
    plt.close(fig)
    return files


def run_figures(res, out_dir: Path) -> list[str]:
    files = []
    if len(res.requests) and "ttft_s" in res.requests.columns:
        files += ttft_cdf(res.requests, out_dir)
    return files
