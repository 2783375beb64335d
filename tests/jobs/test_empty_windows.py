"""Studies on a window where no request was measured (or none finished): their verdicts must
be blank and said, not read from an empty window as if it were a result."""

import math

import numpy as np
import pandas as pd

import sim
from sim.jobs.prefix_cache import SloSearch

PC = ["experiment=prefix_cache", "horizon_s=1", "drain_s=0", "prefix_cache.max_replicas=2",
      "prefix_cache.traces=[${traces:}/mooncake_fast25/conversation_trace.jsonl]"]


def test_an_undefined_p99_does_not_meet_the_slo():
    """A NaN p99 TTFT (no request measured) passed `p99 > slo` as met: the search reported
    the largest pool as the smallest meeting the SLO."""
    cfg = sim.compose(PC)
    search = SloSearch(cfg, "llama31-8b", False)
    search.seen = {("v", n): (math.nan, 1.0) for n in (1, 2)}
    assert search.replicas_for("v", {}, 4.0) is None
    search.seen = {("v", 1): (math.nan, 1.0), ("v", 2): (3.0, 2.0)}  # one replica: none done
    assert search.replicas_for("v", {}, 4.0) == 2


def test_prefix_cache_with_no_finished_request_leaves_the_pool_blank():
    res = sim.run(PC)
    ded = res.tables["ttft"].query("setup == 'dedicated'")
    assert (ded["completed"] == 0).all()  # 1 s of trace, no drain: nothing finished
    g = res.tables["gpus_for_slo"]
    assert g["replicas"].isna().all() and g["gpus"].isna().all(), g
    assert pd.isna(res.tables["cost"]["dedicated_usd"]).all()
    assert any("no measured request finished" in n for n in res.notes), res.notes


def test_a_replicated_study_draws_its_own_figure_from_its_first_seed(tmp_path):
    """The keep-alive study draws keepalive.png and no per-setup figures (its rows are eight
    policies of one setup, generic_plots=False). With replications=2 the run drew the generic
    TTFT CDF and timeline from the first seed's rows, pooling the policies into one curve,
    and not its own figure. README: the figures are the first seed's."""
    res = sim.run(["experiment=keepalive", "horizon_s=60", "replications=2"], output_dir=tmp_path)
    drawn = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert drawn == ["keepalive.png"], drawn
    assert "plots/keepalive.png" in (tmp_path / "report.md").read_text()
    one = sim.run(["experiment=keepalive", "horizon_s=60"], output_dir=tmp_path / "one")
    assert [f.rsplit("/", 1)[-1] for f in res.figures] == [f.rsplit("/", 1)[-1] for f in one.figures]
    # seed 0's figure: the same bytes as the single run's of seed 0
    assert ((tmp_path / "plots" / "keepalive.svg").read_bytes()
            == (tmp_path / "one" / "plots" / "keepalive.svg").read_bytes())


def test_keepalive_with_an_empty_window_gives_no_cold_fraction_and_no_verdict():
    """Warm-up up to the horizon: no measured request. The cold fraction was 0.0 (0 / max(0, 1))
    and the note said the hybrid policy had 0.0 % cold requests and 'the fixed timeouts 30 ...
    600 s match it on both'; 0 of 0 is no fraction."""
    res = sim.run(["experiment=keepalive", "horizon_s=60", "metrics.warmup_s=59.99"])
    t = res.tables["keepalive"]
    assert (t["requests"] == 0).all()
    assert t["cold_fraction"].isna().all(), t
    assert not any(n.startswith("hybrid:") for n in res.notes), res.notes
    assert any("no request arrived in the measured window" in n for n in res.notes), res.notes


def test_failures_does_not_count_requests_unfinished_at_the_end_as_failed():
    """1 s of arrivals, no drain: most requests are still running when the run stops. The
    baseline variant has no replica failure and no queue bound, so none of its requests can
    fail: its not_failed_fraction must be 1 (it was 0.1389, the unfinished counted failed,
    'meets_sla False'). The fraction is over the requests decided by the run's end."""
    res = sim.run(["experiment=failures", "horizon_s=1", "drain_s=0"])
    av = res.tables["availability"].set_index("setup")
    base = av.loc["dedicated"]
    assert base["unfinished_at_end"] > 0 and base["failures"] == 0
    assert base["unfinished_at_end"] == base["requests"] - base["completed"]
    assert base["not_failed_fraction"] == 1.0 and base["not_failed_fraction_meets_sla"] == True  # noqa: E712
    for _, r in av.iterrows():
        decided = r["requests"] - r["unfinished_at_end"]
        assert r["not_failed_fraction"] == 1 - (r["failed"] - r["unfinished_at_end"]) / decided


def test_compound_says_no_pipeline_completed_instead_of_nan():
    """8 s, no drain: three pipelines sent to each bursty setup, none finished on the cold
    serverless ones. The note read 'p50 nan s, p99 nan s end-to-end over 0 pipelines ...
    ($nan per 1k)'."""
    res = sim.run(["experiment=compound", "horizon_s=8", "drain_s=0"])
    t = res.tables["bursty"]
    none = t[t["completed"] == 0]
    assert len(none) and (none["requests"] > 0).all()
    for r in none.itertuples():
        said = [n for n in res.notes if n.startswith(f"bursty, {r.setup}:")]
        assert len(said) == 1 and "nan" not in said[0], said
        assert f"no pipeline completed of the {r.requests} measured" in said[0]


