"""Figures a reviewer accepts (issue 19): legends off the data, only real break-evens starred
with labels apart, penalties never drawn as dollars, panels that have data, u* in the unit
of its axis, a waterfall legend that names what is drawn."""

import numpy as np
import pandas as pd
import pytest
from helpers.figures import capture_figures, legends_on_axes, plotted_xy

import sim
from sim.records import ALL, Result
from sim.report import dedicated, optimize, pipelines, serverless, sweep, timeline
from sim.report.style import pyplot


@pytest.fixture
def figs(monkeypatch):
    """Figures saved by the report modules under test, kept for inspection."""
    out = {}
    for m in (dedicated, optimize, pipelines, serverless, sweep, timeline):
        out.update({id(m): capture_figures(monkeypatch, m)})
    yield lambda m: out[id(m)]
    pyplot().close("all")


# ------------------------------------------------------------------------- legends
def _keepalive_table():
    ks = [5.0, 15.0, 30.0, 60.0, 120.0, 300.0]
    return pd.DataFrame({
        "policy": ["fixed"] * len(ks) + ["hybrid"], "keepalive_s": ks + [np.nan],
        # points reaching the top left corner, where a default legend would sit
        "idle_gpu_hours": [0.25, 0.3, 0.35, 0.4, 0.5, 0.55, 0.35],
        "cold_fraction": [0.55, 0.5, 0.3, 0.3, 0.28, 0.01, 0.3],
        "final_prewarm_s": [np.nan] * len(ks) + [0.0],
        "final_keepalive_s": [np.nan] * len(ks) + [132.0]})


def test_keepalive_legend_covers_no_point(tmp_path, figs):
    serverless.keepalive_figure(_keepalive_table(), tmp_path)
    fig = figs(serverless)["keepalive"]
    assert legends_on_axes(fig) == []
    ax = fig.axes[0]
    fig.canvas.draw()
    box = ax.get_legend().get_window_extent()
    pts = ax.transData.transform(plotted_xy(ax))
    assert not any(box.contains(x, y) for x, y in pts)


def test_timeline_legends_sit_beside_the_panels(tmp_path, figs):
    from test_figures import _synthetic_serverless_like

    req, reps, events = _synthetic_serverless_like()
    timeline.timeline(req, reps, events, "t", tmp_path)
    fig = figs(timeline)["timeline"]
    assert fig.axes[0].get_legend() is not None and fig.axes[-1].get_legend() is not None
    assert legends_on_axes(fig) == []


def test_isolation_and_pipeline_cdf_legends_are_off_the_axes(tmp_path, figs):
    iso = pd.DataFrame([{"tenant": "chat", "setup": s, "background_rps": b,
                         "ttft_p99_s": 0.1 * (1 + b) * k, "ttft_p50_s": 0.05 * k}
                        for k, s in ((1, "serverless"), (2, "dedicated")) for b in (0.0, 2.0, 4.0)])
    serverless.isolation_figure(iso, tmp_path)
    pipes = pd.DataFrame({"setup": ["serverless"] * 50 + ["hybrid"] * 50,
                          "outcome": ["completed"] * 100,
                          "e2e_s": np.r_[np.linspace(1, 20, 50), np.linspace(1, 9, 50)]})
    pipelines.latency_cdf(pipes, tmp_path)
    assert legends_on_axes(figs(serverless)["isolation"]) == []
    # a tenant with nothing completed at any level: its panel says so, no empty legend
    quiet = iso.assign(tenant="assistant", ttft_p99_s=np.nan, ttft_p50_s=np.nan)
    serverless.isolation_figure(pd.concat([quiet, iso], ignore_index=True), tmp_path)
    ax = figs(serverless)["isolation"].axes[0]
    assert ax.get_legend() is None and "no request of assistant" in ax.texts[0].get_text()
    assert legends_on_axes(figs(pipelines)["pipeline_latency_cdf"]) == []


@pytest.fixture(scope="module")
def burst_run(tmp_path_factory):
    """experiment=burst for 420 s (the spike starts at 300 s: burst replicas are provisioned
    before the end), with the figures it drew."""
    d = tmp_path_factory.mktemp("burst")
    with pytest.MonkeyPatch.context() as mp:
        kept, kept_tl = capture_figures(mp, dedicated), capture_figures(mp, timeline)
        res = sim.run(["experiment=burst", "horizon_s=420"], output_dir=d)
    yield res, {**kept, **kept_tl}
    pyplot().close("all")


