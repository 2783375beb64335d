"""Damaged sweep folders (the sixth hunt of December 2026): a job record that is not one, a
job folder that is a link or a file."""

import json
import shutil

import pytest
from omegaconf import OmegaConf

from sim.errors import InputError
from sim.sweep.__main__ import main as aggregate_main
from sim.sweep.jobrecord import JOBS_RECORD, _sweep_size, foreign_entries, job_dirs
from sim.sweep.skip import launch_unfinished

GRID = "hydra_plugins.servesim_sweeper.grid.GridSweeper"


def _sweep(root, names=("0", "1"), task=("horizon_s=10", "seed=0,1")):
    """A sweep folder by hand: job folders with their overrides, Hydra's multirun.yaml."""
    for n in names:
        (root / n / ".hydra").mkdir(parents=True)
        (root / n / ".hydra" / "overrides.yaml").write_text("- seed=0\n")
    if task is not None:
        (root / "multirun.yaml").write_text(json.dumps(
            {"hydra": {"sweeper": {"_target_": GRID}, "overrides": {"task": list(task)}}}))
    return root


@pytest.mark.parametrize("record", ['{"jobs": 5}', '{"jobs": -3}', "xx",
                                    '{"jobs": true}', '{"jobs": 2, "other": 1}', '{"folders": 3}'])
def test_a_damaged_job_record_is_one_line_naming_it(tmp_path, capsys, record):
    """The seed=0,1 grid has 2 jobs: a record of 5 (10^8 listed each missing job until the
    memory ran out), a negative count or no JSON are refused, exit 2, one line."""
    sweep = _sweep(tmp_path / "s")
    (sweep / JOBS_RECORD).write_text(record + "\n")
    assert aggregate_main([str(sweep)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {sweep / JOBS_RECORD}: "), err


def test_a_record_within_the_sweep_is_taken(tmp_path):
    sweep = _sweep(tmp_path / "s", names=("0", "1", "2"))
    (sweep / JOBS_RECORD).write_text('{"jobs": 2}\n')
    assert [d.name for d in job_dirs(sweep, None)] == ["0", "1"]


def test_the_jobs_a_sweep_can_have_counted_by_hand():
    def conf(task, params=None, target=GRID, **sweeper):
        return {"hydra": {"sweeper": {"_target_": target, "params": params or {}, **sweeper},
                          "overrides": {"task": task}}}

    # a: 3 values, b: 0, 4, 8, c: x, y -> 3 * 3 * 2
    assert _sweep_size(conf(["a=1,2,3", "b=range(0,10,4)", "h=5"], {"c": "x,y"})) == 18
    assert _sweep_size(conf(["a=1,2,3", "b=range(0,10,4)", "c=z"], {"c": "x,y"})) == 9  # typed wins
    assert _sweep_size(conf(["experiment=glob(*)"])) is None  # the group's options: not counted
    assert _sweep_size(conf([], target="x.optuna_sweeper.OptunaSweeper", n_trials=7)) == 7


def test_an_optuna_sweeps_trials_bound_the_record(tmp_path):
    """Optuna writes no multirun.yaml: its n_trials (10) are read from a trial's hydra.yaml,
    so a study stopped after 2 trials keeps its record of 10."""
    sweep = _sweep(tmp_path / "s", task=None)
    (sweep / "0" / ".hydra" / "hydra.yaml").write_text(json.dumps(
        {"hydra": {"sweeper": {"_target_": "a.optuna_sweeper.OptunaSweeper", "n_trials": 10}}}))
    (sweep / JOBS_RECORD).write_text('{"jobs": 10}\n')
    assert [d.name for d in job_dirs(sweep, None)] == ["0", "1"]
    (sweep / JOBS_RECORD).write_text('{"jobs": 11}\n')
    with pytest.raises(InputError, match="records 11 jobs"):
        job_dirs(sweep, None)


def test_without_multirun_yaml_the_numbered_folders_bound_the_record(tmp_path):
    sweep = _sweep(tmp_path / "s", names=("0", "1", "10"), task=None)
    (sweep / JOBS_RECORD).write_text('{"jobs": 11}\n')  # folders up to 10: jobs 0 .. 10
    assert [d.name for d in job_dirs(sweep, None)] == ["0", "1", "10"]
    (sweep / JOBS_RECORD).write_text('{"jobs": 12}\n')
    with pytest.raises(InputError, match=r"records 12 jobs, more than the sweep can have "
                                         r"\(its numbered job folders: 11\)"):
        job_dirs(sweep, None)


def _config(sweep):
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep), "subdir": "${hydra.job.num}"},
                                       "job": {"name": "app"}, "callbacks": {}}})


@pytest.mark.parametrize("damage", ["link", "file"])
def test_a_job_folder_that_is_a_link_or_a_file_stops_the_sweep_before_any_launch(tmp_path, damage):
    """Job 1's folder a link to job 0's: job 1 was computed into job 0's folder, whose seed-0
    results were lost (exit 0); a file: Hydra's mkdir failed after a note calling it foreign."""
    sweep = _sweep(tmp_path / "s")
    (sweep / "0" / "summary.csv").write_text("seed\n0\n")
    shutil.rmtree(sweep / "1")
    if damage == "link":
        (sweep / "1").symlink_to("0")
    else:
        (sweep / "1").write_text("hi\n")
    launched = []
    with pytest.raises(InputError, match=rf"^{sweep / '1'}: job 1's folder is a "
                                         rf"{'link' if damage == 'link' else 'file'}"):
        launch_unfinished(lambda b, i: launched.append(i) or [], _config(sweep),
                          [["seed=0"], ["seed=1"]], 0, {})
    assert launched == [] and (sweep / "0" / "summary.csv").read_text() == "seed\n0\n"
    assert foreign_entries(sweep) == []  # job 1's name: not "an entry no sweep writes"
    if damage == "link":  # aggregating it: job 0's rows twice
        with pytest.raises(InputError, match="a job folder that is a link"):
            job_dirs(sweep, None)
