"""Helpers for the study scripts in ``experiments/``: read a finished sweep, never simulate.

    python experiments/load/figures.py results/sweep_load/multirun_...   [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.curves import crossings
from sim.errors import ArgumentParser, InputError, folder_arg
from sim.sweep.aggregate import collect


def refuse(message: str):
    """A study script's input it cannot use: one line ``error: <message>``, exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def study_x(x, fits: bool, wanted: str, experiment: str):
    """``x`` (the key the sweep is drawn along) when it is this study's (``fits``); else the
    sweep is another study's: refused, naming ``wanted`` and the experiment that makes one."""
    if not fits:
        refuse(f"the sweep varies {x}, {wanted}: give a sweep of this study "
               f"(python -m sim -m experiment={experiment})")
    return x


def load_sweep(sweep_dir):
    """The aggregated sweep (``SweepJobs``) read from the job folders of ``sweep_dir``."""

    if not Path(sweep_dir).is_dir():
        refuse(f"{sweep_dir}: not a folder")
    try:
        sj = collect(Path(sweep_dir))
    except InputError as e:  # a job folder's file damaged since the sweep wrote it
        refuse(str(e))
    if sj.table.empty:
        refuse(f"{sweep_dir}: no finished job folders")
    from sim.metrics.summary import SUMMARY_COLUMNS

    lacking = [c for c in SUMMARY_COLUMNS if c not in sj.table.columns]
    if lacking:  # a study script's KeyError traceback, or a figure left out, unsaid
        refuse(f"{sweep_dir}: its jobs' summary.csv have no column {lacking[0]!r} (every run "
               "writes it: edited by hand, or of another program?); re-run the sweep in its folder")
    return sj


def _overrides_seen(sj) -> str:
    """The distinct overrides of ``sj``'s jobs, shortened."""
    col = sj.jobs["overrides"] if "overrides" in sj.jobs.columns else []
    seen = list(dict.fromkeys(str(o) or "none" for o in col))
    text = "; ".join(seen[:3]) + (f"; ... ({len(seen)} in all)" if len(seen) > 3 else "")
    return text[:300]


def _check_out(out: Path) -> None:
    """``--out`` a file, or under one: refused before the sweep is read (the figures ended in a
    NotADirectoryError traceback from sim/report/style.py until December 2026)."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                refuse(f"argument --out: {p}: not a folder"
                       + ("" if p == out else f" (--out {out} is under it)"))
            return


def cli(description: str):
    """Parse ``SWEEP_DIR [--out DIR]``; return (sweep, output folder)."""
    ap = ArgumentParser(description=description)
    ap.add_argument("sweep_dir", type=folder_arg, help="a sweep folder (python -m sim -m ...)")
    ap.add_argument("--out", type=folder_arg, default=None,
                    help="where plots/ go (default: the sweep folder)")
    args = ap.parse_args()
    if args.out is not None:
        _check_out(args.out)
    sj = load_sweep(args.sweep_dir)
    if "completed" in sj.table.columns and not sj.table["completed"].fillna(0).any():
        # every latency and per-token cost is undefined: axes with nothing on them (and the
        # x range lost) were drawn before, or nothing at all, unsaid
        print(f"note: {args.sweep_dir}: no job of the sweep completed a request (a horizon too "
              "short for its rates?): no latency or cost per token to draw, so no figure")
        raise SystemExit(0)
    from sim.report.sweep import x_key

    x = x_key(sj)
    if x is None:  # every figure is drawn along a swept key: a KeyError or AttributeError
        # traceback before (a job folder copied from another sweep, jobs of one overrides)
        refuse(f"{args.sweep_dir}: its jobs vary no key to draw along (each job's overrides: "
               f"{_overrides_seen(sj)}); give a sweep of this study (its README)")
    if x is not None and x in sj.table.columns and sj.table[x].nunique() < 2:  # a one-job
        # sweep: findings of NaN (no crossing, no limit) were printed unsaid (the fifteenth sweep)
        print(f"note: {args.sweep_dir}: the sweep has one value of {x}: each curve is one "
              "point, so no crossing, limit or trend along it can be read")
    return sj, (args.out or args.sweep_dir)


def first_crossing_up(x, y, level: float) -> float:
    """The first x at which the curve y rises through ``level`` (linear interpolation); the
    first x itself if the curve starts above (the limit is at or below the sweep's lowest
    point); NaN if it never rises above."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(y) and y[0] > level:
        return float(x[0])
    for xc in crossings(x, y, np.full_like(y, level)):
        return xc
    return float("nan")


def rows_all(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["tenant"] == "__all__"]