def test_burst_run_records_replicas_so_its_timeline_has_them(burst_run):
    res, kept = burst_run
    reps = res.tables["replicas"]
    # the reserved pair in both variants, the burst replicas in the second only
    assert set(reps["setup"]) == {"dedicated", "dedicated+burst"}
    assert (reps.loc[reps["setup"] == "dedicated+burst", "tier"] == "burst").sum() == 2
    fig = kept["timeline"]
    for ax in fig.axes[:-1]:  # each setup's replica panel: bars, not "no replica records"
        assert ax.has_data() and "no replica records" not in ax.get_title(loc="left")
    assert "(2 burst)" in fig.axes[1].get_title(loc="left")
    assert legends_on_axes(fig) == []


def test_burst_timeline_draws_the_burst_replicas_and_both_variants(burst_run):
    _, kept = burst_run
    fig = kept["burst_timeline"]
    assert legends_on_axes(fig) == []
    lines = [ln for ln in fig.axes[1].get_lines() if len(ln.get_xdata()) > 2]
    assert len(lines) == 2
    # the two variants agree before the spike: drawn differently so both stay visible
    assert (lines[0].get_linestyle(), lines[0].get_linewidth()) != \
        (lines[1].get_linestyle(), lines[1].get_linewidth())
    panel = fig.axes[2]
    heights = np.concatenate([p.vertices[:, 1] for c in panel.collections for p in c.get_paths()])
    assert heights.max() == 2  # two burst replicas at the peak


