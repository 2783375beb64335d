"""Break-even tables against arithmetic done here from the points (December 2026 audit)."""

import numpy as np
import pandas as pd

from sim.analysis.breakeven import crossings_table

ANALYTIC = {"fleet_gpus": 1, "capacity_tok_s_per_replica": 1000.0, "fleet_replicas": 1}


def points(xs, ref, other):
    """A reference fleet (GPU-billed) and a per-token curve at the loads ``xs``."""
    rows = []
    for label, ys in (("dedicated", ref), ("serverless", other)):
        for x, y in zip(xs, ys):
            per_token = label == "serverless"
            rows.append({"load_fraction": x, "label": label, "setup": label, Y: y, "rate_rps": 10 * x,
                         "gpu_cost_usd": 0.0 if per_token else 1.0,
                         "token_cost_usd": 1.0 if per_token else 0.0,
                         "throughput_utilization": x, "gpu_busy_fraction": 0.9,
                         "monthly_output_tokens": 1e9 * x, "monthly_cost_usd": 100.0})
    return pd.DataFrame(rows)


Y = "cost_per_mtok_out_usd"


def test_cheaper_below_is_read_where_the_curves_are_apart_not_at_a_tie():
    """The reference falls from $1.60 to $0.99/M between loads 0.2 and 0.4, the other curve
    stays at $1.20 then $1.00; at 0.3 both bill exactly $1.00 (a tie, left out). The crossing
    by hand, straight in log-log space between 0.2 and 0.4: gap log(1.6/1.2) then log(0.99),
    t = g0 / (g0 - g1), x = 0.2 x 2^t = 0.390, above the tie at 0.3. Below it the per-token
    curve is the cheaper (1.2 < 1.6): the table named the reference, read at the tie."""
    xs = [0.1, 0.2, 0.3, 0.4]
    p = points(xs, [2.0, 1.6, 1.0, 0.99], [1.0, 1.2, 1.0, 1.0])
    t = crossings_table(p, "dedicated", {**ANALYTIC, "u_star": 0.5, "u_star_output_price_only": 1.0})
    g0, g1 = np.log(1.6 / 1.2), np.log(0.99 / 1.0)
    x = 0.2 * 2 ** (g0 / (g0 - g1))
    row = t.set_index("label").loc["serverless"]
    assert row["load_fraction"] == x or abs(row["load_fraction"] - x) < 1e-12
    assert x > 0.3
    assert row["cheaper_below"] == "serverless" and row["cheaper_above"] == "dedicated"


def test_cheaper_below_skips_a_load_that_delivered_nothing():
    """A NaN cost (nothing delivered) at the load just below a crossing is no evidence: the
    crossing between 0.1 and 0.3 (0.2 NaN on the per-token curve) has the per-token curve
    cheaper below, as at 0.1 (0.5 < 3)."""
    xs = [0.1, 0.2, 0.3]
    p = points(xs, [3.0, 1.5, 0.5], [0.5, np.nan, 1.0])
    t = crossings_table(p, "dedicated", {**ANALYTIC, "u_star": 0.5, "u_star_output_price_only": 1.0})
    row = t.set_index("label").loc["serverless"]
    assert 0.2 < row["load_fraction"] < 0.3
    assert row["cheaper_below"] == "serverless"


def test_a_hybrid_billing_no_gpu_time_is_not_a_per_token_curve():
    """A hybrid fleet at a GPU price of 0 bills no GPU time at any load and its spill per token:
    it is not billed per token (no u* beside it); it was labelled per_token by its costs alone."""
    p = points([0.1, 0.2, 0.3], [3.0, 1.5, 0.5], [0.5, 1.0, 2.0])
    p.loc[p["label"] == "serverless", "setup"] = "hybrid"
    t = crossings_table(p, "dedicated", {**ANALYTIC, "u_star": 0.5, "u_star_output_price_only": 1.0})
    row = t.set_index("label").loc["serverless"]
    assert row["billing"] == "gpu_time" and np.isnan(row["u_star"])


FAST = ["experiment=breakeven", "horizon_s=120", "breakeven.capacity_requests_per_client=3",
        "breakeven.load_fractions=[0.2,0.5]",
        "breakeven.setups=[{label: serverless, setup: serverless, overrides: "
        "{serverless.billing: per_token}}, {label: dedicated, setup: dedicated, overrides: {}}]"]


def test_a_free_per_token_price_gives_no_break_even_not_a_traceback():
    """$0/M in and out: the fleet is never cheaper, u* is infinite (the division by the
    per-token bill was a ZeroDivisionError traceback), the per-token curve is still labelled
    per_token, and the note says serverless is cheaper throughout."""
    import sim
    res = sim.run(FAST + ["catalog.models.llama33-70b.price_in_usd_per_mtok=0",
                          "catalog.models.llama33-70b.price_out_usd_per_mtok=0"])
    assert res.tables["capacity"]["u_star"].iloc[0] == np.inf
    row = res.tables["breakeven"].set_index("label").loc["serverless"]
    assert row["billing"] == "per_token" and np.isnan(row["load_fraction"])
    assert row["u_star"] == np.inf
    assert any(n == "serverless vs dedicated: no crossing in the swept loads: serverless is "
               "cheaper throughout" for n in res.notes)


def test_a_fill_that_pays_for_the_fleet_alone_explains_its_negative_u_star():
    """A prompt-heavy batch fill (8,000 in, 200 out: its per-token bill per output token is 41
    times the chat's) at 30 % of the fleet's request rate, half price: u*_fill = u* - 0.5 x b
    x bill_b / bill (b the fill's output tokens over the capacity) is below zero, which the
    tables carried unexplained; the no-crossing note now gives it and says what it means."""
    import sim
    res = sim.run(["experiment=batch_fill", "horizon_s=120", "breakeven.capacity_requests_per_client=3",
                   "breakeven.load_fractions=[0.2,0.5]",
                   "tenants.bulk.input={kind: fixed, mean: 8000, max: 8000}",
                   "tenants.bulk.output={kind: fixed, mean: 200, max: 200}"])
    a = res.tables["capacity"].iloc[0]
    bill_b = (a["price_in_usd_per_mtok"] * a["fill_mean_input_tokens"]
              + a["price_out_usd_per_mtok"] * a["fill_mean_output_tokens"]) / a["fill_mean_output_tokens"]
    b = a["fill_rate_rps"] * a["fill_mean_output_tokens"] / a["capacity_tok_s_per_replica"]
    u = a["u_star"] - 0.5 * b * bill_b / a["token_bill_per_mtok_out"]
    assert abs(a["u_star_fill"] - u) < 1e-12 and u < 0
    said = [n for n in res.notes if n.startswith("serverless+fill vs dedicated+fill: no crossing")]
    assert len(said) == 1 and f"(analytic u*_fill {100 * u:.1f} %: at or below zero" in said[0]
