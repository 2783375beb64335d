"""A run folder where a name the run writes is taken (the sixth hunt of December 2026): a
folder named summary.csv, done.json ..., a file named plots: one line naming it."""

import pytest

import sim
import sim.app
from sim.errors import InputError
from sim.io import atomic_write, prepare_folder
from sim.sweep.resume import DONE, ERROR, clear, record_failure


@pytest.mark.parametrize("name", ["summary.csv", "requests.parquet", "done.json", "report.md"])
def test_a_folder_where_a_run_writes_a_file_is_refused_before_it_runs(tmp_path, monkeypatch, name):
    (tmp_path / "r" / name).mkdir(parents=True)
    monkeypatch.setattr(sim.app, "_run_job", lambda *a: pytest.fail("the run was simulated"))
    with pytest.raises(InputError) as e:
        sim.run(["horizon_s=5"], output_dir=tmp_path / "r")
    assert str(e.value).startswith(f"{tmp_path / 'r' / name}: is a folder")


def test_plots_as_a_file_and_a_table_name_taken_by_a_folder(tmp_path):
    (tmp_path / "plots").write_text("x")
    with pytest.raises(InputError, match=r"/plots: is a file where the run makes a folder"):
        prepare_folder(tmp_path)
    (tmp_path / "plots").unlink()
    prepare_folder(tmp_path)
    (tmp_path / "signals.csv").mkdir()  # a table's name, met as the run writes it
    with pytest.raises(InputError) as e:
        atomic_write(tmp_path / "signals.csv", lambda p: p.write_text("a\n"))
    assert str(e.value).startswith(f"{tmp_path / 'signals.csv'}: is a folder")  # not the temporary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signals.csv"]


def test_a_sweep_job_refused_for_a_done_json_folder_records_why(tmp_path):
    (tmp_path / DONE).mkdir()
    clear(tmp_path)  # raised IsADirectoryError: the job's refusal became a traceback
    record_failure(tmp_path, "InputError: x")
    assert (tmp_path / ERROR).read_text() == "InputError: x\n"


def test_a_name_the_run_does_not_write_is_left_alone(tmp_path):
    """A file named plots beside a run with output.plots=false (no figure, no plots/) was
    refused; so was a requests.parquet folder beside output.parquet=false."""
    (tmp_path / "plots").write_text("mine\n")
    (tmp_path / "requests.parquet").mkdir()
    res = sim.run(["horizon_s=5", "output.plots=false", "output.parquet=false"], output_dir=tmp_path)
    assert len(res.summary) and (tmp_path / "plots").read_text() == "mine\n"
    with pytest.raises(InputError, match="is a file where the run makes a folder"):
        sim.run(["horizon_s=5", "output.parquet=false"], output_dir=tmp_path)
