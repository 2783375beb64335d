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


def calibration_scatter(table, out_dir: Path, tolerance: float) -> list[str]:
    """Predicted against published, log-log, one marker per figure, the tolerance band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = {"output_tok_s": "output tokens/s", "ttft_s": "TTFT (s)", "itl_s": "inter-token latency (s)"}
    metrics = [m for m in units if m in set(table["metric"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 4), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        t = table[table["metric"] == m]
        lo = min(t["published"].min(), t["predicted"].min()) * 0.7
        hi = max(t["published"].max(), t["predicted"].max()) * 1.4
        xs = np.geomspace(lo, hi, 50)
        ax.fill_between(xs, xs * (1 - tolerance), xs * (1 + tolerance), color="#cccccc", alpha=0.5,
                        label=f"±{100 * tolerance:.0f} %")
        ax.plot(xs, xs, color="#888888", lw=1)
        for gpu, g in t.groupby("gpu"):
            ax.scatter(g["published"], g["predicted"], s=22, label=str(gpu))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"published {units[m]}")
        ax.set_ylabel(f"simulated {units[m]}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Calibration: simulated vs published (CALIBRATION.md §3)")
    files = _save(fig, out_dir, "calibration")
    plt.close(fig)
    return files
