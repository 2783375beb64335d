"""The default sweeper checks one job per swept value before launching
(hydra_plugins/servesim_sweeper/grid.py)."""

import itertools
import os
import subprocess
import sys

import pytest

from hydra_plugins.servesim_sweeper.grid import covering_jobs


def test_the_jobs_checked_cover_every_swept_value_and_no_more_than_needed():
    grid = [[f"a={a}", f"b={b}"] for a, b in itertools.product(range(50), range(10))]
    picked = covering_jobs(grid)
    assert {o for job in picked for o in job} == {o for job in grid for o in job}
    # a new value of b in each of the first 10 jobs, then a new value of a in each row
    assert len(picked) == 10 + 49
    assert [grid.index(j) for j in picked] == sorted(grid.index(j) for j in picked)


def test_one_job_is_checked_when_nothing_varies():
    assert covering_jobs([["a=1"], ["a=1"]]) == [["a=1"]]
    assert covering_jobs([[], []]) == [[]]


def cli(*args, cwd):
    # no PYTHONPATH: the package as installed (pip install -e . maps hydra_plugins by an
    # import hook, which Hydra's own plugin scan does not see; sim/__main__.py registers it)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)


def test_it_is_the_default_and_an_experiment_still_picks_its_own(tmp_path):
    r = cli("--cfg", "hydra", "-p", "hydra.sweeper._target_", cwd=tmp_path)
    assert r.stdout.strip().endswith("servesim_sweeper.grid.GridSweeper"), r.stderr[-2000:]
    r = cli("experiment=optimize", "--cfg", "hydra", "-p", "hydra.sweeper._target_", cwd=tmp_path)
    assert "OptunaSweeper" in r.stdout, r.stderr[-2000:]


@pytest.mark.slow
def test_a_bad_value_late_in_a_grid_stops_the_sweep_before_any_job(tmp_path):
    r = cli("-m", "seed=0,1,2", "horizon_s=5,10,oops", f"hydra.sweep.dir={tmp_path / 'sweep'}",
            cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "config key 'horizon_s'" in r.stderr and "oops" in r.stderr
    assert not list((tmp_path / "sweep").glob("*/done.json"))  # no job ran


@pytest.mark.slow
def test_a_sweep_runs_from_outside_the_checkout(tmp_path):
    r = cli("-m", "seed=0,1", "horizon_s=20", "metrics.warmup_s=0", "output.plots=false",
            f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert len(list((tmp_path / "sweep").glob("*/done.json"))) == 2


def test_a_sweep_refused_before_its_first_job_leaves_no_folder(tmp_path):
    from helpers.cli import cli as cli_here  # this checkout's code (PYTHONPATH kept)

    # Hydra makes the sweep folder and writes multirun.yaml before checking any job: a bad
    # swept value left results/default/multirun_<ts>/ holding that file alone
    r = cli_here("-m", "seed=a,b", cwd=tmp_path)
    assert r.returncode == 2 and "config key 'seed'" in r.stderr, r.stderr[-2000:]
    assert list(tmp_path.iterdir()) == []
    # a folder holding jobs (a resume) keeps them, and its own multirun.yaml as it was
    sweep = tmp_path / "sweep"
    (sweep / "0").mkdir(parents=True)
    r = cli_here("-m", "seed=a,b", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2
    assert sorted(p.name for p in sweep.iterdir()) == ["0"]
    (sweep / "multirun.yaml").write_bytes(b"hydra: {}\n# the first run's\n")
    r = cli_here("-m", "seed=a,b", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2
    assert sorted(p.name for p in sweep.iterdir()) == ["0", "multirun.yaml"]
    assert (sweep / "multirun.yaml").read_bytes() == b"hydra: {}\n# the first run's\n"


def test_a_sweep_refused_in_a_folder_of_other_files_removes_what_it_wrote(tmp_path):
    """`-m tenants.nope.arrival.rate_rps=2,4 hydra.sweep.dir=ex1` into a folder holding the
    user's notes.txt left a 53 KB multirun.yaml beside it, and overwrote the user's own
    multirun.yaml (`mine: 1`) for good: the two files went only from a folder holding
    nothing else. Now the folder holds exactly what it held, byte for byte."""
    from helpers.cli import cli as cli_here

    ex = tmp_path / "ex1"
    ex.mkdir()
    (ex / "notes.txt").write_text("mine\n")
    for mine in (None, b"mine: 1\n"):
        if mine is not None:
            (ex / "multirun.yaml").write_bytes(mine)
        r = cli_here("-m", "tenants.nope.arrival.rate_rps=2,4", f"hydra.sweep.dir={ex}",
                     cwd=tmp_path)
        assert r.returncode == 2 and "tenants.nope" in r.stderr, r.stderr[-2000:]
        want = {"notes.txt": b"mine\n", **({"multirun.yaml": mine} if mine else {})}
        assert {p.name: p.read_bytes() for p in ex.iterdir()} == want


def test_a_sweep_folder_outside_the_working_folder_refused_is_gone_if_the_sweep_made_it(tmp_path):
    """`-m tenants.nope.arrival.rate_rps=2,4 hydra.sweep.dir=/tmp/b8` left b8/ empty (only
    folders under the working folder went); an empty folder given, made before, stays, and
    empty (it kept the multirun.yaml and .aggregate.lock the sweep wrote); a folder above
    the one given that was there before stays (`hydra.sweep.dir=keepme/sw` deleted the
    user's empty keepme/ until December 2026)."""
    from helpers.cli import cli as cli_here

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    for made in (True, False):
        if not made:
            there.mkdir()
        r = cli_here("-m", "tenants.nope.arrival.rate_rps=2,4", f"hydra.sweep.dir={there}",
                     cwd=here)
        assert r.returncode == 2 and "tenants.nope" in r.stderr, r.stderr[-2000:]
        assert there.is_dir() == (not made)
        assert list(here.iterdir()) == []
    assert list(there.iterdir()) == []
    (here / "keepme").mkdir()
    r = cli_here("-m", "tenants.nope.arrival.rate_rps=2,4", "hydra.sweep.dir=keepme/sw/x",
                 cwd=here)
    assert r.returncode == 2 and "tenants.nope" in r.stderr, r.stderr[-2000:]
    assert list(here.iterdir()) == [here / "keepme"] and list((here / "keepme").iterdir()) == []
