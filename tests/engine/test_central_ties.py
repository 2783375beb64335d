"""A central queue when requests arrive at the same instant (closed-loop clients starting
together, a trace's rows with one time): every idle replica takes one, as the first replica
free takes the head. Until December 2026 the step engine's replica only woke when poked and
left the head queued meanwhile, so the queue offered nothing to the other replicas: 12
closed clients on 4 single-sequence replicas were all served by the first (5,998 of 6,000
requests, mean response 10.9 s against the M/M/4//12 chain's 2.0 s)."""

import dataclasses

import numpy as np
import pytest
import simpy
from helpers.engine import make_perf
from helpers.queueing import replay_fcfs, run_table, write_table

import sim
from sim.engine import ENGINES, Request, RequestQueue
from sim.engine.request import BatchQueue
from sim.perf import TablePerf

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


def _mixed_fleet(tmp_path, catalog, engine, reqs, caps=(10000, 1000), seqs=1, chooser=None,
                 admission="reserve", batch=(), step_s=lambda n_, p_: D):
    """Replicas of ``seqs`` sequences and ``caps`` KV tokens each, ``step_s`` (10 ms) an
    iteration, behind one central queue; ``reqs`` as (id, t, n_in, n_out[, prefix]), ``batch``
    the same for a batch lane (BatchQueue(1.0, 1.0)) all replicas fill from. Returns {id:
    (replica, t_admit, t_first, t_done)}."""
    table = write_table(tmp_path / "const.csv", step_s)
    dep, _ = make_perf(catalog, max_num_seqs=seqs)
    dep = dataclasses.replace(dep, admission=admission)
    env = simpy.Environment()
    q = RequestQueue(chooser=chooser)
    lane = BatchQueue(1.0, 1.0)
    out = {}
    for i, cap in enumerate(caps):
        rep = ENGINES[engine](env, i, TablePerf(table, cap), dep, q,
                              lambda r, t: out.__setitem__(r.id, (r.replica, r.t_admit, r.t_first, r.t_done)))
        if batch:
            rep.fill_from(lane)

    def arrivals():
        for to, (rid, t, a, b, *pfx) in sorted([(q, r) for r in reqs] + [(lane, r) for r in batch],
                                               key=lambda x: x[1][1]):
            if t > env.now:
                yield env.timeout(t - env.now)
            to.push(Request(rid, 0, 0, t, a, b, pfx=pfx[0] if pfx else None))

    env.process(arrivals())
    env.run()
    return out


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_replica_that_can_never_hold_the_head_takes_the_first_it_can(tmp_path, catalog, engine):
    """Replica 0 holds 10,000 KV tokens, replica 1 1,000; one sequence each, 10 ms an
    iteration (a request admitted at t is out at t + 10 ms x its output). Request 1 (5,010
    tokens) waits at the head for replica 0 (busy with request 0 until 1.00 s); replica 1,
    idle, takes request 2 at its arrival, 0.2 s (out 0.30 s), request 3 at its boundary
    0.30 s (out 0.40 s), request 5 at 0.6 s; request 4 (1,100 tokens, more than replica 1
    holds) waits in order behind request 1 for replica 0: 1.00 -> 1.10, 1.10 -> 3.10. Until
    December 2026 replica 1 waited behind the head: request 2 was admitted at 1.00 s (fluid)
    or 1.10 s (step)."""
    got = _mixed_fleet(tmp_path, catalog, engine, [
        (0, 0.0, 1, 100), (1, 0.1, 5000, 10), (2, 0.2, 1, 10), (3, 0.25, 1, 10),
        (4, 0.5, 900, 200), (5, 0.6, 1, 10)])
    want = {0: (0, 0.0, 0.01, 1.0), 1: (0, 1.0, 1.01, 1.1), 2: (1, 0.2, 0.21, 0.3),
            3: (1, 0.3, 0.31, 0.4), 4: (0, 1.1, 1.11, 3.1), 5: (1, 0.6, 0.61, 0.7)}
    assert sorted(got) == sorted(want)
    for rid, (rep, *times) in want.items():
        assert got[rid][0] == rep, rid
        assert got[rid][1:] == pytest.approx(times, abs=1e-9), rid


