"""A sweep's root files depend on its jobs alone, not on when an earlier sweep in the same
folder ended, and ``python -m sim.sweep`` rebuilds them byte for byte.

Before the sweep recorded its jobs (``.sweep_jobs.json``), the end of a sweep kept the job
folders whose ``.hydra/overrides.yaml`` was at most 60 s older than the sweep's start: a
sweep of fewer jobs re-run in a folder within a minute of the earlier one aggregated the
earlier one's extra job too, a minute later it did not, and ``python -m sim.sweep`` always did.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers import ROOT
from helpers.cli import cli
from hydra.types import RunMode
from omegaconf import OmegaConf

from sim.errors import InputError
from sim.sweep.aggregate import AggregateSweep
from sim.sweep.jobrecord import (
    JOBS_RECORD,
    job_dirs,
    record_jobs,
    recorded_folders,
    recorded_jobs,
)

SMALL = ["horizon_s=5", "drain_s=5", "output.progress=false", "hydra/launcher=basic"]
ROOT_FILES = ("summary.csv", "jobs.csv", "summary.md", "report.md", "breakeven.csv")


def sweep(folder, seeds, cwd):
    r = cli("-m", f"seed={seeds}", *SMALL, f"hydra.sweep.dir={folder}", cwd=cwd)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]


def backdate(folder, seconds):
    then = time.time() - seconds
    for p in [folder, *folder.rglob("*")]:
        os.utime(p, (then, then))


def reaggregate(folder, cwd):
    r = subprocess.run([sys.executable, "-m", "sim.sweep", str(folder)], cwd=cwd,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow  # sweeps in subprocesses
def test_a_smaller_sweep_rerun_in_a_folder_aggregates_its_own_jobs_at_any_time(tmp_path):
    soon, later = tmp_path / "soon", tmp_path / "later"
    sweep(soon, "0,1,2", tmp_path)
    shutil.copytree(soon, later)
    backdate(later, 120)  # the earlier sweep ended two minutes before, not seconds
    sweep(soon, "0,1", tmp_path)
    sweep(later, "0,1", tmp_path)
    jobs = (soon / "jobs.csv").read_text().splitlines()
    assert [ln.split(",")[0] for ln in jobs] == ["job", "0", "1"]  # was 0, 1, 2
    for f in ROOT_FILES:
        mine = (soon / f).read_text().replace(str(soon), "DIR")
        assert mine == (later / f).read_text().replace(str(later), "DIR"), f
    # python -m sim.sweep on the folder: the same files again (it took every job folder)
    again = tmp_path / "again"
    shutil.copytree(soon, again)
    for f in ROOT_FILES:
        (again / f).unlink()
    reaggregate(again, tmp_path)
    for f in ROOT_FILES:
        assert (again / f).read_bytes() == (soon / f).read_bytes(), f


def job_folders(sweep, names):
    for n in names:
        (sweep / n / ".hydra").mkdir(parents=True)
        (sweep / n / ".hydra" / "overrides.yaml").write_text("[]\n")


def test_the_record_names_the_sweeps_jobs_and_a_sweep_starting_in_the_folder_drops_it(tmp_path):
    sweep = tmp_path / "s"
    job_folders(sweep, ["0", "1", "2", "10", "extra"])
    names = lambda since=None: [d.name for d in job_dirs(sweep, since)]  # noqa: E731
    assert names() == ["0", "1", "2", "10", "extra"]  # no record: every job folder
    record_jobs(sweep, 2)
    assert names() == ["0", "1"] and names(since=time.time() + 3600) == ["0", "1"]
    (sweep / JOBS_RECORD).write_text("{\"jobs\": true}")  # damaged: refused, naming it
    with pytest.raises(InputError, match=r"\.sweep_jobs\.json: not a sweep job record"):
        names()
    (sweep / JOBS_RECORD).unlink()
    assert names(since=time.time() + 3600) == []  # the clock rule, for sweepers writing none
    # a sweep (Optuna: no record of its own) starting in the folder: the old record goes,
    # else its count would cut off or take in jobs of the new sweep
    record_jobs(sweep, 2)
    AggregateSweep().on_multirun_start(OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}}}))
    assert not (sweep / JOBS_RECORD).exists()


def test_an_optuna_sweep_starting_in_a_used_folder_records_its_trials(tmp_path):
    sweep = tmp_path / "s"
    job_folders(sweep, ["0", "1", "2"])
    cfg = {"hydra": {"sweep": {"dir": str(sweep), "subdir": "${hydra.job.num}"},
                     "sweeper": {"n_trials": 2}}}
    AggregateSweep().on_multirun_start(OmegaConf.create(cfg))
    assert [d.name for d in job_dirs(sweep, time.time() + 3600)] == ["0", "1"]
    cfg["hydra"]["sweep"]["subdir"] = "${hydra.job.override_dirname}"  # folders not numbered
    AggregateSweep().on_multirun_start(OmegaConf.create(cfg))
    assert recorded_jobs(sweep) is None and recorded_folders(sweep) == []  # listed as they start


def test_a_sweep_rerun_in_a_folder_of_named_job_folders_takes_those_its_jobs_started(tmp_path):
    """Job folders named by their overrides (an Optuna study or a grid, subdir
    ${hydra.job.override_dirname}), a sweep re-run in the folder: its jobs list their folders
    as they start, and the end and python -m sim.sweep take those, whatever their age
    (until December 2026 the folders written since the sweep started, a minute's tolerance:
    here the earlier sweep's a=3 too, and every folder on re-aggregation)."""
    sweep = tmp_path / "s"
    job_folders(sweep, ["a=1", "a=2", "a=3"])
    cfg = {"hydra": {"sweep": {"dir": str(sweep), "subdir": "${hydra.job.override_dirname}"},
                     "sweeper": {"n_trials": 2}, "mode": RunMode.MULTIRUN, "runtime": {}}}
    agg = AggregateSweep()
    agg.on_multirun_start(OmegaConf.create(cfg))
    for name in ("a=2", "a=1", "a=2"):  # a=2 started twice (a retried trial): listed once
        cfg["hydra"]["runtime"]["output_dir"] = str(sweep / name)
        agg.on_job_start(OmegaConf.create(cfg))
    assert recorded_folders(sweep) == ["a=2", "a=1"]
    for since in (None, time.time() - 5):
        assert [d.name for d in job_dirs(sweep, since)] == ["a=1", "a=2"]


@pytest.mark.slow  # Optuna sweeps in subprocesses
def test_fewer_optuna_trials_rerun_in_a_folder_aggregate_only_their_own(tmp_path):
    """3 trials, then 2 in the same folder within the minute: the tables held trial 2 of the
    first study too ("sweep: 3 of 3 jobs finished")."""
    folder = tmp_path / "opt"
    for n in (3, 2):
        r = cli("-m", "experiment=optimize", "horizon_s=10", "drain_s=10", "hydra/launcher=basic",
                f"hydra.sweeper.n_trials={n}", f"hydra.sweep.dir={folder}", cwd=tmp_path)
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "sweep: 2 of 2 jobs finished" in r.stdout
    assert [ln.split(",")[0] for ln in (folder / "jobs.csv").read_text().splitlines()] == ["job", "0", "1"]


@pytest.mark.slow  # sweeps in subprocesses
def test_a_sweep_drawing_no_figure_leaves_none_of_an_earlier_sweeps_in_its_folder(tmp_path):
    """A sweep over two experiments (no numeric x: no figure, no break-even) re-run in the
    folder of a load sweep kept that sweep's plots/ and breakeven.csv beside its own tables."""
    used, fresh = tmp_path / "used", tmp_path / "fresh"
    r = cli("-m", "tenants.chat.arrival.rate_rps=1,2", *SMALL, f"hydra.sweep.dir={used}", cwd=tmp_path)
    assert r.returncode == 0 and (used / "breakeven.csv").is_file(), r.stderr[-3000:]
    for folder in (used, fresh):
        sweep_two = cli("-m", "experiment=default,dedicated", *SMALL, f"hydra.sweep.dir={folder}",
                        cwd=tmp_path)
        assert sweep_two.returncode == 0, sweep_two.stderr[-3000:]
    assert not (fresh / "breakeven.csv").exists() and not (fresh / "plots").exists()
    assert not (used / "breakeven.csv").exists() and not (used / "plots").exists()


def test_a_job_read_back_under_other_overrides_takes_their_job_key(tmp_path):
    """A launched job whose composed config matched the folder's done.json was read back but
    kept the key of the overrides that first ran it: its done.json then depended on the
    folder's history, and every later resume composed it again (the key never matched)."""
    import json

    import sim
    from sim.app import execute

    cfg = sim.compose(["horizon_s=5", "drain_s=5", "output.plots=false"])
    execute(cfg, tmp_path, sweep_job=True, job_key="first")
    before = json.loads((tmp_path / "done.json").read_text())
    res = execute(cfg, tmp_path, resume=True, sweep_job=True, job_key="second")
    assert any("not recomputed" in n for n in res.notes)  # read back, not run again
    after = json.loads((tmp_path / "done.json").read_text())
    assert after == {**before, "job_key": "second"}
