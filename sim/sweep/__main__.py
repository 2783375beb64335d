"""``python -m sim.sweep SWEEP_DIR``: (re)aggregate a sweep folder from its job folders."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.errors import (
    ArgumentParser,
    InputError,
    access_error,
    folder_arg,
    stdout_may_close,
)
from sim.sweep.aggregate import none_finished, write_sweep
from sim.sweep.consistency import foreign_job
from sim.sweep.jobrecord import job_dirs


def _refuse(message: str, folder: Path) -> int:
    print(f"error: {InputError(message, path=str(folder))}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    with stdout_may_close():  # | head
        ap = ArgumentParser(prog="python -m sim.sweep", description=__doc__)
        ap.add_argument("sweep_dir", type=folder_arg)
        args = ap.parse_args(argv)
        try:
            return _aggregate(args)
        except PermissionError as e:  # a file or folder of the sweep another user's (a traceback)
            print(f"error: {access_error(e)}", file=sys.stderr)
            return 2
        except InputError as e:  # the folder itself: its job record, a linked job folder
            print(f"error: {e}", file=sys.stderr)
            return 2


def _aggregate(args) -> int:
    if not args.sweep_dir.is_dir():
        return _refuse("not a folder", args.sweep_dir)
    if not job_dirs(args.sweep_dir, None):  # "0 rows from 0 of 0 jobs" was not an answer
        job = (args.sweep_dir / ".hydra" / "overrides.yaml").is_file()  # one job's own folder
        hint = (f"; it is one job's folder: give its sweep folder, {args.sweep_dir.resolve().parent}"
                if job else "")
        return _refuse("no job folder in it (a subfolder with .hydra/overrides.yaml, as a "
                       f"sweep's jobs have); nothing to aggregate{hint}", args.sweep_dir)
    try:
        if copied := foreign_job(args.sweep_dir, job_dirs(args.sweep_dir, None)):
            print(f"error: {copied}", file=sys.stderr)
            return 2
        sj = write_sweep(args.sweep_dir)
    except InputError as e:  # a job folder's file damaged since the sweep wrote it
        print(f"error: {e} (re-run the sweep in its folder to recompute the job)", file=sys.stderr)
        return 2
    status = none_finished(sj, args.sweep_dir)  # "0 rows from 0 of 2 jobs", exit 0, before
    if status is not None:
        return status
    done = int((sj.jobs["state"] == "done").sum())
    for note in sj.column_notes:
        print(note)
    print(f"{len(sj.table)} rows from {done} of "
          f"{len(sj.jobs)} jobs -> {args.sweep_dir / 'summary.csv'}, {args.sweep_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