class _FirstWithRoom:
    """A cache-aware router's stand-in: always the first consumer with room."""

    @staticmethod
    def choose(replicas, req) -> int:
        return 0


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_next_head_goes_to_an_idle_replica_when_a_boundary_takes_the_head(tmp_path, catalog, engine):
    """Two replicas of two sequences, 10 ms iterations, a router that picks the first with
    room (requests with a prefix take the queue's router path). Request 0 starts on replica
    0 at 0; request 1 (1 ms) is offered to replica 0 too, which takes it at its boundary,
    10 ms, and is then full; request 2 (2 ms), the new head, goes to replica 1, idle: admitted
    at 10 ms, out at 10 ms + 10 x 10 ms. Until December 2026 the step engine offered the new
    head to nobody: it waited for replica 0 to free a slot at 1.00 s (the fluid engine's
    replica 1 took it at 10 ms)."""
    reqs = [(i, t, 1, 100 if i < 2 else 10, ((i + 1,), (1,))) for i, t in enumerate((0.0, 0.001, 0.002))]
    got = _mixed_fleet(tmp_path, catalog, engine, reqs, caps=(10000, 10000), seqs=2, chooser=_FirstWithRoom())
    assert got[1][:2] == (0, pytest.approx(0.01, abs=1e-9))
    assert got[2][0] == 1
    assert got[2][1:] == pytest.approx((0.01, 0.02, 0.11), abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_request_taken_from_behind_the_head_offers_the_others_their_next(tmp_path, catalog, engine):
    """KV 10,000 / 1,000 / 1,000 tokens, two sequences each, reserve admission, 10 ms an
    iteration. Request 0 (8,900 + 100) runs on replica 0 until 1.01 s (two prefill
    iterations); request 1 (5,010 tokens) waits at the head for it. Request 2 (530) goes to
    replica 1 at 0.10 s (out 0.40 s), request 3 (900) to replica 2 at 0.12 s; request 4 (995)
    fits neither, and request 5 (11) waits behind it, FCFS among what they can hold. At 0.40 s
    replica 1 takes request 4 (from behind the head); replica 2 (900 of 1,000 held, one
    sequence free) can now take request 5 at its own boundary, 0.40 s. Until December 2026
    the fluid engine told nobody: request 5 waited for replica 1's 0.50 s."""
    got = _mixed_fleet(tmp_path, catalog, engine, [
        (0, 0.0, 8900, 100), (1, 0.05, 5000, 10), (2, 0.1, 500, 30), (3, 0.12, 600, 300),
        (4, 0.2, 985, 10), (5, 0.25, 1, 10)], caps=(10000, 1000, 1000), seqs=2)
    want = {0: (0, 0.0), 1: (0, 1.01), 2: (1, 0.1), 3: (2, 0.12), 4: (1, 0.4), 5: (2, 0.4)}
    assert {rid: got[rid][0] for rid in got} == {rid: w[0] for rid, w in want.items()}
    for rid, (_, t) in want.items():
        assert got[rid][1] == pytest.approx(t, abs=1e-9), rid
    assert got[5][3] == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_batch_work_fills_a_replica_that_can_never_hold_the_interactive_head(tmp_path, catalog, engine):
    """KV 10,000 / 1,000, one sequence each, one batch lane, 10 ms an iteration. Replica 0
    runs request 0 until 1.00 s; request 1 (5,010 tokens, only replica 0 holds it) waits at
    the interactive head. Replica 1, idle, has nothing in the interactive queue it can ever
    hold: batch request 10 (11 tokens) starts there at its arrival, 0.20 s (out 0.30 s), 11 at
    0.30 s. Until December 2026 replica 1 waited behind the head: 1.01 s and 1.11 s."""
    got = _mixed_fleet(tmp_path, catalog, engine, [(0, 0.0, 1, 100), (1, 0.1, 5000, 10)],
                       batch=[(10, 0.2, 1, 10), (11, 0.25, 1, 10)])
    want = {0: (0, 0.0, 0.01, 1.0), 1: (0, 1.0, 1.01, 1.1), 10: (1, 0.2, 0.21, 0.3),
            11: (1, 0.3, 0.31, 0.4)}
    assert sorted(got) == sorted(want)
    for rid, (rep, *times) in want.items():
        assert got[rid][0] == rep, rid
        assert got[rid][1:] == pytest.approx(times, abs=1e-9), rid


def test_a_replica_with_a_preempted_request_waiting_is_not_offered_the_head(tmp_path, catalog):
    """Paged, KV 4,000 / 1,000 / 800, three sequences, iterations of 10 ms + 0.1 ms a
    sequence + 1 us a prompt token. At 2.0988 s request 7 (421 tokens) arrives while replica
    1 has a preempted request waiting (it re-admits that first) and replica 2 has room: it
    goes to replica 2, and the engines agree request by request. Until December 2026 the
    queue offered it to replica 1 only: the fluid engine admitted it there at 2.251 s, the
    step engine on replica 2 at 2.100 s; 15 of the 25 requests differed."""
    reqs = [(0, 0.139745, 21, 22), (1, 0.277491, 179, 195), (2, 0.885312, 156, 217),
            (3, 0.977531, 682, 260), (4, 0.980802, 331, 53), (5, 1.026675, 3432, 216),
            (6, 1.767154, 133, 72), (7, 2.098786, 210, 211), (8, 3.229569, 69, 4),
            (9, 3.506023, 20, 39), (10, 3.57064, 62, 43), (11, 4.685657, 214, 257),
            (12, 5.111117, 49, 54), (13, 5.364978, 4, 45), (14, 5.372832, 348, 22),
            (15, 5.530184, 43, 35), (16, 5.793952, 8, 56), (17, 5.819691, 5, 79),
            (18, 5.82189, 79, 268), (19, 5.863537, 150, 29), (20, 5.886288, 919, 295),
            (21, 5.887215, 169, 1), (22, 5.910906, 1337, 167), (23, 6.094379, 2490, 29),
            (24, 6.334513, 93, 128)]
    got = {e: _mixed_fleet(tmp_path, catalog, e, reqs, caps=(4000, 1000, 800), seqs=3, admission="paged",
                           step_s=lambda n, p: D + 0.0001 * n + 1e-6 * p) for e in ("fluid", "step")}
    assert sorted(got["fluid"]) == sorted(got["step"]) == list(range(25))
    for rid in range(25):
        assert got["fluid"][rid][0] == got["step"][rid][0], rid
        assert got["fluid"][rid][1:] == pytest.approx(got["step"][rid][1:], abs=1e-6), rid
    assert got["step"][7][0] == 2
    assert got["step"][7][1] < 2.11
