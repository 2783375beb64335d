"""Which job folders belong to the sweep last run in a folder: a sweep re-run where an earlier
one left other job folders aggregates its own alone (its end and ``python -m sim.sweep``).

The default sweeper records its job count before each batch (:mod:`sim.sweep.skip`), an
Optuna sweep its ``n_trials`` as it starts, and a sweep whose job folders are not named by
job number lists each folder as its job starts; without a record (another sweeper), a job
folder written before the sweep started is not part of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from omegaconf import OmegaConf

from sim.errors import InputError
from sim.io import atomic_write
from sim.sweep.jobfiles import load_yaml
from sim.textfiles import require_file

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


# the most jobs a record may count (an assumption: a thousand times the 500-job sweeps the
# launchers are measured on, README "Sweeps"); a count above it is a damaged record, whose
# missing jobs would otherwise be listed one by one (100,000,000 ran the memory out)
MAX_RECORDED_JOBS = 500_000


def _record(sweep_dir: Path) -> dict:
    """The record :func:`record_jobs` or :func:`start_record` left (``{}`` if none). One that
    does not read as either (not a regular file of JSON, a count that is not a whole number
    from 0 to :data:`MAX_RECORDED_JOBS`) is an InputError naming the file: until December
    2026 it was taken as absent, unsaid, and ``{"jobs": 100000000}`` listed a hundred
    million missing jobs until the memory ran out."""
    path = Path(sweep_dir) / JOBS_RECORD
    if not path.exists() and not path.is_symlink():
        return {}
    fix = "; delete it to aggregate every job folder there"
    require_file(path, "the sweep's job record")  # not a FIFO or a device: one line
    if path.stat().st_size > 1 << 20:  # the sweep writes a count or a list of folder names
        raise InputError(f"not a sweep job record (over 1 MB){fix}", path=str(path))
    try:
        rec = json.loads(path.read_bytes())
    except OSError as e:
        raise InputError(f"cannot read the sweep's job record ({e.strerror}){fix}", path=str(path)) from None
    except (ValueError, RecursionError):
        rec = None
    n, folders = (rec.get("jobs"), rec.get("folders")) if isinstance(rec, dict) else (None, None)
    if not (isinstance(rec, dict) and len(rec) == 1
            and (type(n) is int and n >= 0 or isinstance(folders, list)
                 and all(isinstance(x, str) for x in folders))):
        raise InputError('not a sweep job record ({"jobs": COUNT} or {"folders": [NAMES]}, '
                         f"as the sweep writes it){fix}", path=str(path))
    if n is not None and n > MAX_RECORDED_JOBS:
        raise InputError(f"records {n:,} jobs, more than a sweep is taken to have "
                         f"({MAX_RECORDED_JOBS:,}){fix}", path=str(path))
    return rec


def recorded_jobs(sweep_dir: Path) -> int | None:
    """The job count :func:`record_jobs` left in ``sweep_dir``; None if none."""
    return _record(sweep_dir).get("jobs")


def recorded_folders(sweep_dir: Path) -> list[str] | None:
    """The job folders (not named by job number) that the sweep last started in ``sweep_dir``
    listed as each began (:meth:`AggregateSweep.on_job_start`); None if no such record."""
    return _record(sweep_dir).get("folders")


def job_dirs(sweep_dir: Path, since: float | None) -> list[Path]:
    dirs = [d for d in sweep_dir.iterdir() if d.is_dir() and (d / ".hydra" / "overrides.yaml").is_file()]
    for d in dirs:  # its rows would be the linked folder's, under another job's name
        if d.is_symlink():
            raise InputError(f"a job folder that is a link (to {os.readlink(d)}): its rows "
                             "would be the folder it points to, twice when that is a job "
                             "of the sweep; put the folder itself there, or remove the link",
                             path=str(d))
    n, listed = recorded_jobs(sweep_dir), recorded_folders(sweep_dir)
    if n is not None:  # the last sweep's own jobs, whatever the clock says
        dirs = [d for d in dirs if d.name.isdigit() and int(d.name) < n]
    elif listed is not None:
        dirs = [d for d in dirs if d.name in set(listed)]
    elif since is not None:
        dirs = [d for d in dirs
                if (d / ".hydra" / "overrides.yaml").stat().st_mtime >= since - _STALE_TOLERANCE_S]
    return sorted(dirs, key=_job_order)


def _job_order(d: Path) -> tuple:
    """Job folders in job order: a folder named by its job number by that; one named otherwise
    (``hydra.sweep.subdir=trial_${hydra.job.num}``) by the ``hydra.job.num`` its
    ``.hydra/hydra.yaml`` records (until December 2026 by name: trial_0, trial_1, trial_10,
    trial_2, ... in the root tables), then by name (none recorded, or not readable)."""
    if d.name.isdigit():
        return 0, int(d.name), ""
    try:
        num = ((load_yaml(d / ".hydra" / "hydra.yaml").get("hydra") or {}).get("job") or {}).get("num")
    except (InputError, AttributeError):  # not YAML, or not of Hydra's shape: by name
        num = None
    return (1, num, d.name) if type(num) is int else (2, 0, d.name)


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
                or p.is_dir() and not p.is_symlink() and (p.name.isdigit() or (p / ".hydra").is_dir()))
    # a numbered one that is not a folder stands where that job's folder goes: the sweep
    # stops as it reaches that job (sim/sweep/skip.py), naming it
    return sorted(p.name + (" (a file or link where a job's folder goes)" if p.name.isdigit() else "")
                  for p in sweep_dir.iterdir() if not ours(p))
