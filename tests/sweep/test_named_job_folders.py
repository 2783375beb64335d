"""Job folders not named by job number (``hydra.sweep.subdir=trial_${hydra.job.num}``): the
sweep's end rewrites the root tables in job order (sim/sweep/jobrecord.py), as README says;
they came out in folder-name order (trial_0, trial_1, trial_10, trial_2, ...)."""

import csv
import subprocess
import sys


def _column(path, name):
    with open(path, newline="") as f:
        return [r[name] for r in csv.DictReader(f)]


def test_root_tables_in_job_order_with_named_folders(tmp_path):
    folder = tmp_path / "sw"
    p = subprocess.run([sys.executable, "-m", "sim", "-m", "seed=range(0,11)", "horizon_s=2",
                        "output.plots=false", "output.report=false",
                        "hydra.sweep.subdir=trial_${hydra.job.num}", f"hydra.sweep.dir={folder}"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    order = [f"trial_{i}" for i in range(11)]  # job n runs seed n (Hydra's range order)
    assert _column(folder / "jobs.csv", "job") == order
    summary_jobs = _column(folder / "summary.csv", "job")
    assert list(dict.fromkeys(summary_jobs)) == order
    assert [int(s) for s in dict.fromkeys(_column(folder / "summary.csv", "seed"))] == list(range(11))
