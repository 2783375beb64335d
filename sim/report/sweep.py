"""Figures and markdown for a sweep, from its aggregated table (``summary.csv`` at its root).

The x axis: :func:`x_key`; a variant (``variant=a,b,c``) is one tick each, points not joined,
no break-evens, and stands for the keys it sets. Each curve is one setup (colour) and one
combination of the other swept keys (line style). Break-evens are where two cost curves cross,
joined straight in log-log space between neighbouring sweep points (sim/analysis/curves.py):
between setups, and between each setup and the per-token list price of the same tokens (a
reference from catalog prices, drawn dashed, labelled as such, not a simulated setup).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.curves import (
    NOT_ONE_CURVE,
    REFERENCE,
    TIE_RTOL,
    breakevens,
    curves,
    not_one_curve,
)
from sim.config.variants import KEY as VARIANT
from sim.io import write_frame_csv
from sim.records import ALL
from sim.report import style as looks
from sim.report.condense import condense, left_out_note, slo_by_tenant, with_scenario
from sim.report.markdown import md_table, notes_of_jobs
from sim.report.question import CHANGED
from sim.report.style import (
    REFERENCE_COLOR,
    color,
    legend_below,
    place_labels,
    pyplot,
    same_curve,
    save,
    tight_layout,
    twin_style,
)

LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P"]


# ------------------------------------------------------------------------------ axes
def x_key(sj) -> str | None:
    """``notes.sweep_x``, unless held at one value while another key is swept (all points at
    that value until December 2026) or naming points (the variant) while a quantity is swept
    (`sweep_variants` with a load: no curves until December 2026), else the first swept
    numeric key (a quantity before the seed; a key a variant sets counts unless the variant
    is swept too: until December 2026 `variant=a dedicated.replicas.m=1,2` drew the variant,
    one tick), else the variant (a key a swept variant sets, swept as well, is a curve)."""
    want = (sj.notes or {}).get("sweep_x")
    swept = sorted((k for k in other_keys(sj, VARIANT) if k not in _variant_keys(sj)
                    and pd.api.types.is_numeric_dtype(sj.table[k])),
                   key=lambda k: categorical(sj.table, k))
    if want and want in sj.table.columns and (want in sj.varying or not swept) and not (
            categorical(sj.table, want) and swept and not categorical(sj.table, swept[0])):
        return want
    named = VARIANT if VARIANT in sj.varying and VARIANT in sj.table.columns else None
    return swept[0] if swept else named


def other_keys(sj, x: str) -> list[str]:
    """The swept keys other than ``x`` that split curves; a swept variant's keys are left to
    the variant's name (they move with it) unless one takes several values within a
    variant's jobs (swept too: `variant=a,b dedicated.replicas.m=1,2` drew half its jobs,
    unsaid, until December 2026)."""
    t = sj.table
    moves = {k for k in _variant_keys(sj) if k in t.columns
             and not (t.groupby(VARIANT)[k].nunique() > 1).any()}
    return [k for k in sj.varying if k != x and k in t.columns and k not in moves]


def _variant_keys(sj) -> set[str]:
    """The keys a swept variant sets (none when the variant is not swept)."""
    return set(getattr(sj, "paired", [])) if VARIANT in sj.varying else set()


def categorical(table: pd.DataFrame, x: str) -> bool:
    """Named points with no order to cross in: variants, and seeds (a break-even along the seed
    axis was drawn until December 2026)."""
    return x in table.columns and (x == "seed" or not pd.api.types.is_numeric_dtype(table[x]))


def axis_label(key: str, notes: dict | None = None, own: bool = True) -> str:
    """``notes.x_label`` when ``key`` is ``sweep_x`` and ``own`` (the jobs changed nothing the
    question is about: it said "1 H100 each" over H200s until December 2026), else the key's."""
    if own and notes and notes.get("x_label") and key == notes.get("sweep_x"):
        return str(notes["x_label"])
    last = key.split(".")[-1]
    m = re.match(r"tenants\.([^.]+)\.arrival\.(\w+)$", key)
    if m and m.group(2) == "rate_rps":
        return f"offered load of tenant {m.group(1)} (requests/s)"
    if m and m.group(2) == "cv":
        return f"inter-arrival CV of tenant {m.group(1)} (burstiness)"
    if last.endswith("_usd_per_hour"):
        return f"{key} ($/GPU-hour)"
    if last.endswith("_usd_per_mtok"):
        return f"{key} ($/M tokens)"
    if last.endswith("_s"):
        return f"{key} (s)"
    return key


def _combo_label(keys, values) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, values))


