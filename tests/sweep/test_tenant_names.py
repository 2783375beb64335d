"""Tenants named as pandas' missing values (``NA``, ``nan``, ``null``, ``None``, ``""``):
the sweep's tables read back keep the names (sim/sweep/jobfiles.py read_csv_names). Read with
pandas' defaults they came back as float NaN: every sweep of such a tenant ended in an
AttributeError warning, exit 0, no sweep summary.csv or report.md."""

import csv
import subprocess
import sys

import pandas as pd

from sim.sweep import live
from sim.sweep.jobfiles import read_frame, read_summary

NAMES = ("NA", "nan", "null", "None", "")
TENANT = "{model: llama31-8b, arrival: {kind: poisson, rate_rps: 1}}"


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_read_back_keeps_names_and_empty_numbers(tmp_path):
    p = tmp_path / "summary.csv"
    rows = [["setup", "tenant", "model", "requests", "keepalive_s"]]
    rows += [["dedicated", n, "llama31-8b", "3", ""] for n in NAMES]
    rows += [["dedicated", "__all__", "", "15", "NA"]]
    with open(p, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    df = read_summary(p)
    assert list(df["tenant"]) == [*NAMES, "__all__"]  # as written, none missing
    assert df["model"].isna().tolist() == [False] * 5 + [True]  # an empty model: none
    assert df["keepalive_s"].isna().all() and df["requests"].sum() == 30
    assert list(read_frame(p)["tenant"]) == [*NAMES, "__all__"]


def test_live_table_merge_keeps_names(tmp_path):
    path = tmp_path / "summary.csv"
    rows = pd.DataFrame({"job": ["0", "0"], "setup": ["a", "a"], "tenant": ["NA", "null"]})
    live.merge_rows(path, rows, "0")
    other = pd.DataFrame({"job": ["1"], "setup": ["a"], "tenant": ["nan"], "x": [1.5]})
    live.merge_rows(path, other, "1")  # other columns: the table is read back and rewritten
    live.merge_rows(path, rows, "0")  # the job again (a re-run): its rows replaced
    assert [(r["job"], r["tenant"]) for r in _csv(path)] == [("1", "nan"), ("0", "NA"), ("0", "null")]


def test_sweep_of_tenants_named_as_missing_values(tmp_path):
    folder = tmp_path / "sw"
    args = [sys.executable, "-m", "sim", "-m", "seed=0,1", "horizon_s=5", "output.plots=false",
            f"tenants.NA={TENANT}", f"hydra.sweep.dir={folder}"]
    p = subprocess.run(args, capture_output=True, text=True)
    assert p.returncode == 0 and "raised" not in p.stderr, p.stderr[-3000:]
    table = _csv(folder / "summary.csv")
    for job in ("0", "1"):  # each job's rows hold every tenant, by its name, and its aggregate
        assert {r["tenant"] for r in table if r["job"] == job} == {"chat", "NA", "__all__"}
    assert (folder / "report.md").is_file()
    first = (folder / "summary.csv").read_bytes()
    q = subprocess.run([sys.executable, "-m", "sim.sweep", str(folder)], capture_output=True, text=True)
    assert q.returncode == 0, q.stderr[-3000:]
    assert (folder / "summary.csv").read_bytes() == first
    again = subprocess.run(args, capture_output=True, text=True)  # re-run: read back, not run
    assert again.returncode == 0 and again.stdout.count("already finished") == 2, again.stderr[-3000:]
    assert (folder / "summary.csv").read_bytes() == first


def test_a_run_folder_read_for_figures_keeps_a_tenant_named_na(tmp_path):
    """sim.report.figures.load_run (the study scripts' figures from a run folder) read a
    tenant named NA as NaN until December 2026."""
    from sim.report.figures import load_run

    (tmp_path / "summary.csv").write_text("setup,tenant,model,requests\n"
                                          "dedicated,NA,,3\ndedicated,__all__,,3\n")
    s = load_run(tmp_path)["summary"]
    assert s["tenant"].tolist() == ["NA", "__all__"]
    assert s["model"].isna().all() and s["requests"].tolist() == [3, 3]
