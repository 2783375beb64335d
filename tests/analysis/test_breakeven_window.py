"""Break-even with ``metrics.warmup_s``: points.csv is over the measured window, each column
the same window's (sim/analysis/breakeven.py: point_row), so the fleet's delivered
throughput at the crossover is still u* of its capacity.

Until December 2026 the window's output tokens went over the whole billing period (the
fleet at 14.3 % of its throughput at the crossover where u* was 27.6 %; delivered_tok_s
428.7 against summary.csv's 826.9) and cost_usd was the run's bill beside the window's
tokens ($3.39/M against cost_per_mtok_out_usd $1.76/M)."""

import numpy as np
import pytest

import sim
from sim.analysis.breakeven import run_breakeven
from sim.records import ALL

W = 300.0
MONTH_S = 730 * 3600.0
TWO_CURVES = ("breakeven.setups=[{label: serverless, setup: serverless, overrides: "
              "{serverless.billing: per_token}}, {label: dedicated, setup: dedicated, overrides: {}}]")
ARGS = ["experiment=breakeven", "horizon_s=900", f"metrics.warmup_s={W:g}",
        "tenants.chat.input={kind: fixed, mean: 1000, max: 1000}",
        "tenants.chat.output={kind: fixed, mean: 1000, max: 1000}",
        "breakeven.load_fractions=[0.15,0.25,0.35]", "breakeven.capacity_requests_per_client=3",
        TWO_CURVES]


@pytest.fixture(scope="module")
def res():
    return run_breakeven(sim.compose(ARGS))


def test_every_point_column_is_over_the_measured_window(res):
    p = res.points
    s = res.summary
    for r in p.itertuples():
        mine = s[(s.setup == r.label) & (s.load_fraction == r.load_fraction)].set_index("tenant")
        meas, early = mine.loc[ALL], mine.loc[ALL + "@warmup"]
        # the window's tokens over the window's own length: summary.csv's throughput
        assert r.delivered_tok_s == pytest.approx(r.output_tokens / (r.period_s - W), rel=1e-12)
        assert r.delivered_tok_s == pytest.approx(meas.throughput_tok_s, rel=1e-12)
        assert r.output_tokens == meas.output_tokens and r.requests == meas.requests
        # the bill's per-token part by the window's share of the run's output tokens, its
        # GPU-time part by the window's share of the billing period
        run_tokens = meas.output_tokens + early.output_tokens
        assert r.token_cost_usd == pytest.approx(meas.token_cost_usd * meas.output_tokens / run_tokens,
                                                 rel=1e-12)
        assert r.gpu_cost_usd == pytest.approx(meas.gpu_cost_usd * (r.period_s - W) / r.period_s,
                                               rel=1e-12)
        assert r.gpu_hours == pytest.approx(meas.gpu_hours * (r.period_s - W) / r.period_s, rel=1e-12)
        assert r.token_cost_usd + r.gpu_cost_usd == pytest.approx(r.cost_usd, rel=1e-12)
        # ... and the cost per output token is the window's cost over its tokens
        assert 1e6 * r.cost_usd / r.output_tokens == pytest.approx(r.cost_per_mtok_out_usd, rel=1e-12)
        # the month: the window's rates for 730 h
        assert r.monthly_output_tokens == pytest.approx(r.delivered_tok_s * MONTH_S, rel=1e-12)
        assert 1e6 * r.monthly_cost_usd / r.monthly_output_tokens == pytest.approx(
            r.cost_per_mtok_out_usd, rel=1e-12)
        assert r.throughput_utilization == pytest.approx(r.delivered_tok_s / res.fleet_tok_s, rel=1e-12)
        # the window stated
        assert r.warmup_s == W and r.window_s == pytest.approx(r.period_s - W, rel=1e-12)
    # per-token serverless with fixed lengths: the window's bill is its tokens at $0.88/M in
    # and out, by hand
    srv = p[p.label == "serverless"]
    np.testing.assert_allclose(srv.cost_usd, 0.88 * (srv.input_tokens + srv.output_tokens) / 1e6,
                               rtol=1e-9)
    # the reserved fleet by hand: 2 H100s at their hourly price (CALIBRATION section 5) for
    # 730 h at every load (a bill split by the window's share of the tokens alone read
    # $5,401 at 30 % and $4,684 at 70 %)
    ded = p[p.label == "dedicated"]
    assert len(ded) == 3
    np.testing.assert_allclose(ded.monthly_cost_usd, ded.monthly_cost_usd.iloc[0], rtol=1e-9)
    s_ded = s[(s.setup == "dedicated") & (s.tenant == ALL)]
    np.testing.assert_allclose(ded.monthly_cost_usd, s_ded.monthly_cost_usd, rtol=1e-9)


def test_a_fleet_whose_tokens_all_fall_in_the_warmup_costs_its_price():
    """Every output token in the warm-up: the reserved fleet still costs its hours (a bill
    split by the tokens alone read $0 beside a finite cost per token) and the cost per token
    is NaN, as the notes say."""
    r = run_breakeven(sim.compose(["experiment=breakeven", "horizon_s=120", "metrics.warmup_s=119.9",
                                   "breakeven.load_fractions=[0.02]",
                                   "breakeven.capacity_requests_per_client=3", TWO_CURVES]))
    d = r.points[r.points.label == "dedicated"].iloc[0]
    assert d.output_tokens == 0 and np.isnan(d.cost_per_mtok_out_usd)
    # by hand: one replica of two H100s at $3.95 an hour (CALIBRATION section 5) over the window
    assert d.cost_usd == pytest.approx(2 * 3.95 * d.window_s / 3600, rel=1e-9)
    s = r.summary[(r.summary.setup == "dedicated") & (r.summary.tenant == ALL)].iloc[0]
    assert d.monthly_cost_usd == pytest.approx(s.monthly_cost_usd, rel=1e-9)


def test_the_crossover_sits_at_u_star_with_a_warmup(res):
    """The dedicated bill equals the per-token bill where the fleet delivers u* of its
    capacity (tests/analysis/test_breakeven.py without a warm-up); the warm-up changes which
    requests are measured, not where the bills cross (it read 0.52 u* before)."""
    c = res.crossings.set_index("label").loc["serverless"]
    assert c["throughput_utilization"] == pytest.approx(res.analytic["u_star"], rel=0.03)
    assert c["monthly_output_tokens"] == pytest.approx(
        res.analytic["u_star"] * res.fleet_tok_s * MONTH_S, rel=0.03)


def test_the_claims_audit_reads_the_crossover_at_u_star_with_a_warmup():
    """experiment=claims with metrics.warmup_s=300 set on its scenarios: the breakeven claim's
    value (the fleet's delivered fraction at the crossover) is near the analytic u* it
    prints beside it (14.2 % against u* 27.5 % before)."""
    from sim.jobs.claims import run_claims

    t = run_claims(sim.compose(["experiment=claims", "claims.quick=true",
                                "claims.overrides=['metrics.warmup_s=300']"]),
                   only=["breakeven_utilisation"]).iloc[0]
    u_star = float(t["simulated"].split("analytic u* ")[1].split(" %")[0]) / 100
    assert t["value"] == pytest.approx(u_star, rel=0.05)