def test_burst_timeline_title_states_the_load_this_run_offered(burst_run):
    """The title gives the lowest and highest 30 s bins of offered load, counted here from the
    requests (until December 2026 it said "A traffic spike" whatever the run offered)."""
    res, kept = burst_run
    req = res.requests[res.requests["setup"] == "dedicated"]
    per_bin = np.bincount((req["arrival_s"].to_numpy() // 30).astype(int)) / 30.0
    whole = per_bin[: 420 // 30]  # the bins ending by the horizon (420 s): 14 whole ones
    title = kept["burst_timeline"].axes[0].get_title()
    assert title.startswith(f"Offered load {whole.min():.3g} to {whole.max():.3g} req/s (30 s bins)")
    # rate_rps 40 is the mean over conf/curves/spike.csv, whose mean is 3300/1500 = 2.2: 18.2
    # req/s before the spike at 300 s, 72.7 in it; a 30 s bin of ~550 to ~2200 Poisson
    # arrivals is within +-15 % far beyond 3 sigma
    assert 15.5 < whole.min() < 18.2 < 21 and 62 < whole.max() < 84 and "spike" not in title


def test_failures_timeline_says_when_nothing_failed(tmp_path, monkeypatch):
    """A run in which no replica fails (MTBF 10^6 GPU-hours over 30 s) drew an empty,
    unlabelled panel of failed and retried requests."""
    kept = capture_figures(monkeypatch, dedicated)
    res = sim.run(["experiment=failures", "horizon_s=20", "tenants.chat.arrival.rate_rps=2",
                   "dedicated.failures.mtbf_gpu_hours=1e6", "output.parquet=false"],
                  output_dir=tmp_path)
    assert res.tables["availability"]["failed"].sum() == 0
    assert res.tables["availability"]["retries"].sum() == 0
    panel = kept["failures_timeline"].axes[2]
    assert not panel.patches and [t.get_text() for t in panel.texts] == \
        ["no request failed or was retried in this run"]


def test_failures_figures_keep_legends_off_and_replicas_on(tmp_path, monkeypatch):
    kept, kept_tl = capture_figures(monkeypatch, dedicated), capture_figures(monkeypatch, timeline)
    sim.run(["experiment=failures", "horizon_s=240", "dedicated.failures.mtbf_gpu_hours=0.05"],
            output_dir=tmp_path)
    fig = kept["failures_timeline"]
    assert legends_on_axes(fig) == []
    lines = [ln for ln in fig.axes[1].get_lines() if len(ln.get_xdata()) > 2]
    assert len({(ln.get_linestyle(), ln.get_linewidth()) for ln in lines}) == len(lines) == 3
    tl = kept_tl["timeline"]
    assert legends_on_axes(tl) == []
    assert all(ax.has_data() for ax in tl.axes[:-1])  # the three variants' replicas
    pyplot().close("all")


# ---------------------------------------------------------------------- break-evens
def _cost_table(curves: dict[str, list[float]], xs=(1.0, 2.0, 4.0, 8.0)):
    return pd.DataFrame([{"setup": s, "tenant": ALL, "x": x, "cost_per_mtok_out_usd": y}
                         for s, ys in curves.items() for x, y in zip(xs, ys)])


def test_cost_figure_stars_real_crossings_once_with_labels_apart(tmp_path, figs):
    from sim.analysis.curves import breakevens

    t = _cost_table({
        "dedicated": [8.0, 4.0, 2.0, 1.0],
        "hybrid": [8.0, 4.0, 2.0, 1.0],  # the same curve: a tie, never a crossing with dedicated
        "serverless": [3.0, 3.0, 3.0, 3.0],
        "serverless/gpu_second": [3.3, 3.1, 2.9, 2.7],  # crosses both, close to each other
        "near": [8.0 * 1.0004, 4.0, 2.0, 1.0 * 0.9996],  # within the tie tolerance of dedicated
    })
    be = breakevens(t, "x", [])
    pairs = {frozenset((a, b)) for a, b in zip(be["a"], be["b"])}
    assert frozenset(("dedicated", "hybrid")) not in pairs
    assert frozenset(("dedicated", "near")) not in pairs
    sweep.cost_vs_x(t, "x", [], tmp_path, "x", be)
    fig = figs(sweep)["cost_vs_x"]
    ax = fig.axes[0]
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    # dedicated, hybrid and near meet serverless at one point and gpu_second at another;
    # gpu_second crosses serverless at a third: one star per point, however many pairs meet
    assert len(be) == 7
    assert len(stars) == len(sweep.real_crossings(be, "x", "cost_per_mtok_out_usd")) == 3
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert len(boxes) == 3
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(3) for j in range(i + 1, 3))
    assert legends_on_axes(fig) == []
    # identical curves stay distinguishable: the later one is drawn differently and says so
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "hybrid (same as dedicated)" in labels
    for ln in ax.get_lines():
        assert np.isfinite(np.asarray(ln.get_ydata(), float)).all()


def test_u_star_is_drawn_at_the_offered_load_where_it_was_delivered():
    from sim.report.breakeven import offered_at_delivered

    # a short run delivers less than offered: 0.4 offered delivered 0.3 of the fleet
    pts = pd.DataFrame({"label": "dedicated", "load_fraction": [0.1, 0.4, 0.8],
                        "throughput_utilization": [0.07, 0.3, 0.6]})
    assert offered_at_delivered(pts, "dedicated", 0.3) == pytest.approx(0.4)
    x = offered_at_delivered(pts, "dedicated", 0.2)
    assert 0.1 < x < 0.4 and x != pytest.approx(0.2)  # not the delivered number itself
    assert np.isnan(offered_at_delivered(pts, "dedicated", 0.9))  # never delivered: no line


# ------------------------------------------------------------------------ optimize
def test_optimize_draws_dollars_only_and_counts_the_trials_missing_the_slo(tmp_path, figs):
    cost = np.array([12.0, 30.0, 8.0, 20.0, 9.0])
    miss = np.array([True, False, True, False, False])
    trials = pd.DataFrame({"trial": range(5), "cost_usd": cost,
                           "objective": np.where(miss, cost + 1e4 * 1.7, cost)})
    optimize.optimize_figure(trials, tmp_path)
    fig = figs(optimize)["optimize"]
    ax = fig.axes[0]
    ys = plotted_xy(ax)[:, 1]
    assert np.isfinite(ys).all() and ys.max() <= cost.max()  # no penalty on a dollar axis
    assert "objective" not in ax.get_ylabel() and "$" in ax.get_ylabel()
    assert "2 of 5 trials miss" in ax.get_title()
    markers = {ln.get_marker() for ln in ax.get_lines() if len(ln.get_xdata())}
    assert {"o", "x"} <= markers
    assert legends_on_axes(fig) == []


# ----------------------------------------------------------------------- waterfall
def test_waterfall_legend_names_what_is_drawn(tmp_path, figs):
    base = {"scenario": "s", "setup": "serverless", "tier": "serverless", "outcome": "completed",
            "stage": "answer", "model": "m"}
    # queued 2 s, a 10 s cold start, a 1 ms prefill (invisible on a 20 s axis), 5 s decode
    stages = pd.DataFrame([{**base, "arrival_s": 0.0, "admit_s": 12.0, "cold_start_wait_s": 10.0,
                            "first_token_s": 12.001, "finish_s": 17.0, "cold_wait_critical_s": 10.0}])
    pipelines.waterfall(stages, tmp_path)
    fig = figs(pipelines)["pipeline_waterfall"]
    assert fig.axes[0].get_title(loc="left").endswith("cold-start wait on the critical path 10.0 s")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[:2] == ["queue", "cold start"] and labels[3] == "decode"
    assert labels[2].startswith("prefill") and "too short to see" in labels[2]
    assert not any(lb.startswith("tool") for lb in labels)  # nothing of it drawn
    colours = dict(pipelines.PHASES)
    assert len(set(colours.values())) == len(colours)  # queue wait has a colour of its own
    drawn = {p.get_facecolor()[:3] for p in fig.axes[0].patches}
    handles = {tuple(h.get_facecolor()[:3]) for h in fig.legends[0].legend_handles}
    assert drawn == handles
    assert legends_on_axes(fig) == []


def test_waterfall_title_gives_the_critical_path_cold_wait_not_the_copies_sum(tmp_path, figs):
    """A fan-out of 3 copies each waiting the same 10 s load side by side, then a warm stage:
    the request waited 10 s for cold starts (its critical path), not 3 x 10 = 30 s, which the
    title gave alone until December 2026, beside an end-to-end time of 12 s."""
    base = {"scenario": "s", "setup": "serverless", "tier": "serverless", "outcome": "completed",
            "model": "m", "cold_wait_critical_s": 10.0}
    rows = [{**base, "stage": "a", "arrival_s": 0.0, "admit_s": 10.0, "cold_start_wait_s": 10.0,
             "first_token_s": 10.5, "finish_s": 11.0} for _ in range(3)]
    rows.append({**base, "stage": "b", "arrival_s": 11.0, "admit_s": 11.0, "cold_start_wait_s": 0.0,
                 "first_token_s": 11.5, "finish_s": 12.0})
    pipelines.waterfall(pd.DataFrame(rows), tmp_path)
    title = figs(pipelines)["pipeline_waterfall"].axes[0].get_title(loc="left")
    assert title == ("s: end-to-end 12.00 s, cold-start wait on the critical path 10.0 s "
                     "(30.0 s summed over every stage request)"), title
    # a request that did not complete has no critical path: the sum, said as such
    assert pipelines.cold_wait_text(float("nan"), 3.0) == (
        "cold-start waits 3.0 s summed over every stage request (not completed)")


def test_a_timeline_without_replica_records_draws_no_empty_panels(tmp_path, figs):
    from test_figures import _synthetic_serverless_like

    req, _, _ = _synthetic_serverless_like()
    two = pd.concat([req, req.assign(setup="serverless/prewarm")], ignore_index=True)
    timeline.timeline(two, None, None, "t", tmp_path)
    fig = figs(timeline)["timeline"]
    assert len(fig.axes) == 1 and "recorded no replica lives" in fig._suptitle.get_text()
    # two variants of one setup: each its own colour in the scatter
    colours = {ln.get_label(): ln.get_color() for ln in fig.axes[0].get_lines()}
    assert colours["serverless"] != colours["serverless/prewarm"]
    cold = [ln for ln in fig.axes[0].get_lines() if "waited" in ln.get_label()]
    assert len(cold) == 2 and cold[0].get_marker() != cold[1].get_marker()  # same data, both seen
    assert legends_on_axes(fig) == []


def test_cold_start_legend_lists_only_stages_drawn(tmp_path, figs):
    by_tier = pd.DataFrame({"model": ["m"], "tier": ["object_storage"], "loads": [1],
                            "mean_provision_s": [0.0], "mean_container_s": [1.0],
                            "mean_weights_s": [10.0], "mean_init_s": [20.0]})
    req = pd.DataFrame({"setup": ["serverless"] * 4, "outcome": ["completed"] * 4,
                        "ttft_s": [0.1, 0.2, 20.0, 30.0], "cold_start_wait_s": [0, 0, 19.0, 29.0]})
    serverless.cold_start_figure(by_tier, req, tmp_path)
    fig = figs(serverless)["cold_start"]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["container start", "weight load", "engine init"]
    assert legends_on_axes(fig) == []


def test_plan_figure_draws_what_log_axes_can_hold_and_counts_the_rest(tmp_path, monkeypatch):
    from sim.report import plan as plan_report

    kept = capture_figures(monkeypatch, plan_report)
    cands = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 2,
                          "cost_usd": [1.0, 2.0, 0.0, 3.0, 0.0, np.nan],
                          "worst_p99_over_slo": [0.5, 2.0, 0.7, np.nan, np.nan, 1.0],
                          "feasible": [True, False, True, False, False, False]})
    plan = pd.DataFrame({"model": ["a", "b"], "choice": ["x", "none"], "cost_usd": [1.0, np.nan],
                         "worst_p99_over_slo": [0.5, np.nan]})
    plan_report.plan_figure(Result(summary=pd.DataFrame(), requests=pd.DataFrame(),
                                   tables={"candidates": cands, "plan": plan}), tmp_path)
    a, b = kept["plan"].axes
    assert "2 candidates not drawn" in a.get_title() and "2 candidates not drawn" in b.get_title()
    assert np.isfinite(plotted_xy(a)).all() and len(plotted_xy(a)) >= 3
    assert legends_on_axes(kept["plan"]) == []
    pyplot().close("all")


