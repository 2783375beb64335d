"""Burst capacity: the estimator and policy alone, then in a run (exact times and bills)."""

import math

import numpy as np
import pytest
from helpers.dedicated import MODEL, all_row, config, live, run, workload

import sim
from sim.app import execute
from sim.engine import Request
from sim.platform.dedicated.burst import LOCAL, REMOTE, BurstPolicy, WaitEstimator
from sim.records import COMPLETED

BURST_PRICE = 3.95 * 1.25  # H100 on-demand x the default premium
# need_node + image pull + container + 8.5 GB at 6 GB/s + engine init (CAL §4 defaults)
COLD_FRESH_NODE = 120 + 20 + 1 + 8.5 / 6.0 + 25


# ----------------------------------------------------------------------- plain pieces
def test_wait_estimator_is_queue_over_recent_completion_rate():
    w = WaitEstimator(window_s=10.0)
    assert w.estimate(0, 5.0) == 0.0
    assert w.estimate(3, 5.0) == math.inf  # a queue and nothing completing
    for t in (1.0, 2.0, 3.0, 4.0):
        w.record(t)
    assert w.rate(5.0) == pytest.approx(4 / 5.0)  # window not yet full: since t0
    assert w.estimate(8, 5.0) == pytest.approx(8 / (4 / 5.0))
    assert w.rate(12.5) == pytest.approx(2 / 10.0)  # 1.0 and 2.0 have left the window
    assert w.rate(30.0) == 0.0


def test_policy_scales_up_above_threshold_one_per_interval_local_then_remote():
    p = BurstPolicy(wait_threshold_s=2.0, max_local=1, max_remote=1, scale_up_interval_s=5.0,
                    idle_window_s=60.0, drain_fill=0.75)
    assert p.scale_up(0.0, 2.0, 0, 0) is None  # at the threshold: not above it
    assert p.scale_up(1.0, 2.5, 0, 0) == LOCAL
    assert p.scale_up(3.0, 9.0, 1, 0) is None  # within the interval
    assert p.scale_up(6.0, 9.0, 1, 0) == REMOTE  # local pool full: borrow
    assert p.scale_up(20.0, 9.0, 1, 1) is None  # both full


def test_policy_drains_after_a_quiet_window_only_if_the_rest_can_carry_the_load():
    p = BurstPolicy(wait_threshold_s=1.0, max_local=2, max_remote=0, scale_up_interval_s=0.0,
                    idle_window_s=60.0, drain_fill=0.75)
    p.observe(wait_s=5.0, rate=20.0, n_serving=2)  # saturated: 10 completions/s a replica
    assert p.capacity_per_replica == 10.0
    p.observe(wait_s=0.1, rate=30.0, n_serving=2)  # not saturated: not a capacity sample
    assert p.capacity_per_replica == 10.0
    assert not p.scale_down(100.0, 0.0, 10.0, 3, 1)  # the quiet window starts
    assert not p.scale_down(159.0, 0.5, 10.0, 3, 1)
    assert p.scale_down(160.0, 0.0, 15.0, 3, 1)  # 15 <= 0.75 x 10 x 2
    assert not p.scale_down(161.0, 0.0, 15.0, 3, 1)  # the next drain needs a new window
    assert not p.scale_down(230.0, 0.0, 16.0, 3, 1)  # 16 > 15: the rest would be too full
    assert not p.scale_down(231.0, 3.0, 1.0, 3, 1)  # queueing again: window reset
    assert not p.scale_down(290.0, 0.0, 1.0, 3, 1)
    assert p.scale_down(350.0, 0.0, 1.0, 3, 1)


# ------------------------------------------------------------------------------ runs
def _queue_of_long_requests(n, out=3000):
    return workload([(0.0, 100, out)] * n, horizon_s=2000.0)


def test_burst_replica_is_billed_per_gpu_second_from_provisioning_start():
    """One reserved replica with 2 slots and a queue at t=0: the controller's first look
    (t = 1 s) sees a queue and no completion yet (infinite wait) and provisions a replica,
    which serves after exactly the cold-start stages; its bill runs from t = 1 s."""
    cfg = config(["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=1"],
                 deployments={MODEL: {"max_num_seqs": 2}})
    r, summary = run(cfg, _queue_of_long_requests(40))
    s = all_row(summary)
    assert (r.log.outcome == COMPLETED).all()
    rows = [u for u in r.ledger if u.tier == "burst"]
    assert len(rows) == 1
    b = rows[0]
    assert b.start_s == 1.0
    assert b.loading_s == pytest.approx(COLD_FRESH_NODE, rel=1e-12)
    first_burst_admit = np.nanmin(r.log.admit_s[r.log.tier == r.log.tiers.code("burst")])
    assert first_burst_admit == pytest.approx(1.0 + COLD_FRESH_NODE, rel=1e-12)
    assert b.end_s < r.period_s  # drained before the end of the period
    billed = b.end_s - 1.0
    assert s["cost_burst_usd"] == pytest.approx(billed * BURST_PRICE / 3600, rel=1e-12)
    assert s["loading_gpu_hours"] == pytest.approx(COLD_FRESH_NODE / 3600, rel=1e-12)
    assert s["cost_dedicated_usd"] == pytest.approx(r.period_s * 2.37 / 3600, rel=1e-12)
    assert s["cost_usd"] == pytest.approx(s["cost_dedicated_usd"] + s["cost_burst_usd"], rel=1e-12)


