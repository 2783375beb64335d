"""Damaged sweep folders (the sixth hunt of December 2026): a job record that is not one, a
job folder that is a link or a file."""

import json
import os
import shutil

import pytest
from omegaconf import OmegaConf

from sim.errors import InputError
from sim.sweep.__main__ import main as aggregate_main
from sim.sweep.jobrecord import JOBS_RECORD, foreign_entries, job_dirs
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


@pytest.mark.parametrize("record", ['{"jobs": 500001}', '{"jobs": 100000000}', '{"jobs": -3}', "xx",
                                    '{"jobs": true}', '{"jobs": 2, "other": 1}', '{"folders": 3}'])
def test_a_damaged_job_record_is_one_line_naming_it(tmp_path, capsys, record):
    """A count beyond any sweep (10^8 listed each missing job until the memory ran out), a
    negative count or no JSON are refused, exit 2, one line (they were taken as absent)."""
    sweep = _sweep(tmp_path / "s")
    (sweep / JOBS_RECORD).write_text(record + "\n")
    assert aggregate_main([str(sweep)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {sweep / JOBS_RECORD}: "), err


@pytest.mark.parametrize("what", ["fifo", "device"])
def test_a_job_record_that_is_not_a_regular_file_is_one_line(tmp_path, capsys, what):
    """A FIFO hung python -m sim.sweep; a link to /dev/zero read until MemoryError."""
    sweep = _sweep(tmp_path / "s")
    if what == "fifo":
        os.mkfifo(sweep / JOBS_RECORD)
    else:
        (sweep / JOBS_RECORD).symlink_to("/dev/zero")
    assert aggregate_main([str(sweep)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "not a regular file" in err[0], err


@pytest.mark.parametrize("n", [2, 5, 10])
def test_a_record_of_jobs_not_started_is_taken(tmp_path, capsys, n):
    """A sweep stopped before its batch's jobs all started (a glob() or a float range(),
    whose job count the folder does not tell) records the batch: the jobs without a folder
    are listed missing, not the record refused (a bound read from multirun.yaml refused a
    float range of 5 jobs counted 4, and every interrupted glob() sweep)."""
    sweep = _sweep(tmp_path / "s")
    (sweep / JOBS_RECORD).write_text(f'{{"jobs": {n}}}\n')
    assert [d.name for d in job_dirs(sweep, None)] == ["0", "1"]
    from sim.sweep.jobrecord import recorded_jobs

    assert recorded_jobs(sweep) == n


def test_a_record_within_the_sweep_is_taken(tmp_path):
    sweep = _sweep(tmp_path / "s", names=("0", "1", "2"))
    (sweep / JOBS_RECORD).write_text('{"jobs": 2}\n')
    assert [d.name for d in job_dirs(sweep, None)] == ["0", "1"]


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
    # said as what it is (it read as "an entry no sweep writes")
    assert foreign_entries(sweep) == ["1 (a file or link where a job's folder goes)"]
    if damage == "link":  # aggregating it: job 0's rows twice
        with pytest.raises(InputError, match="a job folder that is a link"):
            job_dirs(sweep, None)


def test_a_users_numbered_file_at_the_sweep_root_is_named(tmp_path):
    """A file named 2024 beside a 2-job sweep's folders: named in the note (it went unsaid
    once every numbered name was taken for a job folder)."""
    sweep = _sweep(tmp_path / "s")
    (sweep / "2024").write_text("mydata\n")
    (sweep / "notes.txt").write_text("x\n")
    assert foreign_entries(sweep) == ["2024 (a file or link where a job's folder goes)", "notes.txt"]
