"""A central queue's head offered to a replica that then stops admitting (it fails, or gets
a spot notice) goes to another replica at that one's next iteration boundary. Until
December 2026 the fluid engine left it queued until a replica's own next state change:
the other replica's running request's end, seconds later (TTFT 10.19 s against the step
engine's 0.011 s in the reported case).

Hand computation: constant 10 ms iterations, one-token prompts. Request 0 (t=0, 1,000
tokens) runs on replica 0 from 0 (boundaries at 0.01 k); request 1 (t=0.005) on replica 1
from 0.005 (boundaries at 0.005 + 0.01 k). Request 2 arrives at 1.003 with a free slot on
both: replica 1's next boundary (1.005) comes first, so the queue offers it there. Replica 1
stops admitting at 1.004, so replica 0 takes it at its next boundary, 1.01; its prompt's one
iteration gives its first token at 1.02 and its 5 tokens end at 1.06.
"""

import pytest
from helpers.queueing import run_table, write_table

D = 0.01


def _run(tmp_path, engine, extra):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,out\n0.0,1000\n0.005,1000\n1.003,5\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    return run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=2", "dedicated.replicas.llama31-8b=2",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "csv: {time: timestamp, input: null, output: out}}}",
        "tenants.chat.output.kind=trace", "horizon_s=20", "seed=1",
        "output.plots=false", "output.report=false", *extra], engine=engine
    ).requests.set_index("request_id")


def _check(r):
    assert r.loc[0, "replica"] == 0
    assert r.loc[2, "admit_s"] == pytest.approx(1.01, abs=1e-9)
    assert r.loc[2, "first_token_s"] == pytest.approx(1.02, abs=1e-9)
    assert r.loc[2, "finish_s"] == pytest.approx(1.06, abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_head_offered_to_a_failing_replica_goes_to_the_other(tmp_path, engine):
    r = _run(tmp_path, engine, [
        "dedicated.failures.mode=script", "dedicated.failures.max_attempts=1",
        "dedicated.failures.script=[{at_s: 1.004, down_s: 100, replica: 1}]"])
    assert r.loc[1, "outcome"] == "failed" and r.loc[1, "reason"] == "replica_failure"
    _check(r)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_head_offered_to_a_noticed_spot_replica_goes_to_the_other(tmp_path, engine):
    notices = tmp_path / "p.csv"
    notices.write_text("time_s,model,replica\n1.004,llama31-8b,0\n")
    r = _run(tmp_path, engine, [
        "dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.preemption.mode=trace",
        f"dedicated.spot.preemption.trace={notices}", "dedicated.spot.preemption.notice_s=100"])
    assert r.loc[1, "outcome"] == "completed" and r.loc[1, "tier"] == "spot"
    _check(r)
