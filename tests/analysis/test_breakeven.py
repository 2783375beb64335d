"""Break-even: the simulated crossover against the analytic u*, the bills behind it by hand,
the measured capacity, bad input.

Prices by hand below are the catalog's (conf/catalog/default.yaml): H100 on demand $3.95
per GPU-hour; Llama-3.3-70B per-token $0.88 in and $0.88 out per million tokens.
"""

import re

import numpy as np
import pytest

import sim
from sim.analysis.breakeven import run_breakeven
from sim.analysis.capacity import measure_capacity
from sim.errors import InputError

ON_DEMAND, P_IN, P_OUT = 3.95, 0.88, 0.88
TWO_CURVES = ("breakeven.setups=[{label: serverless, setup: serverless, overrides: "
              "{serverless.billing: per_token}}, {label: dedicated, setup: dedicated, overrides: {}}]")
# a steady workload: Poisson arrivals, fixed lengths (so the per-token bill per output token is
# one number), loads bracketing the crossover
STEADY = ["experiment=breakeven", "horizon_s=1800",
          "tenants.chat.input={kind: fixed, mean: 1000, max: 1000}",
          "tenants.chat.output={kind: fixed, mean: 1000, max: 1000}",
          "breakeven.load_fractions=[0.1,0.2,0.3,0.4]", TWO_CURVES]


@pytest.fixture(scope="module")
def steady():
    return run_breakeven(sim.compose(STEADY))


def test_simulated_crossover_agrees_with_analytic_u_star(steady):
    """u* = $/GPU-h / (tok/s per GPU x 3600 x $ per output token), with the measured tok/s
    and the per-token bill of 1000 in + 1000 out per output token ($1.76/M)."""
    a = steady.analytic
    assert a["token_bill_per_mtok_out"] == pytest.approx((P_IN + P_OUT), rel=1e-12)
    u_star = ON_DEMAND / (steady.capacity.tok_s_per_gpu * 3600 * (P_IN + P_OUT) / 1e6)
    assert a["u_star"] == pytest.approx(u_star, rel=1e-12)
    c = steady.crossings.set_index("label").loc["serverless"]
    assert c["cheaper_below"] == "serverless" and c["cheaper_above"] == "dedicated"
    # the load at which the simulated costs cross: offered load is a fraction of the measured
    # capacity, so it sits at u* up to (1) the Poisson count of requests near the crossover,
    # about 2,100 here, relative sd 1/sqrt(2100) = 2.2 % (3 sd: 6.6 %), and (2) the billing
    # period running past the horizon until the last request ends (~17 s of 1,800 s: +1 %).
    assert c["load_fraction"] == pytest.approx(u_star, rel=0.08)
    # the fleet's delivered throughput at the crossover is u* of its capacity: the dedicated
    # bill (GPUs x rate x period) over tokens equals the per-token bill exactly there
    assert c["throughput_utilization"] == pytest.approx(u_star, rel=0.01)
    # monthly volume at the crossover: delivered tokens projected to 730 h
    assert c["monthly_output_tokens"] == pytest.approx(
        u_star * steady.capacity.tok_s * 730 * 3600, rel=0.01)
    # continuous batching keeps the GPUs busy far more than the throughput fraction says
    assert c["gpu_busy_fraction"] > 2 * c["throughput_utilization"]


def test_every_point_bills_what_the_hand_arithmetic_says(steady):
    p = steady.points
    d = p[p["label"] == "dedicated"]
    # one replica of two GPUs at $3.95/GPU-hour, billed over the whole period, idle included
    np.testing.assert_allclose(d["cost_usd"], 2 * ON_DEMAND * d["period_s"] / 3600, rtol=1e-12)
    s = p[p["label"] == "serverless"]
    np.testing.assert_allclose(s["cost_usd"], (P_IN * s["input_tokens"] + P_OUT * s["output_tokens"]) / 1e6,
                               rtol=1e-12)
    assert (s["gpu_cost_usd"] == 0).all()
    # the same requests at each load, all served by both
    for f, g in p.groupby("load_fraction"):
        assert g["requests"].nunique() == 1 and (g["completed"] == g["requests"]).all(), f
    # the dedicated cost per token falls as 1/load: the cost curve the crossing interpolates
    ratio = d["cost_per_mtok_out_usd"].to_numpy() * d["throughput_utilization"].to_numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=0.01)