def test_p99_figure_keeps_equal_setups_visible(tmp_path, figs):
    t = _cost_table({"serverless": [0.1, 0.2, 0.5, 3.0], "hybrid": [0.1, 0.2, 0.5, 3.0],
                     "serverless/gpu_second": [0.1, 0.2, 0.5, 3.0],
                     "dedicated": [0.05, 0.05, 0.06, 0.1]}).rename(
        columns={"cost_per_mtok_out_usd": "ttft_p99_s"})
    sweep.metric_vs_x(t, "x", "ttft_p99_s", [], tmp_path, "p99_ttft_vs_x", "p99", "t", "x",
                      logy=True)
    ax = figs(sweep)["p99_ttft_vs_x"].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "hybrid (same as serverless)" in labels
    # three equal curves: each drawn with its own marker and size, none hidden
    equal = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 4
             and np.allclose(ln.get_ydata(), [0.1, 0.2, 0.5, 3.0])]
    assert len({(ln.get_marker(), ln.get_markersize()) for ln in equal}) == len(equal) == 3
    assert legends_on_axes(figs(sweep)["p99_ttft_vs_x"]) == []


def test_a_legend_wider_than_the_figure_still_gets_a_layout_and_no_warning(tmp_path, figs):
    """An optimising sweep's cost figure names every combination of seven swept keys in its
    legend, wider than the figure: matplotlib's tight layout gave up with a UserWarning on
    stderr ("Tight layout not applied"). The axes are laid out without the legend instead,
    and the saved file still holds the legend (the figure grows to fit it)."""
    import warnings

    long = "hybrid (" + ", ".join(f"key{i}=value{i}" for i in range(30)) + ")"
    t = _cost_table({long: [8.0, 4.0, 2.0, 1.0], "dedicated": [3.0, 3.0, 3.0, 3.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep.cost_vs_x(t, "x", [], tmp_path, "x", t.iloc[0:0])
    fig = figs(sweep)["cost_vs_x"]
    legend = fig.axes[0].get_legend()
    renderer = fig.canvas.get_renderer()
    assert legend.get_in_layout()  # back in: the saved file's tight box takes it in
    assert legend.get_window_extent(renderer).width > fig.bbox.width
    # laid out: the axes' own decorations (ticks, labels, title) fill the figure's width
    # within tight_layout's padding, instead of matplotlib's default margins
    deco = fig.axes[0].get_tightbbox(renderer, bbox_extra_artists=[])
    assert deco.x0 >= 0 and deco.x1 <= fig.bbox.width
    assert fig.subplotpars.left != pytest.approx(0.125) and fig.subplotpars.right != pytest.approx(0.9)


def test_plan_figure_draws_the_rank_cost_an_hour(tmp_path, monkeypatch):
    """The plan ranks by cost an hour: the chosen point is drawn there, left of every other
    feasible one (over the run, the drain put it right of a cheaper-looking one)."""
    from sim.report import plan as plan_report

    kept = capture_figures(monkeypatch, plan_report)
    cands = pd.DataFrame({"model": ["a", "a"], "cost_usd": [0.048, 0.044], "usd_per_hour": [2.37, 2.65],
                          "worst_p99_over_slo": [0.06, 0.06], "feasible": [True, True]})
    plan = pd.DataFrame({"model": ["a"], "choice": ["x"], "cost_usd": [0.048], "usd_per_hour": [2.37],
                         "worst_p99_over_slo": [0.06]})
    plan_report.plan_figure(Result(summary=pd.DataFrame(), requests=pd.DataFrame(),
                                   tables={"candidates": cands, "plan": plan}), tmp_path)
    ax = kept["plan"].axes[0]
    assert "$/h" in ax.get_xlabel()
    drawn = sorted(float(x) for c in ax.collections for x, _ in c.get_offsets())
    assert drawn == [2.37, 2.37, 2.65]  # the two candidates and the chosen ring
    pyplot().close("all")


def test_cost_figure_log_tick_labels_are_plain_numbers_apart(tmp_path, figs):
    """A break-even of one's own (load fractions 0.05-0.8, costs $0.5-$8/M) put matplotlib's
    minor log labels "3x10^-1" and "4x10^-1" on top of each other and wrote dollars as
    "6x10^0" (December 2026): every labelled tick is now a plain number, none overlapping."""
    t = _cost_table({"dedicated": [7.97, 2.08, 0.83, 0.51], "serverless": [2.4, 3.9, 3.7, 3.57]},
                    xs=(0.05, 0.2, 0.5, 0.8))
    sweep.cost_vs_x(t, "x", [], tmp_path, "x", pd.DataFrame(columns=["x", "cost_per_mtok_out_usd"]))
    fig = figs(sweep)["cost_vs_x"]
    ax = fig.axes[0]
    fig.canvas.draw()
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        labels = [lab for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                  for lab in (tick.label1,) if lab.get_visible() and lab.get_text()
                  and lo <= tick.get_loc() <= hi]
        assert len(labels) >= 3
        for lab in labels:  # plain decimals, as '0.5' or '2', never '$\\mathdefault{...}$'
            float(lab.get_text().replace("\N{MINUS SIGN}", "-"))
        boxes = [lab.get_window_extent() for lab in labels]
        assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
                       for j in range(i + 1, len(boxes)))


def test_plan_figure_log_ticks_are_plain_numbers(tmp_path, monkeypatch):
    """The plan figure of a user's own log ($0.79-$10 an hour) wrote its costs as "10^0" and
    "10^1" (December 2026): its labelled ticks are plain numbers."""
    from sim.report import plan as plan_report

    kept = capture_figures(monkeypatch, plan_report)
    cands = pd.DataFrame({"model": ["a"] * 4, "cost_usd": [0.13, 0.31, 0.53, 1.0],
                          "usd_per_hour": [0.79, 1.85, 3.16, 10.0],
                          "worst_p99_over_slo": [12.7, 0.71, 2.1, 1.4],
                          "feasible": [False, True, False, False]})
    plan = pd.DataFrame({"model": ["a"], "choice": ["x"], "cost_usd": [0.31], "usd_per_hour": [1.85],
                         "worst_p99_over_slo": [0.71]})
    plan_report.plan_figure(Result(summary=pd.DataFrame(), requests=pd.DataFrame(),
                                   tables={"candidates": cands, "plan": plan}), tmp_path)
    ax = kept["plan"].axes[0]
    kept["plan"].canvas.draw()
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        shown = [t.label1.get_text() for t in axis.get_major_ticks() + axis.get_minor_ticks()
                 if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]
        assert len(shown) >= 2 and all(float(v.replace("\N{MINUS SIGN}", "-")) > 0 for v in shown)
    pyplot().close("all")
