"""Figures for one run (PNG and SVG), colour-consistent per setup, from frames or a folder.

Every function takes data already simulated (the run's frames, or files read back from
its folder by :func:`load_run`) and writes ``plots/<stem>.png`` and ``.svg``; nothing here
simulates. The same functions serve ``report.md``, ``experiments/*`` and the notebook.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.io import read_csv_names
from sim.records import ALL, MODEL_ROW
from sim.report.pipelines import latency_cdf, waterfall
from sim.report.style import (
    REFERENCE_COLOR,
    color,
    format_seconds,
    legend_below,
    plain_log_ticks,
    pyplot,
    save,
    tight_layout,
)
from sim.report.timeline import pick_tenant, timeline

MAX_TENANT_PANELS = 6


# ------------------------------------------------------------------------------ TTFT CDF
LINE_STYLES = ["-", "--", ":", "-."]  # setups that coincide stay visible, one over another


def _cdf_panel(ax, reqs: pd.DataFrame, title: str, slo: float | None) -> None:
    """TTFT tail per setup: the fraction of a group's requests whose first token came later
    than x (log-log, so the p99 region is as wide as the median's). Requests never served
    count as infinitely late: a curve that levels off above zero shows the share unserved."""
    drawn = 0
    for k, (setup, g) in enumerate(reqs.groupby("setup", observed=True, sort=False)):
        n = len(g)
        done = g.loc[g["outcome"] == "completed", "ttft_s"].to_numpy(dtype=float)
        done = np.sort(done[np.isfinite(done)])
        if n == 0 or done.size == 0:
            continue
        drawn += 1
        later = 1.0 - np.arange(1, done.size + 1) / n  # the share still waiting after x
        x = np.maximum(done, 1e-4)  # log axis: a zero TTFT is drawn at 0.1 ms
        keep = later > 0
        p50, p99 = np.percentile(done, [50, 99])
        unserved = 1 - done.size / n
        label = f"{setup}: p50 {format_seconds(p50)}, p99 {format_seconds(p99)}"
        if unserved > 0:
            label += f", {100 * unserved:.1f}% unserved"
        c = color(str(setup))
        # from (first TTFT, 1): every request is still waiting before the first answer
        ax.step(np.r_[x[0], x[keep]], np.r_[1.0, later[keep]], where="post", color=c,
                label=label, lw=1.6, ls=LINE_STYLES[k % len(LINE_STYLES)])
        ax.plot([max(p50, 1e-4), max(p99, 1e-4)], [0.5, 0.01], "os"[k % 2], color=c, ms=4,
                mfc="none" if k % 2 else c)
    if slo is not None and np.isfinite(slo):
        ax.axvline(slo, color=REFERENCE_COLOR, ls=":", lw=1)
        ax.annotate(f"SLO {format_seconds(slo)}", (slo, 0.5), rotation=90, fontsize=7,
                    ha="right", va="center", color=REFERENCE_COLOR)
    ax.axhline(0.01, color="#bbbbbb", lw=0.6, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=1.05)
    # plain numbers: on a narrow range (a saturated pool's TTFTs all near 27 s) matplotlib
    # labelled the minor ticks "2.62x10^1", "2.64x10^1" on top of each other (December 2026)
    plain_log_ticks(ax.xaxis)
    ax.set_xlabel("time to first token x (s)")
    ax.set_ylabel("share of requests slower than x")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    if not drawn:  # the user tenants sent nothing or had nothing served (background only)
        ax.text(0.5, 0.5, f"no request completed ({len(reqs):,} sent)", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color=REFERENCE_COLOR)
        return
    # below the axes: a legend never covers the curves
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.2), frameon=False)


def ttft_cdf(requests: pd.DataFrame, out_dir: Path, slos: dict | None = None) -> list[str]:
    """TTFT CDF per setup: all requests, then one panel per tenant (the largest few, the
    user's tenants, which have an SLO, before background ones)."""
    if requests.empty or "ttft_s" not in requests.columns:
        return []
    if not (requests["outcome"] == "completed").any():
        return []
    plt = pyplot()
    slos = slos or {}
    counts = requests["tenant"].value_counts(sort=True)
    served = set(requests.loc[requests["outcome"] == "completed", "tenant"])
    ranked = sorted((t for t in counts.index if t in served),
                    key=lambda t: (str(t) not in slos, -int(counts[t])))
    tenants = ranked[:MAX_TENANT_PANELS]
    panels = [("all tenants", requests, None)]
    users = [t for t in counts.index if str(t) in slos]
    if users and len(users) < len(counts):  # background tenants too: match summary's __all__
        panels = [("all user tenants", requests[requests["tenant"].isin(users)], None)]
    if len(tenants) > 1 or (tenants and int((counts > 0).sum()) > 1):  # others sent, unserved
        panels += [(f"tenant {t}", requests[requests["tenant"] == t], slos.get(str(t)))
                   for t in tenants]
    elif tenants:  # the one tenant that sent anything
        panels[0] = (f"tenant {tenants[0]}", requests, slos.get(str(tenants[0])))
    cols = min(len(panels), 3)
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.6 * rows), squeeze=False)
    for ax, (title, reqs, slo) in zip(axes.flat, panels):
        _cdf_panel(ax, reqs, title, slo)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Time to first token per setup: the tail (markers: p50, p99)", fontsize=11)
    tight_layout(fig)
    return save(fig, out_dir, "ttft_cdf")


