"""A tenant's billing period is the horizon plus its own drain; cost per million tokens."""

import numpy as np
import pytest
from omegaconf import OmegaConf, open_dict

import sim
from sim.metrics.summary import summarize
from sim.simulation.simulate import simulate_setups

HORIZON = 60.0
# "chat" is light on its llama31-8b replica; "flood" sends far more than its qwen3-32b replica
# serves (one H100 serves about 24 req/s of 1024/256-token requests,
# conf/experiment/burst.yaml), so its queue drains long after the horizon
BASE = [f"horizon_s={HORIZON:g}", "drain_s=inf", "output.plots=false", "setups=[dedicated]",
        "tenants.chat.arrival.rate_rps=1",

        "dedicated.max_queue=100000"]


@pytest.fixture(scope="module")
def overloaded():
    cfg = sim.compose(BASE)
    with open_dict(cfg):
        cfg.tenants["flood"] = OmegaConf.merge(cfg.tenants.chat, {
            "model": "qwen3-32b", "arrival": {"rate_rps": 30},
            "input": {"kind": "fixed", "mean": 1024}, "output": {"kind": "fixed", "mean": 256}})
        cfg.deployments["qwen3-32b"] = OmegaConf.merge(cfg.deployments["llama31-8b"], {})
    workload, runs, built = simulate_setups(cfg)
    run = runs[0]
    return workload, run, summarize(workload, run, {})


def _row(s, tenant):
    return s[s["tenant"] == tenant].iloc[0]


def test_the_quiet_tenant_is_not_billed_for_the_flood_drain(overloaded):
    wl, run, s = overloaded
    chat, flood, total = _row(s, "chat"), _row(s, "flood"), _row(s, "__all__")
    ti = wl.tenants.index("chat")
    mine = wl.tenant == ti
    last = np.nanmax(run.log.finish_s[mine])
    # its period: the horizon plus its own (short) drain, from its own requests
    assert chat["period_s"] == pytest.approx(max(HORIZON, last), rel=1e-12)
    # the flood's drain is long: its period is the run's, far beyond the quiet one's
    assert flood["period_s"] == pytest.approx(run.period_s, rel=1e-12)
    assert run.period_s > chat["period_s"] + 60
    # independent: the quiet tenant's GPU time is its replica's up time within its own period
    # (from the ledger, clipped by hand), and nothing after it
    rows = [r for r in run.ledger if r.model == "llama31-8b"]
    want = sum(max(0.0, min(r.end_s, chat["period_s"]) - r.start_s) * r.gpus for r in rows) / 3600
    assert chat["gpu_hours"] == pytest.approx(want, rel=1e-9)
    usd = sum(max(0.0, min(r.end_s, chat["period_s"]) - r.start_s) * r.gpus * r.usd_per_gpu_hour
              for r in rows) / 3600
    assert chat["cost_usd"] == pytest.approx(usd, rel=1e-9)
    # nothing is lost: the flood pays for the rest of the run, the quiet replica included
    assert chat["cost_usd"] + flood["cost_usd"] == pytest.approx(total["cost_usd"], rel=1e-12)
    # the monthly projection of each tenant uses its own period
    assert chat["monthly_cost_usd"] == pytest.approx(chat["cost_usd"] * 730 * 3600 / chat["period_s"])


def test_cost_per_million_total_tokens(overloaded):
    _, _, s = overloaded
    for r in s.itertuples():
        tok = r.input_tokens + r.output_tokens
        assert tok > 0
        assert r.cost_per_mtok_total_usd == pytest.approx(r.cost_usd / tok * 1e6, rel=1e-12)
        assert r.cost_per_mtok_total_usd < r.cost_per_mtok_out_usd


def test_equal_periods_bill_as_before():
    """One tenant: its period is the run's and it pays the whole bill, as before the split."""
    cfg = sim.compose([f"horizon_s={HORIZON:g}", "output.plots=false"])
    wl, runs, _ = simulate_setups(cfg)
    s = summarize(wl, runs[0], {})
    chat, total = _row(s, "chat"), _row(s, "__all__")
    assert chat["period_s"] == total["period_s"] == runs[0].period_s
    assert chat["cost_usd"] == total["cost_usd"]


def test_a_shared_pool_splits_by_period_segments_exactly():
    """Hand-computed: one replica up [0, 100) s at $36/GPU-hour ($0.01/s), shared by A
    (period 60 s, 3 tokens in 4) and B (period 100 s); a 150 s minimum increment."""
    from sim.metrics.billing import split_by_period
    from sim.records import UsageRow

    row = UsageRow("m", "H100", 1, "serverless", 0.0, 100.0, busy_s=50.0, billing="gpu_second",
                   usd_per_gpu_hour=36.0, min_increment_s=150.0)
    parts = split_by_period([row], [0, 1], np.array([3.0, 1.0]), np.array([60.0, 100.0]), 100.0)
    bill = {0: 0.0, 1: 0.0}
    for comp, shares in parts:
        for ti, s in shares.items():
            bill[ti] += comp["cost"] * s
    # [0, 60): $0.60 split 3:1; [60, 100): $0.40 and the 50 s of padding ($0.50) are B's
    assert bill[0] == pytest.approx(0.45, rel=1e-12)
    assert bill[1] == pytest.approx(0.15 + 0.40 + 0.50, rel=1e-12)
    assert sum(c["busy_cost"] for c, _ in parts) == pytest.approx(0.50, rel=1e-12)
    # every tenant to the run's end: nothing to split
    assert split_by_period([row], [0, 1], np.array([3.0, 1.0]), np.array([100.0, 100.0]), 100.0) is None
