"""Whether a sweep folder's jobs add up to one table, as ``python -m sim.sweep`` reads them.

Two things the table cannot show: a job's ``summary.csv`` without a column every run writes
(a hand edit, another program's file), whose cells in the table are then empty, or the
table without that column at all when no job has it; and a job folder copied in from another
run, composed from another config than the sweep's, whose rows would stand as this sweep's
under its overrides. The first is said in a ``note:`` line (:func:`column_notes`), the
second refused (:func:`foreign_job`): each job's ``.hydra/config.yaml`` (Hydra's composed
config, before interpolation) may differ from the sweep's (the root's ``multirun.yaml``, or
else the first finished job's) only at the keys the jobs override.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.errors import InputError
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.sweep.jobfiles import load_yaml, read_overrides
from sim.sweep.resume import read_done


def _names(items: list[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


REPEAT = ("the overrides of job {first} again: the same point computed again (a sampler such "
          "as Optuna's proposing a point it had tried), drawn once in the sweep's figures")


def repeats(jobs: list[tuple[str, dict]]) -> tuple[list[str], dict[str, str]]:
    """The jobs (``jobs``: each job's name and overrides, in job order) that ran the very
    overrides of an earlier job, the same point computed again, as an Optuna sampler proposes
    a point it already tried (the two trials of a batch are asked before either's result: 5
    pairs in a 20-trial ``experiment=optimize``): one note counting them, and each one's
    note for summary.md's notes of the jobs. The figures draw each point once
    (:func:`sim.analysis.curves.curves`); until December 2026 the repeats went unsaid and
    were taken for a study's scenarios ("several rows a setup"), no figure drawn."""
    first: dict[str, str] = {}
    of: dict[str, str] = {}  # a repeating job -> the earlier job it repeats
    for job, ov in jobs:
        key = json.dumps(ov, sort_keys=True, default=str)
        if key in first:
            of[job] = first[key]
        else:
            first[key] = job
    if not of:
        return [], {}
    pairs = [f"{j} as {e}" for j, e in of.items()]
    return [f"{len(pairs)} job(s) ran the overrides of an earlier job ({_names(pairs)}): the "
            "same point computed again (a sampler such as Optuna's proposing a point it had "
            "tried); each point is drawn once in the sweep's figures"], \
        {j: REPEAT.format(first=e) for j, e in of.items()}


def column_notes(frames: list[pd.DataFrame]) -> list[str]:
    """One note per set of finished jobs whose ``summary.csv`` lacks columns every run
    writes (``frames``: each job's summary rows, ``job`` first); jobs without a summary
    table (blank ``summary.csv``) are left out."""
    tables = [s for s in frames if len(s.columns) > 1]
    lacking: dict[tuple[str, ...], list[str]] = {}
    for col in SUMMARY_COLUMNS:
        jobs = tuple(str(s["job"].iloc[0]) for s in tables if col not in s.columns and len(s))
        if jobs:
            lacking.setdefault(jobs, []).append(col)
    notes = []
    for jobs, cols in lacking.items():
        named = _names([repr(c) for c in cols])
        what = f"column{'s' * (len(cols) != 1)} {named}"
        if len(jobs) == len(tables):
            end = f"the table has no {what}"
        else:
            end = f"their cells in the table's {what} are empty"
        notes.append(f"note: {len(jobs)} of {len(tables)} finished jobs ({_names(list(jobs))}) "
                     f"{'has' if len(jobs) == 1 else 'have'} "
                     f"a summary.csv without {what}, which every run writes (edited by hand, or of "
                     f"another program?): {end}; re-run the sweep in its folder to recompute them")
    return notes


def _flat(d, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _explained(key: str, overridden: set[str]) -> bool:
    """Whether ``key`` lies at, under or above a key the jobs override."""
    return any(key == k or key.startswith(k + ".") or k.startswith(key + ".") for k in overridden)


def _choices(hydra_node) -> dict:
    """The config groups a config was composed with (``experiment: hybrid``), Hydra's own aside."""
    chosen = ((hydra_node or {}).get("runtime") or {}).get("choices") or {}
    return {k: v for k, v in chosen.items() if not str(k).startswith("hydra/")}


def foreign_job(sweep_dir: Path, dirs: list[Path]) -> InputError | None:
    """The first finished job of ``dirs`` composed from another config than the sweep's
    (a folder copied in from another run), as an error naming it and a key; None if none.
    A job composed with other config groups (``experiment=a,b``) is not compared: a group
    changes keys the overrides do not name."""
    root = load_yaml(sweep_dir / "multirun.yaml")
    jobs = [(d, read_overrides(d)) for d in dirs if read_done(d) is not None
            and (d / ".hydra" / "config.yaml").is_file()]
    if root:
        base, base_name, base_ov = root, "the sweep's (multirun.yaml)", {}
    elif jobs:
        base_name = f"job {jobs[0][0].name}"
        base, base_ov = load_yaml(jobs[0][0] / ".hydra" / "config.yaml"), jobs[0][1]
        base["hydra"] = load_yaml(jobs[0][0] / ".hydra" / "hydra.yaml").get("hydra")
    else:
        return None
    groups = _choices(base.get("hydra"))
    ref = _flat({k: v for k, v in base.items() if k != "hydra"})
    for d, ov in jobs:
        if _choices(load_yaml(d / ".hydra" / "hydra.yaml").get("hydra")) != groups:
            continue
        mine = _flat({k: v for k, v in load_yaml(d / ".hydra" / "config.yaml").items() if k != "hydra"})
        overridden = set(ov) | set(base_ov)
        for key in sorted(set(ref) | set(mine)):
            if ref.get(key) != mine.get(key) and not _explained(key, overridden):
                return InputError(
                    f"job {d.name} was composed from another config than {base_name}: "
                    f"{key} is {mine.get(key)!r} here, {ref.get(key)!r} there, and none of "
                    "its overrides sets it (a folder copied in from another run?); its rows "
                    "would stand as this sweep's: move it out, or re-run the sweep in its folder",
                    path=str(d / ".hydra" / "config.yaml"))
    return None
