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


@pytest.mark.parametrize("summary, named", [
    (GOOD.splitlines(True)[0], "0/summary.csv: 0 row(s), where the job's done.json records 2"),  # head -n 1
    ("".join(GOOD.splitlines(True)[:2]), "0/summary.csv: 1 row(s), where the job's done.json records 2"),
    (GOOD + "dedicated,chat,m,10\n", "0/summary.csv: 3 row(s), where the job's done.json records 2"),
])
def test_a_summary_of_other_rows_than_its_job_wrote_is_one_line(summary, named, tmp_path, capsys):
    """A job's summary.csv left with its header alone, or cut at a line boundary, is a
    well-formed table: python -m sim.sweep aggregated it, "2 rows from 2 of 2 jobs" exit 0
    (4 rows before the damage), and a resumed sweep read the job back with its rows gone.
    Its done.json records the 2 rows GOOD holds (written by mark_done); a done.json of before
    the record is not checked."""
    for n in (0, 1):
        d = _job(tmp_path, n)
        (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None,
                                                 "table_rows": {"summary.csv": 2}}))
    (tmp_path / "0" / "summary.csv").write_text(summary)
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and named in err[0], err
    assert not (tmp_path / "summary.csv").exists()

    from sim.sweep.skip import _reads_back

    assert not _reads_back(tmp_path / "0") and _reads_back(tmp_path / "1")  # resumed: launched again
    (tmp_path / "0" / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None}))
    assert _reads_back(tmp_path / "0")  # no record: read as it is


@pytest.mark.parametrize("folder", [False, True])
def test_a_summary_gone_from_a_finished_job_is_one_line(folder, tmp_path, capsys):
    """A finished job's summary.csv deleted (or replaced by a folder) while its done.json
    records the 2 rows it wrote: counted a missing job, "2 rows from 1 of 2 jobs", exit 0
    (until December 2026), where a header-only copy was refused."""
    for n in (0, 1):
        (_job(tmp_path, n) / "done.json").write_text(json.dumps(
            {"config_sha256": "x", "objective": None, "table_rows": {"summary.csv": 2}}))
    (tmp_path / "0" / "summary.csv").unlink()
    if folder:
        (tmp_path / "0" / "summary.csv").mkdir()
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    what = "a folder" if folder else "missing"
    assert len(err) == 1 and err[0].startswith("error: ") and (
        f"0/summary.csv: {what}, where the job's done.json records 2 row(s) written") in err[0], err
    assert not (tmp_path / "summary.csv").exists() and not (tmp_path / "jobs.csv").exists()


@pytest.mark.parametrize("damage", ["summary_binary", "summary_cut", "table_cut", "files_not_a_list",
                                    "files_of_numbers", "summary_header", "summary_last_line"])
def test_a_resumed_run_computes_a_damaged_folder_again(damage, tmp_path, capsys):
    from sim.app import execute

    cfg = sim.compose(["horizon_s=10", "output.plots=false", "output.progress=false"])
    first = execute(cfg, tmp_path, resume=True)
    done = json.loads((tmp_path / "done.json").read_text())
    if damage == "summary_binary":
        (tmp_path / "summary.csv").write_bytes(b"setup,tenant\n\xff\n")
    elif damage == "summary_cut":
        (tmp_path / "summary.csv").write_text((tmp_path / "summary.csv").read_text()[:-30])
    elif damage.startswith("summary_"):  # cut at a line boundary: read back with rows gone
        lines = (tmp_path / "summary.csv").read_text().splitlines(True)
        assert len(lines) - 1 >= 2 and done["table_rows"]["summary.csv"] == len(lines) - 1
        (tmp_path / "summary.csv").write_text("".join(lines[:1 if damage == "summary_header" else -1]))
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
    assert json.loads((tmp_path / "done.json").read_text())["table_rows"]["summary.csv"] == len(again.summary)


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


