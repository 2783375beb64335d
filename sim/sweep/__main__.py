"""``python -m sim.sweep SWEEP_DIR``: (re)aggregate a sweep folder from its job folders."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.errors import ArgumentParser
from sim.sweep.aggregate import job_dirs, write_sweep


def main(argv=None) -> int:
    ap = ArgumentParser(prog="python -m sim.sweep", description=__doc__)
    ap.add_argument("sweep_dir", type=Path)
    args = ap.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"error: {args.sweep_dir}: not a folder", file=sys.stderr)
        return 2
    if not job_dirs(args.sweep_dir, None):  # "0 rows from 0 of 0 jobs" was not an answer
        print(f"error: {args.sweep_dir}: no job folder in it (a subfolder with "
              ".hydra/overrides.yaml, as a sweep's jobs have); nothing to aggregate", file=sys.stderr)
        return 2
    sj = write_sweep(args.sweep_dir)
    print(f"{len(sj.table)} rows from {int((sj.jobs['state'] == 'done').sum())} of "
          f"{len(sj.jobs)} jobs -> {args.sweep_dir / 'summary.csv'}, {args.sweep_dir / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
