"""Which job folders belong to the sweep last run in a folder: a sweep re-run where an earlier
one left other job folders aggregates its own alone (its end and ``python -m sim.sweep``).

The default sweeper records its job count before each batch (:mod:`sim.sweep.skip`), an
Optuna sweep its ``n_trials`` as it starts, and a sweep whose job folders are not named by
job number lists each folder as its job starts; without a record (another sweeper), a job
folder written before the sweep started is not part of it.
"""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from sim.io import atomic_write

# the number of jobs of the sweep last run in the folder (its folders 0 .. n-1), written by
# the default sweeper before each batch (sim/sweep/skip.py), or from Optuna's n_trials as a
# sweep starts in a folder: its end and ``python -m sim.sweep`` aggregate those folders alone,
# whenever an earlier sweep there wrote others
JOBS_RECORD = ".sweep_jobs.json"
# without that record (another sweeper), a job folder rewritten before the sweep started
# is not part of it; the tolerance absorbs clock skew between nodes
_STALE_TOLERANCE_S = 60.0


def record_jobs(sweep_dir: Path, n: int) -> None:
    """Record that the sweep running in ``sweep_dir`` has jobs 0 .. ``n``-1 so far."""
    atomic_write(Path(sweep_dir) / JOBS_RECORD, lambda p: p.write_text(json.dumps({"jobs": n}) + "\n"))


def _record(sweep_dir: Path) -> dict:
    try:
        rec = json.loads((Path(sweep_dir) / JOBS_RECORD).read_bytes())
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def recorded_jobs(sweep_dir: Path) -> int | None:
    """The job count :func:`record_jobs` left in ``sweep_dir``; None if none (or unreadable)."""
    n = _record(sweep_dir).get("jobs")
    return n if type(n) is int and n >= 0 else None


def recorded_folders(sweep_dir: Path) -> list[str] | None:
    """The job folders (not named by job number) that the sweep last started in ``sweep_dir``
    listed as each began (:meth:`AggregateSweep.on_job_start`); None if no such record."""
    f = _record(sweep_dir).get("folders")
    return f if isinstance(f, list) and all(isinstance(x, str) for x in f) else None


def job_dirs(sweep_dir: Path, since: float | None) -> list[Path]:
    dirs = [d for d in sweep_dir.iterdir() if d.is_dir() and (d / ".hydra" / "overrides.yaml").is_file()]
    n, listed = recorded_jobs(sweep_dir), recorded_folders(sweep_dir)
    if n is not None:  # the last sweep's own jobs, whatever the clock says
        dirs = [d for d in dirs if d.name.isdigit() and int(d.name) < n]
    elif listed is not None:
        dirs = [d for d in dirs if d.name in set(listed)]
    elif since is not None:
        dirs = [d for d in dirs
                if (d / ".hydra" / "overrides.yaml").stat().st_mtime >= since - _STALE_TOLERANCE_S]
    return sorted(dirs, key=lambda d: (0, int(d.name), "") if d.name.isdigit() else (1, 0, d.name))


def start_record(sweep_dir: Path, config) -> None:
    """As a sweep starts again in ``sweep_dir`` (its old record removed): Optuna runs trials
    0 .. n_trials-1, so that count is recorded (the default sweeper records its own as it
    goes); job folders named otherwise start an empty list, each job adding its own
    (:func:`add_folder`)."""
    trials = OmegaConf.select(config, "hydra.sweeper.n_trials", default=None)
    numbered = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if type(trials) is int and trials >= 0 and numbered == "${hydra.job.num}":
        record_jobs(sweep_dir, trials)
    elif isinstance(numbered, str) and numbered and numbered != "${hydra.job.num}":
        atomic_write(sweep_dir / JOBS_RECORD, lambda p: p.write_text(json.dumps({"folders": []}) + "\n"))


def add_folder(sweep_dir: Path, name: str) -> None:
    """Add job folder ``name`` to the list :func:`start_record` began (nothing without one);
    the caller holds the sweep root's lock."""
    listed = recorded_folders(sweep_dir)
    if listed is not None and name not in listed:
        atomic_write(sweep_dir / JOBS_RECORD, lambda p: p.write_text(
            json.dumps({"folders": [*listed, name]}) + "\n"))


# what a sweep writes at its folder's root (sim/sweep/aggregate.py, study.py, Hydra's own
# multirun.yaml, the Optuna sweeper's results), beside its job folders and hidden records
SWEEP_ROOT_NAMES = frozenset({"summary.csv", "summary.md", "report.md", "jobs.csv", "command.txt",
                              "breakeven.csv", "replications.csv", "plots", "multirun.yaml",
                              "optimization_results.yaml"})


def foreign_entries(sweep_dir: Path) -> list[str]:
    """The entries at ``sweep_dir``'s root that no sweep writes (a user's own files): a sweep
    run there writes beside them and leaves them as they are, which went unsaid until the
    twentieth hostile-input sweep (December 2026)."""
    def ours(p: Path) -> bool:
        return (p.name.startswith(".") or p.name in SWEEP_ROOT_NAMES
                or p.is_dir() and (p.name.isdigit() or (p / ".hydra").is_dir()))
    return sorted(p.name for p in sweep_dir.iterdir() if not ours(p))
