"""Standalone cost (``signals.standalone``): each tenant run alone; a move to dedicated is
judged by what the tenant would pay for the dedicated replicas alone."""

import pytest
from omegaconf import OmegaConf, open_dict

import sim
from sim.analysis.standalone import alone
from sim.app import execute
from sim.simulation.simulate import simulate_setups

# two tenants of one model share two dedicated replicas bought for the busy one; "small"
# sends 1/100 of chat's traffic, so its share of the well-used replicas is cheaper than the
# serverless pool's tokens, the replicas alone far dearer
BASE = ["horizon_s=300", "setups=[serverless,dedicated]", "dedicated.replicas.llama31-8b=2",
        "tenants.chat.arrival.rate_rps=20",
        "output.plots=false", "signals.slo_target=0.9"]


def _cfg(extra=()):
    cfg = sim.compose(BASE + list(extra))
    with open_dict(cfg):
        cfg.tenants["small"] = OmegaConf.merge(cfg.tenants.chat, {"arrival": {"rate_rps": 0.2}})
    return cfg


@pytest.fixture(scope="module")
def tables():
    shared = execute(_cfg()).tables["signals"].set_index("tenant")
    with_alone = execute(_cfg(["signals.standalone=true"])).tables["signals"].set_index("tenant")
    return shared, with_alone


def test_standalone_columns_only_when_asked(tables):
    shared, with_alone = tables
    assert "standalone_setup" not in shared.columns
    assert {"standalone_setup", "standalone_cost_per_mtok_usd"} <= set(with_alone.columns)


def test_alone_the_small_tenant_pays_for_the_whole_dedicated_pool(tables):
    shared, with_alone = tables
    s = with_alone.loc["small"]
    # independent: alone on dedicated the tenant pays both replicas for its whole period,
    # replicas x GPU price x period, over its own output tokens
    wl, runs, _ = simulate_setups(alone(_cfg(), "small"))
    ded = [r for r in runs if r.setup == "dedicated"][0]
    assert len(ded.ledger) == 2 and all(r.start_s == 0 and r.end_s == ded.period_s for r in ded.ledger)
    price = ded.ledger[0].usd_per_gpu_hour * ded.ledger[0].gpus
    out_tok = int(wl.output_tokens[ded.log.outcome == 1].sum())
    want = 2 * price * ded.period_s / 3600 / out_tok * 1e6
    assert s["standalone_dedicated_cost_per_mtok_usd"] == pytest.approx(want, rel=1e-9)
    # in the shared run its share was far cheaper, cheaper than the pool: it was told to move
    assert shared.loc["small", "cost_per_mtok_dedicated_usd"] < want / 5
    assert shared.loc["small", "signal_cost"]
    assert shared.loc["small", "recommended_setup"] == "dedicated"
    # the cost signal and the advice follow the standalone figure
    assert s["cost_per_mtok_dedicated_usd"] == pytest.approx(want, rel=1e-9)
    assert not s["signal_cost"]
    assert s["recommended_setup"] != "dedicated"
    assert s["standalone_setup"] == s["recommended_setup"] == "serverless"


def test_budget_counts_the_standalone_runs():
    from sim.simulation.build import build
    from sim.simulation.build.budget import estimate

    off = estimate(build(_cfg()).cfg, ["serverless", "dedicated"])
    on = estimate(build(_cfg(["signals.standalone=true"])).cfg, ["serverless", "dedicated"])
    # chat 20 req/s and small 0.2 req/s over 300 s, once more each: 6,060 more requests of
    # work (6 events each) and two more runs, on each of the two setups
    assert on.events - off.events == pytest.approx(
        2 * (6060 * 6.0 + 2 * 50_000.0), rel=1e-9)
