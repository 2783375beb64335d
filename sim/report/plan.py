"""The figure of ``job=plan``: every candidate's cost an hour (the plan's rank; the bill over
the run for tables without it) against its worst p99 TTFT / SLO."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.records import Result
from sim.report.style import legend_below, plain_log_ticks, pyplot, save, tight_layout


def plan_figure(res: Result, out_dir: Path) -> list[str]:
    cands = res.tables.get("candidates")
    if cands is None or not len(cands):
        return []
    plt = pyplot()
    models = list(dict.fromkeys(cands["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 3.8), squeeze=False)
    plan = res.tables["plan"].set_index("model")
    # the rank's axis: over the run, the chosen point could sit right of a feasible one
    # (the bill pays the drain after the horizon)
    col = "usd_per_hour" if "usd_per_hour" in cands.columns and "usd_per_hour" in plan.columns else "cost_usd"
    for ax, m in zip(axes[0], models):
        d = cands[cands["model"] == m]
        # log-log axes: a candidate at zero cost, or with no TTFT (nothing completed), has no
        # place on them; counted in the title instead of breaking the figure
        ok = (np.isfinite(d[col].to_numpy(float)) & (d[col].to_numpy(float) > 0)
              & np.isfinite(d["worst_p99_over_slo"].to_numpy(float))
              & (d["worst_p99_over_slo"].to_numpy(float) > 0))
        left_out, d = int((~ok).sum()), d[ok]
        for feasible, marker, color, label in [(True, "o", "#1b9e77", "meets the SLO"),
                                               (False, "x", "#d95f02", "misses it")]:
            x = d[d["feasible"] == feasible]
            if len(x):
                ax.scatter(x[col], x["worst_p99_over_slo"], marker=marker, color=color,
                           s=22, label=label)
        chosen = plan.loc[m] if m in plan.index else None
        if (chosen is not None and chosen["choice"] != "none" and chosen[col] > 0
                and chosen["worst_p99_over_slo"] > 0):
            ax.scatter([plan.loc[m, col]], [plan.loc[m, "worst_p99_over_slo"]], s=160,
                       facecolors="none", edgecolors="black", label=f"plan: {plan.loc[m, 'choice']}")
        ax.axhline(1.0, color="#999999", ls="--", lw=1)
        if len(d):
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain_log_ticks(ax.xaxis)  # "$2", not "2x10^0"
            plain_log_ticks(ax.yaxis)
        ax.set_xlabel("cost an hour ($/h)" if col == "usd_per_hour" else "cost over the run ($)")
        ax.set_ylabel("worst tenant p99 TTFT / SLO")
        ax.set_title(m + (f" ({left_out} candidates not drawn: zero cost or no TTFT)"
                          if left_out else ""), fontsize=10 if not left_out else 8)
        ax.grid(True, alpha=0.3)
        legend_below(ax)
    tight_layout(fig)
    files = save(fig, out_dir, "plan")
    plt.close(fig)
    return files
