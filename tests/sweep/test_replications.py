"""Replications: the Student-t interval against scipy, and the seeds actually run."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.sweep.stats import ci_columns, combine, mean_ci95


def _scipy_ci(x):
    x = np.asarray(x, float)
    lo, hi = stats.t.interval(0.95, df=x.size - 1, loc=x.mean(), scale=stats.sem(x))
    return x.mean(), (hi - lo) / 2


@pytest.mark.parametrize("x", [[1.0, 2.0], [0.31, 0.29, 0.35, 0.4, 0.22],
                               list(np.random.default_rng(3).lognormal(0, 1, 30))])
def test_mean_ci95_matches_scipy_t_interval(x):
    m, h = mean_ci95(x)
    sm, sh = _scipy_ci(x)
    assert m == pytest.approx(sm, rel=1e-12)
    assert h == pytest.approx(sh, rel=1e-12)


def test_mean_ci95_known_value_and_degenerate_cases():
    # two values 1 and 3: mean 2, s = sqrt(2), t(0.975, 1) = 12.7062...; half = t*s/sqrt(2) = t
    m, h = mean_ci95([1.0, 3.0])
    assert m == 2.0 and h == pytest.approx(12.706204736, rel=1e-9)
    assert np.isnan(mean_ci95([5.0])[1]) and mean_ci95([5.0])[0] == 5.0
    assert all(np.isnan(mean_ci95([])))
    assert mean_ci95([1.0, np.nan, 3.0]) == mean_ci95([1.0, 3.0])  # NaN (no completions) dropped


def test_combine_groups_by_setup_and_tenant():
    per_seed = pd.DataFrame({
        "seed": [0, 0, 1, 1, 2, 2],
        "setup": ["d"] * 6, "tenant": ["a", "__all__"] * 3, "model": ["m", ""] * 3,
        "requests": [10, 10, 12, 12, 11, 11],
        "ttft_p99_s": [0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
        "cost_usd": [1.0, 1.0, 2.0, 2.0, 4.0, 4.0],
        "slo_ttft_s": [1.0, np.nan] * 3,
    })
    out = combine(per_seed)
    assert list(out["tenant"]) == ["a", "__all__"]
    assert list(out["replications"]) == [3, 3]
    a = out.iloc[0]
    m, h = _scipy_ci([0.5, 0.7, 0.9])
    assert a["ttft_p99_s"] == pytest.approx(m) and a["ttft_p99_s_ci95"] == pytest.approx(h)
    m, h = _scipy_ci([1.0, 2.0, 4.0])
    assert a["cost_usd"] == pytest.approx(m) and a["cost_usd_ci95"] == pytest.approx(h)
    assert a["requests"] == pytest.approx(11.0)
    assert "requests_ci95" not in out.columns and "slo_ttft_s_ci95" not in out.columns
    assert set(ci_columns(["ttft_p50_s", "cost_per_mtok_out_usd", "requests", "slo_ttft_s"])) == \
        {"ttft_p50_s", "cost_per_mtok_out_usd"}


def test_replications_run_consecutive_seeds_and_write_their_rows(tmp_path):
    base = ["horizon_s=30", "seed=4", "output.plots=false"]
    singles = [sim.run(base[:1] + [f"seed={s}"] + base[2:]).summary for s in (4, 5, 6)]
    res = sim.run(base + ["replications=3"], output_dir=tmp_path)
    row = res.summary[res.summary["tenant"] == "__all__"].iloc[0]
    p99 = [s.loc[s["tenant"] == "__all__", "ttft_p99_s"].iloc[0] for s in singles]
    cost = [s.loc[s["tenant"] == "__all__", "cost_per_mtok_out_usd"].iloc[0] for s in singles]
    m, h = _scipy_ci(p99)
    assert row["replications"] == 3
    assert row["ttft_p99_s"] == pytest.approx(m, rel=1e-12)
    assert row["ttft_p99_s_ci95"] == pytest.approx(h, rel=1e-12)
    assert row["cost_per_mtok_out_usd"] == pytest.approx(_scipy_ci(cost)[0], rel=1e-12)
    per_seed = pd.read_csv(tmp_path / "replications.csv")
    assert sorted(per_seed["seed"].unique()) == [4, 5, 6]
    assert len(per_seed) == 3 * len(singles[0])
    on_disk = pd.read_csv(tmp_path / "summary.csv")
    assert on_disk.loc[on_disk["tenant"] == "__all__", "ttft_p99_s_ci95"].iloc[0] == \
        pytest.approx(h, rel=1e-8)
    # requests.parquet is the first seed's, the same as a single run with that seed
    assert len(pd.read_parquet(tmp_path / "requests.parquet")) == \
        int(singles[0].loc[singles[0]["tenant"] == "__all__", "requests"].iloc[0])
    # and the note says which outputs are seed 4's, naming the job's other tables
    said = [n for n in res.notes if n.startswith("3 replications")]
    assert len(said) == 1 and "are seed 4's" in said[0]
    others = sorted(k for k in res.tables if k != "replications")
    assert others and all(k in said[0] for k in others)


def test_replications_must_be_positive():
    with pytest.raises(sim.InputError, match="replications"):
        sim.run(["horizon_s=10", "replications=0"])


def test_a_replicated_jobs_list_price_is_the_mean_of_its_seeds(tmp_path):
    """The sweep table's per-token list price of a replicated job was the price of its mean
    tokens (a ratio of means) while `cost_per_mtok_out_usd` is the mean of each seed's: the
    serverless pool, billed at exactly that list price, read $0.9070/M beside a list price
    of $0.9083/M (December 2026, a researcher's 3-seed sweep). Both are now means over seeds,
    and equal for a per-token bill at the catalog's prices."""
    from sim.sweep.listprice import _list_price

    pin, pout = 0.18, 0.54
    catalog = {"models": {"m": {"price_in_usd_per_mtok": pin, "price_out_usd_per_mtok": pout}}}
    ins, outs = [458_336, 560_940, 492_705], [119_000, 131_882, 122_824]
    rows = []
    for seed, (i, o) in enumerate(zip(ins, outs)):
        cost = (i * pin + o * pout) / 1e6
        for t in ("chat", "__all__"):
            rows.append({"seed": seed, "setup": "serverless", "tenant": t, "model": "m" if t == "chat" else None,
                         "input_tokens": i, "output_tokens": o, "window": "all",
                         "cost_per_mtok_out_usd": cost / o * 1e6})
    reps = pd.DataFrame(rows)
    reps.to_csv(tmp_path / "replications.csv", index=False)
    s = reps.groupby(["setup", "tenant"], sort=False).mean(numeric_only=True).reset_index()
    s = s.drop(columns="seed").assign(model=["m", None], window="all", replications=3)
    got = _list_price(tmp_path, s, catalog)
    want = np.mean([(i * pin + o * pout) / o for i, o in zip(ins, outs)])
    assert got.tolist() == pytest.approx([want, want], rel=1e-12)
    assert got.tolist() == pytest.approx(s["cost_per_mtok_out_usd"].tolist(), rel=1e-12)
    ratio_of_means = (np.mean(ins) * pin + np.mean(outs) * pout) / np.mean(outs)
    assert abs(ratio_of_means - want) > 1e-4  # the case tells the two apart


def test_a_sweeps_summary_lists_what_its_jobs_runs_said(tmp_path):
    """A researcher's sweep whose L40S job was unstable at 12 req/s said so only in that job's
    report.md (December 2026): summary.md now lists each job's notes, each text once with the
    jobs that said it, at most five a job (the rest counted)."""
    from types import SimpleNamespace

    from sim.records import ALL, Result
    from sim.report.markdown import run_report
    from sim.report.sweep import sweep_markdown
    from sim.sweep.aggregate import run_notes

    cfg = sim.compose(["horizon_s=10"])
    shared = "3 replications (seeds 0..2): summary values are means"
    said = {"0": [shared], "3": ["seed 0: dedicated is unstable at this load"] + [shared]
            + [f"extra {k}" for k in range(5)]}
    for job, notes in said.items():
        (tmp_path / job).mkdir()
        res = Result(summary=pd.DataFrame([{"setup": "dedicated", "tenant": ALL, "requests": 1}]),
                     requests=pd.DataFrame(), notes=notes)
        (tmp_path / job / "report.md").write_text(run_report(res, cfg))
    (tmp_path / "1").mkdir()  # a job without a report (output.report=false) says nothing
    got = {j: run_notes(tmp_path / j) for j in ("0", "1", "3")}
    assert got == {"0": said["0"], "1": [], "3": said["3"]}
    sj = SimpleNamespace(notes={}, jobs=pd.DataFrame({"state": ["done"] * 3}), varying=[],
                         constant={}, table=pd.DataFrame(), run_notes={j: n for j, n in got.items() if n})
    text = sweep_markdown(sj)
    section = text.split("## Notes of the jobs\n\n", 1)[1].splitlines()
    assert section[:3] == [f"- jobs 0, 3: {shared}", "- job 3: seed 0: dedicated is unstable at this load",
                           "- job 3: extra 0"]
    assert "- job 3: 2 more in `3/report.md`" in section and "extra 3" not in text


def test_sweeping_replications_keeps_one_column_per_meaning(tmp_path):
    """replications=1,2 swept: the key is also a column of the replicated job's summary.
    Every job's override is override:replications and summary.md's table is a table (until
    December 2026 one job's was replications and the other's override:replications, and
    the markdown cells held pandas dumps); the text says 1 to 2 seeds, not 2 for each."""
    from helpers.cli import cli
    r = cli("-m", "horizon_s=5", "replications=1,2", "output.plots=false",
            "output.progress=false", f"hydra.sweep.dir={tmp_path}/sw", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(tmp_path / "sw" / "summary.csv")
    assert list(s.columns[:2]) == ["job", "override:replications"]
    assert sorted(s.groupby("job")["override:replications"].first()) == [1, 2]
    md = (tmp_path / "sw" / "summary.md").read_text()
    assert "dtype: object" not in md and "Each job ran 1 to 2 seeds" in md


def test_a_study_with_several_rows_a_setup_keeps_each_row():
    """The keep-alive study's summary has one serverless/chat row per policy: with
    replications=2 they were averaged into one (cold starts 261, the mean of 357, 213 and
    213, and a "95 % interval" that was the spread between policies), and the policy column
    dropped, until December 2026. Each row is now the mean of its own seeds."""
    args = ["experiment=keepalive", "horizon_s=120", "keepalive.fixed_idle_s=[5,60]"]
    singles = [sim.run(args + [f"seed={s}"]).summary for s in (0, 1)]
    out = sim.run(args + ["replications=2"]).summary
    assert len(out) == len(singles[0]) > 2 and list(out["policy"]) == list(singles[0]["policy"])
    for i in range(len(out)):
        for c in ("cold_starts", "ttft_p99_s"):
            assert out[c].iloc[i] == pytest.approx(_scipy_ci([s[c].iloc[i] for s in singles])[0],
                                                   rel=1e-12, nan_ok=True)
    assert (out["replications"] == 2).all() and "window" in out.columns


def test_rows_only_some_seeds_have_are_their_own():
    per_seed = pd.DataFrame({"seed": [0, 1, 1], "setup": ["d", "d", "d"], "tenant": ["a", "a", "b"],
                             "model": ["m", "m", "m"], "requests": [1, 3, 2]})
    out = combine(per_seed)
    assert list(out["tenant"]) == ["a", "b"] and list(out["replications"]) == [2, 1]
    assert list(out["requests"]) == [2.0, 2.0]
