"""A study's job holds several scenarios a setup (traces, keep-alive policies, background
levels): the sweep prices, shows and scores each apart; and a job stopped between its
``done.json`` and its live-table row is still in the live tables (sim/sweep/skip.py)."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf

from sim.errors import InputError
from sim.sweep.aggregate import AggregateSweep, SweepJobs
from sim.sweep.listprice import list_price_per_mtok_out, unpriced_note
from sim.sweep.objective import objective_value
from sim.sweep.skip import launch_unfinished

CATALOG = {"models": {"m1": {"price_in_usd_per_mtok": 0.2, "price_out_usd_per_mtok": 0.6}}}


def two_traces():
    return pd.DataFrame({"setup": ["s"] * 4, "tenant": ["a", "__all__"] * 2,
                         "trace": ["x", "x", "y", "y"], "model": ["m1", "", "m1", ""],
                         "input_tokens": [1_000_000, 1_000_000, 0, 0],
                         "output_tokens": [500_000, 500_000, 1_000_000, 1_000_000]})


def test_each_scenario_of_a_study_is_priced_on_its_own_tokens():
    ref = list_price_per_mtok_out(two_traces(), CATALOG)
    # x: (1 x 0.2 + 0.5 x 0.6) $ / 0.5 M = 1.0; y: 1 x 0.6 / 1 = 0.6 (pooled: 1.1 / 1.5 = 0.733)
    assert ref.tolist() == pytest.approx([1.0, 1.0, 0.6, 0.6])


def test_a_list_price_that_cannot_be_given_is_said():
    table = pd.DataFrame({"job": ["0", "0", "1"], "setup": ["s", "d", "s"],
                          "tenant": ["__all__"] * 3, "list_price_usd_per_mtok_out":
                          [float("nan"), 1.0, float("nan")]})
    note = unpriced_note(table)
    assert note is not None and "2 of the 3 rows" in note
    assert unpriced_note(table.iloc[[1]]) is None


def test_summary_md_tells_a_studys_rows_apart():
    from sim.report.sweep import sweep_markdown

    table = pd.DataFrame({"job": ["0"] * 2, "seed": [0, 0], "setup": ["serverless"] * 2,
                          "tenant": ["__all__"] * 2, "background_level": [0.0, 1.0],
                          "cost_usd": [1.0, 2.0]})
    sj = SweepJobs(table=table, jobs=pd.DataFrame({"job": ["0"], "state": ["done"],
                                                   "overrides": [""], "message": [""]}))
    md = sweep_markdown(sj)
    rows = [ln for ln in md.splitlines() if ln.startswith("|") and "serverless" in ln]
    assert len(rows) == 2
    # each row, its cost cell aside, reads differently (the same "| 0 | serverless |
    # __all__ |" twice before)
    assert len({r.rsplit("|", 2)[0] for r in rows}) == 2, md
    assert "background x0" in rows[0] and "background x1" in rows[1]


def policies():
    return pd.DataFrame({"setup": ["serverless"] * 3, "tenant": ["__all__"] * 3,
                         "policy": ["fixed", "hybrid", "fixed"], "keepalive_s": [5, 0, 60],
                         "cost_usd": [0.7, 0.35, 0.86], "ttft_p99_s": [0.5, 0.5, 0.5],
                         "requests": [10] * 3, "completed": [10] * 3})


def test_an_objective_over_several_scenario_rows_is_never_the_first_row():
    cfg = OmegaConf.create({"objective": {"setup": None, "tenant": "__all__", "cost": "cost_usd",
                                          "slo_metric": "ttft_p99_s", "slo_max": None,
                                          "penalty": 1e4}})
    assert objective_value(policies(), cfg) is None  # no objective asked: none given
    assert objective_value(policies().iloc[[1]], cfg) == 0.35  # one row: its cost
    cfg.objective.slo_max = 1.0
    with pytest.raises(InputError) as e:
        objective_value(policies(), cfg)
    said = str(e.value)
    assert "objective" in said and "3 summary rows" in said and "policy, keepalive_s" in said


def sweep_config(tmp_path):
    target = f"{AggregateSweep.__module__}.{AggregateSweep.__name__}"
    return OmegaConf.create({
        "output": {"resume": True},
        "hydra": {"sweep": {"dir": str(tmp_path / "sweep"), "subdir": "${hydra.job.num}"},
                  "job": {"config_name": "config", "name": "app"},
                  "callbacks": {"aggregate": {"_target_": target}}}})


def finished_folder(sweep: Path, num: int) -> Path:
    d = sweep / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"seed={num}"]))
    (d / "summary.csv").write_text(f"setup,tenant,cost_usd\nd,__all__,{num + 1}\n")
    (d / "done.json").write_text(json.dumps({"objective": num + 1.0}))
    return d


def test_a_job_finished_as_the_sweep_stops_is_in_the_live_tables(tmp_path):
    """The interruption lands between a job's done.json and its own live row (on_job_end):
    no timing, the launcher stops there."""
    cfg = sweep_config(tmp_path)
    sweep = tmp_path / "sweep"
    batch = [["seed=0"], ["seed=1"]]

    def launch(jobs, idx):
        for k in range(len(jobs)):
            finished_folder(sweep, idx + k)
        raise KeyboardInterrupt  # both done.json written, neither job's row added

    with pytest.raises(KeyboardInterrupt):
        launch_unfinished(launch, cfg, batch, 0, {})
    states = pd.read_csv(sweep / "jobs.csv", dtype={"job": str})
    assert states[["job", "state"]].values.tolist() == [["0", "done"], ["1", "done"]]
    rows = pd.read_csv(sweep / "summary.csv", dtype={"job": str})
    assert rows[["job", "cost_usd"]].values.tolist() == [["0", 1.0], ["1", 2.0]]


def test_a_ray_job_finishing_as_ray_shuts_down_is_in_the_live_tables(tmp_path, monkeypatch):
    """A stopped Ray sweep: its worker finishes job 1 while Ray goes down (faked here:
    ray.shutdown writes the job's done.json), which must come before the sweeper's last
    pass over the stopped batch. Until December 2026 Ray went down at the process's exit,
    after that pass, and such a job had a done.json and no row (1 stop in 4)."""
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")
    import importlib

    import ray

    from hydra_plugins.servesim_sweeper.ray_launcher import RayLauncher

    cfg = sweep_config(tmp_path)
    sweep = tmp_path / "sweep"
    _launcher_util = importlib.import_module("hydra_plugins.hydra_ray_launcher._launcher_util")
    monkeypatch.setattr(_launcher_util, "start_ray", lambda init_cfg: None)

    def stopped(self, jobs, idx):  # job 0 finished, job 1 in flight: neither row added
        finished_folder(sweep, 0)
        raise KeyboardInterrupt

    monkeypatch.setattr(RayLauncher.__mro__[1], "launch", stopped)
    # the worker of job 1 ends it as Ray goes down, before Ray ends the worker
    monkeypatch.setattr(ray, "shutdown", lambda: finished_folder(sweep, 1))
    launcher = RayLauncher(ray=OmegaConf.create({"init": {}, "remote": {}}))
    with pytest.raises(KeyboardInterrupt):
        launch_unfinished(launcher.launch, cfg, [["seed=0"], ["seed=1"]], 0, {})
    states = pd.read_csv(sweep / "jobs.csv", dtype={"job": str})
    assert states[["job", "state"]].values.tolist() == [["0", "done"], ["1", "done"]]


def test_a_replicated_scenario_with_an_empty_key_cell_is_priced(tmp_path):
    """With replications, each seed's list price is averaged per scenario; a scenario whose
    key cell is empty (keepalive's hybrid policy has no keepalive_s) matched no group and
    read no list price (and the note blamed the catalog)."""
    from sim.sweep.listprice import _list_price

    rows = two_traces().assign(keepalive_s=[5.0, 5.0, float("nan"), float("nan")]).drop(columns="trace")
    reps = pd.concat([rows.assign(seed=k) for k in (1, 2)], ignore_index=True)
    reps[["seed", *rows.columns]].to_csv(tmp_path / "replications.csv", index=False)
    got = _list_price(tmp_path, rows.assign(replications=2), CATALOG)
    assert got.tolist() == pytest.approx([1.0, 1.0, 0.6, 0.6])
