"""Determinism: same seed and config give byte-identical summary.csv and requests.parquet
across runs, across the basic and joblib launchers, and whatever the order of sweep jobs.

(Two plain runs with one setup: tests/test_app.py::test_same_seed_same_bytes; with
background tenants: tests/test_serverless.py::test_same_seed_same_bytes_with_background.)
"""

import hashlib
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

import sim
from sim.platform import SETUPS

pytestmark = pytest.mark.slow  # subprocesses: sweeps, launchers, the notebook

FILES = ("summary.csv", "requests.parquet", "replicas.csv")
# every registered setup on bursty traffic, so cold starts, queueing, rejections and (for a
# hybrid) spillover and shadow copies all occur
COMMON = ["horizon_s=30", "output.plots=false", "setups=[all]",
          "tenants.chat.arrival.kind=gamma", "tenants.chat.arrival.cv=3",
          "tenants.chat.arrival.rate_rps=6", "serverless.max_queue=20"]
if "hybrid" in SETUPS:
    COMMON += ["hybrid.placement={llama31-8b: dedicated}", "++dedicated.replicas.llama31-8b=1",
               "hybrid.spillover.max_queue=1", "hybrid.shadow_fraction=0.3"]


def digests(folder) -> dict:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in FILES}


def test_two_runs_of_every_setup_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sim.run(COMMON + ["seed=3"], output_dir=a)
    sim.run(COMMON + ["seed=3"], output_dir=b)
    assert digests(a) == digests(b)


def sweep(tmp_path, name, seeds, launcher):
    folder = tmp_path / name
    r = subprocess.run([sys.executable, "-m", "sim", "-m", f"seed={seeds}", *COMMON,
                        f"hydra/launcher={launcher}", f"hydra.sweep.dir={folder}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env={**os.environ})
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    jobs = {}
    for d in folder.iterdir():
        if d.is_dir() and (d / "done.json").is_file():
            overrides = yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text())
            seed = [o for o in overrides if o.startswith("seed=")][0]
            jobs[seed] = digests(d)
    return folder, jobs


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("det")
    return {key: sweep(tmp, key, seeds, launcher) for key, seeds, launcher in (
        ("basic", "0,1", "basic"), ("joblib", "0,1", "joblib"), ("reversed", "1,0", "joblib"))}


def test_basic_and_joblib_launchers_write_identical_job_files(sweeps):
    _, basic = sweeps["basic"]
    _, joblib = sweeps["joblib"]
    assert set(basic) == {"seed=0", "seed=1"}
    assert basic == joblib
    assert basic["seed=0"]["requests.parquet"] != basic["seed=1"]["requests.parquet"]


def test_the_order_of_sweep_jobs_does_not_change_any_file(sweeps, tmp_path):
    fwd_dir, fwd = sweeps["joblib"]
    rev_dir, rev = sweeps["reversed"]
    assert fwd == rev  # each seed's files, whichever job number ran it
    # the aggregated table: the same rows once the job numbers are set aside
    keys = ["seed", "setup", "tenant"]

    def table(folder):
        t = pd.read_csv(folder / "summary.csv").drop(columns="job")
        return t.sort_values(keys).reset_index(drop=True)

    a, b = table(fwd_dir), table(rev_dir)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # and the job numbers really were swapped
    j = pd.read_csv(rev_dir / "summary.csv")
    assert j.loc[j["job"] == 0, "seed"].unique().tolist() == [1]
