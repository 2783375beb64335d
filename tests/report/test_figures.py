"""Figures: written as PNG and SVG, non-empty, drawn from files, study scripts included."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import ROOT, later_wins
from helpers.figures import assert_figure, capture_figures, legends_on_axes

import sim
from sim.report.figures import figures_from_dir, ttft_cdf
from sim.report.timeline import pack_lanes, pick_tenant, timeline

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("run")
    sim.run(["horizon_s=40"], output_dir=d)
    return d


def test_run_writes_figures_and_embeds_them_in_its_report(run_dir):
    for stem in ("ttft_cdf", "timeline"):
        for ext in ("png", "svg"):
            assert_figure(run_dir / "plots" / f"{stem}.{ext}")
    report = (run_dir / "report.md").read_text()
    assert "![plots/ttft_cdf.png](plots/ttft_cdf.png)" in report
    assert "![plots/timeline.png](plots/timeline.png)" in report
    assert "## Summary" in report and "replicas" in report


def test_figures_redraw_from_the_files_alone(run_dir, tmp_path):
    files = figures_from_dir(run_dir, out_dir=tmp_path)
    assert sorted(files) == sorted(f"plots/{s}.{e}" for s in ("ttft_cdf", "timeline")
                                   for e in ("png", "svg"))
    for f in files:
        assert_figure(tmp_path / f)


def test_pack_lanes_never_overlaps_and_uses_the_peak_count():
    st = np.array([0.0, 5.0, 10.0, 12.0, 30.0])
    en = np.array([10.0, 15.0, 20.0, 14.0, 40.0])
    lanes = pack_lanes(st, en)
    # at t=12..14 three lives overlap ([5,15], [10,20], [12,14]): three lanes, no more
    assert lanes.tolist() == [0, 1, 0, 2, 0]
    peak = max(int(((st <= t) & (t < en)).sum()) for t in np.r_[st, en])
    assert lanes.max() + 1 == peak == 3
    for a in range(5):
        for b in range(a + 1, 5):
            if lanes[a] == lanes[b]:
                assert en[a] <= st[b] or en[b] <= st[a]


def _synthetic_serverless_like():
    """Two replica lives with cold starts and requests that waited for them: the timeline must
    draw what a scale-to-zero setup produces, before such a setup exists."""
    n = 200
    arrival = np.linspace(0, 100, n)
    cold = np.where((arrival < 1) | ((arrival > 60) & (arrival < 61)), 20.0, 0.0)
    req = pd.DataFrame({"setup": pd.Categorical(["serverless"] * n), "tenant": ["t"] * n,
                        "model": ["m"] * n, "arrival_s": arrival, "ttft_s": 0.05 + cold,
                        "cold_start_wait_s": cold, "outcome": ["completed"] * n})
    reps = pd.DataFrame({"setup": ["serverless"] * 2, "model": ["m"] * 2, "start_s": [0.0, 60.0],
                         "end_s": [50.0, 120.0], "loading_s": [20.0, 20.0],
                         "tier": ["serverless"] * 2})
    events = pd.DataFrame({"setup": ["serverless"] * 2, "t_s": [0.0, 60.0],
                           "kind": ["scale_up"] * 2, "model": ["m"] * 2, "replica": [0, 1],
                           "value": [np.nan] * 2})
    return req, reps, events


def test_timeline_draws_cold_starts_and_events(tmp_path):
    req, reps, events = _synthetic_serverless_like()
    assert pick_tenant(req) == "t"
    files = timeline(req, reps, events, "t", tmp_path)
    assert files == ["plots/timeline.png", "plots/timeline.svg"]
    svg = (tmp_path / "plots" / "timeline.svg").read_text()
    assert "2 with a cold start" in svg and "waited for a cold start" in svg and "scale_up" in svg
    for f in files:
        assert_figure(tmp_path / f)


def test_cdf_counts_unserved_requests(tmp_path):
    n = 100
    req = pd.DataFrame({"setup": ["dedicated"] * n, "tenant": ["a"] * n,
                        "ttft_s": np.r_[np.linspace(0.01, 1, 90), [np.nan] * 10],
                        "outcome": ["completed"] * 90 + ["rejected"] * 10})
    files = ttft_cdf(req, tmp_path, {"a": 0.5})
    svg = (tmp_path / "plots" / "ttft_cdf.svg").read_text()
    assert "10.0% unserved" in svg and "SLO 500 ms" in svg
    assert len(files) == 2



def test_cdf_of_user_tenants_with_nothing_served_beside_background(tmp_path):
    """A user tenant with an SLO sent nothing, or had nothing served, while background
    tenants were served. Sent nothing (two background tenants): its "all user tenants" panel
    held no curve and matplotlib warned "No artists with labels found to put in legend" on
    stderr. All rejected (one background tenant): the only panel was titled after the
    background tenant but drew every request, its label "25.0% unserved" (chat's rejections)."""
    import warnings
    def frame(user: int, bg: list[str]):
        m = 30 * len(bg)
        return pd.DataFrame({
            "setup": ["serverless"] * (user + m),
            "tenant": pd.Categorical(["chat"] * user + [t for t in bg for _ in range(30)],
                                     categories=["chat", *bg]),
            "ttft_s": np.r_[[np.nan] * user, np.tile(np.linspace(0.1, 3, 30), len(bg))],
            "outcome": ["rejected"] * user + ["completed"] * m})
    for reqs, sent in ((frame(0, ["bg/a", "bg/b"]), 0), (frame(10, ["bg/a"]), 10)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ttft_cdf(reqs, tmp_path, {"chat": 1.0})
        svg = (tmp_path / "plots" / "ttft_cdf.svg").read_text()
        assert f"no request completed ({sent} sent)" in svg and "unserved" not in svg


# ------------------------------------------------------------------- study scripts
def _fake_sweep(root: Path, experiment: str, points: list[list[str]]):
    """A sweep folder as Hydra lays it out (job folders with .hydra/overrides.yaml), each job
    a real tiny run; the study scripts only read it."""
    for i, point in enumerate(points):
        d = root / str(i)
        sim.run(later_wins([f"experiment={experiment}", "horizon_s=20", "drain_s=60", "output.plots=false",
                 "metrics.warmup_s=5",
                 *point]), output_dir=d)
        (d / ".hydra").mkdir()
        (d / ".hydra" / "overrides.yaml").write_text(
            yaml.safe_dump([f"experiment={experiment}", *point]))
    return root


STUDIES = {
    "load": ("sweep_load", [["tenants.chat.arrival.rate_rps=0.5"],
                            ["tenants.chat.arrival.rate_rps=8"]], ["load_p99_ttft", "cost_vs_x"]),
    "burstiness": ("sweep_cv", [["tenants.chat.arrival.cv=0.5"], ["tenants.chat.arrival.cv=4"]],
                   ["burstiness"]),
    "replicas": ("sweep_replicas", [["dedicated.replicas.llama31-8b=1"],
                                    ["dedicated.replicas.llama31-8b=2"]], ["replicas"]),
    "prices": ("sweep_prices", [[f"catalog.gpus.H100.reserved_usd_per_hour={p}",
                                 f"tenants.chat.arrival.rate_rps={r}"]
                                for p in (1.5, 3.95) for r in (0.5, 8)], ["prices_breakeven"]),
    "optimize": ("optimize", [["dedicated.replicas.llama31-8b=1", "deployments.llama31-8b.gpu=L40S"],
                              ["dedicated.replicas.llama31-8b=2", "deployments.llama31-8b.gpu=H100"]],
                 ["optimize"]),
    "keepalive": ("sweep_keepalive", [["serverless.keepalive.idle_s=5"],
                                      ["serverless.keepalive.idle_s=300"]], ["keepalive"]),
    "pool": ("sweep_pool", [["serverless.pool.H100.gpus_per_node=2"],
                            ["serverless.pool.H100.gpus_per_node=4"]], ["pool"]),
}



@pytest.mark.parametrize("study", ["pool", "load"])
def test_study_script_on_a_sweep_that_served_nothing_says_so(study, tmp_path, monkeypatch, capsys):
    """Every job of the sweep too short for a request: the pool figure was drawn with empty
    axes and its x range lost (-0.04..0.04) under a legend of lines not there, the load
    script drew nothing and printed a table of NaN, both unsaid."""
    experiment = {"pool": "sweep_pool", "load": "sweep_load"}[study]
    sweep = _fake_sweep(tmp_path / "sweep", experiment, [["horizon_s=1", "metrics.warmup_s=0",
                                                          f"tenants.chat.arrival.rate_rps={r}"]
                                                         for r in ("1e-6", "2e-6")])
    script = ROOT / "experiments" / study / "figures.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(sweep), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    assert stop.value.code == 0
    assert "no job of the sweep completed a request" in capsys.readouterr().out
    assert not (tmp_path / "out" / "plots").exists()


def test_study_script_on_a_one_job_sweep_says_its_curves_are_points(tmp_path, monkeypatch, capsys):
    """A sweep of one load: the load script printed its findings table of NaN (no break-even,
    no SLO limit) with nothing saying why (the fifteenth hostile-input sweep)."""
    sweep = _fake_sweep(tmp_path / "sweep", "sweep_load", [["tenants.chat.arrival.rate_rps=1"]])
    script = ROOT / "experiments" / "load" / "figures.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(sweep), "--out", str(tmp_path / "out")])
    runpy.run_path(str(script), run_name="__main__")
    assert "the sweep has one value of tenants.chat.arrival.rate_rps: each curve is one point" \
        in capsys.readouterr().out


@pytest.mark.parametrize("study", sorted(STUDIES))
def test_study_script_writes_its_figures(study, tmp_path, monkeypatch, capsys):
    experiment, points, stems = STUDIES[study]
    sweep = _fake_sweep(tmp_path / "sweep", experiment, points)
    out = tmp_path / "out"
    script = ROOT / "experiments" / study / "figures.py"
    assert (ROOT / "experiments" / study / "README.md").is_file()
    monkeypatch.setattr(sys, "argv", [str(script), str(sweep), "--out", str(out)])
    import sim.report.style as style
    import sim.report.sweep as sweep_report

    # the scripts import save when they run; the sweep module's figures hold their own
    kept = [capture_figures(monkeypatch, m) for m in (style, sweep_report)]
    runpy.run_path(str(script), run_name="__main__")
    for stem, fig in {**kept[0], **kept[1]}.items():  # every legend off the data (issue 19)
        assert legends_on_axes(fig) == [], stem
    if study == "pool":  # every curve drawn is one the legend names (aggregates were not)
        for ax in kept[0]["pool"].axes:
            for ln in ax.get_lines():
                if ln.get_marker() == "o":
                    assert not ln.get_label().startswith("_"), ln.get_label()
    for stem in stems:
        for ext in ("png", "svg"):
            assert_figure(out / "plots" / f"{stem}.{ext}")
    assert not (sweep / "plots").exists()  # --out respected; the sweep is only read


def test_a_run_with_pipeline_tenants_draws_the_pipeline_figures(tmp_path):
    # an ordinary simulate run (not the compound job) whose tenant sends pipeline requests
    sim.run(["experiment=compound", "job=simulate", "setups=[serverless,dedicated]",
             "horizon_s=120"], output_dir=tmp_path)
    for stem in ("pipeline_waterfall", "pipeline_latency_cdf"):
        for ext in ("png", "svg"):
            f = tmp_path / "plots" / f"{stem}.{ext}"
            assert f.is_file() and f.stat().st_size > 1000, f


def test_ttft_tail_keeps_identical_setups_visible_and_the_legend_off_the_data():
    from sim.report.figures import _cdf_panel
    from sim.report.style import pyplot

    plt = pyplot()
    t = np.linspace(0.01, 2.0, 200)
    req = pd.concat([pd.DataFrame({"setup": s, "tenant": "a", "ttft_s": t, "outcome": "completed"})
                     for s in ("serverless", "hybrid")], ignore_index=True)
    fig, ax = plt.subplots()
    _cdf_panel(ax, req, "a", 0.5)
    curves = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
    assert len(curves) == 2
    a, b = curves
    assert np.array_equal(a.get_xdata(), b.get_xdata())  # the same data...
    assert a.get_linestyle() != b.get_linestyle()  # ...drawn so both stay visible
    for ln in ax.get_lines():
        assert np.isfinite(np.asarray(ln.get_xdata(), float)).all()
        assert np.isfinite(np.asarray(ln.get_ydata(), float)).all()
    # the tail is on a log axis and reaches the p99 region: 1 % of 200 requests is 2
    assert ax.get_yscale() == "log" and min(a.get_ydata()) <= 0.01
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
    plt.close(fig)


@pytest.mark.parametrize("lo, hi", [(26.0, 27.6), (0.004, 30.0), (0.2, 3.0)])
def test_ttft_tail_time_axis_labels_are_plain_numbers_apart(lo, hi):
    """A saturated pool's TTFTs all within 26-27.6 s (400 tenants on one model) put
    matplotlib's minor log labels "2.62x10^1", "2.64x10^1" ... on top of each other
    (December 2026): the time axis now has at least two labelled ticks inside the data,
    plain numbers, none overlapping, at any span."""
    from sim.report.figures import _cdf_panel
    from sim.report.style import pyplot

    plt = pyplot()
    req = pd.DataFrame({"setup": "serverless", "tenant": "a",
                        "ttft_s": np.geomspace(lo, hi, 300), "outcome": "completed"})
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    _cdf_panel(ax, req, "a", None)
    fig.canvas.draw()
    vlo, vhi = sorted(ax.xaxis.get_view_interval())
    labels = [t.label1 for t in ax.xaxis.get_major_ticks() + ax.xaxis.get_minor_ticks()
              if t.label1.get_visible() and t.label1.get_text() and vlo <= t.get_loc() <= vhi]
    assert len(labels) >= 2
    for lab in labels:
        float(lab.get_text().replace("\N{MINUS SIGN}", "-"))
    boxes = [lab.get_window_extent() for lab in labels]
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
                   for j in range(i + 1, len(boxes)))
    plt.close(fig)


@pytest.mark.parametrize("extra, said", [
    (["output.requests=sample"], "the per-request figures are drawn from the sample of rows kept "
                                 "(output.requests=sample: "),
    (["output.requests=none"], "no per-request figure is drawn (TTFT CDF, timeline): they are "
                               "drawn from the per-request rows, which output.requests=none"),
    (["output.parquet=false"], "no per-request figure is drawn (TTFT CDF, timeline): they are "
                               "drawn from the per-request rows, which output.parquet=false"),
    (["tenants.chat.input={kind: fixed, mean: 200000, max: null}"],
     "the TTFT CDF is not drawn: no request kept completed"),
    ([], None),
])
def test_what_the_figures_cannot_show_is_said(extra, said, tmp_path):
    """Figures drawn from a 1 % sample, or none drawn, were unsaid until December 2026."""
    res = sim.run(["horizon_s=30", "output.plots=true", "output.report=false", *extra],
                  output_dir=tmp_path)
    notes = [n for n in res.notes if "figure" in n or "TTFT CDF" in n]
    if said is None:
        assert notes == [] and (tmp_path / "plots").is_dir()
    else:
        assert len(notes) == 1 and notes[0].startswith(said), notes
    if extra == ["output.requests=sample"]:
        assert f"(output.requests=sample: {len(res.requests):,} of the " in notes[0]


@pytest.mark.parametrize("fraction", [0.2, 0.9])
def test_a_samples_count_is_of_the_rows_full_would_keep(fraction, tmp_path):
    """The sample note's total was the ``__all__`` rows' (user requests past warm-up), while
    the sample is drawn from every row of the logs (background and warm-up requests too):
    a 20 % sample of a hybrid run was said as "300 of 1,236" for 300 of 1,502, and a 90 %
    one (1,351 of 1,502, more than 1,236) went unsaid; until December 2026. The total now
    is what output.requests=full keeps of the same runs."""
    run = ["experiment=hybrid", "horizon_s=120", "metrics.warmup_s=20", "output.plots=true",
           "output.report=false"]
    full = sim.run([*run, "output.requests=full"], output_dir=tmp_path / "full")
    res = sim.run([*run, "output.requests=sample", f"output.requests_sample={fraction}"],
                  output_dir=tmp_path / "sample")
    everyone = len(full.requests)
    users = int(full.summary.query("tenant == '__all__'")["requests"].sum())
    assert users < everyone  # background and warm-up requests are in the log, not in __all__
    kept = len(res.requests)
    assert 0 < kept < everyone
    # the sample is full's rows whose ids the hash keeps (an independent count of it)
    assert kept == full.requests["request_id"].isin(res.requests["request_id"]).sum()
    notes = [n for n in res.notes if "drawn from the sample" in n]
    assert notes and f"(output.requests=sample: {kept:,} of the {everyone:,} requests" in notes[0]


@pytest.mark.parametrize("kept, drawn, said", [
    ("none", False, "no per-request figure is drawn (TTFT CDF, timeline and the pipeline waterfall)"),
    ("sample", False, "no pipeline waterfall is drawn: the stage rows of a setup's slowest"),
    ("full", True, None),
])
def test_the_pipeline_waterfall_needs_every_stage_row(kept, drawn, said, tmp_path):
    """With no rows kept the waterfall was a ValueError (the run left no report.md nor
    done.json), and with a sample it drew the stages the sample happened to keep; until
    December 2026. Now drawn only from a whole pipeline request, and said when not."""
    res = sim.run(["experiment=compound", "job=simulate", "horizon_s=120", "output.plots=true",
                   "output.report=false", f"output.requests={kept}"], output_dir=tmp_path)
    assert (tmp_path / "plots" / "pipeline_waterfall.png").is_file() == drawn
    assert (tmp_path / "plots" / "pipeline_latency_cdf.png").is_file()
    notes = [n for n in res.notes if "waterfall" in n]
    assert (notes == []) if said is None else (len(notes) == 1 and notes[0].startswith(said)), notes


def test_a_sample_that_keeps_no_row_says_no_figure_is_drawn(tmp_path):
    """A sample whose ids miss every request of the run (background requests hold the low
    ids here, and a fraction of 1e-12 keeps id 0 alone): no figure, no requests.parquet.
    Until December 2026 the note read "drawn from the sample of rows kept (... 0 of the 68
    requests ...)" and the missing figures and file went unsaid."""
    res = sim.run(["horizon_s=20", "background.synthetic.tenants=5",
                   "background.synthetic.rate_rps=100", "background.synthetic.models=[llama31-8b]",
                   "output.requests=sample", "output.requests_sample=1e-12", "output.plots=true"],
                  output_dir=tmp_path / "out")
    assert len(res.requests) == 0 and not (tmp_path / "out" / "requests.parquet").exists()
    assert not (tmp_path / "out" / "plots").exists()
    said = [n for n in res.notes if "no per-request figure is drawn" in n]
    assert len(said) == 1 and "kept none of the" in said[0]
    assert not any("drawn from the sample" in n for n in res.notes)
