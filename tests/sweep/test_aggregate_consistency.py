"""``python -m sim.sweep`` on jobs that do not add up to one table (sim/sweep/consistency.py):
a job's summary.csv without a column every run writes, aggregated as empty cells or no
column unsaid, is said in a note naming the jobs and columns; a job folder copied in from
another run, composed from another config, whose rows stood as the sweep's under its
overrides, is refused in one line naming it and a key (the twenty-first hostile-input
sweep left both)."""

import json

import pandas as pd
import yaml

from sim.metrics.summary import SUMMARY_COLUMNS
from sim.sweep.__main__ import main as reaggregate

BASE = {"seed": 0, "horizon_s": 5, "tenants": {"chat": {"arrival": {"rate_rps": 4}}},
        "catalog": {"gpus": {"H100": {"spot_usd_per_hour": 2.25}}}}


def _summary(drop=()):
    cols = [c for c in SUMMARY_COLUMNS if c not in drop]
    row = {"setup": "dedicated", "tenant": "__all__", "model": "m"}
    return pd.DataFrame([{c: row.get(c, 1) for c in cols}]).to_csv(index=False)


def _job(root, num, overrides, config=None, drop=()):
    d = root / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    if config is not None:
        (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
        (d / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump(
            {"hydra": {"runtime": {"choices": {"experiment": "default", "hydra/launcher": "basic"}}}}))
    (d / "summary.csv").write_text(_summary(drop))
    (d / "done.json").write_text(json.dumps({"config_sha256": "x", "objective": None}))
    return d


def _sweep(root, *, copied=None, experiment="default"):
    """Two jobs ``seed=0,1 horizon_s=5`` and the root's multirun.yaml (the sweep's config);
    ``copied``: job 1's config changed at these keys, as a folder from another run."""
    root.mkdir()
    (root / "multirun.yaml").write_text(yaml.safe_dump({**BASE, "hydra": {"runtime": {
        "choices": {"experiment": experiment, "hydra/launcher": "basic"}}}}))
    _job(root, 0, ["seed=0", "horizon_s=5"], BASE)
    other = json.loads(json.dumps({**BASE, "seed": 1}))
    for key, value in (copied or {}).items():
        *path, leaf = key.split(".")
        node = other
        for p in path:
            node = node[p]
        node[leaf] = value
    _job(root, 1, ["seed=1", "horizon_s=5"], other)


def _notes(out):
    return [ln for ln in out.splitlines() if ln.startswith("note:")]


def test_a_healthy_sweep_says_nothing_and_a_copied_job_is_refused_naming_it(tmp_path, capsys):
    _sweep(tmp_path / "ok")
    assert reaggregate([str(tmp_path / "ok")]) == 0
    out = capsys.readouterr().out
    assert _notes(out) == [] and "2 rows from 2 of 2 jobs" in out

    _sweep(tmp_path / "bad", copied={"tenants.chat.arrival.rate_rps": 8})
    assert reaggregate([str(tmp_path / "bad")]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert err == [f"error: {tmp_path / 'bad' / '1' / '.hydra' / 'config.yaml'}: job 1 was "
                   "composed from another config than the sweep's (multirun.yaml): "
                   "tenants.chat.arrival.rate_rps is 8 here, 4 there, and none of its overrides "
                   "sets it (a folder copied in from another run?); its rows would stand as this "
                   "sweep's: move it out, or re-run the sweep in its folder"], err
    assert not (tmp_path / "bad" / "summary.csv").exists()  # nothing aggregated


def test_without_the_roots_config_jobs_are_compared_with_the_first(tmp_path, capsys):
    _sweep(tmp_path / "s", copied={"catalog.gpus.H100.spot_usd_per_hour": 1.0})
    (tmp_path / "s" / "multirun.yaml").unlink()
    assert reaggregate([str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert ("job 1 was composed from another config than job 0: "
            "catalog.gpus.H100.spot_usd_per_hour is 1.0 here, 2.25 there") in err


def test_a_job_of_another_config_group_is_not_compared(tmp_path, capsys):
    """A job composed with another experiment differs at keys its overrides do not name;
    its ``experiment=`` override is the table's column that shows it."""
    _sweep(tmp_path / "s", copied={"horizon_s": 60}, experiment="hybrid")
    assert reaggregate([str(tmp_path / "s")]) == 0
    assert _notes(capsys.readouterr().out) == []


def test_a_column_missing_from_some_jobs_or_all_is_said_naming_them(tmp_path, capsys):
    root = tmp_path / "s"
    _job(root, 0, ["seed=0"])
    _job(root, 1, ["seed=1"], drop=("ttft_p99_s", "cost_usd"))
    _job(root, 2, ["seed=2"], drop=("ttft_p99_s", "cost_usd"))
    assert reaggregate([str(root)]) == 0
    assert _notes(capsys.readouterr().out) == [
        "note: 2 of 3 finished jobs (1, 2) have a summary.csv without columns 'ttft_p99_s', "
        "'cost_usd', which every run writes (edited by hand, or of another program?): their "
        "cells in the table's columns 'ttft_p99_s', 'cost_usd' are empty; re-run the sweep in "
        "its folder to recompute them"]
    table = pd.read_csv(root / "summary.csv")
    assert table["ttft_p99_s"].isna().tolist() == [False, True, True]  # what the note says

    (root / "0" / "summary.csv").write_text(_summary(drop=("ttft_p99_s",)))
    assert reaggregate([str(root)]) == 0
    assert _notes(capsys.readouterr().out) == [
        "note: 3 of 3 finished jobs (0, 1, 2) have a summary.csv without column 'ttft_p99_s', "
        "which every run writes (edited by hand, or of another program?): the table has no "
        "column 'ttft_p99_s'; re-run the sweep in its folder to recompute them",
        "note: 2 of 3 finished jobs (1, 2) have a summary.csv without column 'cost_usd', which "
        "every run writes (edited by hand, or of another program?): their cells in the table's "
        "column 'cost_usd' are empty; re-run the sweep in its folder to recompute them"]
    assert "ttft_p99_s" not in pd.read_csv(root / "summary.csv").columns
