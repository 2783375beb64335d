"""Failures under a per-replica router (``jsq``): the requests a failed replica was running
are routed again, in their original order, each to the head of the chosen replica's own
queue (README: "back to the head of the queue"). Until December 2026 they went to the back,
behind later arrivals, and in reverse order.

Hand computation: constant 10 ms iterations, one-token prompts, 100-token answers (a
request admitted at a boundary t ends at t + 1.00), two replicas of two sequences. jsq
(ties to the first replica): r0 (t=0) and r2 (t=0.002) run on replica 0, r1 (0.001) and
r3 (0.003, joining at 0.011) on replica 1; r4 (0.2) waits on replica 0, r5 (0.3) on
replica 1. Replica 0 fails at 0.5: r4, never started, is routed again like an arrival
(behind r5), r0 and r2 go ahead of both: replica 1's queue is r0, r2, r5, r4. Replica 1's
slots free at 1.001 and 1.011 (r1, r3), then 2.001 and 2.011 (r0, r2).
"""

import pytest
from helpers.queueing import run_table, write_table


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_retries_go_ahead_of_later_arrivals_in_their_order(tmp_path, engine):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n0\n0.001\n0.002\n0.003\n0.2\n0.3\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=2", "dedicated.replicas.llama31-8b=2",
        "dedicated.router=jsq", "tenants.chat.output={kind: fixed, mean: 100}",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "csv: {time: timestamp, input: null, output: null}}}",
        "dedicated.failures.mode=script",
        "dedicated.failures.script=[{at_s: 0.5, down_s: 100, replica: 0}]",
        "horizon_s=10", "seed=1", "output.plots=false", "output.report=false"], engine=engine
    ).requests.set_index("request_id")
    assert (r["outcome"] == "completed").all()
    assert r["attempts"].to_dict() == {0: 1, 1: 0, 2: 1, 3: 0, 4: 0, 5: 0}
    want = {0: 1.001, 1: 0.001, 2: 1.011, 3: 0.011, 4: 2.011, 5: 2.001}
    for i, t in want.items():
        assert r.loc[i, "admit_s"] == pytest.approx(t, abs=1e-9), i


@pytest.mark.parametrize("router", ["jsq", "central"])
def test_an_outage_under_a_per_replica_router_is_said_as_one(tmp_path, router):
    """The one replica down from 1 s to 6 s; r0 (t=0, 500 tokens of 10 ms: in flight until
    5 s) is interrupted at 1 s, r1 and r2 arrive at 2 s and 3 s. Under jsq nothing is up to
    take any of them: r0 fails retry_no_replica (its first of 3 tries), r1 and r2 are rejected
    no_replica. A note says so as an outage; until December 2026 it read "unstable at this
    load ... add capacity or lower the load" at 0.15 req/s. The central queue holds them
    until the replica is back: all complete, no such note."""
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n0\n2\n3\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    res = run_table(tmp_path, table, [
        f"dedicated.router={router}", "tenants.chat.output={kind: fixed, mean: 500}",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "csv: {time: timestamp, input: null, output: null}}}",
        "dedicated.failures.mode=script", "dedicated.failures.script=[{at_s: 1, down_s: 5}]",
        "horizon_s=20", "seed=1", "output.plots=false", "output.report=false"])
    r = res.requests.set_index("request_id")
    assert not any("unstable" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "found no replica" in n]
    if router == "central":
        assert (r["outcome"] == "completed").all() and not said
        return
    assert r["reason"].to_dict() == {0: "retry_no_replica", 1: "no_replica", 2: "no_replica"}
    assert r.loc[0, "attempts"] == 1
    assert len(said) == 1 and said[0].startswith(
        "dedicated: 3 of 3 requests found no replica of their model up (no_replica 2, "
        "retry_no_replica 1)"), res.notes
