"""Resuming a sweep without composing its finished jobs.

Every launcher composes a job's config before running it (about 0.25 s here): joblib in its
workers, Ray in the launching process, one job after the other (resuming a 500-job Ray sweep
spent about nine minutes reading finished jobs back). The default sweeper
(``hydra_plugins/servesim_sweeper``) asks :func:`launch_unfinished` instead of the launcher:
a job whose folder holds a ``done.json`` with the ``job_key`` its overrides give now
(:func:`sim.sweep.resume.job_key`: the config's name, the job's overrides and the config
sources' contents) is read back from its folder, not launched and not composed anywhere;
the others go to the launcher, one call per run of consecutive job numbers, so every job
keeps its number and folder. A job the key does not vouch for (a ``done.json`` written before
keys, another sweep subfolder pattern, ``output.resume`` among its overrides) is launched
and, as before, compares the digest of its composed config (:mod:`sim.sweep.resume`).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable, Sequence

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from sim.errors import InputError, WorkerLost
from sim.sweep.aggregate import AggregateSweep, add_to_live_tables, read_job
from sim.sweep.jobfiles import tables_of
from sim.sweep.jobrecord import record_jobs
from sim.sweep.resume import (
    DONE,
    ERROR,
    job_key,
    missing_outputs,
    read_done,
    read_table,
    record_failure,
)

Launch = Callable[[Sequence[Sequence[str]], int], Sequence[JobReturn]]


def _job_dir(config, num: int) -> Path | None:
    """Job ``num``'s folder, when the sweep numbers its folders (Hydra's default subdir)."""
    sweep = config.hydra.sweep
    if OmegaConf.to_container(sweep, resolve=False).get("subdir") != "${hydra.job.num}":
        return None
    return Path(str(sweep.dir)) / str(num)


def finished_jobs(config, batch: Sequence[Sequence[str]], first: int) -> dict[int, dict]:
    """The jobs of ``batch`` (numbered from ``first``) that finished earlier in their folders
    with the config they would compose now: job number -> its ``done.json``."""
    if not OmegaConf.select(config, "output.resume", default=True):
        return {}
    hc = config.hydra
    out = {}
    for i, overrides in enumerate(batch):
        d = _job_dir(config, first + i)
        if d is None:
            return {}
        if any(o.lstrip("+~").split("=", 1)[0] in ("output", "output.resume") for o in overrides):
            continue
        done = read_done(d)
        if (done is not None and done.get("job_key") and (d / "summary.csv").is_file()
                and (d / ".hydra" / "overrides.yaml").is_file()
                and done["job_key"] == job_key(hc.job.config_name, overrides,
                                               hc.runtime.config_sources)
                and _reads_back(d)):
            out[first + i] = done
    return out


def _reads_back(d: Path) -> bool:
    """Whether a finished job's files read back: a copy damaged since (a summary.csv cut
    short, a config.yaml hand-edited) is launched, and the job says so as it computes again
    (:func:`sim.sweep.resume.load_finished`)."""
    try:
        read_job(d)
    except InputError:
        return False
    done = read_done(d) or {}
    files = done.get("files")
    if not isinstance(files, list):
        return True
    if missing_outputs(d, files):
        return False
    try:  # its other tables as a resumed run reads them back (until December 2026 only
        # summary.csv and replications.csv: a keepalive.csv cut at a line read back short)
        for f in tables_of(files):
            if f != "summary.csv":
                read_table(d / f, done)
    except InputError:
        return False
    return True


def _aggregating(config) -> bool:
    """Whether the sweep keeps the live sweep-root tables (the AggregateSweep callback)."""
    target = f"{AggregateSweep.__module__}.{AggregateSweep.__name__}"
    return any(str(c.get("_target_")) == target and c.get("enabled", True) is not False
               for c in (OmegaConf.select(config, "hydra.callbacks") or {}).values())


def read_back(config, batch: Sequence[Sequence[str]], first: int,
              finished: dict[int, dict]) -> dict[int, JobReturn]:
    """The finished jobs as the launcher would have returned them. Each one's folder counts
    as part of this sweep (its ``.hydra/overrides.yaml`` touched: the sweep's end aggregates
    the folders this sweep wrote), its rows go into the live tables, one line is printed."""
    sweep_dir = Path(str(config.hydra.sweep.dir))
    live = _aggregating(config)
    out = {}
    for num, done in sorted(finished.items()):
        d = _job_dir(config, num)
        overrides = list(batch[num - first])
        os.utime(d / ".hydra" / "overrides.yaml")
        if live:
            add_to_live_tables(d, sweep_dir)
        print(f"job {num} ({' '.join(overrides)}): already finished (read back, not composed)")
        out[num] = JobReturn(overrides=overrides, working_dir=str(d),
                             task_name=str(config.hydra.job.name), status=JobStatus.COMPLETED,
                             _return_value=done.get("objective"))
    return out


def launch_unfinished(launch: Launch, config, batch: Sequence[Sequence[str]], first: int,
                      finished: dict[int, dict]) -> list[JobReturn]:
    """Read the ``finished`` jobs of ``batch`` back and ``launch`` the others, each run of
    consecutive job numbers in one call; the returns in job order. Numbered job folders:
    the sweep's job count so far is recorded at its root first (what its end aggregates)."""
    if _job_dir(config, first) is not None:
        for num in range(first, first + len(batch)):
            refuse_job_folder(_job_dir(config, num), num)
        record_jobs(Path(str(config.hydra.sweep.dir)), first + len(batch))
    out = read_back(config, batch, first, finished)
    start = 0
    while start < len(batch):
        if first + start in finished:
            start += 1
            continue
        stop = start
        while stop < len(batch) and first + stop not in finished:
            stop += 1
        t0 = time.time_ns()
        try:
            returned = launch(batch[start:stop], first + start)
        except KeyboardInterrupt:
            _fill_live_tables(config, range(first + start, first + stop), t0)
            raise
        except Exception as e:  # joblib's loky, as a worker process died (SIGKILL, the OOM killer)
            if type(e).__name__ != "TerminatedWorkerError":
                raise
            _fill_live_tables(config, range(first + start, first + stop), t0)
            raise _worker_lost(config, range(first + start, first + stop), t0, str(e)) from None
        out.update(zip(range(first + start, first + stop), returned))
        start = stop
    return [out[first + i] for i in range(len(batch))]