def test_compound_without_arrivals_says_which_figures_are_empty(tmp_path, monkeypatch):
    """1 s, no drain: no bursty request arrives, yet the cold-chain scenarios send their own
    pipeline request and the waterfall has bars. The note said 'every figure of the run is
    empty' and the latency CDF was a blank axes."""
    from helpers.figures import capture_figures

    from sim.report import pipelines
    kept = capture_figures(monkeypatch, pipelines)
    res = sim.run(["experiment=compound", "horizon_s=1", "drain_s=0"], output_dir=tmp_path)
    assert len(res.tables["chain_stages"]) and not len(res.tables["pipelines"])
    assert not any("every figure of the run is empty" in n for n in res.notes), res.notes
    assert any("pipeline latency CDF are empty" in n for n in res.notes), res.notes
    cdf = kept["pipeline_latency_cdf"].axes[0]
    assert not cdf.lines and [t.get_text() for t in cdf.texts] == [
        "no pipeline request in the measured window"]


def test_the_burst_title_gives_the_whole_bins_and_a_short_horizons_rate():
    """Hand-made arrivals: 10 in [0, 30) s and 20 in [30, 60) s, horizon 60 s: two whole
    bins, 0.333 and 0.667 req/s (the title said the first alone: the bins were cut at the
    last arrival's). 18 arrivals in a 1 s horizon are 18 req/s, not 18 / 30."""
    from sim.report.dedicated import offered_range
    arr = np.r_[np.linspace(0, 29, 10), np.linspace(30, 59.9, 20)]
    assert offered_range(arr, 60.0).startswith("0.333 to 0.667 req/s")
    assert offered_range(arr[:-1], 75.0).startswith("0.333 to 0.633 req/s")  # [60, 75) not whole
    assert offered_range(np.linspace(0, 0.9, 18), 1.0).startswith("18 req/s over the 1 s horizon")


def test_the_burst_figure_title_counts_the_runs_own_arrivals(tmp_path, monkeypatch):
    from helpers.figures import capture_figures

    from sim.report import dedicated
    kept = capture_figures(monkeypatch, dedicated)
    res = sim.run(["experiment=burst", "horizon_s=60"], output_dir=tmp_path)
    a = res.requests.query("setup == 'dedicated'")["arrival_s"].to_numpy()
    rates = np.histogram(a, [0, 30, 60])[0] / 30
    title = kept["burst_timeline"].axes[0].get_title()
    assert title.startswith(f"Offered load {rates.min():.3g} to {rates.max():.3g} req/s"), title


def test_breakeven_names_each_empty_loads_rate_and_the_figure_it_did_not_draw(tmp_path):
    """1 s, no drain: no load delivers a token. The note quoted the first load's rate
    (0.0909 req/s) for all eleven, and plots/breakeven.png (a listed output) was missing
    without a word."""
    res = sim.run(["experiment=breakeven", "horizon_s=1", "drain_s=0", "output.plots=true"],
                  output_dir=tmp_path)
    pts = res.tables["points"]
    empty = pts[~pts["fill"] & (pts["output_tokens"] == 0)]
    loads = empty.drop_duplicates("load_fraction")
    assert len(loads) > 1 and loads["rate_rps"].nunique() == len(loads)
    said = [n for n in res.notes if n.startswith("load fraction(s)")]
    assert len(said) == 1
    for r in loads.itertuples():
        assert f"{r.load_fraction:g} ({r.rate_rps:.3g} req/s)" in said[0], said
    assert not (tmp_path / "plots" / "breakeven.png").exists()
    assert any(n.startswith("plots/breakeven.png is not drawn") for n in res.notes), res.notes


def test_a_mean_over_fewer_seeds_is_said_and_the_console_prints_the_summarys_mean(capsys):
    """Seed 0 has no request in 1 s, seed 1 has five: the requests mean is 2.5 (printed '2'
    on the console) and the TTFT/SLO means are seed 1's alone, the row saying replications
    2 without a word."""
    from sim.report.console import format_table
    res = sim.run(["horizon_s=1", "drain_s=30", "replications=2"])
    per = res.tables["replications"]
    assert list(per.query("tenant == '__all__'")["requests"]) == [0, 5]  # the premise
    row = res.summary.query("tenant == '__all__'").iloc[0]
    assert row["requests"] == 2.5
    assert " 2.5 " in format_table(res.summary)
    said = [n for n in res.notes if n.startswith("means over fewer seeds")]
    assert len(said) == 1 and "ttft_p99_s" in said[0] and "over 1 of the 2 seeds" in said[0]
    assert "requests," not in said[0]  # a count every seed has is not listed


def test_a_replicated_run_whose_seeds_all_measured_says_nothing_of_it():
    res = sim.run(["horizon_s=20", "replications=2"])
    assert not any(n.startswith("means over fewer seeds") for n in res.notes)
