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

from sim.errors import ArgumentParser
from sim.report.pipelines import latency_cdf, waterfall


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
    stages = pd.read_csv(run / "chain_stages.csv", keep_default_na=False, na_values=[""])
    pipes = pd.read_csv(run / "pipelines.csv", keep_default_na=False, na_values=[""])
    files = waterfall(stages, out) + latency_cdf(pipes, out)
    for name in ("chain", "bursty"):
        p = run / f"{name}.csv"
        if p.is_file():
            print(pd.read_csv(p).to_string(index=False))
    print("\n".join(str(out / f) for f in files))


if __name__ == "__main__":
    main()
