"""A sweep run in a folder holding a user's own files says so (twentieth hostile-input sweep):
it wrote beside them, unsaid."""

from omegaconf import OmegaConf

from sim.sweep.aggregate import AggregateSweep
from sim.sweep.jobrecord import foreign_entries


def _sweep_folder(root):
    for name in ("summary.csv", "jobs.csv", "report.md", "multirun.yaml", ".sweep_jobs.json"):
        (root / name).write_text("x\n")
    for name in ("0", "1", "plots"):
        (root / name).mkdir()
    (root / "trial_a" / ".hydra").mkdir(parents=True)  # a job folder not named by number


def test_only_the_entries_no_sweep_writes_are_named(tmp_path):
    _sweep_folder(tmp_path)
    assert foreign_entries(tmp_path) == []
    (tmp_path / "notes.txt").write_text("mine\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "0" / "mine.txt").write_text("inside a job folder: not looked at\n")
    assert foreign_entries(tmp_path) == ["data", "notes.txt"]


def test_a_sweep_starting_there_says_it_writes_beside_them(tmp_path, capsys):
    _sweep_folder(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    cfg = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path), "subdir": "${hydra.job.num}"},
                                      "sweeper": {}}})
    AggregateSweep().on_multirun_start(cfg)
    out = capsys.readouterr().out.splitlines()
    assert out == [f"note: the sweep folder {tmp_path} already holds 1 entry no sweep writes "
                   "(notes.txt): the sweep writes beside them and leaves them as they are"]
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_a_fresh_or_own_folder_says_nothing(tmp_path, capsys):
    _sweep_folder(tmp_path)
    cfg = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path), "subdir": "${hydra.job.num}"},
                                      "sweeper": {}}})
    AggregateSweep().on_multirun_start(cfg)
    assert capsys.readouterr().out == ""