def test_capacity_is_measured_from_a_saturated_run_not_assumed():
    cfg = sim.compose(["experiment=breakeven"])
    base = measure_capacity(cfg, "chat", 4)
    fast = measure_capacity(cfg, "chat", 4, runtime_speedup=2.0)
    # every iteration takes half as long: a saturated replica completes twice the tokens
    assert fast.tok_s == pytest.approx(2 * base.tok_s, rel=0.01)
    assert base.tok_s_per_gpu == pytest.approx(base.tok_s / 2)
    # more KV room (FP8 KV cache, 95 % memory) lets the same GPUs batch more and go faster
    small = measure_capacity(sim.compose(["experiment=breakeven", "deployments.llama33-70b.kv_dtype=bf16",
                                          "deployments.llama33-70b.gpu_memory_utilization=0.9"]),
                             "chat", 4)
    assert small.tok_s < base.tok_s


def test_the_crossover_moves_with_the_gpu_price():
    """Twice the GPU-hour price needs twice the throughput to pay off."""
    args = STEADY[:-2] + ["breakeven.load_fractions=[0.1,0.2,0.3,0.4,0.5]", TWO_CURVES]
    cheap = run_breakeven(sim.compose(args + ["catalog.gpus.H100.on_demand_usd_per_hour=3.0"]))
    dear = run_breakeven(sim.compose(args + ["catalog.gpus.H100.on_demand_usd_per_hour=6.0"]))
    x_cheap = cheap.crossings.set_index("label").loc["serverless", "throughput_utilization"]
    x_dear = dear.crossings.set_index("label").loc["serverless", "throughput_utilization"]
    assert dear.analytic["u_star"] == pytest.approx(2 * cheap.analytic["u_star"], rel=1e-9)
    assert x_dear / x_cheap == pytest.approx(2.0, rel=0.02)


@pytest.mark.parametrize("override,key", [
    ("breakeven.reference=nope", "breakeven.reference"),
    ("breakeven.load_fractions=[0.5,0.2]", "breakeven.load_fractions"),
    ("breakeven.setups=[{label: a, setup: nope}]", "breakeven.setups[0].setup"),
    ("breakeven.tenant=ghost", "breakeven.tenant"),
    # a bad key or value in an entry's overrides: the entry named, and the key it set
    ("breakeven.setups=[{label: dedicated, setup: dedicated, overrides: {nope: 1}}, "
     "{label: b, setup: serverless, overrides: {}}]", "breakeven.setups[0]"),
    ("breakeven.setups=[{label: dedicated, setup: dedicated, overrides: {}}, {label: b, "
     "setup: serverless, overrides: {serverless.keepalive.idle_s: -1}}]", "breakeven.setups[1]"),
])
def test_bad_breakeven_input_names_the_key(override, key):
    with pytest.raises(InputError) as e:
        sim.run(["experiment=breakeven", "horizon_s=120", override])
    assert e.value.key == key
    if "overrides: {n" in override or "idle_s" in override:
        assert ("'nope'" if "nope" in override else "'serverless.keepalive.idle_s'") in str(e.value)