# ------------------------------------------------------------------------- run and folder
def slos_from_summary(summary: pd.DataFrame) -> dict:
    if summary is None or summary.empty or "slo_ttft_s" not in summary.columns:
        return {}
    rows = summary[(summary["tenant"] != ALL)
                   & ~summary["tenant"].str.startswith(MODEL_ROW)].drop_duplicates("tenant")
    return {str(t): float(s) for t, s in zip(rows["tenant"], rows["slo_ttft_s"]) if pd.notna(s)}


def figures_for(summary, requests, replicas, events, out_dir: Path) -> list[str]:
    files = []
    if requests is not None and len(requests):
        files += ttft_cdf(requests, out_dir, slos_from_summary(summary))
        tenant = pick_tenant(requests)
        if tenant is not None:
            files += timeline(requests, replicas, events, tenant, out_dir)
    return files


def run_figures(res, out_dir: Path) -> list[str]:
    files = figures_for(res.summary, res.requests, res.tables.get("replicas"),
                        res.tables.get("events"), out_dir)
    pipes = res.tables.get("pipelines")
    if pipes is not None and len(pipes) and "pipeline_id" in res.requests.columns:
        files += pipeline_figures(pipes, res.requests, out_dir)
    return files


def pipeline_figures(pipes: pd.DataFrame, requests: pd.DataFrame, out_dir: Path) -> list[str]:
    """A run with pipeline tenants: the latency CDF per setup and, per setup, the waterfall
    of its slowest completed pipeline request (the one a report wants explained), when every
    one of its stage requests is among the rows kept (``output.requests``: with none kept
    the waterfall was a ValueError until December 2026; :func:`waterfall_note` says why a
    setup has no panel). Only a pipeline request that ran a stage has a waterfall: one whose
    every stage was skipped by its probability (``stage_requests`` 0, end-to-end 0 s) was
    picked as the slowest when none ran a stage, and the empty figure was a ValueError until
    December 2026."""

    picks, _ = waterfall_picks(pipes, requests)
    files = latency_cdf(pipes, out_dir)
    if picks:
        crit = {(str(s), int(p)): c for s, p, c in  # each panel's critical-path cold wait
                zip(pipes["setup"], pipes["pipeline_id"], pipes["cold_wait_critical_s"])}
        picks = [st.assign(cold_wait_critical_s=crit[(str(st["setup"].iloc[0]), int(st["pipeline_id"].iloc[0]))])
                 for st in picks]
        files += waterfall(pd.concat(picks, ignore_index=True), out_dir,
                           title="The slowest pipeline request of each setup")
    return files


def waterfall_picks(pipes: pd.DataFrame, requests) -> tuple[list[pd.DataFrame], dict]:
    """Per setup with pipeline requests, in their order: the stage rows of its slowest
    completed pipeline request that ran a stage (a waterfall panel), or why it has none
    (``{setup: (why, count)}``: ``"none completed"`` with the ``(outcome, reason)`` counts,
    ``"no stage"`` with the completed count, ``"rows"``)."""
    picks, missing = [], {}
    for setup, g in pipes.groupby("setup", sort=False, observed=True):
        done = g[g["outcome"] == "completed"]
        if done.empty:
            reasons = g["reason"].fillna("") if "reason" in g else pd.Series("", index=g.index)
            outcomes = pd.DataFrame({"o": g["outcome"].astype(str), "r": reasons.astype(str)})
            missing[setup] = ("none completed", outcomes.value_counts(sort=False).to_dict())
            continue
        ran = ran_a_stage(g)
        if ran.empty:
            missing[setup] = ("no stage", len(done))
            continue
        worst = ran.sort_values(["e2e_s", "pipeline_id"], ascending=[False, True]).iloc[0]
        st = (requests[(requests["setup"] == setup) & (requests["pipeline_id"] == worst["pipeline_id"])]
              if requests is not None and "pipeline_id" in requests else pd.DataFrame())
        if len(st) < int(worst["stage_requests"]):  # not every stage's row kept
            missing[setup] = ("rows", 0)
            continue
        st = st.assign(scenario=f"{setup}, slowest pipeline request (#{int(worst['pipeline_id'])})")
        picks.append(st.sort_values(["arrival_s", "request_id"]))
    return picks, missing


def ran_a_stage(pipes: pd.DataFrame) -> pd.DataFrame:
    """The completed pipeline requests that sent at least one stage request."""
    return pipes[(pipes["outcome"] == "completed") & (pipes["stage_requests"] > 0)]


