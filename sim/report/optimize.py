"""The figure of an optimising sweep (``experiment=optimize``): its trials' costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.style import legend_below, pyplot, save, tight_layout


def optimize_figure(trials: pd.DataFrame, out_dir: Path) -> list[str]:
    """An optimising sweep's trials (columns ``trial``, ``objective``, ``cost_usd``), all in
    dollars: a trial meeting the SLO has objective = cost and is a dot; a trial missing it has
    an objective of cost + a penalty (``sim/sweep/objective.py``, not dollars), so it is drawn
    at its cost as a cross and counted in the title; the line is the cheapest trial meeting
    the SLO so far."""
    t = trials.sort_values("trial")
    cost = t["cost_usd"].to_numpy(float)
    ok = np.isclose(t["objective"].to_numpy(float), cost) & np.isfinite(cost)
    bad = ~ok & np.isfinite(cost)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(t["trial"][ok], cost[ok], "o", color="#1b9e77", label="meets the SLO")
    ax.plot(t["trial"][bad], cost[bad], "x", color="#d95f02", ms=7,
            label="misses the SLO (drawn at its cost; its objective adds a penalty)")
    if ok.any():
        best = np.minimum.accumulate(np.where(ok, cost, np.inf))
        seen = np.isfinite(best)
        ax.step(t["trial"][seen], best[seen], where="post", color="black", lw=1,
                label="cheapest meeting the SLO so far")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("cost of the run ($, log scale)")
    ax.set_title(f"Search for the cheapest configuration meeting the SLO: {int(bad.sum())} of "
                 f"{len(t)} trials miss it", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    legend_below(ax, fontsize=8)
    tight_layout(fig)
    return save(fig, out_dir, "optimize")
