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
(:func:`sim.sweep.aggregate.write_sweep`), from the job folders, not from these.
"""

from __future__ import annotations

import fcntl
import io
import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sim.io import FLOAT_FORMAT, atomic_write, read_csv_names, write_frame_csv

LOCK = ".aggregate.lock"


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


def merge_rows(path: Path, rows: pd.DataFrame, job: str) -> None:
    """Put ``rows`` (every one of job ``job``; ``job`` their first column) into the table at
    ``path`` in place of that job's earlier rows. Call it under :func:`locked`."""
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
    write_frame_csv(pd.concat([table, rows.astype({"job": str})], ignore_index=True), path)


def remove(sweep_dir: Path, names: tuple[str, ...]) -> None:
    """Delete the live tables ``names`` at the sweep root (a sweep starting in the folder);
    with none there, no lock file is made either (a folder given empty to a sweep refused
    before its first job kept an ``.aggregate.lock`` until December 2026)."""
    if not any((Path(sweep_dir) / name).exists() for name in names):
        return
    with locked(sweep_dir):
        for name in names:
            (Path(sweep_dir) / name).unlink(missing_ok=True)
