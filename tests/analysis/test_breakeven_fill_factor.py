"""Break-even with a batch fill (experiment=batch_fill): each per-token fill curve's analytic
u*_fill is priced at the batch price factor that curve bills, its own overrides' when it
sets one (sim/analysis/breakeven_crossings.py: fill_crossings). Until December 2026 every
curve took the run's top-level serverless.batch_price_factor (0.5) while a curve's 0.2 was
billed, and the note said "billed x0.5".

With fixed lengths, the same for both tenants, the per-token bill per output token is one
number, so u*_fill = u* - factor x b (b: the fill's output tokens over the capacity)."""

import numpy as np
import pytest

import sim

FIXED = [f"tenants.{t}.{k}={{kind: fixed, mean: 1000, max: 1000}}"
         for t in ("chat", "bulk") for k in ("input", "output")]
BASE = ["experiment=batch_fill", "horizon_s=300", "breakeven.capacity_requests_per_client=3",
        "breakeven.load_fractions=[0.05,0.2,0.4]", *FIXED]


def curve(label, factor):
    return (f"{{label: {label}, setup: serverless, overrides: {{serverless.billing: per_token, "
            f"serverless.batch_price_factor: {factor}}}}}")


def test_a_curves_own_batch_price_factor_prices_its_u_star_fill():
    res = sim.run(BASE + [f"breakeven.setups=[{curve('serverless', 0.2)}, "
                          "{label: dedicated, setup: dedicated, overrides: {}}]"])
    cap = res.tables["capacity"].iloc[0]
    b = cap["fill_output_fraction"]
    row = res.tables["breakeven"].set_index("label").loc["serverless+fill"]
    assert row["u_star"] == pytest.approx(cap["u_star"] - 0.2 * b, rel=1e-9)
    assert row["batch_price_factor"] == 0.2
    # capacity.csv: the factor the per-token fill curve bills, and its u*_fill
    assert cap["batch_price_factor"] == 0.2
    assert cap["u_star_fill"] == pytest.approx(cap["u_star"] - 0.2 * b, rel=1e-9)
    said = [n for n in res.notes if n.startswith("serverless+fill vs dedicated+fill")]
    assert len(said) == 1 and "billed x0.2 on serverless" in said[0]
    assert f"analytic u*_fill {100 * (cap['u_star'] - 0.2 * b):.1f} %" in said[0]
    # and the bill is the fill's tokens at 0.2 of the per-token prices ($0.88/M in and out)
    p = res.tables["points"]
    s = p[p["label"] == "serverless+fill"]
    chat_tokens = s["input_tokens"] + s["output_tokens"] - 2000 * s["batch_completed"]
    np.testing.assert_allclose(
        s["cost_usd"], 0.88 * (chat_tokens + 0.2 * 2000 * s["batch_completed"]) / 1e6, rtol=1e-12)


def test_curves_billing_different_factors_each_get_their_own_u_star_fill():
    res = sim.run(BASE + [f"breakeven.setups=[{curve('cheap', 0.2)}, {curve('half', 0.5)}, "
                          "{label: dedicated, setup: dedicated, overrides: {}}]"])
    cap = res.tables["capacity"].iloc[0]
    b = cap["fill_output_fraction"]
    rows = res.tables["breakeven"].set_index("label")
    for label, factor in (("cheap+fill", 0.2), ("half+fill", 0.5)):
        assert rows.loc[label, "u_star"] == pytest.approx(cap["u_star"] - factor * b, rel=1e-9)
        assert rows.loc[label, "batch_price_factor"] == factor
    # no one factor to state for the run: NaN, breakeven.csv has each curve's
    assert np.isnan(cap["batch_price_factor"]) and np.isnan(cap["u_star_fill"])
