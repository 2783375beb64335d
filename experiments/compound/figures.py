"""Compound pipelines: redraw the run's figures from its folder (no simulation).

    python experiments/compound/figures.py RUN_DIR [--out DIR]

RUN_DIR is a folder written by ``python -m sim experiment=compound`` (it holds
``chain_stages.csv`` and ``pipelines.csv``). Writes plots/pipeline_waterfall.* and
plots/pipeline_latency_cdf.* under --out (default RUN_DIR) and prints the cold-chain table
and the bursty comparison.
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.errors import ArgumentParser, InputError
from sim.report.pipelines import latency_cdf, waterfall
from sim.sweep.jobfiles import read_frame

# what the figures read of each file (python -m sim experiment=compound writes them): a copy
# cut short, emptied, binary, missing one or holding text where a number goes ended in a
# traceback, or was drawn from the rows before the cut, unsaid (the twenty-first sweep)
READS = {"chain_stages.csv": (("scenario", "setup", "stage", "model", "tier", "outcome"),
                              ("arrival_s", "admit_s", "first_token_s", "finish_s",
                               "cold_start_wait_s", "cold_wait_critical_s")),
         "pipelines.csv": (("setup", "outcome"), ("e2e_s",))}


def _read(run: Path, name: str) -> pd.DataFrame:
    """``run``'s ``name`` as the figures read it; a file they cannot use: one line, exit 2."""
    text, numbers = READS[name]
    try:
        df = read_frame(run / name, name, (*text, *numbers), numbers)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if df.empty:
        print(f"error: {run / name}: no rows (the run drew nothing to redraw)", file=sys.stderr)
        raise SystemExit(2)
    # read again as the run wrote it: text such as a stage named NA stays text
    return pd.read_csv(run / name, keep_default_na=False, na_values=[""], skip_blank_lines=True)


def _missing(run: Path) -> str | None:
    """Why ``run`` cannot be redrawn (a file it lacks, and the run's own error if it stopped),
    or None."""
    lacking = [n for n in ("chain_stages.csv", "pipelines.csv") if not (run / n).is_file()]
    if not lacking:
        return None
    err = run / "error.txt"
    why = (f"; the run stopped: error.txt says {err.read_text().strip().splitlines()[-1]!r}"
           if err.is_file() and err.read_text().strip() else "")
    return (f"{run}: no {lacking[0]} (not a finished folder of python -m sim "
            f"experiment=compound){why}")


def main():
    ap = ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    run = Path(a.run_dir)
    out = Path(a.out) if a.out else run
    why = _missing(run)
    if why:
        print(f"error: {why}", file=sys.stderr)
        raise SystemExit(2)
    stages = _read(run, "chain_stages.csv")
    pipes = _read(run, "pipelines.csv")
    files = waterfall(stages, out) + latency_cdf(pipes, out)
    for name in ("chain", "bursty"):
        p = run / f"{name}.csv"
        if p.is_file():
            print(pd.read_csv(p).to_string(index=False))
    print("\n".join(str(out / f) for f in files))


if __name__ == "__main__":
    main()
