"""Figures of compound pipelines: a waterfall of one pipeline request per scenario, and the
distribution of pipeline end-to-end latency per setup. Data in, files out; nothing here
simulates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.metrics.pipelines import measured
from sim.report.style import (
    color,
    format_seconds,
    legend_below,
    plain_log_ticks,
    pyplot,
    save,
    tight_layout,
)

# each phase its own colour (queue wait too: yellow, not the grey of an empty track)
PHASES = [("queue", "#e6ab02"), ("cold start", "#e7298a"), ("prefill", "#386cb0"),
          ("decode", "#66a61e"), ("tool", "#a6761d")]
# a bar narrower than this share of the time axis cannot be seen
VISIBLE_SHARE = 0.001  # about a pixel at the figure's size


def phases(r) -> dict:
    """Seconds of each phase of one stage request (queue, cold start, prefill, decode, tool)."""
    if str(r.tier) == "tool":
        return {"tool": r.finish_s - r.arrival_s}
    if str(r.outcome) != "completed":
        return {"queue": max((r.finish_s if np.isfinite(r.finish_s) else r.arrival_s) - r.arrival_s, 0.0)}
    cold = float(r.cold_start_wait_s)
    return {"queue": max(r.admit_s - r.arrival_s - cold, 0.0), "cold start": cold,
            "prefill": r.first_token_s - r.admit_s, "decode": r.finish_s - r.first_token_s}


def waterfall(stages: pd.DataFrame, out_dir: Path, stem: str = "pipeline_waterfall",
              title: str = "One pipeline request, every model idle") -> list[str]:
    """One panel per scenario: a bar per stage request from its start, split into phases;
    time from the pipeline request's arrival. ``stages`` carries each scenario's pipeline
    request's ``cold_wait_critical_s`` (the pipelines table's) on its rows."""
    plt = pyplot()
    scen = list(dict.fromkeys(stages["scenario"]))
    fig, axes = plt.subplots(len(scen), 1, figsize=(9, 1.0 + 1.15 * max(len(scen), 1) * 1.6),
                             sharex=True, squeeze=False)
    longest: dict[str, float] = {}  # per phase, its widest bar (drawn phases only)
    for ax, sc in zip(axes[:, 0], scen):
        g = stages[stages["scenario"] == sc].reset_index(drop=True)
        t0 = float(g["arrival_s"].min())
        labels = []
        for i, r in enumerate(g.itertuples()):
            left = r.arrival_s - t0
            for name, col in PHASES:
                w = phases(r).get(name, 0.0)
                if w > 0:
                    ax.barh(i, w, left=left, color=col, height=0.6)
                    longest[name] = max(longest.get(name, 0.0), w)
                    left += w
            labels.append(f"{r.stage} ({r.model})" if not str(r.model).startswith("tool:") else f"{r.stage} (tool)")
        ax.set_yticks(range(len(g)), labels, fontsize=8)
        ax.invert_yaxis()
        end = float(g["finish_s"].max() - t0)
        setup = str(g["setup"].iloc[0]) if "setup" in g else ""
        ax.set_title(f"{sc}: end-to-end {format_seconds(end)}, "
                     + cold_wait_text(float(g["cold_wait_critical_s"].iloc[0]),
                                      float(g["cold_start_wait_s"].sum())),
                     fontsize=9, loc="left", color=color(setup))
    axes[-1, 0].set_xlabel("time since the pipeline request arrived (s)")
    handles, lbls = legend_entries(longest, axes[-1, 0].get_xlim())
    fig.suptitle(f"{title}: each stage's queue, cold start, prefill, decode", fontsize=10, x=0.02, ha="left")
    tight_layout(fig, rect=(0, 0, 1, 0.93))
    fig.legend(handles, lbls, loc="upper right", bbox_to_anchor=(1.0, 0.955), fontsize=8,
               ncol=max(len(lbls), 1), frameon=False)
    return save(fig, out_dir, stem)


def cold_wait_text(critical: float, total: float) -> str:
    """A panel's cold-start wait: its critical path's (what the end-to-end time waited, the
    cold-chain table's), and the sum over every stage request when that differs (a fan-out's
    copies wait side by side: until December 2026 the title gave the sum alone, 82.2 s of
    "cold-start waits" beside 27.53 s end-to-end for three copies of one 27.42 s load)."""
    if not np.isfinite(critical):  # the request did not complete: no critical path
        return f"cold-start waits {total:.1f} s summed over every stage request (not completed)"
    text = f"cold-start wait on the critical path {critical:.1f} s"
    if f"{total:.1f}" != f"{critical:.1f}":
        text += f" ({total:.1f} s summed over every stage request)"
    return text


def legend_entries(longest: dict[str, float], xlim) -> tuple[list, list[str]]:
    """The legend of what is drawn: a patch per phase with a bar; a phase whose every bar is
    too thin to see at the figure's scale says so (rather than a colour found nowhere)."""
    from matplotlib.patches import Patch

    span = float(xlim[1] - xlim[0]) or 1.0
    handles, labels = [], []
    for name, col in PHASES:
        if name not in longest:
            continue
        handles.append(Patch(color=col))
        thin = longest[name] < VISIBLE_SHARE * span
        labels.append(f"{name} (at most {format_seconds(longest[name])}: too short to see)"
                      if thin else name)
    return handles, labels


def latency_cdf(pipes: pd.DataFrame, out_dir: Path, stem: str = "pipeline_latency_cdf") -> list[str]:
    """Empirical CDF of pipeline end-to-end latency per setup (pipelines that did not complete
    count as infinitely late), over the measured window's pipeline requests."""
    plt = pyplot()
    pipes = measured(pipes)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for setup, g in pipes.groupby("setup", sort=False, observed=True):
        n = len(g)
        x = np.sort(g.loc[g["outcome"] == "completed", "e2e_s"].to_numpy(float))
        if not n or not x.size:
            continue
        y = np.arange(1, x.size + 1) / n
        p50, p99 = np.percentile(x, [50, 99])
        # a setup's variants in its colour: dashed, dotted with pre-warm
        ls = ":" if "prewarm" in str(setup) else "--" if "/" in str(setup) else "-"
        ax.step(x, y, where="post", color=color(str(setup)), ls=ls, lw=1.6,
                label=f"{setup}: p50 {format_seconds(p50)}, p99 {format_seconds(p99)}")
    if not ax.lines:  # said, not an empty panel (until December 2026 blank)
        ax.text(0.5, 0.5, "no pipeline request in the measured window" if pipes.empty else
                "no measured pipeline request completed", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#666666")
    else:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)  # plain numbers, labels apart on a narrow range
    ax.set_xlabel("pipeline end-to-end latency (s" + (", log scale)" if ax.lines else ")"))
    ax.set_ylabel("fraction of pipeline requests")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3, which="both")
    legend_below(ax, fontsize=8)
    ax.set_title("Pipeline end-to-end latency per setup", fontsize=10, loc="left")
    tight_layout(fig)
    return save(fig, out_dir, stem)