def test_breakeven_job_writes_its_tables_and_figure_deterministically(tmp_path):
    import hashlib

    args = ["experiment=breakeven", "horizon_s=300", "breakeven.load_fractions=[0.1,0.5,0.9]",
            "breakeven.capacity_requests_per_client=3"]
    res = sim.run(args, output_dir=tmp_path)
    again = tmp_path / "again"
    sim.run(args + ["output.plots=false", "output.report=false"], output_dir=again)
    for f in ("summary.csv", "breakeven.csv", "points.csv", "capacity.csv"):
        assert (hashlib.sha256((tmp_path / f).read_bytes()).digest()
                == hashlib.sha256((again / f).read_bytes()).digest()), f
    for f in ("breakeven.csv", "points.csv", "capacity.csv", "summary.csv", "plots/breakeven.png"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert "plots/breakeven.png" in (tmp_path / "report.md").read_text()
    assert set(res.tables["points"]["label"]) == {"serverless", "serverless/gpu_second", "dedicated",
                                                  "hybrid"}
    assert (res.summary["tenant"] == "__all__").all()


def test_a_batch_fill_moves_the_crossover_to_u_star_fill():
    """experiment=batch_fill with fixed lengths: with a batch tenant at 30 % of the measured
    request rate billed at half price on serverless, the crossover falls from about u* to
    u*_fill = u* - 0.5 x b (same lengths: the same bill per output token), b the fill's
    share of the capacity in output tokens; the serverless fill bill is the batch tokens at
    half price by hand."""
    fixed = ["tenants.{t}.input={{kind: fixed, mean: 1000, max: 1000}}",
             "tenants.{t}.output={{kind: fixed, mean: 1000, max: 1000}}"]
    res = run_breakeven(sim.compose(
        ["experiment=batch_fill", "breakeven.load_fractions=[0.05,0.1,0.15,0.2,0.3,0.4]"]
        + [x.format(t=t) for t in ("chat", "bulk") for x in fixed]))
    a = res.analytic
    assert a["fill_output_fraction"] == pytest.approx(0.3, rel=1e-9)  # fixed lengths: b = 0.3
    assert a["u_star_fill"] == pytest.approx(a["u_star"] - 0.5 * 0.3, rel=1e-9)
    c = res.crossings.set_index("label")
    plain, filled = c.loc["serverless", "load_fraction"], c.loc["serverless+fill", "load_fraction"]
    assert plain == pytest.approx(a["u_star"], rel=0.08)
    # a wider tolerance: the fill's own Poisson count adds to the interactive one's
    # (measured: 12.55 % against u*_fill 12.12 %, +3.5 %, December 2026)
    assert filled == pytest.approx(a["u_star_fill"], rel=0.10)
    assert filled < 0.6 * plain
    p = res.points
    s = p[p["label"] == "serverless+fill"]
    chat_in = s["input_tokens"] - 1000 * s["batch_completed"]
    chat_out = s["output_tokens"] - s["batch_output_tokens"]
    by_hand = ((P_IN * chat_in + P_OUT * chat_out)
               + 0.5 * (P_IN + P_OUT) * 1000 * s["batch_completed"]) / 1e6
    np.testing.assert_allclose(s["cost_usd"], by_hand, rtol=1e-12)
    d = p[p["label"] == "dedicated+fill"]
    # the replica serves the whole fill and keeps chat inside its 2 s SLO at every load
    assert (d["batch_completed"] == d["batch_completed"].iloc[0]).all()
    assert (d["batch_deadline_missed"] == 0).all() and (d["interactive_slo_attainment"] == 1).all()


def test_a_load_point_that_delivers_nothing_is_said():
    """A load fraction so small that no request arrives within the horizon leaves that
    point's per-token cost NaN: a note names the fraction (none is said otherwise)."""
    args = ["experiment=breakeven", "horizon_s=300", "breakeven.load_fractions=[1e-300,0.5]",
            "breakeven.capacity_requests_per_client=3", TWO_CURVES]
    res = sim.run(args)
    pts = res.tables["points"]
    assert (pts.loc[pts["load_fraction"] == 1e-300, "output_tokens"] == 0).all()
    said = [n for n in res.notes if "no output token delivered" in n]
    assert len(said) == 1 and said[0].startswith("load fraction(s) 1e-300 (4.52e-300 req/s): ")
    steady_notes = run_breakeven(sim.compose(args[:2] + ["breakeven.load_fractions=[0.3,0.5]",
                                                         *args[3:]])).notes
    assert not any("no output token delivered" in n for n in steady_notes)


def test_a_curve_billing_nothing_at_a_load_warns_nothing():
    """The batch fill billed at a factor of 0: a zero cost's log printed numpy's 'divide by
    zero encountered in log' to stderr (the eleventh hostile-input sweep)."""
    import warnings

    import sim

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        sim.run(["experiment=batch_fill", "serverless.batch_price_factor=0", "horizon_s=10",
                 "output.progress=false"])
    assert not [w for w in seen if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in seen]


def test_a_batch_fill_that_sends_nothing_is_said_without_numpy_warnings():
    """A fill load so small that no batch request arrives: its mean lengths were the mean of
    no rows, numpy's 'Mean of empty slice' on stderr and the +fill curves unexplained (the
    fifteenth hostile-input sweep). Now no warning, NaN fill lengths and one note."""
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = sim.run(["experiment=batch_fill", "breakeven.fill.load_fraction=1e-300", "horizon_s=10",
                       "breakeven.load_fractions=[0.4,0.5]", "output.progress=false"])
    assert not [w for w in seen if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in seen]
    pts = res.tables["points"]
    filled = pts[pts["label"].str.endswith("+fill")]
    plain = pts[~pts["label"].str.endswith("+fill")]
    # no fill request: each +fill curve delivered what its plain twin did
    assert sorted(filled["output_tokens"]) == sorted(plain["output_tokens"])
    said = [n for n in res.notes if n.startswith("batch fill bulk: no request arrived")]
    assert len(said) == 1, res.notes


@pytest.mark.parametrize("arrival", [
    "{kind: trace, trace: {path: TRACE, format: azure}}",
    "{kind: closed, concurrency: 4}"])
def test_a_swept_tenant_whose_arrivals_ignore_the_rate_is_refused(tmp_path, arrival):
    """The sweep sets the tenant's `arrival.rate_rps` at each load; a trace replay (or a
    closed loop) does not read it, so every load point replayed the same requests while the
    rows and the figure were labelled with rising rates (the Azure 2023 conversation trace,
    300 s: 1,445 requests at "load 0.1 (1.02 req/s)" and at "load 0.5 (5.11 req/s)", and
    "no crossing"). Refused, naming the key."""
    tr = tmp_path / "t.csv"
    tr.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                  + "".join(f"2023-11-16 18:00:{k:02d}.0000000,300,30\n" for k in range(20)))
    with pytest.raises(InputError) as e:
        sim.run(["experiment=breakeven", "horizon_s=30", "breakeven.load_fractions=[0.1,0.5]",
                 "output.plots=false", f"tenants.chat.arrival={arrival.replace('TRACE', str(tr))}"])
    assert e.value.key == "tenants.chat.arrival.kind"