def waterfall_note(res) -> str | None:
    """Why the pipeline waterfall has no panel for a setup (none of its pipeline requests
    completed, none of them ran a stage, or its slowest request's stage rows not all kept),
    or None. Until December 2026 a setup none of whose pipeline requests completed went
    unsaid: the waterfall lost its panel, or was not drawn, without a note."""
    pipes = res.tables.get("pipelines")
    if pipes is None or pipes.empty:
        return None
    _, missing = waterfall_picks(pipes, res.requests)
    if not missing:
        return None
    whole = len(missing) == pipes["setup"].nunique()
    kinds = list(dict.fromkeys(why for why, _ in missing.values()))
    parts = []
    for kind in kinds:
        setups = [str(s) for s, (why, _) in missing.items() if why == kind]
        named = not whole or len(kinds) > 1
        if kind == "none completed":
            counts: dict = {}
            for why, c in missing.values():
                for k, n in (c.items() if why == kind else ()):
                    counts[k] = counts.get(k, 0) + n
            told = ", ".join(f"{n:,} {o}" + (f" ({r})" if r else "")
                             for (o, r), n in counts.items())
            text = f"none of the {sum(counts.values()):,} pipeline request(s) completed: {told}"
        elif kind == "no stage":
            n = sum(c for why, c in missing.values() if why == kind)
            text = (f"none of the {n:,} completed pipeline request(s) ran a stage (every stage "
                    "skipped by its probability)")
        else:
            whose = "a setup's" if not named else "its" if len(setups) == 1 else "each one's"
            text = (f"the stage rows of {whose} slowest pipeline request are not all among the "
                    "per-request rows kept (output.requests)")
        parts.append(f"{', '.join(setups)}: {text}" if named else text)
    head = "no pipeline waterfall is drawn: " if whole else "the pipeline waterfall has no panel for "
    return head + "; ".join(parts)


def load_run(run_dir) -> dict:
    """A run folder's files as frames: summary, requests, replicas, events (None if absent)."""
    d = Path(run_dir)

    def csv(name):
        p = d / f"{name}.csv"
        # a tenant named NA keeps its name (sim.io.read_csv_names; until December 2026 NaN)
        return read_csv_names(p.read_text()) if p.is_file() else None

    req = d / "requests.parquet"
    return {"summary": csv("summary"),
            "requests": pd.read_parquet(req) if req.is_file() else None,
            "replicas": csv("replicas"), "events": csv("events")}


def figures_from_dir(run_dir, out_dir=None) -> list[str]:
    """Redraw a finished run's figures from its files (into ``out_dir``, else the run's)."""
    data = load_run(run_dir)
    return figures_for(data["summary"], data["requests"], data["replicas"], data["events"],
                       Path(out_dir or run_dir))


def calibration_scatter(table, out_dir: Path, tolerance: float) -> list[str]:
    """Predicted against published, log-log, one marker per figure, the tolerance band; rows
    held out of the fit (``role == "check"``) are hollow diamonds, fitted rows filled dots."""
    plt = pyplot()
    units = {"output_tok_s": "output tokens/s", "ttft_s": "TTFT (s)", "itl_s": "inter-token latency (s)"}
    metrics = [m for m in units if m in set(table["metric"])]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.4 * len(metrics), 4.2), squeeze=False)
    palette = plt.get_cmap("tab10").colors  # one colour per GPU class in every panel
    gpu_colour = {g: palette[i % len(palette)] for i, g in enumerate(sorted(map(str, set(table["gpu"]))))}
    for ax, m in zip(axes[0], metrics):
        t = table[table["metric"] == m]
        lo = min(t["published"].min(), t["predicted"].min()) * 0.7
        hi = max(t["published"].max(), t["predicted"].max()) * 1.4
        xs = np.geomspace(lo, hi, 50)
        ax.fill_between(xs, xs * (1 - tolerance), xs * (1 + tolerance), color="#cccccc", alpha=0.5,
                        label=f"±{100 * tolerance:.0f} %")
        ax.plot(xs, xs, color="#888888", lw=1)
        for gpu, g in t.groupby("gpu"):
            fit = g[g["role"] != "check"] if "role" in g else g
            ax.scatter(fit["published"], fit["predicted"], s=22, label=str(gpu),
                       color=gpu_colour[str(gpu)])
            held = g[g["role"] == "check"] if "role" in g else g.iloc[:0]
            # held-out rows: hollow diamonds, so a reader sees what the fit never saw
            ax.scatter(held["published"], held["predicted"], s=46, marker="D",
                       facecolors="none", edgecolors=gpu_colour[str(gpu)], linewidths=1.4)
        if "role" in t and (t["role"] == "check").any():
            ax.scatter([], [], s=46, marker="D", facecolors="none", edgecolors="#333333",
                       label="held out (check)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # plain numbers, minor ticks unlabelled: a few rows spanning under a decade drew
        # matplotlib's minor labels ("1.2x10^-2" to "2.4x10^-2") over each other
        plain_log_ticks(ax.xaxis)
        plain_log_ticks(ax.yaxis)
        ax.set_xlabel(f"published {units[m]}")
        ax.set_ylabel(f"simulated {units[m]}")
        ax.grid(True, which="both", alpha=0.3)
        legend_below(ax)
    fig.suptitle("Calibration: simulated vs published (CALIBRATION.md §3); "
                 "filled: fitted rows, hollow diamonds: held out")
    tight_layout(fig)
    return save(fig, out_dir, "calibration")
