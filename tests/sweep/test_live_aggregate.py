"""The sweep-root table kept up to date as jobs end (sim/sweep/live.py): read half-way through
a parallel sweep, after an interruption, and after resuming, against an uninterrupted sweep."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers.cli import ctrl_c_as_at_a_terminal

from sim.sweep import live

RATES = "1,2,3,4,5,6,7,8"
ARGS = ["-m", f"tenants.chat.arrival.rate_rps={RATES}", "horizon_s=30", "drain_s=30",
        "output.plots=false", "hydra.launcher.n_jobs=2"]


def sweep(folder, **kw):
    return subprocess.Popen([sys.executable, "-m", "sim", *ARGS, f"hydra.sweep.dir={folder}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=ctrl_c_as_at_a_terminal, **kw)


def jobs_in(table_path) -> set[str]:
    return set(pd.read_csv(table_path, dtype={"job": str})["job"])


@pytest.mark.slow
def test_an_interrupted_sweep_has_its_finished_jobs_in_the_table_and_resumes_to_the_same_one(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    p = sweep(cut, start_new_session=True)
    table = cut / "summary.csv"
    deadline = time.monotonic() + 300  # a guard against a hung sweep, not a timing check
    while not (table.is_file() and len(jobs_in(table)) >= 3):
        assert p.poll() is None and time.monotonic() < deadline, "the sweep ended before 3 jobs"
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C: the whole process group, workers included
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 130, out[-3000:]
    # it said every unfinished job was marked in its error.txt, untrue after a SIGTERM
    assert "unfinished ones have none" in out and "hydra.sweep.dir" in out, out[-3000:]
    done = {d.parent.name for d in cut.glob("*/done.json")}
    live_jobs = jobs_in(table)
    # every job in the table finished (its done.json), at least the 3 seen, and not all 8 ran
    assert 3 <= len(live_jobs) and live_jobs <= done and len(done) < 8
    rows = pd.read_csv(table, dtype={"job": str})
    assert rows.groupby("job").size().eq(2).all()  # chat and __all__, once each
    states = pd.read_csv(cut / "jobs.csv", dtype={"job": str})
    assert set(states["job"]) >= live_jobs and (states.set_index("job").loc[sorted(live_jobs), "state"] == "done").all()

    resumed = sweep(cut)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out[-3000:]
    assert out.count("already finished") == len(done), out[-3000:]
    reference = sweep(whole)
    ref_out, _ = reference.communicate(timeout=600)
    assert reference.returncode == 0, ref_out[-3000:]
    assert "already finished" not in ref_out
    for name in ("summary.csv", "jobs.csv"):
        assert (cut / name).read_bytes() == (whole / name).read_bytes(), name
    assert len(pd.read_csv(whole / "summary.csv")) == 16


def test_rows_of_a_job_seen_again_replace_its_old_ones_and_other_columns_are_aligned(tmp_path):
    path = tmp_path / "summary.csv"
    live.merge_rows(path, pd.DataFrame({"job": ["0", "0"], "a": [1, 2]}), "0")
    live.merge_rows(path, pd.DataFrame({"job": ["1"], "a": [3]}), "1")
    assert path.read_text() == "job,a\n0,1\n0,2\n1,3\n"  # same columns: appended as text
    live.merge_rows(path, pd.DataFrame({"job": ["0"], "a": [9]}), "0")  # job 0 again
    live.merge_rows(path, pd.DataFrame({"job": ["2"], "b": [0.5]}), "2")  # another column
    t = pd.read_csv(path, dtype={"job": str})
    assert t["job"].tolist() == ["1", "0", "2"]
    assert t["a"].tolist()[:2] == [3, 9] and pd.isna(t["a"].iloc[2]) and t["b"].iloc[2] == 0.5


def test_the_live_table_has_the_columns_of_the_sweeps_end_whichever_job_ends_first(tmp_path):
    """seed swept, experiment not: seed first in both tables (the live one had the keys in
    the command's order, experiment first); job 0's own column (a spot run's) where the
    end puts it, not after the columns job 1 brought first."""
    import json

    import yaml

    from sim.sweep.aggregate import add_to_live_tables, write_sweep

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "multirun.yaml").write_text(yaml.safe_dump(
        {"hydra": {"overrides": {"task": ["experiment=hybrid", "seed=0,1"]}}}))
    for num, extra in ((0, "cost_spot_usd"), (1, "background")):
        d = sweep / str(num)
        (d / ".hydra").mkdir(parents=True)
        (d / ".hydra" / "overrides.yaml").write_text(
            yaml.safe_dump(["experiment=hybrid", f"seed={num}"]))
        (d / "summary.csv").write_text(f"setup,tenant,{extra},cost_usd\nd,__all__,1,2\n")
        (d / "done.json").write_text(json.dumps({}))
    add_to_live_tables(sweep / "1", sweep)
    first = (sweep / "summary.csv").read_text().partition("\n")[0].split(",")
    add_to_live_tables(sweep / "0", sweep)
    both = (sweep / "summary.csv").read_text().partition("\n")[0].split(",")
    write_sweep(sweep)
    end = (sweep / "summary.csv").read_text().partition("\n")[0].split(",")
    assert end[:3] == ["job", "seed", "experiment"]
    assert both == end
    assert first == [c for c in end if c != "cost_spot_usd"]  # the end's, less job 0's own


def test_a_job_number_that_prefixes_another_is_not_taken_for_it(tmp_path):
    path = tmp_path / "jobs.csv"
    live.merge_rows(path, pd.DataFrame({"job": ["10"], "state": ["done"]}), "10")
    live.merge_rows(path, pd.DataFrame({"job": ["1"], "state": ["done"]}), "1")
    assert path.read_text() == "job,state\n10,done\n1,done\n"


def test_job_configs_are_read_as_omegaconf_reads_them(tmp_path):
    from omegaconf import OmegaConf

    from sim.sweep.jobfiles import load_yaml as _load

    path = tmp_path / "config.yaml"
    path.write_text("a: 1e-3\nb: 2026-12-04\nc: .5\nd: 1_000\ne: ${x}\nf: [1, 'y', null]\n"
                    "g: {h: .inf, i: 'on', j: yes}\n")
    assert _load(path) == OmegaConf.to_container(OmegaConf.load(path))
    assert _load(path)["a"] == 0.001 and _load(path)["b"] == "2026-12-04"


@pytest.mark.parametrize("plots,sweep_job,drawn", [
    (None, False, True), (None, True, False), (True, True, True), (False, False, False)])
def test_a_sweep_job_draws_its_figures_only_when_asked(plots, sweep_job, drawn, tmp_path):
    from sim.app import execute
    from sim.config import compose

    cfg = compose(["horizon_s=10", "drain_s=10", "output.progress=false"]
                  + ([] if plots is None else [f"output.plots={plots}"]))
    assert cfg.output.plots is plots
    execute(cfg, tmp_path, sweep_job=sweep_job)
    assert (tmp_path / "plots" / "ttft_cdf.png").is_file() is drawn
    assert (tmp_path / "summary.csv").is_file()
