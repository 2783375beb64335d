"""The comparison table printed at the end of a run."""

from __future__ import annotations

import math

import pandas as pd

from sim.analysis.signals import format_signals
from sim.report.condense import condense, left_out_note, with_scenario

QUIET_TABLES = {"replicas", "events", "replications", "signals"}
MAX_ROWS = 20

COLUMNS = [("setup", "setup"), ("tenant", "tenant"), ("requests", "req"), ("completed", "done"),
           ("ttft_p50_s", "TTFT p50"), ("ttft_p99_s", "TTFT p99"), ("tpot_p50_s", "TPOT p50"),
           ("cold_starts", "cold"), ("cost_usd", "cost $"), ("cost_per_mtok_out_usd", "$/M out"),
           ("slo_attainment", "SLO")]


TEXT = {"scenario", "setup", "tenant"}  # left-aligned; every other column is a number
COUNTS = {"requests", "completed", "rejected", "failed", "cold_starts", "spilled"}


def _fmt(col: str, v, unit_of: float | None = None) -> str:
    """A cell; ``unit_of``: the value whose unit a half-width takes (ms or s), so that
    ``102 ms ±33 ms`` and ``1.18 s ±0.15 s`` each say their unit."""
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if col.endswith("_s"):
            ms = (unit_of if unit_of is not None else v) < 1
            return f"{v * 1000:.0f} ms" if ms else f"{v:.2f} s"
        if col == "slo_attainment":
            return f"{100 * v:.1f}%"
        if col in COUNTS:  # a count; a mean over replications as summary.csv has it (2.5
            # was printed "2" until December 2026, beside summary.csv's 2.5)
            return f"{v:,.0f}" if v == int(v) else f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.1f}"
        return f"{v:,.2f}"
    return str(v)


def format_table(df: pd.DataFrame, columns=COLUMNS) -> str:
    cols = [(c, h) for c, h in columns if c in df.columns]
    def cell(c, r):
        text = _fmt(c, r[c])
        half = r.get(f"{c}_ci95")  # replications: the 95 % half-width
        if isinstance(half, float) and not math.isnan(half) and text != "-":
            text += " ±" + _fmt(c, half, unit_of=r[c])
        return text

    rows = [[cell(c, r) for c, _ in cols] for _, r in df.iterrows()]
    heads = [h for _, h in cols]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(heads)]
    text = [c in TEXT for c, _ in cols]
    line = lambda cells: "  ".join(c.ljust(w) if t else c.rjust(w)  # noqa: E731
                                   for c, w, t in zip(cells, widths, text))
    return "\n".join([line(heads), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _left(table: pd.DataFrame) -> dict:
    """Formatters left-aligning the text columns (pandas right-aligns every cell, so a long
    reason pushed its short neighbours to the far right of the terminal)."""
    out = {}
    for c in table.columns:
        # every cell a string (a categorical's `.map(...).all()` fails when it is empty)
        if pd.api.types.is_string_dtype(table[c]) and all(isinstance(v, str) for v in table[c]):
            w = max([len(str(c))] + [len(v) for v in table[c]])
            out[c] = lambda v, w=w: v.ljust(w)
    return out


def print_result(res, cfg) -> None:
    for name in res.tables:
        if name in res.full_tables:
            table = res.tables[name][res.full_tables[name]]
        elif name in QUIET_TABLES or res.tables.rows(name) > MAX_ROWS:
            continue  # in the run folder's CSV files (counted, not built)
        else:
            table = res.tables[name]
        print(f"\n{name}:")
        if not len(table):  # a study table nothing filled (a short horizon), not pandas' dump
            print("(no rows)")
            continue
        fmt = (lambda v: f"{v:.4g}") if name in res.full_tables else None
        print(table.to_string(index=False, float_format=fmt, formatters=_left(table)))
    if len(res.summary):
        print()
        cols = COLUMNS
        if "spilled" in res.summary and res.summary["spilled"].fillna(0).sum() > 0:
            cols = COLUMNS + [("spilled", "spilled")]  # hybrid: requests sent to the pool
        shown, left = condense(with_scenario(res.summary))
        if "scenario" in shown.columns:  # one run, several scenarios: each row says which
            cols = [("scenario", "scenario")] + cols
        print(format_table(shown, cols))
        if left:
            print(f"({left_out_note(left)})")
    sig = res.tables.get("signals")
    if sig is not None and len(sig):
        reps = res.tables.get("replications")  # a replicated run: signals are seed 0's alone
        n = reps["seed"].nunique() if reps is not None and "seed" in reps else 1
        of = (f", from seed {int(cfg.seed)}'s run of {n} (the table above: their means)"
              if n > 1 else "")  # its $/M differed from the table's mean, unsaid, until Dec 2026
        print(f"\nmigration signals (sim/analysis/signals.py) and the cheapest setup meeting each "
              f"SLO{of}:")
        simulated = (set(res.summary["setup"].astype(str)) if "setup" in res.summary.columns
                     else None)
        target = cfg.signals.get("slo_target")
        print(format_signals(sig, float(cfg.signals.slow_ttft_s), simulated=simulated,
                             target=None if target is None else float(target)))
    for note in res.notes:
        print(f"note: {note}")
    if res.out_dir:
        print(f"\nresults: {res.out_dir}")
