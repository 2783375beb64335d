"""Timeline of one tenant: its model's replicas (loading, serving) and its requests' TTFT.

Top, one panel per setup: each replica of the tenant's model is a bar from start to end,
its loading part (cold start) hatched; replicas are packed onto as few lanes as overlap
allows, so the number of lanes is the peak replica count. Events the setup logged (scale
decisions, evictions, failures) are marks above the bars. Bottom: every request's TTFT at
its arrival time, per setup, requests that waited for a cold start drawn as crosses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.report.style import distinct_colors, legend_right, pyplot, save, tight_layout

COLD_MARKERS = ["x", "+", "1", "2"]
MAX_POINTS = 20000  # scatter points per setup (evenly thinned beyond it; cold ones all kept)


def pick_tenant(requests: pd.DataFrame):
    """The tenant with the most cold starts; with none anywhere, the busiest tenant."""
    if requests is None or requests.empty:
        return None
    cold = requests[requests["cold_start_wait_s"] > 0]
    if len(cold):
        counts = cold["tenant"].value_counts(sort=True)
    else:
        counts = requests["tenant"].value_counts(sort=True)
    return counts.index[0] if len(counts) else None


def pack_lanes(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lane per interval (in start order, the lowest free lane): overlapping intervals never
    share a lane and the lane count equals the peak overlap."""
    order = np.lexsort((ends, starts))
    lane_end: list[float] = []
    lanes = np.zeros(len(starts), dtype=int)
    for i in order.tolist():
        for k, e in enumerate(lane_end):
            if e <= starts[i]:
                lanes[i] = k
                lane_end[k] = ends[i]
                break
        else:
            lanes[i] = len(lane_end)
            lane_end.append(ends[i])
    return lanes


def _thin(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``df`` with every ``step``-th request that did not wait for a cold start kept (all
    those that did), and ``step``: at most MAX_POINTS warm points, 1 when all fit. Until
    December 2026 a setup with more than MAX_POINTS requests, every one cold, made ``step`` 0
    (a ValueError, exit 1)."""
    if len(df) <= MAX_POINTS:
        return df, 1
    waited = df["cold_start_wait_s"] > 0
    warm = df[~waited]
    step = max(1, int(np.ceil(len(warm) / MAX_POINTS)))
    return pd.concat([warm.iloc[::step], df[waited]]), step


def timeline(requests: pd.DataFrame, replicas: pd.DataFrame | None, events: pd.DataFrame | None,
             tenant, out_dir: Path) -> list[str]:
    plt = pyplot()
    mine = requests[requests["tenant"] == tenant]
    if mine.empty:
        return []
    model = str(mine["model"].iloc[0])
    setups = [str(s) for s in pd.unique(mine["setup"].astype(str))]
    reps = (replicas[replicas["model"] == model] if replicas is not None and len(replicas)
            else pd.DataFrame(columns=["setup", "start_s", "end_s", "loading_s", "tier"]))
    colours = distinct_colors(setups)
    # a run that recorded no replica lives at all gets no replica panels (not empty ones)
    panels = setups if any((reps["setup"] == s).any() for s in setups) else []
    lanes_per = {s: max(1, int((reps["setup"] == s).sum())) for s in panels}
    heights = [min(4.0, 0.6 + 0.25 * lanes_per[s]) for s in panels] + [3.0]
    fig, axes = plt.subplots(len(panels) + 1, 1, figsize=(9, sum(heights) + 0.8), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    axes = axes[:, 0]
    t_max = float(np.nanmax(mine["arrival_s"].to_numpy())) if len(mine) else 1.0
    for ax, s in zip(axes, panels):
        r = reps[reps["setup"] == s]
        c = colours[s]
        if len(r):
            st = r["start_s"].to_numpy(float)
            en = r["end_s"].to_numpy(float)
            ld = np.minimum(r["loading_s"].to_numpy(float), en - st)
            lanes = pack_lanes(st, en)
            t_max = max(t_max, float(en.max()))
            for lane in np.unique(lanes).tolist():
                sel = lanes == lane
                ax.broken_barh(list(zip(st[sel] + ld[sel], en[sel] - st[sel] - ld[sel])),
                               (lane + 0.1, 0.8), facecolors=c, alpha=0.85)
                cold = sel & (ld > 0)
                if cold.any():
                    ax.broken_barh(list(zip(st[cold], ld[cold])), (lane + 0.1, 0.8),
                                   facecolors="white", edgecolors=c, hatch="////", lw=0.6)
            ax.set_ylim(0, lanes.max() + 1.2)
            n_cold = int((ld > 0).sum())
            n_burst = int((r["tier"] == "burst").sum()) if "tier" in r else 0
            ax.set_title(f"{s}: {len(r)} replica{'s' if len(r) != 1 else ''} of {model} over the "
                         f"run" + (f" ({n_burst} burst)" if n_burst else "")
                         + f", {n_cold} with a cold start (hatched: loading)", fontsize=9,
                         loc="left")
        else:
            ax.set_title(f"{s}: no replica records for {model}", fontsize=9, loc="left")
            ax.set_ylim(0, 1)
        if events is not None and len(events):
            ev = events[(events["setup"] == s) & (events["model"] == model)]
            top = ax.get_ylim()[1]
            for k, (kind, g) in enumerate(ev.groupby("kind", sort=True)):
                ax.plot(g["t_s"], np.full(len(g), top - 0.15), ls="none",
                        marker="v^osdP*"[k % 7], ms=4, color="black", label=str(kind))
            if len(ev):
                legend_right(ax)
        ax.set_ylabel("replica\nlane", fontsize=8)
        ax.set_yticks([])
    ax = axes[-1]
    for k, (s, g) in enumerate(mine.groupby("setup", observed=True, sort=False)):
        g, step = _thin(g[g["outcome"] == "completed"])
        warm = g[g["cold_start_wait_s"] <= 0]
        cold = g[g["cold_start_wait_s"] > 0]
        c = colours[str(s)]
        ax.plot(warm["arrival_s"], np.maximum(warm["ttft_s"], 1e-4), ".", ms=2, alpha=0.5,
                color=c, label=f"{s}" + (f" (1 in {step} drawn)" if step > 1 else ""))
        if len(cold):
            # a marker per setup: setups that waited alike (serverless, hybrid) both show
            ax.plot(cold["arrival_s"], np.maximum(cold["ttft_s"], 1e-4), COLD_MARKERS[k % 4],
                    ms=5 + k % 2, color=c,
                    label=f"{s}: waited for a cold start ({len(cold)})")
    ax.set_yscale("log")
    ax.set_ylabel("TTFT (s, log)")
    ax.set_xlabel("simulated time (s)")
    ax.set_xlim(0, t_max if t_max > 0 else 1.0)  # everything at t=0: matplotlib warned
    ax.grid(True, which="both", alpha=0.25)
    legend_right(ax, markerscale=2)
    fig.suptitle(f"Replicas and cold starts for tenant {tenant} (model {model})"
                 + ("" if panels else ": this run recorded no replica lives"), fontsize=11)
    tight_layout(fig)
    return save(fig, out_dir, "timeline")
