"""``events.csv``'s ``replica`` is the ``replicas.csv`` row of the replica life the event
concerns, on every setup: a scale-up's row starts then, a stop's or a reclaim's ends then, a
failure's and a spot event's row is of that model and tier. Until December 2026 it was the
serverless replica's id (off by the burst rows in a hybrid: 7 of 8 scale-ups named the row
before theirs) or, for failures and spot events, the replica's index within its model."""

import pytest

import sim

HYBRID = ["setups=[hybrid]", "horizon_s=240", "seed=1",
          "tenants={chat: {model: llama31-8b, arrival: {kind: gamma, rate_rps: 30, cv: 3}}, "
          "side: {model: qwen3-32b, arrival: {kind: onoff, rate_rps: 0.5, on_s: 30, off_s: 60}}}",
          "deployments={llama31-8b: {gpu: H100, precision: fp8, tp: 1}, qwen3-32b: {gpu: H100, precision: fp8, tp: 1}}",
          "dedicated.replicas={llama31-8b: 1}", "dedicated.burst.enabled=true",
          "dedicated.burst.max_replicas=2", "dedicated.failures.mode=random",
          "dedicated.failures.mtbf_gpu_hours=0.05", "dedicated.failures.mttr_s=20",
          "hybrid.placement={llama31-8b: dedicated}", "hybrid.default_tier=serverless",
          "hybrid.spillover.enabled=true", "hybrid.spillover.wait_threshold_s=0.5"]
SPOT = ["setups=[dedicated]", "horizon_s=1800", "dedicated.replicas={llama31-8b: 3}",
        "dedicated.spot.replicas={llama31-8b: 2}", "dedicated.spot.preemption.per_gpu_hour=5"]
TIER = {"scale_up": "serverless", "keepalive_stop": "serverless", "scale_in": "serverless",
        "evict": "serverless", "fail": "dedicated", "recover": "dedicated", "spot_notice": "spot",
        "spot_reclaim": "spot", "spot_replaced": "spot"}


@pytest.mark.parametrize("args", [HYBRID, SPOT], ids=["hybrid", "spot"])
def test_an_events_replica_is_its_replicas_row(args):
    res = sim.run(args + ["output.plots=false"])
    ev, rows = res.tables["events"], res.tables["replicas"].set_index(["setup", "row"])
    kinds = set(ev["kind"])
    assert kinds >= ({"scale_up", "fail"} if args is HYBRID else {"spot_reclaim", "spot_replaced"})
    if args is HYBRID:
        assert "burst" in set(rows["tier"])  # rows before the pool's: numbering that drifted
    for e in ev.itertuples():
        r = rows.loc[(e.setup, e.replica)]
        assert r["model"] == e.model and r["tier"] == TIER[e.kind], e
        if e.kind == "scale_up":
            assert r["start_s"] == pytest.approx(e.t_s, abs=1e-9)
        if e.kind in ("keepalive_stop", "scale_in", "evict", "spot_reclaim"):
            assert r["end_s"] == pytest.approx(e.t_s, abs=1e-9)
        if e.kind == "spot_replaced":
            assert r["start_s"] + r["loading_s"] == pytest.approx(e.t_s, abs=1e-9)