def test_a_sweep_whose_every_job_failed_ends_as_sim_sweep_says(tmp_path, capsys):
    """The sweep's own end printed "sweep: 0 of 1 jobs finished; .../summary.csv (0 rows)"
    (the form ``python -m sim.sweep`` gave until December 2026) where ``python -m sim.sweep``
    on the same folder refuses: both now give its one line, exit 2. The job's error is
    printed once (the end printed it again, "sweep: job 0 failed: InputError: ...")."""
    from helpers.cli import cli

    sweep = tmp_path / "s"
    r = cli("-m", "variants.a={deployments.llama31-8b.gpu: H999}", "variant=a", "horizon_s=10",
            "drain_s=10", "hydra/launcher=basic", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert reaggregate([str(sweep)]) == 2
    again = capsys.readouterr().err.strip().splitlines()
    assert len(again) == 1 and again[0].startswith(f"error: {sweep}: every job failed")
    lines = (r.stdout + r.stderr).splitlines()
    assert again[0] in lines and "rows)" not in r.stdout, r.stdout
    assert sum("unknown GPU 'H999'" in ln for ln in lines) == 1, lines


# ------------------------------------------------ twenty-first sweep: numbers, columns, folders
FULL = ",".join(__import__("sim.metrics.summary", fromlist=["x"]).SUMMARY_COLUMNS)


def _full_summary(value="0.5"):
    """A summary.csv with every column a run writes: one tenant row, ``value`` in each number."""
    cols = FULL.split(",")
    row = ["dedicated", "chat", "m"] + [value] * (len(cols) - 3)
    return FULL + "\n" + ",".join(row) + "\n"


def test_text_where_a_summary_number_goes_is_one_line_naming_its_line(tmp_path, capsys):
    """A job's summary.csv edited to hold text in a number column: a ValueError traceback from
    python -m sim.sweep and the study scripts (twenty-first hostile-input sweep)."""
    _job(tmp_path, 1, summary=_full_summary())
    _job(tmp_path, 0, summary=_full_summary().replace(",0.5,", ",abc,", 1))
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0/summary.csv:2: column 'requests': not a number: 'abc'" in err[0], err


def test_a_study_script_on_jobs_without_a_summary_column_or_a_swept_key_is_one_line(tmp_path, capsys):
    """Every job's summary.csv without ttft_p99_s: the load study's KeyError traceback; job
    folders of one set of overrides (one copied from elsewhere): an AttributeError as the x
    axis was labelled None."""
    from sim.sweep.study import load_sweep

    lacking = _full_summary().splitlines()
    at = lacking[0].split(",").index("ttft_p99_s")
    lacking = "".join(",".join(f for i, f in enumerate(ln.split(",")) if i != at) + "\n" for ln in lacking)
    for n in (0, 1):
        _job(tmp_path / "a", n, summary=lacking, overrides=(f"seed={n}",))
    with pytest.raises(SystemExit) as e:
        load_sweep(tmp_path / "a")
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "have no column 'ttft_p99_s'" in err[0], err

    import sys

    from sim.sweep.study import cli

    for n in (0, 1):
        _job(tmp_path / "b", n, summary=_full_summary(), overrides=("seed=0",))
    argv, sys.argv = sys.argv, ["figures.py", str(tmp_path / "b")]
    try:
        with pytest.raises(SystemExit) as e:
            cli("a study")
    finally:
        sys.argv = argv
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and "its jobs vary no key to draw along" in err[0], err


STAGES = ("scenario,setup,request_id,stage,model,tier,arrival_s,admit_s,first_token_s,finish_s,"
          "cold_start_wait_s,outcome,cold_wait_critical_s\n"
          "all serverless,serverless,0,embed,bge-large-en,serverless,1.2,3.2,3.3,3.3,2.0,completed,2.0\n"
          "all serverless,serverless,1,search,tool:rag/search,tool,3.3,3.3,3.4,3.4,0,completed,2.0\n")
PIPES = ("setup,pipeline_id,pipeline,tenant,arrival_s,end_s,e2e_s,final_ttft_s,stage_requests,"
         "cold_starts,cold_wait_critical_s,cold_wait_total_s,outcome,reason\n"
         "serverless,0,rag,chat,3.0,26.2,23.2,22.2,4,3,22.0,22.0,completed,\n")


@pytest.mark.parametrize("file, content, named", [
    ("chain_stages.csv", STAGES[:-30], "chain_stages.csv:3: cut short"),
    ("chain_stages.csv", STAGES.replace(",1.2,", ",abc,"), "chain_stages.csv:2: column 'arrival_s': not a number"),
    ("chain_stages.csv", STAGES.splitlines()[0] + "\n", "chain_stages.csv: no rows"),
    ("pipelines.csv", PIPES.replace("e2e_s", "e2e"), "pipelines.csv:1: not a run's pipelines.csv: no column 'e2e_s'"),
    ("pipelines.csv", "", "pipelines.csv:1: empty file"),
])
def test_the_compound_figures_script_on_a_damaged_file_is_one_line(file, content, named, tmp_path, capsys):
    """experiments/compound/figures.py read its two files with pandas as they came: a file cut
    short was drawn from the rows before the cut, unsaid; a missing column, text in a number,
    an empty file or a header alone ended in tracebacks (twenty-first hostile-input sweep)."""
    import runpy
    import sys

    from helpers import ROOT

    (tmp_path / "chain_stages.csv").write_text(STAGES)
    (tmp_path / "pipelines.csv").write_text(PIPES)
    (tmp_path / file).write_text(content)
    argv, sys.argv = sys.argv, ["figures.py", str(tmp_path), "--out", str(tmp_path / "o")]
    try:
        with pytest.raises(SystemExit) as e:
            runpy.run_path(str(ROOT / "experiments" / "compound" / "figures.py"), run_name="__main__")
    finally:
        sys.argv = argv
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith("error: ") and named in err[0], err
    assert not (tmp_path / "o").exists()  # nothing drawn


def test_text_where_a_replications_number_goes_is_one_line_naming_its_line(tmp_path, capsys):
    """A replicated job's replications.csv (each seed's rows) with text in a number: read into
    the list price unsaid (the twenty-first sweep), now refused as in summary.csv."""
    head, row = _full_summary().splitlines()
    _job(tmp_path, 1, summary=_full_summary())
    d = _job(tmp_path, 0, summary=f"{head},replications\n{row},2\n")
    (d / "replications.csv").write_text("seed,setup,tenant,model,output_tokens\n0,dedicated,chat,m,10\n"
                                        "1,dedicated,chat,m,ten\n")
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0/replications.csv:3: column 'output_tokens': not a number: 'ten'" in err[0], err


@pytest.mark.parametrize("damage", ["never_started", "removed", "a_file"])
def test_a_recorded_job_without_a_folder_is_counted_missing(damage, tmp_path, capsys):
    """The sweep recorded 4 jobs (.sweep_jobs.json); job 2's folder is not there (the sweep
    was stopped before it started, it was removed, or a file stands in its place): counted
    missing, "of 4 jobs" (until December 2026 "of 3", and jobs.csv left it out)."""
    from sim.sweep.jobrecord import record_jobs
    for i in (0, 1, 3):
        _job(tmp_path, i)
    if damage == "a_file":
        (tmp_path / "2").write_text("not a folder")
    record_jobs(tmp_path, 4)
    assert reaggregate([str(tmp_path)]) == 0
    assert "6 rows from 3 of 4 jobs" in capsys.readouterr().out
    jobs = pd.read_csv(tmp_path / "jobs.csv", keep_default_na=False)
    assert list(jobs["job"]) == [0, 1, 2, 3]
    assert list(jobs["state"]) == ["done", "done", "missing", "done"]
    assert jobs["message"][2].startswith("no job folder")


def test_a_job_refused_on_a_re_run_leaves_no_earlier_run_beside_its_error(tmp_path):
    """A sweep re-run in its folder whose job 1 is now refused (rate -2): the folder holds
    that job's error.txt alone, not the earlier run's summary.csv and report.md beside it
    (a hostile-input sweep, December 2026: "run folders never mix runs")."""
    from helpers.cli import cli
    base = ["-m", "horizon_s=5", "output.plots=false", "output.progress=false",
            f"hydra.sweep.dir={tmp_path}/sw"]
    assert cli(*base, "tenants.chat.arrival.rate_rps=1,2", cwd=tmp_path).returncode == 0
    job = tmp_path / "sw" / "1"
    assert (job / "summary.csv").is_file() and (job / "report.md").is_file()
    again = cli(*base, "tenants.chat.arrival.rate_rps=1,-2", cwd=tmp_path)
    assert again.returncode == 2
    left = sorted(p.name for p in job.iterdir() if not p.name.startswith((".", "__main__")))
    assert left == ["error.txt"], left
    assert "must be > 0, got -2" in (job / "error.txt").read_text()


def test_a_sweep_without_job_reports_still_lists_the_jobs_notes(tmp_path):
    """output.report=false: the jobs write no report.md, so the sweep read their notes from
    nowhere and left them out, unsaid (December 2026); they come from done.json now."""
    from helpers.cli import cli
    r = cli("-m", "horizon_s=5", "tenants.chat.input={kind: fixed, mean: 200000, max: null}",
            "seed=0,1", "output.report=false", "output.plots=false", "output.progress=false",
            f"hydra.sweep.dir={tmp_path}/sw", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "sw" / "0" / "report.md").exists()
    md = (tmp_path / "sw" / "summary.md").read_text()
    for job in (0, 1):
        assert f"- job {job}: tenant chat: " in md and "exceed their model's context" in md


def test_a_damaged_replications_file_is_computed_again(tmp_path, capsys):
    """Text where replications.csv holds a number: until December 2026 the run was read back
    ("already finished") and the sweep's aggregation then refused the file, a warning from
    Hydra, exit 0, the job gone from the sweep's tables."""
    from sim.app import execute

    cfg = sim.compose(["horizon_s=10", "replications=2", "output.plots=false", "output.progress=false"])
    first = execute(cfg, tmp_path, resume=True)
    p = tmp_path / "replications.csv"
    lines = p.read_text().splitlines(keepends=True)
    fields = lines[2].split(",")
    fields[4] = "abc"  # the requests column
    p.write_text("".join(lines[:2] + [",".join(fields)] + lines[3:]))
    capsys.readouterr()
    again = execute(cfg, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in again.notes)
    assert "replications.csv:3: column 'requests': not a number" in capsys.readouterr().out
    assert again.summary["requests"].tolist() == first.summary["requests"].tolist()
    assert "abc" not in p.read_text()


def test_a_replications_file_cut_at_a_line_is_one_line(tmp_path, capsys):
    """A replicated job's replications.csv cut at a line boundary is a well-formed table of
    fewer seeds: until the session after December 2026's thirtieth sweep only summary.csv's
    rows were recorded, so the sweep took the list price from the seeds left, unsaid. The
    job's done.json records each table's rows."""
    head, row = _full_summary().splitlines()
    _job(tmp_path, 1, summary=_full_summary())
    d = _job(tmp_path, 0, summary=f"{head},replications\n{row},2\n")
    (d / "replications.csv").write_text("seed,setup,tenant,model,output_tokens\n0,dedicated,chat,m,10\n")
    (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None,
                                             "table_rows": {"summary.csv": 1, "replications.csv": 2}}))
    assert reaggregate([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0/replications.csv: 1 row(s), where the job's done.json records 2" in err[0], err
    (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None,
                                             "table_rows": "damaged"}))
    assert reaggregate([str(tmp_path)]) == 0  # a record not a map: not checked, as none


