"""The standalone pick (``signals.standalone``) breaks ties as the recommendation does: the
cheapest per output token meeting the SLO; at one cost the better attainment, then staying
on the current setup, then the name (sim/analysis/standalone.py: cheapest_key). Until
December 2026 it broke them by name alone: summarize, at $4.5753/M and SLO 1.0 on both
serverless and hybrid, was recommended serverless (where it is) and told hybrid alone."""

import math

import pandas as pd

import sim
from sim.analysis.standalone import standalone_figures


def rows(**by_setup):
    return pd.DataFrame(
        [{"setup": s, "cost_per_mtok_out_usd": c, "slo_attainment": a, "cost_usd": 1.0,
          "cost_per_mtok_total_usd": c / 2} for s, (c, a) in by_setup.items()]).set_index("setup")


def test_a_tie_stays_on_the_current_setup():
    r = rows(hybrid=(4.5, 1.0), serverless=(4.5, 1.0), dedicated=(9.0, 1.0))
    assert standalone_figures(r, 0.99, "serverless")["standalone_setup"] == "serverless"
    assert standalone_figures(r, 0.99, "hybrid")["standalone_setup"] == "hybrid"
    # current not among the tied: the name
    assert standalone_figures(r, 0.99, "dedicated")["standalone_setup"] == "hybrid"


def test_a_tie_goes_to_the_better_attainment_first():
    r = rows(hybrid=(4.5, 1.0), serverless=(4.5, 0.995))
    assert standalone_figures(r, 0.99, "serverless")["standalone_setup"] == "hybrid"
    # the cheaper still wins over a better attainment
    r = rows(hybrid=(4.5, 1.0), serverless=(4.4, 0.995))
    assert standalone_figures(r, 0.99, "hybrid")["standalone_setup"] == "serverless"
    none = standalone_figures(rows(a=(1.0, 0.5)), 0.99, "a")
    assert none["standalone_setup"] == "" and math.isnan(none["standalone_cost_per_mtok_usd"])


def test_the_standalone_pick_agrees_with_the_recommendation_at_a_tie():
    res = sim.run(["experiment=hybrid", "horizon_s=120", "signals.standalone=true"])
    sig = res.tables["signals"]
    checked = 0
    for r in sig.itertuples():
        if not r.standalone_setup or not r.recommended_setup:
            continue
        if (r.standalone_cost_per_mtok_usd == r.recommended_cost_per_mtok_usd
                and r.standalone_slo_attainment == r.recommended_slo_attainment):
            assert r.standalone_setup == r.recommended_setup, r.tenant
            checked += 1
    assert checked >= 1  # summarize: serverless and hybrid bill it alike, alone and shared


def test_a_shared_pool_ruled_out_by_requirements_is_not_the_standalone_pick():
    """A tenant whose requirements rule out a shared pool (data residency, custom weights):
    the recommendation skipped the pool, the standalone pick took it (the cheapest alone)."""
    r = rows(serverless=(2.0, 1.0), dedicated=(9.0, 1.0))
    assert standalone_figures(r, 0.99, "serverless")["standalone_setup"] == "serverless"
    assert standalone_figures(r, 0.99, "serverless", ["serverless"])["standalone_setup"] == "dedicated"
    # a TTFT SLO a cold start meets: the pool alone is the cheapest meeting it ($1.08/M
    # against $8.24/M), and was the pick before
    res = sim.run(["horizon_s=60", "tenants.chat.arrival.rate_rps=0.5", "tenants.chat.data_residency=true",
                   "tenants.chat.slo_ttft_s=120", "setups=[serverless,dedicated]",
                   "signals.standalone=true", "output.plots=false"])
    sig = res.tables["signals"].set_index("tenant").loc["chat"]
    assert sig["recommended_setup"] == "dedicated" == sig["standalone_setup"]
