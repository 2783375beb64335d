"""Arrivals at the instant a service ends, on deterministic settings where a hand count is
exact: the freed slot is the arrival's, on both engines, whatever was scheduled first.

A departure and an arrival at one instant are ordered departure first (an arrival is the
last event of its instant, ``sim.simulation.loop.ARRIVAL``), and a run of equal iterations
ends at its start plus their count times the step (the step engine summed them: 1,000
steps of 1 ms ended at 1.0000000000000007). Until December 2026 D/D/1/1 with arrivals one
second apart and one-second services turned away 25 of 50 requests on the fluid engine and
11 on the step engine, where the hand count turns away none."""

import pytest
from helpers.queueing import D, run_table, write_table

ENGINES = ["fluid", "step"]


def _trace(tmp_path, times, tokens=1000):
    path = tmp_path / "a.csv"
    path.write_text("timestamp,input_tokens,output_tokens\n"
                    + "".join(f"{t!r},1,{tokens}\n" for t in times))
    return ["tenants.chat.arrival={kind: trace, trace: {path: %s, format: csv}}" % path,
            "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace, max: null}",
            f"horizon_s={max(times) + 1}"]


def _run(tmp_path, engine, times, extra):
    table = write_table(tmp_path / "t.csv", lambda n, p: D)
    res = run_table(tmp_path, table, [*_trace(tmp_path, times), *extra], engine=engine)
    return res.requests.sort_values("arrival_s").reset_index(drop=True)


LOSS = ["deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        "dedicated.max_queue=0"]


@pytest.mark.parametrize("engine", ENGINES)
def test_dd11_with_arrivals_at_each_departure_turns_nobody_away(tmp_path, engine):
    # 50 arrivals one second apart, each served 1,000 x 1 ms = 1 s on one slot with no
    # waiting room: each arrives as the one before leaves, and every one is served at once
    r = _run(tmp_path, engine, [float(i) for i in range(50)], LOSS)
    assert (r["outcome"] == "completed").all()
    assert (r["admit_s"] == r["arrival_s"]).all()
    assert list(r["finish_s"]) == [float(i + 1) for i in range(50)]  # exactly


@pytest.mark.parametrize("engine", ENGINES)
def test_the_outcome_at_a_tie_does_not_depend_on_an_earlier_rejection(tmp_path, engine):
    # arrivals at 0, 0.5 and 1 on the same loss system: the one at 0.5 finds the slot busy
    # and is turned away; the one at 1 arrives as the first leaves and is served (the fluid
    # engine served it here and turned it away without the arrival at 0.5; the step engine
    # turned it away in both)
    r = _run(tmp_path, engine, [0.0, 0.5, 1.0], LOSS)
    assert list(r["outcome"]) == ["completed", "rejected", "completed"]
    assert list(r["finish_s"].iloc[[0, 2]]) == [1.0, 2.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_one_place_waiting_room_at_a_tie(tmp_path, engine):
    # M/D/1/2 by hand: 0 served at once (ends 1), 0.5 waits, 1 arrives as 0 leaves and 0.5
    # enters service: it takes the freed waiting place and is served 2 -> 3
    r = _run(tmp_path, engine, [0.0, 0.5, 1.0], [*LOSS[:2], "dedicated.max_queue=1"])
    assert (r["outcome"] == "completed").all()
    assert list(r["admit_s"]) == [0.0, 1.0, 2.0]
    assert list(r["finish_s"]) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_serverless_concurrency_limit_at_a_tie(tmp_path, engine):
    # one warm replica behind a concurrency limit of one: each request arrives as the one
    # before ends, so none is turned away
    r = _run(tmp_path, engine, [0.0, 1.0, 2.0, 3.0], [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        "serverless.autoscaler.min_replicas.llama31-8b=1", "serverless.autoscaler.max_replicas=1",
        "serverless.max_wait_s=inf", "serverless.rate_limits.chat={concurrency: 1}"])
    assert (r["outcome"] == "completed").all()
    assert list(r["finish_s"]) == [1.0, 2.0, 3.0, 4.0]