def test_a_resumed_run_computes_again_a_table_cut_at_a_line(tmp_path, capsys):
    """Any table a finished run wrote (here replications.csv, one row per seed and tenant)
    cut at a line boundary: read back with its rows gone until the row record covered every
    table; now computed again, the record naming the table."""
    from sim.app import execute

    cfg = sim.compose(["horizon_s=10", "replications=2", "output.plots=false", "output.progress=false"])
    first = execute(cfg, tmp_path, resume=True)
    rows = json.loads((tmp_path / "done.json").read_text())["table_rows"]
    p = tmp_path / "replications.csv"
    assert rows["replications.csv"] == len(first.tables["replications"]) >= 2
    p.write_text("".join(p.read_text().splitlines(keepends=True)[:-1]))
    capsys.readouterr()
    again = execute(cfg, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in again.notes)
    assert "replications.csv: " + f"{rows['replications.csv'] - 1} row(s), where" in capsys.readouterr().out
    assert len(pd.read_csv(p)) == rows["replications.csv"]


def test_a_listed_file_removed_since_is_computed_again(tmp_path, capsys):
    """requests.parquet removed from a finished run's folder: until December 2026 the run was
    read back as finished without it."""
    from sim.app import execute

    cfg = sim.compose(["horizon_s=10", "output.plots=false", "output.progress=false"])
    execute(cfg, tmp_path, resume=True)
    assert "requests.parquet" in json.loads((tmp_path / "done.json").read_text())["files"]
    (tmp_path / "requests.parquet").unlink()
    capsys.readouterr()
    again = execute(cfg, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in again.notes)
    assert "requests.parquet: listed in done.json but not there" in capsys.readouterr().out
    assert (tmp_path / "requests.parquet").is_file()


def test_a_sweep_launches_again_a_job_whose_other_table_was_cut_at_a_line(tmp_path):
    """The sweeper's own check of a finished job (before it reads the job back instead of
    launching it) read summary.csv and replications.csv alone, so a job's keepalive.csv cut
    at a line was read back short ("already finished"), where a resumed single run computes
    it again. Now every table its done.json records is checked."""
    from sim.sweep.skip import _reads_back

    d = _job(tmp_path, 0)
    (d / "keepalive.csv").write_text("policy,cost_usd\nfixed,1.0\nhybrid,2.0\n")
    done = {"config_sha256": "x", "objective": None, "files": ["summary.csv", "keepalive.csv"],
            "table_rows": {"summary.csv": 2, "keepalive.csv": 2}}
    (d / "done.json").write_text(json.dumps(done))
    assert _reads_back(d)
    (d / "keepalive.csv").write_text("policy,cost_usd\nfixed,1.0\n")
    assert not _reads_back(d)
