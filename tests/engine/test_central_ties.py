"""A central queue when requests arrive at the same instant (closed-loop clients starting
together, a trace's rows with one time): every idle replica takes one, as the first replica
free takes the head. Until December 2026 the step engine's replica only woke when poked and
left the head queued meanwhile, so the queue offered nothing to the other replicas: 12
closed clients on 4 single-sequence replicas were all served by the first (5,998 of 6,000
requests, mean response 10.9 s against the M/M/4//12 chain's 2.0 s)."""

import numpy as np
import pytest
from helpers.queueing import replay_fcfs, run_table, write_table

import sim

D = 0.01  # s an iteration


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_closed_clients_starting_together_match_the_central_replay(tmp_path, engine):
    """Request by request the waits of c FCFS servers replayed from the run's own arrivals
    and services (ties taken in request order), exact up to float rounding."""
    c = 4
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        "tenants.chat.output={kind: geometric, mean: 20, max: 1000}",
        "tenants.chat.arrival.kind=closed", "tenants.chat.arrival.concurrency=12",
        "tenants.chat.arrival.think_s=0.2", "tenants.chat.arrival.requests_per_client=40",
        "horizon_s=1", "seed=4", "output.plots=false", "output.report=false"],
        engine=engine).requests.sort_values(["arrival_s", "request_id"], kind="stable")
    assert len(r) == 480 and (r["outcome"] == "completed").all()
    service = r["output_tokens"].to_numpy() * D
    replay = replay_fcfs(r["arrival_s"].to_numpy(), service, c, "central")
    assert (replay > 0).mean() > 0.3  # queueing to replay
    np.testing.assert_allclose((r["admit_s"] - r["arrival_s"]).to_numpy(), replay, atol=1e-6)
    assert set(r["replica"]) == {0, 1, 2, 3}


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_burst_at_one_instant_spreads_over_idle_replicas(tmp_path, engine):
    """Three trace rows at each time, three idle single-sequence replicas, each burst served
    before the next: nobody waits, and each replica serves one of each burst."""
    trace = tmp_path / "burst.csv"
    trace.write_text("timestamp\n" + "".join(f"{t}\n{t}\n{t}\n" for t in range(1, 100, 4)))
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=3",
        "tenants.chat.output={kind: fixed, mean: 10}",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "duplicates: keep, csv: {time: timestamp, input: null, output: null}}}",
        "horizon_s=120", "seed=1", "output.plots=false", "output.report=false"], engine=engine).requests
    assert len(r) == 75 and (r["outcome"] == "completed").all()
    assert (r["admit_s"] == r["arrival_s"]).all()
    assert r.groupby("replica").size().to_dict() == {0: 25, 1: 25, 2: 25}


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_request_behind_a_large_head_goes_to_the_replica_with_room(tmp_path, engine):
    """Two replicas with 4,000 tokens of KV, 62.5 ms iterations: a 3,850-token request waits
    at the head of the central queue until replica 0 frees its memory at 1.25 s and takes it;
    the small request behind it fits replica 1, which takes it at its next boundary, 1.28 s.
    Until December 2026 the fluid engine offered the new head to nobody, and it waited for
    replica 0 until 7.5 s."""
    trace = tmp_path / "hol.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,3000,20\n0.03,2000,400\n"
                     "0.04,3850,100\n0.05,100,10\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.0625)
    r = sim.run([f"engine={engine}", "setups=[dedicated]", "output.plots=false",
                 "deployments.llama31-8b.perf.kind=table", f"deployments.llama31-8b.perf.table_path={table}",
                 "deployments.llama31-8b.perf.kv_capacity_tokens=4000", "dedicated.replicas.llama31-8b=2",
                 "dedicated.router=central", "horizon_s=1",
                 "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv}}",
                 "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"]).requests
    r = r.sort_values("request_id")
    assert r["replica"].tolist() == [0, 1, 0, 1]
    assert r["admit_s"].tolist() == pytest.approx([0.0, 0.03, 1.25, 1.28], abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_head_goes_to_the_first_replica_free_not_the_first_with_room(tmp_path, engine):
    """Two replicas of two sequences each, 10 ms iterations. Replica 0 serves requests 0
    (from 0, 100 tokens) and 2 (from its boundary at 10 ms, 50 tokens: out at 0.51 s);
    replica 1 serves request 1 (from 5 ms), its boundaries at 5 ms + 10 ms x i. Request 3
    arrives at 0.5055 s: replica 1 has room now, replica 0 at its boundary 0.51 s, the first
    one free, which takes it: first token 0.52 s. Until December 2026 the fluid engine gave it
    to replica 1 at once, for 0.515 s (first token 0.525 s), and counted it running there
    meanwhile."""
    trace = tmp_path / "q.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,1,100\n0.005,1,100\n"
                     "0.006,1,50\n0.5055,1,10\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = sim.run([f"engine={engine}", "setups=[dedicated]", "output.plots=false",
                 "deployments.llama31-8b.perf.kind=table", f"deployments.llama31-8b.perf.table_path={table}",
                 "deployments.llama31-8b.perf.kv_capacity_tokens=100000", "dedicated.replicas.llama31-8b=2",
                 "deployments.llama31-8b.max_num_seqs=2", "dedicated.router=central", "horizon_s=1",
                 "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv}}",
                 "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"]).requests
    r = r.sort_values("request_id")
    assert r["replica"].tolist() == [0, 1, 0, 0]
    assert r["admit_s"].tolist() == pytest.approx([0.0, 0.005, 0.01, 0.51], abs=1e-9)
    assert r["ttft_s"].tolist() == pytest.approx([0.01, 0.01, 0.014, 0.0145], abs=1e-9)


def test_paged_central_queue_offers_by_the_memory_admission_needs(tmp_path):
    """Paged admission on 4,000 tokens, two replicas behind one queue: the head goes to a
    replica whose memory of now holds its prompt beside the decoding sequences' next tokens,
    as admission needs; request by request as the step engine. Until December 2026 the queue
    read the memory of the replica's stretch start, without the decoding reserve: it offered
    a 782-token request to a replica that then declined it at its boundary, and nobody else
    (admitted 0.37 s late)."""
    table = write_table(tmp_path / "lin.csv", lambda n_, p_: 0.01 + 0.001 * n_ + 1e-5 * p_)
    runs = {e: sim.run([f"engine={e}", "setups=[dedicated]", "output.plots=false", "horizon_s=60",
                        "drain_s=600", "deployments.llama31-8b.admission=paged",
                        "deployments.llama31-8b.perf.kind=table",
                        f"deployments.llama31-8b.perf.table_path={table}",
                        "deployments.llama31-8b.perf.kv_capacity_tokens=4000",
                        "dedicated.replicas.llama31-8b=2", "dedicated.router=central",
                        "tenants.chat.arrival.rate_rps=1.5"]).requests.sort_values("request_id")
            for e in ("step", "fluid")}
    step, fluid = runs["step"], runs["fluid"]
    assert len(step) == len(fluid) > 50
    assert fluid["replica"].tolist() == step["replica"].tolist()
    for col in ("admit_s", "first_token_s", "finish_s"):
        np.testing.assert_allclose(fluid[col].to_numpy(), step[col].to_numpy(), atol=1e-9)