def _fill_live_tables(config, nums: range, t0_ns: int) -> None:
    """The jobs of ``nums`` that wrote their ``done.json`` since ``t0_ns`` into the live
    sweep-root tables, as the sweep stops: a job adds its own row after its ``done.json``
    (Hydra's ``on_job_end``, once the job has returned), so one stopped in between (about
    25 ms) was finished but missing from ``jobs.csv`` and ``summary.csv`` until December 2026."""
    if not _aggregating(config):
        return
    sweep_dir = Path(str(config.hydra.sweep.dir))
    for num in nums:
        d = _job_dir(config, num)
        if d is None or not (d / ".hydra" / "overrides.yaml").is_file():
            continue
        done = d / DONE
        if done.is_file() and done.stat().st_mtime_ns >= t0_ns and read_done(d) is not None:
            add_to_live_tables(d, sweep_dir)


def refuse_job_folder(d: Path, num: int) -> None:
    """Job ``num``'s folder ``d`` as a link or a file: an InputError before any job of the
    batch starts. Until December 2026 a job folder linked to another (``1 -> 0``) was computed
    through the link over that folder's results, which were lost, unsaid (exit 0), and a file
    in its place stopped the sweep at Hydra's mkdir, after a note calling it a user's file."""
    if d.is_symlink():
        raise InputError(f"job {num}'s folder is a link (to {os.readlink(d)}): the job would "
                         "write through it, over what is there; the sweep stops before "
                         "launching its jobs: put the folder itself there, or remove the "
                         f"link to compute job {num} again", path=str(d))
    if d.exists() and not d.is_dir():
        raise InputError(f"job {num}'s folder is a file, not a folder: the sweep cannot write "
                         "the job there and stops before launching its jobs; move the file "
                         "away and re-run", path=str(d))


def _worker_lost(config, nums: range, t0_ns: int, why: str) -> WorkerLost:
    """The jobs of ``nums`` that started at or after ``t0_ns`` (Hydra wrote their
    ``.hydra/overrides.yaml``) and wrote neither ``done.json`` nor ``error.txt`` since: marked
    in ``error.txt``, as an interrupt marks them, so a re-run redoes them."""
    # joblib's set of exit codes, {SIGKILL(-9)} (printed as it is until December 2026)
    codes = re.search(r"exit codes of the workers are \{(.*?)\}", why)
    how = "; ".join(f"{name}, exit code {code}" for name, code in
                    re.findall(r"(\w+)\((-?\d+)\)", codes.group(1) if codes else "")) or "killed"
    marked = []
    for num in nums:
        d = _job_dir(config, num)
        started = d is not None and (d / ".hydra" / "overrides.yaml").is_file()
        if not started or (d / ".hydra" / "overrides.yaml").stat().st_mtime_ns < t0_ns:
            continue
        if any((d / f).is_file() and (d / f).stat().st_mtime_ns >= t0_ns for f in (DONE, ERROR)):
            continue
        record_failure(d, f"interrupted: a worker process of the launcher ended ({how}: the "
                          "OS killed it, out of memory or a signal) before the run finished; "
                          "re-run to redo it")
        marked.append(num)
    said = (f"job{'s' * (len(marked) != 1)} {', '.join(map(str, marked))} marked in error.txt"
            if marked else "no job in flight found to mark")
    return WorkerLost(f"a worker process of the sweep's launcher ended ({how}: the OS killed "
                      "it, out of memory or a signal); the sweep stopped: finished jobs keep "
                      f"their done.json, unfinished ones have none ({said}); re-run the same "
                      f"command with hydra.sweep.dir={config.hydra.sweep.dir} to resume")
