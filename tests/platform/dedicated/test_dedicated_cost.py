"""Dedicated billing on tiny scenarios computed by hand; the cost invariants; speedup.

Prices used by hand below are the catalog's H100 rates (conf/catalog/default.yaml):
on-demand $3.95/GPU-hour, reserved $2.37/GPU-hour.
"""

import math

import pytest
from helpers.dedicated import MODEL, all_row, config, run, workload
from helpers.engine import make_perf

from sim.errors import InvariantError
from sim.metrics.cost import CostBreakdown, check_invariants, row_components
from sim.records import COMPLETED, UsageRow

ON_DEMAND, RESERVED = 3.95, 2.37


def lone_request_busy_s(perf, n_in, n_out):
    """Prefill of the whole prompt, then one decode iteration per further token."""
    t = perf.step_time(0, n_in, 0, n_in * (n_in + 1) / 2)
    for j in range(1, n_out):
        t += perf.step_time(1, 0, n_in + j - 1, n_in + j)
    return t


@pytest.mark.parametrize("pricing,rate", [("reserved", RESERVED), ("on_demand", ON_DEMAND)])
def test_reserved_replicas_bill_the_whole_period_busy_or_idle(catalog, pricing, rate):
    cfg = config([f"dedicated.pricing={pricing}", "dedicated.runtime_speedup=1.5"],
                 dedicated={"replicas": {MODEL: 2}})
    r, summary = run(cfg, workload([(10.0, 500, 50)], horizon_s=1800))
    s = all_row(summary)
    assert r.period_s == 1800
    # two GPUs for half an hour
    assert s["cost_usd"] == pytest.approx(2 * 0.5 * rate, rel=1e-12)
    assert s["cost_dedicated_usd"] == pytest.approx(s["cost_usd"], rel=1e-12)
    assert s["cost_burst_usd"] == 0 and s["token_cost_usd"] == 0
    # busy: one replica served one request (its prefill and 49 decodes at the tuned speed)
    _, perf = make_perf(catalog, runtime_speedup=1.5)
    busy = lone_request_busy_s(perf, 500, 50)
    assert s["busy_gpu_hours"] == pytest.approx(busy / 3600, rel=1e-9)
    assert s["idle_gpu_hours"] == pytest.approx((2 * 1800 - busy) / 3600, rel=1e-9)
    assert s["idle_cost_usd"] == pytest.approx((2 * 1800 - busy) / 3600 * rate, rel=1e-9)
    assert s["busy_cost_usd"] + s["idle_cost_usd"] == pytest.approx(s["cost_usd"], rel=1e-12)
    assert s["busy_fraction"] == pytest.approx(busy / 3600, rel=1e-9)
    # per unit: 50 output tokens, one request
    assert s["cost_per_mtok_out_usd"] == pytest.approx(s["cost_usd"] / 50 * 1e6)
    assert s["cost_per_1k_requests_usd"] == pytest.approx(s["cost_usd"] * 1000)


def test_monthly_projection_of_one_on_demand_h100_is_the_briefs_2900():
    """730 h x $3.95 = $2,883.50: the brief's 'about $2,900 a month' (CAL §8)."""
    cfg = config(["dedicated.pricing=on_demand"])
    _, summary = run(cfg, workload([(1.0, 100, 10)], horizon_s=600))
    s = all_row(summary)
    assert s["cost_usd"] == pytest.approx(600 / 3600 * ON_DEMAND, rel=1e-12)
    assert s["monthly_cost_usd"] == pytest.approx(730 * ON_DEMAND, rel=1e-12)
    assert s["monthly_output_tokens"] == pytest.approx(10 * 730 * 3600 / 600, rel=1e-12)


def test_runtime_speedup_scales_every_step_time_exactly():
    """Requests all present at t=0: the whole run is the same sequence of iterations, each
    shorter by the speedup factor, so every timestamp divides by it."""
    reqs = [(0.0, 300 + 37 * i, 20 + 11 * i) for i in range(12)]
    out = {}
    for s in (1.0, 15220 / 13411, 2.0):
        cfg = config([f"dedicated.runtime_speedup={s}"],
                     deployments={MODEL: {"max_num_seqs": 4}})
        r, _ = run(cfg, workload(reqs, horizon_s=1.0))
        assert (r.log.outcome == COMPLETED).all()
        out[s] = (r.log.first_s.copy(), r.log.finish_s.copy())
    for s in (15220 / 13411, 2.0):
        assert out[s][0] == pytest.approx(out[1.0][0] / s, rel=1e-12)
        assert out[s][1] == pytest.approx(out[1.0][1] / s, rel=1e-12)


def test_runtime_speedup_default_names_its_source():
    """1.0: the perf model is calibrated on tuned runtimes; the source says so."""
    cfg = config()
    assert cfg.dedicated.runtime_speedup == 1.0
    assert "CAL §3" in cfg.dedicated.sources.runtime_speedup


def test_row_components_with_a_minimum_increment():
    row = UsageRow(model=MODEL, gpu="H100", gpus=2, tier="burst", start_s=50.0, end_s=150.0,
                   busy_s=30.0, billing="gpu_second", usd_per_gpu_hour=3600.0, loading_s=20.0,
                   min_increment_s=600.0)
    c = row_components(row)
    assert c["gpu_s"] == 1200.0  # 600 s minimum x 2 GPUs
    assert c["busy_gpu_s"] == 60.0 and c["loading_gpu_s"] == 40.0
    assert c["idle_gpu_s"] == 1140.0  # loading and the padding to the minimum are idle
    assert c["cost"] == pytest.approx(1200.0)  # $1 per GPU-second
    assert c["busy_cost"] + c["idle_cost"] + c["down_cost"] == pytest.approx(c["cost"])


def test_invariant_check_catches_components_that_do_not_add_up():
    cb = CostBreakdown()
    cb._add("a", "dedicated", "m", {"cost_usd": 1.0, "gpu_cost_usd": 1.0, "busy_cost_usd": 0.25,
                               "idle_cost_usd": 0.75})
    check_invariants(cb)  # consistent
    cb._add("a", "dedicated", "m", {"cost_usd": 1.0, "gpu_cost_usd": 1.0, "busy_cost_usd": 0.5})
    with pytest.raises(InvariantError, match="busy"):
        check_invariants(cb)
    cb2 = CostBreakdown()
    cb2._add("a", "dedicated", "m", {"cost_usd": 1.0, "token_cost_usd": 1.0})
    cb2.totals["cost_usd"] += 0.5  # a total that the tenants do not add up to
    with pytest.raises(InvariantError):
        check_invariants(cb2)


def test_summary_columns_keep_the_old_names_and_add_the_cost_breakdown():
    from sim.metrics.summary import SUMMARY_COLUMNS

    old = ["cost_usd", "cost_per_mtok_out_usd", "cost_per_1k_requests_usd", "gpu_hours",
           "busy_fraction", "slo_attainment"]
    new = ["idle_gpu_hours", "idle_cost_usd", "cost_dedicated_usd", "cost_burst_usd",
           "monthly_cost_usd", "retries", "down_gpu_hours"]
    assert set(old + new) <= set(SUMMARY_COLUMNS)
    cfg = config()
    _, summary = run(cfg, workload([(1.0, 100, 10), (2.0, 50, 5)], horizon_s=60))
    assert list(summary.columns[:len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    for _, s in summary.iterrows():
        parts = s["cost_dedicated_usd"] + s["cost_burst_usd"] + s["cost_serverless_usd"]
        assert parts == pytest.approx(s["cost_usd"], rel=1e-12)
        assert not math.isnan(s["monthly_cost_usd"])
