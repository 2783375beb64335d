"""``report.md``: the run's question, its tables and its figures."""

from __future__ import annotations

import math

import pandas as pd
from omegaconf import OmegaConf

from sim.report.condense import condense, left_out_note, with_scenario
from sim.report.question import question_line

MAX_TABLE_ROWS = 40


def md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    if df.empty:
        return "_(empty)_\n"
    cols = list(df.columns)
    out = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float):
                cells.append("-" if math.isnan(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def setups_line(res, cfg) -> str:
    """The setups the report's rows come from: ``setups`` as given, unless the summary has
    rows of runs it does not list (a job that chooses its own setups: ``experiment=compound``
    said "setups ['serverless']" above its five bursty runs until December 2026); then the
    runs as the summary names them."""
    given = [str(s) for s in cfg.setups]
    s = res.summary
    ran = list(dict.fromkeys(str(x) for x in s["setup"])) if "setup" in s.columns else []
    if set(ran) <= set(given):
        return f"setups {given}"
    return f"setups {ran} (as the summary names its runs)"


def header_line(res, cfg, reads: tuple | None = None) -> str:
    """The job, its seeds, horizon, engine and setups; of these only the ``reads`` (the
    top-level keys of the run's config the job reads; None: all). ``experiment=calibration``,
    which reads none of them (and refuses them given), said "seed 0, horizon 600 s, engine
    fluid, setups ['dedicated']" until December 2026."""
    reps = int(cfg.replications or 1)  # its summary is the mean over them: not "seed 0"
    seeds = f"seed {cfg.seed}" if reps == 1 else \
        f"seeds {cfg.seed}..{cfg.seed + reps - 1} ({reps} replications)"
    items = [(f"Job `{cfg.job}`", None), (seeds, "seed"),
             (f"horizon {cfg.horizon_s:g} s", "horizon_s"),
             (f"engine `{OmegaConf.select(cfg, 'engine')}`", "engine"),
             (setups_line(res, cfg), "setups")]
    shown = [text for text, key in items if key is None or reads is None or key in reads]
    if reps > 1 and reads is not None and "seed" not in reads:
        shown.insert(1, f"{reps} replications")
    return ", ".join(shown) + ".\n"


def run_report(res, cfg, reads: tuple | None = None) -> str:
    """``report.md``; ``reads``: the top-level keys the job reads (:func:`header_line`)."""
    notes = OmegaConf.to_container(cfg.notes, resolve=True) if cfg.notes else {}
    parts = [f"# servesim run: {cfg.name}\n"]
    question = question_line(notes)
    if question:
        parts.append(question)
    parts.append(header_line(res, cfg, reads))
    if len(res.summary):
        summary = with_scenario(res.summary)  # several scenarios in one run: which row is which
        keep = [c for c in ("scenario", "setup", "tenant", "replications", "requests", "completed",
                            "rejected", "failed", "ttft_p50_s", "ttft_p99_s", "ttft_p99_s_ci95",
                            "tpot_p50_s", "e2e_p99_s", "cold_starts", "cost_usd",
                            "cost_usd_ci95", "cost_per_mtok_out_usd",
                            "cost_per_mtok_out_usd_ci95", "busy_fraction", "slo_attainment")
                if c in summary.columns]
        shown, left = condense(summary)
        parts.append("## Summary\n\n" + md_table(shown[keep])
                     + (f"\n{left_out_note(left)}.\n" if left else "")
                     + "\nAll columns: [`summary.csv`](summary.csv).\n")
    if res.notes:
        parts.append("## Notes\n\n" + "\n".join(f"- {n}" for n in res.notes) + "\n")
    figs = [f for f in res.figures if f.endswith(".png")]
    if figs:
        parts.append("## Figures\n")
    for f in figs:
        parts.append(f"![{f}]({f})\n\n(vector: [{f[:-4]}.svg]({f[:-4]}.svg))\n")
    for name in res.tables:
        n = res.tables.rows(name)  # counted, not built
        if name in res.full_tables:
            table = res.tables[name][res.full_tables[name]]
            parts.append(f"## {name}\n\n{md_table(table, '.4g')}"
                         f"\nAll columns: [`{name}.csv`]({name}.csv).\n")
        elif n > MAX_TABLE_ROWS:  # long tables stay in their CSV
            parts.append(f"## {name}\n\n{n} rows: see [`{name}.csv`]({name}.csv).\n")
        else:
            parts.append(f"## {name}\n\n{md_table(res.tables[name])}")
    return "\n".join(parts)


NOTES_SHOWN = 5  # of each job's notes in a sweep's summary.md; the rest are in its report.md


def notes_of_jobs(said: dict) -> str:
    """A sweep's job notes (job -> its report's notes) as markdown lines: each text once with
    the jobs that said it, the first :data:`NOTES_SHOWN` of a job's, and how many more."""
    by_text: dict[str, list[str]] = {}
    for job, notes in said.items():
        for n in notes[:NOTES_SHOWN]:
            by_text.setdefault(n, []).append(str(job))
    lines = [f"- job{'s' if len(js) > 1 else ''} {', '.join(js)}: {n}" for n, js in by_text.items()]
    lines += [f"- job {j}: {len(ns) - NOTES_SHOWN} more in `{j}/report.md`"
              for j, ns in said.items() if len(ns) > NOTES_SHOWN]
    return "\n".join(lines) + "\n"
