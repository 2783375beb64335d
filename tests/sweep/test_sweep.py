"""Sweeps end to end: multirun, the sweep-root table, resuming, failures, the objective."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers.cli import cli

import sim
from sim.analysis.curves import breakevens, crossings
from sim.sweep.aggregate import collect, parse_overrides
from sim.sweep.listprice import list_price_per_mtok_out
from sim.sweep.objective import objective_value
from sim.sweep.resume import config_digest

RATE = "tenants.chat.arrival.rate_rps"


@pytest.fixture(scope="module")
def two_point_sweep(tmp_path_factory):
    """``python -m sim -m`` over two loads with the default (joblib) launcher."""
    root = tmp_path_factory.mktemp("sweep")
    cwd = root / "cwd"
    cwd.mkdir()
    sweep = root / "sweep"
    r = cli("-m", f"{RATE}=2,5", "horizon_s=20", "output.plots=false",
            f"hydra.sweep.dir={sweep}", cwd=cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return sweep, cwd, r


def test_multirun_writes_the_aggregated_table_with_a_column_per_swept_key(two_point_sweep):
    sweep, cwd, r = two_point_sweep
    assert "Joblib" in r.stdout + r.stderr  # the laptop default launcher ran the jobs
    table = pd.read_csv(sweep / "summary.csv")
    assert list(table.columns[:3]) == ["job", RATE, "horizon_s"]
    # one row per (job, setup, tenant): 2 jobs x (chat + __all__)
    assert len(table) == 4
    assert sorted(zip(table["job"], table[RATE], table["tenant"])) == [
        (0, 2, "__all__"), (0, 2, "chat"), (1, 5, "__all__"), (1, 5, "chat")]
    assert (table["horizon_s"] == 20).all()
    for job in (0, 1):
        own = pd.read_csv(sweep / str(job) / "summary.csv")
        mine = table[table["job"] == job].reset_index(drop=True)
        for col in ("requests", "ttft_p99_s", "cost_usd"):
            assert list(mine[col]) == pytest.approx(list(own[col]))
        assert (sweep / str(job) / "done.json").is_file()
    # more load, more requests: the rows are not swapped
    assert table.loc[table[RATE] == 5, "requests"].min() > table.loc[table[RATE] == 2, "requests"].max()
    md = (sweep / "summary.md").read_text()
    assert RATE in md and "2 of 2 jobs finished" in md
    assert (sweep / "report.md").is_file() and (sweep / "jobs.csv").is_file()
    # jobs did not change directory: nothing was written where the command ran
    assert list(cwd.iterdir()) == []


def test_interrupted_sweep_recomputes_only_unfinished_jobs(two_point_sweep, tmp_path):
    sweep, cwd, _ = two_point_sweep
    again = tmp_path / "again"
    shutil.copytree(sweep, again)
    # "interrupt" job 1: no completion marker, and a half-written summary
    (again / "1" / "done.json").unlink()
    (again / "1" / "summary.csv").write_text("setup,tenant\n")
    before0 = (again / "0" / "summary.csv").stat().st_mtime_ns
    # the launcher plays no part in resuming; the in-process one is quicker to start
    r = cli("-m", "hydra/launcher=basic", f"{RATE}=2,5", "horizon_s=20", "output.plots=false",
            f"hydra.sweep.dir={again}", cwd=cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    # job 0 read back by the sweeper from its done.json's job_key: never composed or launched
    assert "job 0 (" in r.stdout and "already finished (read back, not composed)" in r.stdout
    assert "#0 :" not in r.stdout + r.stderr and "#1 :" in r.stdout + r.stderr
    assert (again / "0" / "summary.csv").stat().st_mtime_ns == before0  # not rewritten
    assert (again / "1" / "done.json").is_file()
    redone = pd.read_csv(again / "1" / "summary.csv")
    assert redone.equals(pd.read_csv(sweep / "1" / "summary.csv"))  # same seed, same numbers
    assert len(pd.read_csv(again / "summary.csv")) == 4


def test_resume_recomputes_when_the_config_changed(tmp_path):
    from sim.app import execute

    cfg = sim.compose(["horizon_s=15", "output.plots=false"])
    first = execute(cfg, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in first.notes)
    again = execute(cfg, tmp_path, resume=True)
    assert any("not recomputed" in n for n in again.notes)
    assert again.summary["requests"].tolist() == first.summary["requests"].tolist()
    cfg2 = sim.compose(["horizon_s=15", "output.plots=false", "seed=1"])
    assert config_digest(cfg2) != config_digest(cfg)
    third = execute(cfg2, tmp_path, resume=True)
    assert not any("not recomputed" in n for n in third.notes)
    assert json.loads((tmp_path / "done.json").read_text())["seed"] == 1
    # the progress switch does not change what is computed
    assert config_digest(sim.compose(["horizon_s=15", "output.plots=false",
                                      "output.progress=false"])) == config_digest(cfg)


def test_a_failing_job_does_not_stop_the_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    r = cli("-m", "hydra/launcher=basic", "tenants.chat.model=llama31-8b,GPT-9", "horizon_s=10",
            "output.plots=false", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "GPT-9" in (sweep / "1" / "error.txt").read_text()
    assert not (sweep / "1" / "done.json").exists()
    jobs = pd.read_csv(sweep / "jobs.csv")
    assert list(jobs["state"]) == ["done", "failed"]
    assert set(pd.read_csv(sweep / "summary.csv")["job"]) == {0}
    assert "Unfinished jobs" in (sweep / "summary.md").read_text()


# ------------------------------------------------------------------ aggregation, unit level
def _fake_job(root: Path, num: int, overrides: list[str], summary: pd.DataFrame, done=True):
    d = root / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    summary.to_csv(d / "summary.csv", index=False)
    if done:
        (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None}))


def _summary(requests):
    return pd.DataFrame({"setup": ["dedicated"] * 2, "tenant": ["chat", "__all__"],
                         "model": ["m", ""], "requests": [requests] * 2})


def test_collect_orders_varying_keys_first_and_skips_unfinished(tmp_path):
    _fake_job(tmp_path, 0, ["experiment=x", "a.b=1", "+params.k=lo"], _summary(10))
    _fake_job(tmp_path, 1, ["experiment=x", "a.b=2", "+params.k=lo"], _summary(20))
    _fake_job(tmp_path, 2, ["experiment=x", "a.b=3", "+params.k=lo"], _summary(30), done=False)
    sj = collect(tmp_path)
    assert sj.varying == ["a.b"]
    assert sj.constant == {"experiment": "x", "params.k": "lo"}
    assert list(sj.table.columns[:4]) == ["job", "a.b", "experiment", "params.k"]
    assert sj.table["a.b"].tolist() == [1, 1, 2, 2]
    assert list(sj.jobs["state"]) == ["done", "done", "missing"]


def test_parse_overrides_handles_lists_and_strings():
    got = parse_overrides(["x=1.5", "y=abc", "z=[1,2]", "+w=true", "hydra.verbose=true"])
    assert got == {"x": 1.5, "y": "abc", "z": "[1,2]", "w": True}


def test_list_price_reference_is_price_times_tokens():
    s = pd.DataFrame({"setup": ["d", "d", "d"], "tenant": ["a", "b", "__all__"],
                      "model": ["m1", "m2", ""], "input_tokens": [1_000_000, 2_000_000, 0],
                      "output_tokens": [500_000, 1_000_000, 1_500_000]})
    catalog = {"models": {"m1": {"price_in_usd_per_mtok": 0.2, "price_out_usd_per_mtok": 0.6},
                          "m2": {"price_in_usd_per_mtok": 1.0, "price_out_usd_per_mtok": 2.0}}}
    ref = list_price_per_mtok_out(s, catalog)
    # a: (1 x 0.2 + 0.5 x 0.6) $ / 0.5 M = 1.0; b: (2 x 1 + 1 x 2) / 1 = 4; all: 4.5 / 1.5 = 3
    assert ref.tolist() == pytest.approx([1.0, 4.0, 3.0])


def test_list_price_reference_of_all_adds_up_tenants_only():
    # the aggregate rows (model, tier, background) are not added into __all__ a second time
    s = pd.DataFrame({"setup": ["d"] * 6,
                      "tenant": ["a", "b", "__all__", "__model__:m1", "__tier__:dedicated",
                                 "__background__"],
                      "model": ["m1", "m2", "", "m1", "", ""],
                      "input_tokens": [1_000_000, 2_000_000, 0, 1_000_000, 3_000_000, 9_000_000],
                      "output_tokens": [500_000, 1_000_000, 1_500_000, 500_000, 1_500_000, 9_000_000]})
    catalog = {"models": {"m1": {"price_in_usd_per_mtok": 0.2, "price_out_usd_per_mtok": 0.6},
                          "m2": {"price_in_usd_per_mtok": 1.0, "price_out_usd_per_mtok": 2.0}}}
    ref = list_price_per_mtok_out(s, catalog)
    assert ref[:4].tolist() == pytest.approx([1.0, 4.0, 3.0, 1.0])
    assert ref[4:].isna().all()


def test_list_price_reference_prices_both_windows_tokens():
    # metrics.warmup_s: the cost columns of both windows' rows are the whole run's, so their
    # list price is too (until December 2026 each window's own tokens: 1.0 and 0.6 here)
    s = pd.DataFrame({"setup": ["d"] * 4, "tenant": ["a", "__all__", "a@warmup", "__all__@warmup"],
                      "window": ["measured", "measured", "warmup", "warmup"],
                      "model": ["m1", "", "m1", ""], "input_tokens": [1_000_000, 0, 0, 0],
                      "output_tokens": [500_000, 500_000, 1_000_000, 1_000_000]})
    catalog = {"models": {"m1": {"price_in_usd_per_mtok": 0.2, "price_out_usd_per_mtok": 0.6}}}
    ref = list_price_per_mtok_out(s, catalog)
    # the whole run: (0.2 x 1 + 0.6 x 1.5) / 1.5 = 0.7333 in every row
    assert ref.tolist() == pytest.approx([1.1 / 1.5] * 4)


def test_crossings_interpolate_linearly():
    assert crossings([0, 10], [10, 0], [0, 10]) == [5.0]
    assert crossings([0, 1, 2, 3], [4, 3, 2, 1], [0, 1, 2, 3]) == [2.0]  # touch at a sample
    assert crossings([0, 1, 2], [1, 2, 3], [0, 0, 0]) == []
    # y = 8 / x (a fixed bill spread over more tokens) against a flat price 2: the straight
    # chord from (2, 4) to (8, 1) crosses 2 at x = 2 + 6 * (4-2)/(4-1) = 6, while the log-log
    # chord is the curve itself and finds the true crossing, 8 / x = 2 at x = 4
    assert crossings([2, 8], [4, 1], [2, 2]) == [6.0]
    assert crossings([2, 8], [4, 1], [2, 2], log=True) == [pytest.approx(4.0)]


def test_ties_and_noise_are_not_crossings():
    same = [3.0, 2.0, 1.0, 0.5]
    assert crossings([1, 2, 3, 4], same, same) == []  # identical curves
    noisy = [v * (1 + 1e-9 * (-1) ** i) for i, v in enumerate(same)]  # float noise around it
    assert crossings([1, 2, 3, 4], same, noisy) == []
    assert crossings([1, 2, 3, 4], same, noisy, log=True) == []
    assert crossings([0, 1, 2], [1, 1, 1], [0, 1, 0]) == []  # a touch, not a crossing
    # through a stretch of ties: placed between the last sample above and the first below
    assert crossings([0, 1, 2, 3], [2, 1, 1, 0], [1, 1, 1, 1]) == [1.5]
    # a 0.05 % difference is a tie; a 1 % difference is a crossing
    assert crossings([0, 1], [1.0, 1.0], [0.9995, 1.0005]) == []
    assert crossings([0, 1], [1.0, 1.0], [0.99, 1.01]) == [0.5]


def test_a_limit_below_the_first_sweep_point_is_that_point_not_minus_infinity():
    from sim.sweep.study import first_crossing_up

    assert first_crossing_up([1, 2, 3], [5.0, 6.0, 7.0], 1.0) == 1.0
    assert first_crossing_up([1, 2, 3], [0.5, 0.7, 0.9], 1.0) != first_crossing_up(
        [1, 2, 3], [0.5, 0.7, 0.9], 1.0)  # NaN: never above
    assert first_crossing_up([1, 3], [0.5, 1.5], 1.0) == 2.0


def test_breakevens_between_setups_and_against_the_list_price():
    t = pd.DataFrame({"setup": ["dedicated"] * 3 + ["other"] * 3, "tenant": ["__all__"] * 6,
                      "x": [1, 2, 4] * 2,
                      "cost_per_mtok_out_usd": [4.0, 2.0, 1.0, 1.5, 1.5, 1.5],
                      "list_price_usd_per_mtok_out": [3.0] * 6})
    be = breakevens(t, "x", [])
    pairs = {(a, b): x for a, b, x in zip(be["a"], be["b"], be["x"])}
    # dedicated is 4/x exactly (log-log straight): 4/x = 1.5 at x = 8/3, 4/x = 3 at x = 4/3
    assert pairs[("dedicated", "other")] == pytest.approx(8 / 3)
    assert pairs[("dedicated", "per-token list price")] == pytest.approx(4 / 3)
    assert ("other", "per-token list price") not in pairs


def test_objective_is_cost_within_the_slo_and_penalised_outside():
    cfg = sim.compose(["objective.slo_max=1.0", "objective.penalty=100"])
    s = pd.DataFrame({"setup": ["dedicated"], "tenant": ["__all__"], "cost_usd": [3.0],
                      "ttft_p99_s": [0.8], "requests": [100], "completed": [100]})
    assert objective_value(s, cfg) == 3.0
    s["ttft_p99_s"] = 1.5
    assert objective_value(s, cfg) == pytest.approx(3.0 + 100 * (1 + 0.5))
    s["ttft_p99_s"] = 0.5
    s["completed"] = 90  # unserved requests miss the SLO even with a good percentile
    assert objective_value(s, cfg) == pytest.approx(3.0 + 100 * (1 + 0.1))
    assert objective_value(s, sim.compose([])) == 3.0  # no SLO: the cost alone
    with pytest.raises(sim.InputError, match="objective"):
        objective_value(s, sim.compose(["objective.slo_max=1", "objective.setup=nope"]))


def test_reaggregating_a_folder_without_jobs_is_one_line_and_writes_nothing(tmp_path, capsys):
    from sim.sweep.__main__ import main

    (tmp_path / "notajob").mkdir()  # a subfolder, but no .hydra/overrides.yaml in it
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path}: no job folder in it"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notajob"]  # no empty summary written


def test_one_jobs_folder_given_for_its_sweep_names_the_sweep_folder(tmp_path, capsys):
    from sim.sweep.__main__ import main

    job = tmp_path / "sweep" / "3"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- seed=3\n")
    assert main([str(job)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith(
        f"it is one job's folder: give its sweep folder, {(tmp_path / 'sweep').resolve()}"), err
    assert sorted(p.name for p in job.iterdir()) == [".hydra"]


def test_a_sweep_of_a_study_with_several_rows_a_setup_draws_no_curve(tmp_path):
    """A sweep of the break-even study (two loads a job, so two rows a setup): until December
    2026 its aggregation ended in an IndexError that Hydra printed as a warning, exit 0, with
    no report.md nor sim.sweep's figures (sim.sweep then a traceback). Now the sweep reports,
    draws no curve through the study's scenarios, and says why."""
    sweep = tmp_path / "sweep"
    r = cli("-m", "hydra/launcher=basic", "experiment=breakeven", "horizon_s=60", "drain_s=30",
            "breakeven.load_fractions=[0.1,0.5]", "catalog.models.llama33-70b.price_out_usd_per_mtok=0.5,2",
            f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "raised" not in r.stderr, r.stderr[-3000:]
    assert "no figure against catalog.models.llama33-70b.price_out_usd_per_mtok" in r.stdout + r.stderr
    assert (sweep / "report.md").is_file() and not (sweep / "breakeven.csv").exists()
    from sim.sweep.__main__ import main as aggregate
    assert aggregate([str(sweep)]) == 0


def test_the_list_price_prices_the_whole_runs_tokens_as_the_costs_do():
    """With a warm-up the measured row's cost per million output tokens is the whole run's
    bill over the whole run's tokens; its list price was over the measured window's tokens
    alone until December 2026 ($1.023/M beside $0.935/M for a pool billed at that very list
    price, and a sweep drew a break-even between them). Both rows now price the same
    tokens, so per-token billing reads exactly the list price."""
    from omegaconf import OmegaConf
    args = ["horizon_s=120", "drain_s=60", "metrics.warmup_s=10", "setups=[serverless]",
            "tenants.chat.arrival.rate_rps=2", "output.plots=false"]
    s = sim.run(args).summary
    lp = list_price_per_mtok_out(s, OmegaConf.to_container(sim.compose(args).catalog, resolve=True))
    assert set(s["window"]) == {"measured", "warmup"} or s["tenant"].str.contains("@warmup").any()
    assert lp.to_numpy() == pytest.approx(s["cost_per_mtok_out_usd"].to_numpy(), rel=1e-9)


def test_seeds_are_points_with_no_axis_to_cross_along():
    """`-m 'seed=range(0,3)'` wrote a break-even at seed 0.0757 and starred it in the cost
    figure until December 2026: seeds, like variants, are named points."""
    from sim.report.sweep import categorical
    table = pd.DataFrame({"seed": [0, 1, 2], "tenants.chat.arrival.rate_rps": [1.0, 2.0, 3.0]})
    assert categorical(table, "seed") and not categorical(table, "tenants.chat.arrival.rate_rps")
