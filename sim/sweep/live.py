"""The sweep-root tables kept up to date while the sweep runs.

Each job, as it ends (Hydra's ``on_job_end``, run in the job's own process whatever the
launcher), adds its rows to the sweep root's ``summary.csv`` and its state to ``jobs.csv``:
a sweep of hours can be read, plotted or stopped half-way. Jobs end at the same time in
parallel processes (joblib workers, Ray workers, SLURM nodes), so each update holds an
exclusive lock (``fcntl.flock`` on ``.aggregate.lock`` at the sweep root) from reading the
table to renaming the new one into place; readers never see a half-written file
(:func:`sim.io.atomic_write`).

The common case costs one text append: the job's rows have the table's columns and the job
is not in it yet. A job with other columns (another set of overrides, another job type), or
one already in the table (a sweep re-run in its folder), goes through pandas: its old rows
dropped, the columns aligned. Rows are in the order jobs ended; when the sweep ends the
tables are rewritten whole, in job order, with the sweep's figures
(:func:`sim.sweep.aggregate.write_sweep`), from the job folders, not from these. Both put
the columns in one order (:func:`column_order`), whichever jobs the table holds, so the
live header is the end's with the columns no finished job has yet left out.
"""

from __future__ import annotations

import fcntl
import io
import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException

from sim.io import FLOAT_FORMAT, atomic_write, read_csv_names, write_frame_csv
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.sweep.jobfiles import load_yaml

LOCK = ".aggregate.lock"
# the columns the sweep adds to each job's rows (sim/sweep/aggregate.py: read_job)
SWEEP_COLUMNS = ("list_price_usd_per_mtok_out", "objective")


def _other_rank(col: str) -> tuple:
    """Where a column neither every run writes nor the sweep adds goes: a ``_ci95`` of a
    replicated run's summary column after the others of its kind, in SUMMARY_COLUMNS
    order; a column some runs alone write (``cost_spot_usd``) after those, by name, each
    ``_ci95`` right after its own column."""
    base = col.removesuffix("_ci95")
    at = SUMMARY_COLUMNS.index(base) if base in SUMMARY_COLUMNS else len(SUMMARY_COLUMNS)
    return at, base, col != base


def column_order(columns, keys) -> list[str]:
    """The sweep-root ``summary.csv``'s columns in the order both the live table and the
    sweep's end write them: ``job``, the override columns ``keys`` (the keys that vary
    across the sweep first), the summary columns every run writes (SUMMARY_COLUMNS), the
    others (:func:`_other_rank`), then the sweep's own (:data:`SWEEP_COLUMNS`). It depends
    on the set of columns alone, not on the order jobs bring them: until December 2026
    each table took them in the order it met them, the live one as jobs ended, and
    ``cost_spot_usd`` stood after ``list_price_usd_per_mtok_out`` in one, before it in the
    other."""
    cols = list(columns)
    head = ["job", *[k for k in keys if k in cols and k != "job"]]
    fixed = [c for c in SUMMARY_COLUMNS if c in cols and c not in head]
    tail = [c for c in SWEEP_COLUMNS if c in cols and c not in head]
    taken = {*head, *fixed, *tail}
    return head + fixed + sorted((c for c in cols if c not in taken), key=_other_rank) + tail


def swept_keys(sweep_dir: Path) -> set[str]:
    """The keys the sweep in ``sweep_dir`` gives more than one value (its ``multirun.yaml``:
    the command's sweeps, ``seed=0,1``, and the sweeper's ``params``, Optuna's search
    space): the ones its tables show first, known as the first job ends."""
    hydra = load_yaml(Path(sweep_dir) / "multirun.yaml").get("hydra") or {}
    params = (hydra.get("sweeper") or {}).get("params") or {}
    lines = [str(o) for o in (hydra.get("overrides") or {}).get("task") or []]
    lines += [f"{k}={v}" for k, v in params.items()] if isinstance(params, dict) else []
    try:
        parsed = OverridesParser.create().parse_overrides(lines)
    except OverrideParseException:  # not as Hydra wrote it: the keys in the job's order
        return set()
    return {o.key_or_group for o in parsed if o.is_sweep_override()
            and (not o.is_discrete_sweep() or len(set(o.sweep_string_iterator())) > 1)}


@contextmanager
def locked(sweep_dir: Path):
    """Hold the sweep root's lock (an exclusive ``flock``) for the duration."""
    fd = os.open(Path(sweep_dir) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _csv_text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format=FLOAT_FORMAT)
    return buf.getvalue()


def merge_rows(path: Path, rows: pd.DataFrame, job: str, keys: list[str] | None = None) -> None:
    """Put ``rows`` (every one of job ``job``; ``job`` their first column) into the table at
    ``path`` in place of that job's earlier rows; given the override columns ``keys`` (a
    summary table), the columns in :func:`column_order`. Call it under :func:`locked`."""
    if keys is not None:
        rows = rows[column_order(rows.columns, keys)]
    text = _csv_text(rows)
    header, _, body = text.partition("\n")
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = ""
    if not old:
        atomic_write(path, lambda p: p.write_text(text))
        return
    old_header = old.partition("\n")[0]
    present = f"\n{job}," in "\n" + old.partition("\n")[2]
    if old_header == header and not present:
        atomic_write(path, lambda p: p.write_text(old + body))
        return
    table = read_csv_names(old)  # a tenant named NA stays NA (was emptied on a re-run)
    table = table[table["job"] != str(job)]
    table = pd.concat([table, rows.astype({"job": str})], ignore_index=True)
    if keys is not None:
        table = table[column_order(table.columns, keys)]
    write_frame_csv(table, path)


def remove(sweep_dir: Path, names: tuple[str, ...]) -> None:
    """Delete the live tables ``names`` at the sweep root (a sweep starting in the folder);
    with none there, no lock file is made either (a folder given empty to a sweep refused
    before its first job kept an ``.aggregate.lock`` until December 2026)."""
    if not any((Path(sweep_dir) / name).exists() for name in names):
        return
    with locked(sweep_dir):
        for name in names:
            (Path(sweep_dir) / name).unlink(missing_ok=True)