# ---------------------------------------------------------------------------- figures
def _style(i_combo: int):
    return LINESTYLES[i_combo % len(LINESTYLES)], MARKERS[i_combo % len(MARKERS)]


def _categories(table, x) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with a categorical ``x`` replaced by positions 0, 1, ... (first appearance,
    i.e. job order) and the category names, for tick labels."""
    names = list(dict.fromkeys(table[x].astype(str)))
    return table.assign(**{x: table[x].astype(str).map(names.index)}), names


def _set_ticks(ax, ticks):
    if ticks is not None:
        ax.set_xticks(range(len(ticks)))
        ax.set_xticklabels(ticks, rotation=20 if len(ticks) > 3 else 0, fontsize=8)
        ax.set_xlim(-0.5, len(ticks) - 0.5)


def metric_vs_x(table, x, y, others, out_dir, stem, ylabel, title, xlabel, logy=False,
                hline: tuple[float, str] | None = None, ticks=None) -> list[str]:
    """``y`` against ``x`` per setup; ``ticks``: category names (x holds their positions),
    drawn as unjoined points."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.3))
    combos: list[tuple] = []
    drawn_curves: list[tuple] = []
    drawn = 0
    for setup, combo, g in curves(table, x, y, others):
        if combo not in combos:
            combos.append(combo)
        ls, mk = _style(combos.index(combo))
        label = setup + (f" ({_combo_label(others, combo)})" if others else "")
        xs, ys = g[x].to_numpy(float), g[y].to_numpy(float)
        style = dict(ls=ls, marker=mk, ms=4)
        twin = same_curve(xs, ys, drawn_curves)
        if twin is not None:  # on top of an equal curve: dashed and hollow, so both show
            style = twin_style(sum(c[3] for c in drawn_curves))
        drawn_curves.append((xs, ys, label, twin is not None))
        if twin is not None:
            label += f" (same as {twin})"
        err = g.get(f"{y}_ci95")
        if ticks is not None:  # categories: unjoined points
            style = {**style, "ls": "none", "ms": 5}
        ax.errorbar(xs, ys, yerr=err if err is not None and err.notna().any() else None,
                    color=color(setup), capsize=3, label=label, **style)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return []
    _set_ticks(ax, ticks)
    if hline is not None and np.isfinite(hline[0]):
        ax.axhline(hline[0], color=REFERENCE_COLOR, ls=":", lw=1)
        ax.annotate(hline[1], (ax.get_xlim()[0], hline[0]), fontsize=7, va="bottom",
                    color=REFERENCE_COLOR)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title + looks.bars_caption(table, y), fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    legend_below(ax)
    tight_layout(fig)
    return save(fig, out_dir, stem)