def test_loads_that_deliver_nothing_are_no_evidence_for_either_curve():
    """Every load so small that nothing arrives: all per-token costs are NaN, and each note
    said the other curve 'is cheaper throughout' (serverless, gpu_second and the hybrid,
    in turn), compared on nothing."""
    res = sim.run(["experiment=breakeven", "horizon_s=120", "breakeven.capacity_requests_per_client=3",
                   "breakeven.load_fractions=[1e-300,2e-300]"])
    said = [n for n in res.notes if " vs dedicated: " in n]
    assert len(said) == 3 and all("nothing to compare" in n for n in said), said
    assert not any("cheaper throughout" in n for n in said)


@pytest.mark.parametrize("replicas", [1, 2])
def test_a_spot_reference_fleet_is_set_against_u_star_at_the_spot_price(replicas):
    """An all-spot reference fleet is billed at H100 spot, $2.25/GPU-hour; u* used the
    on-demand $3.95 (27.6 % against a simulated crossover at 15.5 % of the throughput).
    Two spot replicas were refused by the capacity run (its one replica kept two spot:
    'at most 1 can be spot, got 2')."""
    spot = 2.25
    res = run_breakeven(sim.compose([
        "experiment=breakeven", "horizon_s=600", "breakeven.capacity_requests_per_client=3",
        "tenants.chat.input={kind: fixed, mean: 1000, max: 1000}",
        "tenants.chat.output={kind: fixed, mean: 1000, max: 1000}",
        "breakeven.load_fractions=[0.1,0.15,0.2,0.3]",
        "breakeven.setups=[{label: serverless, setup: serverless, overrides: {serverless.billing: "
        "per_token}}, {label: dedicated, setup: dedicated, overrides: "
        f"{{dedicated.replicas.llama33-70b: {replicas}, dedicated.spot.replicas.llama33-70b: {replicas}}}}}]"]))
    d = res.points[res.points["label"] == "dedicated"]
    np.testing.assert_allclose(d["cost_usd"], 2 * replicas * spot * d["period_s"] / 3600, rtol=1e-12)
    a = res.analytic
    assert a["price_per_gpu_hour"] == spot and a["pricing"] == "spot"
    u_star = spot / (res.capacity.tok_s_per_gpu * 3600 * (P_IN + P_OUT) / 1e6)
    assert a["u_star"] == pytest.approx(u_star, rel=1e-12)
    c = res.crossings.set_index("label").loc["serverless"]
    assert c["throughput_utilization"] == pytest.approx(u_star, rel=0.03)


