"""The pool's ``max_wait_s`` at the instant a slot frees or a replica turns warm: the timer
fires after the replicas' events of its instant (``waitbound.WAIT_BOUND``), so a request
whose slot or replica is ready exactly at its deadline is served, on both engines, however
early its timer was set. Until December 2026 it was a plain timer: the step engine turned
away (``timeout_queued``) a request the fluid one served, and a cold start's first request
was turned away at the replica's ready instant while the one queued behind it took it."""

import math

import pytest
from helpers.queueing import write_table

import sim
from sim.platform.serverless.waitbound import WAIT_BOUND
from sim.simulation.loop import ARRIVAL

D = 0.01  # s an iteration (a constant step table)


def _run(tmp_path, engine, trace_rows, max_wait, out_tokens, extra=()):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n" + "".join(f"{t}\n" for t in trace_rows))
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    m = "deployments.llama31-8b"
    r = sim.run([f"engine={engine}", "setups=[serverless]", "output.plots=false",
                 "output.report=false", "horizon_s=300", "drain_s=600",
                 f"{m}.perf.kind=table", f"{m}.perf.table_path={table}",
                 f"{m}.perf.kv_capacity_tokens=1000000", f"{m}.max_num_seqs=1",
                 "serverless.pool={H100: {nodes: 1, gpus_per_node: 2}}",
                 "serverless.billing=gpu_second", f"serverless.max_wait_s={max_wait}",
                 "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
                 "csv: {time: timestamp, input: null, output: null}}}",
                 "tenants.chat.input={kind: fixed, mean: 1}",
                 f"tenants.chat.output={{kind: fixed, mean: {out_tokens}}}", *extra]).requests
    return r.sort_values("request_id").reset_index(drop=True)


def test_the_wait_timer_comes_after_the_arrivals_and_the_replicas():
    assert WAIT_BOUND > ARRIVAL


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("max_wait, served", [(19.4, False), (19.5, True), (19.6, True)])
def test_a_slot_freeing_at_the_deadline_serves_the_request(tmp_path, engine, max_wait, served):
    """One single-sequence replica, 2,000-token requests: 20 s each (2,000 iterations of
    10 ms). Request 0 (at 0) times out on the cold start; request 1 (at 40, the replica warm
    and kept 1,000 s) runs 40 -> 60; request 2 arrives at 40.5, its deadline 40.5 + max_wait:
    60.0 exactly at 19.5, when the slot frees, so it runs 60 -> 80."""
    r = _run(tmp_path, engine, [0, 40, 40.5], max_wait, 2000,
             ["serverless.keepalive.idle_s=1000"])
    assert r["outcome"].tolist()[:2] == ["rejected", "completed"]
    assert r.loc[1, "admit_s"] == 40.0 and r.loc[1, "finish_s"] == pytest.approx(60.0, abs=1e-9)
    if served:
        assert r.loc[2, "outcome"] == "completed"
        assert r.loc[2, "admit_s"] == pytest.approx(60.0, abs=1e-9)
        assert r.loc[2, "finish_s"] == pytest.approx(80.0, abs=1e-9)
    else:
        assert r.loc[2, "outcome"] == "rejected" and math.isnan(r.loc[2, "admit_s"])


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("second", [0.0625, 3.0])
def test_a_replica_ready_at_the_deadline_serves_the_request(tmp_path, engine, second):
    """The cold start's ready instant T, read from a run with no wait bound; then a bound
    making one request's deadline exactly T: that request is served at T whether its timer
    was set first (request 0, at 0, bound T) or after another's (request 1, at 3, bound
    T - 3, request 0 turned away before). T is a multiple of 1/16 here: exact sums."""
    gbps = ["cold_start.tiers.object_storage.optimized_gbps=8.5"]  # (a dyadic T)
    free = _run(tmp_path, engine, [0, second], "inf", 100, gbps)
    ready = free.loc[0, "admit_s"]
    assert ready > 5 and (ready * 16).is_integer()
    who = 0 if second < 1 else 1
    r = _run(tmp_path, engine, [0, second], ready - [0, second][who], 100, gbps)
    assert r.loc[who, "outcome"] == "completed"
    assert r.loc[who, "admit_s"] == ready
    other = 1 - who  # request 1 waits behind request 0 past its deadline; request 0 times out
    assert r.loc[other, "outcome"] == "rejected"