def test_burst_lowers_p99_ttft_under_a_spike_and_costs_its_gpu_seconds(tmp_path):
    curve = tmp_path / "spike.csv"
    curve.write_text("time_s,rate\n0,1\n60,1\n61,4\n180,4\n181,1\n300,1\n")
    cfg = config(["job=burst", "horizon_s=300", "tenants.chat.arrival.rate_rps=5",
                  "tenants.chat.arrival.curve=file", f"tenants.chat.arrival.curve_path={curve}",
                  "dedicated.burst.need_node=false", "dedicated.burst.image_cached=true",
                  "dedicated.burst.storage_tier=host_dram", "dedicated.burst.max_replicas=2",
                  "output.parquet=false"],
                 deployments={MODEL: {"max_num_seqs": 8}})
    res = execute(cfg)
    comp = res.tables["comparison"].set_index("setup")
    base, burst = comp.loc["dedicated"], comp.loc["dedicated+burst"]
    # everything is served in both; the spike overloads the lone replica 3-4x over
    assert base["completed"] == base["requests"] and burst["completed"] == burst["requests"]
    assert burst["burst_replicas"] >= 1 and burst["burst_requests"] > 0
    assert burst["ttft_p99_s"] < 0.5 * base["ttft_p99_s"]
    assert burst["slo_attainment"] > base["slo_attainment"] + 0.3
    # the bill: GPU-seconds from each replica's provisioning to its stop, at the burst price
    life = res.tables["dedicated+burst_burst_replicas"]
    period = res.summary.query("setup == 'dedicated+burst' and tenant == '__all__'")["period_s"].iloc[0]
    gpu_s = float((np.minimum(life["stop_s"].fillna(period), period) - life["provision_s"]).sum())
    assert burst["burst_gpu_s"] == pytest.approx(gpu_s, rel=1e-12)
    assert burst["cost_burst_usd"] == pytest.approx(gpu_s * BURST_PRICE / 3600, rel=1e-12)
    assert (life["warm_s"] - life["provision_s"]).to_numpy() == pytest.approx(1 + 8.5 / 52 + 25)


def test_a_draining_burst_replica_finishes_what_it_runs_and_then_stops_billing():
    cfg = config(["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=1",
                  "dedicated.burst.need_node=false", "dedicated.burst.image_cached=true",
                  "dedicated.burst.storage_tier=host_dram"],
                 deployments={MODEL: {"max_num_seqs": 2}})
    n = 20
    env, ctx, setup = live(cfg, n)
    for i in range(n):
        ctx.log.arrival_s[i] = 0.0
        setup.submit(Request(i, 0, 0, 0.0, 100, 2000))
    bp = setup.burst[0]
    env.run(until=40.0)
    b = bp.replicas[0]
    assert b.t_warm == pytest.approx(1.0 + 1 + 8.5 / 52 + 25, rel=1e-12)
    running = b.rep.n_running
    assert running == 2  # busy when the drain starts
    bp.drain(b, env.now)
    env.run(until=2000.0)
    log = ctx.log
    log.flush()
    assert log.open == 0 and (log.outcome == COMPLETED).all()
    on_b = log.replica == b.rep.rid
    assert (log.tier[on_b] == log.tiers.code("burst")).all()
    assert (log.admit_s[on_b] < 40.0).all()  # nothing admitted after the drain ...
    assert int((log.finish_s[on_b] > 40.0).sum()) == running  # ... what ran finished
    assert b.t_stop == pytest.approx(log.finish_s[on_b].max(), rel=1e-12)
    assert b.row.end_s == b.t_stop and b.rep.n_running == 0
    # the queue was still long: the controller provisioned a fresh replica after the stop
    assert len(bp.replicas) == 2 and bp.replicas[1].t_provision >= b.t_stop


def test_borrowed_replicas_add_exactly_the_round_trip():
    """Remote service does not change the engines' timing, so with and without a round
    trip every request has the same times, plus the RTT on those served remotely."""
    out = {}
    for rtt in (0.0, 0.25):
        cfg = config(["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=0",
                      "dedicated.burst.remote.max_replicas=1", f"dedicated.burst.remote.rtt_s={rtt}",
                      "dedicated.burst.need_node=false", "dedicated.burst.image_cached=true"],
                     deployments={MODEL: {"max_num_seqs": 2}})
        r, _ = run(cfg, _queue_of_long_requests(12, out=1500))
        assert (r.log.outcome == COMPLETED).all()
        out[rtt] = r.log
    a, b = out[0.0], out[0.25]
    remote = b.tier == b.tiers.code("burst")
    assert remote.any() and (~remote).any()
    assert (a.tier == b.tier).all()
    assert b.first_s[remote] == pytest.approx(a.first_s[remote] + 0.25, rel=1e-12)
    assert b.finish_s[remote] == pytest.approx(a.finish_s[remote] + 0.25, rel=1e-12)
    assert b.first_s[~remote] == pytest.approx(a.first_s[~remote], rel=1e-12)


@pytest.mark.parametrize("override,key", [
    ("dedicated.burst.drain_fill=1.5", "dedicated.burst.drain_fill"),
    ("dedicated.burst.wait_threshold_s=0", "dedicated.burst.wait_threshold_s"),
    ("dedicated.burst.storage_tier=floppy", "dedicated.burst.storage_tier"),
])
def test_bad_burst_settings_name_their_key(override, key):
    with pytest.raises(sim.InputError, match=key.replace(".", r"\.")):
        sim.run(["horizon_s=5", "dedicated.burst.enabled=true", override])