def test_the_crossover_is_where_the_points_cost_curves_cross(steady):
    """The crossover from points.csv by hand: the first load pair where the sign of
    log(dedicated) - log(serverless) flips, joined straight in log-log space."""
    p = steady.points
    d = p[p["label"] == "dedicated"].sort_values("load_fraction")
    s = p[p["label"] == "serverless"].sort_values("load_fraction")
    x = d["load_fraction"].to_numpy()
    gap = np.log(d["cost_per_mtok_out_usd"].to_numpy()) - np.log(s["cost_per_mtok_out_usd"].to_numpy())
    i = int(np.flatnonzero(np.sign(gap[:-1]) != np.sign(gap[1:]))[0])
    t = gap[i] / (gap[i] - gap[i + 1])
    by_hand = float(np.exp(np.log(x[i]) + t * (np.log(x[i + 1]) - np.log(x[i]))))
    c = steady.crossings.set_index("label").loc["serverless"]
    assert c["load_fraction"] == pytest.approx(by_hand, rel=1e-12)
    # the cost there is the serverless curve's (flat in log-log between the two points)
    cost = float(np.exp(np.interp(np.log(by_hand), np.log(x), np.log(s["cost_per_mtok_out_usd"]))))
    assert c["cost_per_mtok_out_usd"] == pytest.approx(cost, rel=1e-9)


def test_the_workloads_length_changes_are_said_per_load():
    """Prompts cut to the length config's max at each load were counted in the summary's
    ``clipped`` but said in no note (the workloads' notes were dropped)."""
    args = ["experiment=breakeven", "horizon_s=120", "breakeven.load_fractions=[0.2,0.5]",
            "breakeven.capacity_requests_per_client=3", TWO_CURVES,
            "tenants.chat.input.max=1000"]  # mean 1,000, CV 0.5: about half are cut
    res = sim.run(args)
    said = [n for n in res.notes if "tenant chat:" in n and "input.max" in n]
    assert [n.split(":", 1)[0] for n in said] == ["load fraction 0.2", "load fraction 0.5"]
    for f, note in zip((0.2, 0.5), said):
        clipped = res.summary.loc[(res.summary["load_fraction"] == f)
                                  & (res.summary["tenant"] == "__all__"), "clipped"]
        n = int(note.split("tenant chat: ")[1].split(" ")[0].replace(",", ""))
        assert n > 0 and (clipped == n).all(), (note, clipped.tolist())


def test_the_fill_runs_notes_name_the_load_fraction_as_the_others_do():
    """The fill runs' workload notes said "load fraction 0.2+fill: tenant bulk: ..." beside
    "load fraction 0.2: dedicated+fill is unstable ...": one point, two names. Every note of a
    load point now starts "load fraction <number>:"; the fill runs' say whose workload."""
    res = sim.run(["experiment=batch_fill", "horizon_s=20", "breakeven.load_fractions=[0.2,0.5]",
                   "breakeven.capacity_requests_per_client=3", "tenants.bulk.input.max=1000"])
    said = [n for n in res.notes if "tenant bulk:" in n and "input.max" in n]
    assert said and all(re.match(r"load fraction 0\.[25]: the \+fill curves' tenant bulk: ", n) for n in said), said
    points = [n for n in res.notes if n.startswith("load fraction ")]
    assert all(re.match(r"load fraction [0-9.]+: ", n) for n in points), points
