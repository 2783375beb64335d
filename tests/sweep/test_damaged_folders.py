"""A sweep or run folder whose files were damaged after the run wrote them (truncated,
emptied, binary, hand-edited), read back by ``python -m sim.sweep``, the study scripts and a
resumed run. The eighth hostile-input sweep (December 2026) found each of these ending in a
traceback, or in fewer rows unsaid: now one line naming the file (and line), exit 2; a
resumed run computes the damaged job again and says why."""

import json

import pandas as pd
import pytest
import yaml

import sim
from sim.sweep.__main__ import main as reaggregate

GOOD = "setup,tenant,model,requests\ndedicated,chat,m,10\ndedicated,__all__,,10\n"


def _job(root, num, summary=GOOD, overrides=("a.b=1",), done=True):
    d = root / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (d / "summary.csv").write_bytes(summary if isinstance(summary, bytes) else summary.encode())
    if done:
        (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None}))
    return d


@pytest.mark.parametrize("file, content, named", [
    ("summary.csv", b"", "0/summary.csv:1: empty file"),
    ("summary.csv", b"setup,tenant,model\n\xff\xfe,x,y\n", "0/summary.csv:2: not UTF-8"),
    ("summary.csv", GOOD[:40].encode(), "0/summary.csv:2: cut short"),
    ("summary.csv", b"a,b\n1,2\n", "0/summary.csv:1: not a run's summary.csv: no column 'setup'"),
    ("summary.csv", (GOOD + "dedicated,chat,m,1,2\n").encode(), "0/summary.csv:4: 5 fields"),
    (".hydra/overrides.yaml", b"[a.b=1,\n", "0/.hydra/overrides.yaml:2: not a list of overrides"),
    (".hydra/overrides.yaml", b"- 5\n", "0/.hydra/overrides.yaml: not a list of overrides"),
    (".hydra/overrides.yaml", b"- 'a.b=[1'\n", "0/.hydra/overrides.yaml: not a list of overrides"),
    ("config.yaml", b"- a\n- b\n", "0/config.yaml: not a config file"),
    ("config.yaml", b"notes: {a: [\n", "0/config.yaml:2: not a config file"),
])
def test_a_damaged_job_file_is_one_line_naming_it(file, content, named, tmp_path, capsys):
    _job(tmp_path, 1)
    (_job(tmp_path, 0) / file).write_bytes(content)
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0], err
    assert not (tmp_path / "summary.csv").exists()  # nothing half-aggregated


@pytest.mark.parametrize("done", ["42", '{"config_sha256": ', "", "[1, 2]"])
def test_a_damaged_done_marker_counts_the_job_unfinished(done, tmp_path, capsys):
    _job(tmp_path, 1)
    (_job(tmp_path, 0) / "done.json").write_text(done)
    assert reaggregate([str(tmp_path)]) == 0
    assert "2 rows from 1 of 2 jobs" in capsys.readouterr().out
    assert list(pd.read_csv(tmp_path / "jobs.csv")["state"]) == ["missing", "done"]


def test_an_empty_error_file_is_a_failed_job_without_a_message(tmp_path, capsys):
    _job(tmp_path, 1)
    (_job(tmp_path, 0, done=False) / "error.txt").write_text("")
    assert reaggregate([str(tmp_path)]) == 0
    jobs = pd.read_csv(tmp_path / "jobs.csv", keep_default_na=False)
    assert list(jobs["state"]) == ["failed", "done"] and list(jobs["message"]) == ["", ""]


def test_a_study_script_given_a_missing_or_damaged_sweep_is_one_line_and_exit_2(tmp_path, capsys):
    from sim.sweep.study import load_sweep

    with pytest.raises(SystemExit) as e:
        load_sweep(tmp_path / "nope")
    assert e.value.code == 2 and capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope'}: not a folder"
    (_job(tmp_path, 0) / "summary.csv").write_text("a,b\n")
    with pytest.raises(SystemExit) as e:
        load_sweep(tmp_path)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "summary.csv:1: not a run's summary.csv" in err[0]


@pytest.mark.parametrize("damage", ["summary_binary", "summary_cut", "table_cut", "files_not_a_list",
                                    "files_of_numbers"])
def test_a_resumed_run_computes_a_damaged_folder_again(damage, tmp_path, capsys):
    from sim.app import execute

    cfg = sim.compose(["horizon_s=10", "output.plots=false", "output.progress=false"])
    first = execute(cfg, tmp_path, resume=True)
    done = json.loads((tmp_path / "done.json").read_text())
    if damage == "summary_binary":
        (tmp_path / "summary.csv").write_bytes(b"setup,tenant\n\xff\n")
    elif damage == "summary_cut":
        (tmp_path / "summary.csv").write_text((tmp_path / "summary.csv").read_text()[:-30])
    elif damage == "table_cut":
        table = next(f for f in done["files"] if f.endswith(".csv") and f != "summary.csv")
        (tmp_path / table).write_text("")
    else:
        done["files"] = 5 if damage == "files_not_a_list" else [1, 2]
        (tmp_path / "done.json").write_text(json.dumps(done))
        (tmp_path / ".outputs.json").write_text(json.dumps({"files": done["files"]}))
    capsys.readouterr()
    again = execute(cfg, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in again.notes)  # computed, not read back
    assert again.summary["requests"].tolist() == first.summary["requests"].tolist()
    said = capsys.readouterr().out
    assert ("computed again" in said) == damage.startswith(("summary", "table")), said
    assert isinstance(json.loads((tmp_path / "done.json").read_text())["files"], list)


@pytest.mark.parametrize("messages, code", [
    (["InputError: config key 'a.b': must be > 0", "InputError: config key 'a.b': must be > 0"], 2),
    (["InputError: config key 'a.b': must be > 0", "ZeroDivisionError: division by zero"], 1),
    (["InputError: config key 'a.b': must be > 0", None], 1),  # one killed: no error.txt
])
def test_a_sweep_whose_every_job_failed_is_an_error(messages, code, tmp_path, capsys):
    """Before, "0 rows from 0 of 2 jobs", exit 0; now the status ``python -m sim -m`` gives:
    2 when every failure is an input error, else 1."""
    for i, m in enumerate(messages):
        d = _job(tmp_path, i, done=False)
        if m is not None:
            (d / "error.txt").write_text(f"Traceback (...)\n{m}\n")
    assert reaggregate([str(tmp_path)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path}: every job failed"), err
    assert "error.txt" in err[0]