def real_crossings(be: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The break-evens to star: finite, and one per point (two pairs of curves crossing at
    the same place within the tie tolerance are one break-even)."""
    if not len(be):
        return pd.DataFrame(columns=[x, y])
    be = be[np.isfinite(be[x].to_numpy(float)) & np.isfinite(be[y].to_numpy(float))]
    keep: list[int] = []
    for i, r in be.sort_values([x, y]).iterrows():
        if not any(np.isclose(r[x], be.at[j, x], rtol=TIE_RTOL, atol=0.0)
                   and np.isclose(r[y], be.at[j, y], rtol=TIE_RTOL, atol=0.0) for j in keep):
            keep.append(i)
    return be.loc[keep]


def cost_vs_x(table, x, others, out_dir, xlabel, be: pd.DataFrame, stem: str = "cost_vs_x",
              title: str | None = None, vlines=(), ticks=None) -> list[str]:
    """Cost per million output tokens per setup against ``x``, the break-evens (crossings
    beyond the tie tolerance, :func:`sim.analysis.curves.crossings`) starred and labelled
    without overlap; ``vlines``: (x, label) reference marks (e.g. an analytic break-even) in
    the axis's unit. Curves sharing a colour (variants ``<setup>/<variant>``) get their own
    line styles; a curve equal to one drawn before is dashed and hollow, and says so.
    ``ticks``: category names (x holds their positions): unjoined points, linear x."""
    y = "cost_per_mtok_out_usd"
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.8, 4.3))
    combos: list[tuple] = []
    refs_drawn: list[np.ndarray] = []
    same_colour: dict[tuple, int] = {}
    drawn_curves: list[tuple] = []
    drawn = 0
    for setup, combo, g in curves(table, x, y, others):
        if combo not in combos:
            combos.append(combo)
        k = same_colour.get((color(setup), combo), 0)
        same_colour[(color(setup), combo)] = k + 1
        ls, mk = _style(combos.index(combo) + k)
        label = setup + (f" ({_combo_label(others, combo)})" if others else "")
        xs, ys = g[x].to_numpy(float), g[y].to_numpy(float)
        twin = same_curve(xs, ys, drawn_curves)
        style = dict(ls=ls, marker=mk, ms=4)
        if twin is not None:  # on top of an equal curve: dashed and hollow, so both show
            style = twin_style(sum(c[3] for c in drawn_curves))
        drawn_curves.append((xs, ys, label, twin is not None))
        if twin is not None:
            label += f" (same as {twin})"
        err = g.get(f"{y}_ci95")
        if ticks is not None:  # categories: unjoined points
            style = {**style, "ls": "none", "ms": 5}
        ax.errorbar(xs, ys, yerr=err if err is not None and err.notna().any() else None,
                    color=color(setup), capsize=3, label=label, **style)
        drawn += 1
        ref = "list_price_usd_per_mtok_out"
        if ref in g.columns and g[ref].notna().any():
            vals = g[ref].to_numpy(float)
            # one dashed line per distinct reference (it only moves if a token price is swept)
            if not any(len(v) == len(vals) and np.allclose(v, vals, rtol=0.02, equal_nan=True)
                       for v in refs_drawn):
                ax.plot(g[x], vals, color=REFERENCE_COLOR, ls="none" if ticks is not None
                        else (0, (4, 3)), marker="_" if ticks is not None else None, ms=12, lw=1,
                        label=None if refs_drawn else
                        f"{REFERENCE} of the same tokens (catalog prices, not simulated)")
                refs_drawn.append(vals)
    if not drawn:
        plt.close(fig)
        return []
    stars = real_crossings(be, x, y)
    texts = []
    for k, (_, r) in enumerate(stars.iterrows()):
        ax.plot([r[x]], [r[y]], "k*", ms=9, zorder=4,
                label="break-even (interpolated; labelled with x)" if k == 0 else None)
        texts.append(ax.annotate(f"{r[x]:.3g}", (r[x], r[y]), textcoords="offset points",
                                 xytext=(4, 8), fontsize=7))
    for xv, text in vlines:
        if np.isfinite(xv):
            ax.axvline(xv, color=REFERENCE_COLOR, ls=":", lw=1, label=text)
    ax.set_yscale("log")
    _set_ticks(ax, ticks)
    xs = table[x].to_numpy(float)
    if ticks is None and len(xs) and (xs > 0).all():
        # log-log: straight segments are the interpolation the break-evens use
        ax.set_xscale("log")
        looks.plain_log_ticks(ax.xaxis)
        xlabel += ", log scale"
    looks.plain_log_ticks(ax.yaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("cost per million output tokens ($, log scale)")
    ax.set_title((title or "Cost per million output tokens (stars: break-even, labelled with x)")
                 + looks.bars_caption(table, y), fontsize=10 if title is None else 8)
    ax.grid(True, which="both", alpha=0.25)
    legend_below(ax)
    tight_layout(fig)
    place_labels(fig, texts)
    return save(fig, out_dir, stem)


def _slo(table) -> float:
    if "slo_ttft_s" not in table.columns:
        return float("nan")
    v = table.loc[table["tenant"] != ALL, "slo_ttft_s"].dropna().unique()
    return float(v[0]) if len(v) == 1 else float("nan")


def sweep_figures(sj, out_dir: Path) -> list[str]:
    """p99 TTFT and cost per million tokens against the swept x; break-evens to breakeven.csv."""

    table = sj.table
    x = x_key(sj)
    if x is None or "setup" not in table.columns:
        return []
    others = other_keys(sj, x)
    if not_one_curve(table, x, others):  # a study's scenarios a setup (sim/analysis/curves.py)
        sj.column_notes.append(NOT_ONE_CURVE.format(x=x))
        return []
    xlabel = axis_label(x, sj.notes, own=not str(getattr(sj, "question", None) or "")
                        .startswith(CHANGED))
    ticks = None
    if categorical(table, x):  # variants: named points, no order between them to cross in
        table, ticks = _categories(table, x)
    files = []
    slo = _slo(table)
    files += metric_vs_x(table, x, "ttft_p99_s", others, out_dir, "p99_ttft_vs_x",
                         "p99 time to first token (s, log scale)",
                         "p99 TTFT per setup (all tenants)", xlabel, logy=True,
                         hline=(slo, f"SLO {slo:g} s") if np.isfinite(slo) else None,
                         ticks=ticks)
    be = breakevens(table, x, others) if ticks is None else \
        pd.DataFrame(columns=others + ["a", "b", x, "cost_per_mtok_out_usd"])
    write_frame_csv(be, Path(out_dir) / "breakeven.csv")
    files += cost_vs_x(table, x, others, out_dir, xlabel, be, ticks=ticks,
                       title=None if ticks is None else
                       "Cost per million output tokens per variant (no break-evens: "
                       "the points are not on one axis)")
    return files


# --------------------------------------------------------------------------- markdown
SHOW = ["setup", "tenant", "replications", "requests", "completed", "ttft_p50_s", "ttft_p99_s",
        "ttft_p99_s_ci95", "cost_usd", "cost_per_mtok_out_usd", "cost_per_mtok_out_usd_ci95",
        "list_price_usd_per_mtok_out", "busy_fraction", "slo_attainment", "objective"]


def _code(text: str) -> str:
    """``text`` as inline markdown code (a longer fence when it holds backticks)."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def sweep_markdown(sj, command: str | None = None, figures=()) -> str:
    notes = sj.notes or {}
    parts = ["# servesim sweep\n"]
    question = getattr(sj, "question", None)  # its jobs' (none without their report.md)
    if question or notes.get("question"):
        parts.append(question or f"**Question.** {notes['question']}\n")
    if command:
        parts.append(f"Command: {_code(command)}\n")
    if notes.get("objective"):
        parts.append(f"**Objective** (column `objective`): {notes['objective']}.\n")
    done = int((sj.jobs["state"] == "done").sum()) if len(sj.jobs) else 0
    parts.append(f"{done} of {len(sj.jobs)} jobs finished; swept: "
                 + (", ".join(f"`{k}`" for k in sj.varying) or "nothing") + ".\n")
    paired = list(getattr(sj, "paired", []))
    if paired:
        parts.append(f"Each `{VARIANT}` sets " + ", ".join(f"`{k}`" for k in paired)
                     + " together (the experiment's `variants`); the columns of these keys "
                     "hold the values each job ran with.\n")
    if sj.constant:
        parts.append("Fixed overrides: " + ", ".join(f"`{k}={v}`" for k, v in sj.constant.items())
                     + ".\n")
    # a study's scenarios named in a column ``scenario``, as in a run's tables (until December
    # 2026 told apart by nothing shown); summary.csv keeps the columns themselves
    table = with_scenario(sj.table)
    reps = pd.to_numeric(table.get("replications"), errors="coerce") if len(table) else None
    if reps is not None and (reps > 1).any():  # what the numbers and intervals are
        parts.append(f"Each job ran {looks.seeds_text(reps)} (`replications`): every number is "
                     "the mean over them, `<column>_ci95` the half-width of its Student-t 95 % "
                     "interval (the figures' error bars); each seed's rows are in the job's "
                     "`replications.csv`.\n")
    if len(table):
        keyed = ["job"] + [k for k in [*sj.varying, "scenario"] if k in table.columns]
        everyone = table[table["tenant"] == ALL] if "tenant" in table.columns else table
        rows = everyone if len(everyone) else table
        cols = keyed + [c for c in SHOW if c in table.columns]
        if "objective" in rows.columns:
            rows = rows.sort_values("objective", kind="stable")
        title = "Results (all tenants)" if rows is everyone else "Results"
        parts.append(f"## {title}\n\n" + md_table(rows[cols])
                     + (f"\n{notes['unpriced']}\n" if notes.get("unpriced") else ""))
        # every tenant's own row: its SLO and how much of its traffic met it (the busiest)
        slo = slo_by_tenant(table, keyed + [c for c in ("setup",) if c in table.columns])
        if len(slo):
            _, left = condense(table)
            warm = "window" in table.columns and (table["window"].astype(str) == "warmup").any()
            parts.append("## SLO attainment per tenant\n\n" + md_table(slo)
                         + (f"\n{left_out_note(left)}.\n" if left else "")
                         + ("\nMeasured window only (`metrics.warmup_s`); the warm-up rows "
                            "(`<tenant>@warmup`) are in summary.csv.\n" if warm else ""))
    if getattr(sj, "run_notes", {}):  # what each run changed or warns of (was in its report only)
        parts.append("## Notes of the jobs\n\n" + notes_of_jobs(sj.run_notes))
    bad = sj.jobs[sj.jobs["state"] != "done"] if len(sj.jobs) else sj.jobs
    if len(bad):
        parts.append("## Unfinished jobs\n\n" + md_table(bad))
    if figures:
        parts.append("## Figures\n")
        for f in figures:
            if f.endswith(".png"):
                parts.append(f"![{f}]({f})\n")
        x = x_key(sj)
        if x is not None and categorical(sj.table, x):
            parts.append(f"No break-evens: `{x}` names points, not a quantity to "
                         "interpolate along.\n")
        else:
            parts.append("Break-even points: [`breakeven.csv`](breakeven.csv).\n")
    return "\n".join(parts)
