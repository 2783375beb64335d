"""A request preempted on a replica that then fails starts afresh on the next one: its
``cached`` is the next replica's hit and its ``preempt_s`` the time it spent preempted on
the failed one (until December 2026 it kept the failed replica's hit, and its prefill on
the next replica counted as a recompute, the time it had waited preempted dropped).
By hand on bare engines, and through the dedicated platform's failure path."""

from __future__ import annotations

import dataclasses

import pytest
import simpy
from helpers.engine import make_perf, mooncake_on_a_line

from sim.engine import ENGINES, Request, RequestQueue


class UnitPerf:
    """Every iteration takes one second; ``cap`` tokens of KV."""

    def __init__(self, cap):
        self.kv_capacity_tokens = cap

    def step_time(self, decode_seqs, prefill_tokens, kv_tokens, attn_pairs):
        return 1.0

    peak_bandwidth = float("nan")

    def bytes_per_gpu(self, decode_seqs, prefill_tokens, kv_tokens):
        return float("nan")

    def saturated_tok_s(self, mean_in, mean_out, max_seqs):
        return float("nan")


def _req(rid, n_in, n_out, segs=()):
    keys = tuple(k for k, _ in segs)
    lens = tuple(n for _, n in segs)
    return Request(rid, 0, 0, 0.0, n_in, n_out, pfx=(keys, lens) if segs else None)


@pytest.mark.parametrize("preemption", ["recompute", "retract", "swap"])
@pytest.mark.parametrize("kind", ["fluid", "step"])
def test_a_request_preempted_before_a_failure_by_hand(catalog, kind, preemption):
    """Replica 0 (100 tokens of KV, one-second iterations, 16-token blocks): P (32 tokens,
    one segment, one token out) runs 0..1 and leaves its segment cached. A (40 tokens) and
    B (40 tokens: P's segment and 8 more) arrive at 2: B hits 32, the batch holds 80
    tokens, first tokens at 3; two decoding sequences claim the 20 free tokens at 3..12,
    so at 13 the newest, B, is preempted (``swap``: its 50 tokens go to the 1 GB of swap
    space, the copy out counted within its time out of the batch). Replica 0 fails at 20:
    B has been preempted 7 s. Both start afresh on replica 1 (1,000 tokens, nothing cached) at 20:
    first tokens at 21, done at 50, no preemption there. B's row: cached 0, preempt_s 7."""
    dep, _ = make_perf(catalog)
    dep = dataclasses.replace(dep, admission="paged", preemption=preemption, swap_gb=1.0)
    env = simpy.Environment()
    q0, q1 = RequestQueue(), RequestQueue()
    done = {}
    sink = lambda r, t: done.__setitem__(r.id, r)  # noqa: E731
    r0 = ENGINES[kind](env, 0, UnitPerf(100), dep, q0, sink)
    ENGINES[kind](env, 1, UnitPerf(1000), dep, q1, sink)
    p, a, b = _req(0, 32, 1, [(7, 32)]), _req(1, 40, 30), _req(2, 40, 30, [(7, 32), (8, 8)])

    def script():
        q0.push(p)
        yield env.timeout(2.0)
        a.arrival = b.arrival = 2.0
        q0.push(a)
        q0.push(b)
        yield env.timeout(13.5 - 2.0)
        assert (a.preempts, b.preempts, b.cached) == (0, 1, 32)  # B's hit on replica 0
        yield env.timeout(20.0 - 13.5)
        for r in r0.abort():  # what the platform does with an interrupted request
            r.t_admit = r.t_first = r.t_done = -1.0
            r.pf_left, r.gen, r.tag = r.n_in, 0, 0
            q1.push(r)

    env.process(script())
    env.run()
    assert set(done) == {0, 1, 2}
    assert (a.t_first, a.t_done, b.t_first, b.t_done) == (21.0, 50.0, 21.0, 50.0)
    assert (b.cached, b.preempts) == (0, 1)
    assert b.preempt_s == pytest.approx(20.0 - 13.0)
    assert b.preempts_here == 0
    assert (a.preempt_s, a.cached, p.cached) == (0.0, 0, 0)


def _trace(tmp_path):
    """Prompt A (1,024 tokens, ids [1, 2]) on replica 0, then B (ids [5, 6]) on replica 0
    and C (ids [1, 2, 3]: A's 1,024 and 76 more) on replica 0 too (round robin, with two
    100-token requests for replica 1 between), each with 300 tokens out."""
    rows = [(0, 1024, 1, [1, 2]), (500, 100, 1, [9]), (1000, 1024, 300, [5, 6]),
            (1100, 100, 1, [10]), (1200, 1100, 300, [1, 2, 3])]
    path = tmp_path / "f1.jsonl"
    path.write_text("".join(
        f'{{"timestamp": {t}, "input_length": {i}, "output_length": {o}, "hash_ids": {h}}}\n'
        for t, i, o, h in rows))
    return path


@pytest.mark.parametrize("cause", ["failure", "spot"])
@pytest.mark.parametrize("cap", [2300, 5000])
def test_the_platforms_failure_path_logs_the_served_attempts_hit(tmp_path, cap, cause):
    """Replica 0 fails at 3 s with C admitted there (hitting A's 1,024 tokens): with 2,300
    tokens of KV C was preempted (at 2.05 s: B's 1,024 and C's 1,100 leave 176 tokens, B
    alone claims 10 of them by C's admission at 1.2024, then both claim 2 an iteration
    from 1.22: 83 iterations), with 5,000 it was still running. Either way C restarts on
    replica 1, which never saw A's prompt: C's row shows 0 cached tokens (the hit rate of
    the run is 0: no served attempt hit anything), its first token 0.2224 s after the
    failure (2,124 prompt tokens, B's and its own, in one iteration), and preempt_s the
    0.95 s it waited preempted on replica 0 (none with 5,000). With 2,300 tokens it is
    preempted on replica 1 as well: B and C retried in their order (B first: until December
    2026 a per-replica router took them in reverse, so B was the newer one there), the 176
    tokens left after their prompts last 88 iterations of two claims, so C, the newest,
    goes at 3.2224 + 0.88 = 4.1024 s, and comes back when B ends (3.2224 + 2.99 = 6.2124 s),
    recomputing its 1,189-token context (1,100 + 89 emitted) but the 976 tokens (whole
    16-token blocks) of its 1,188 cached that B's 211 later claims left: 213 tokens, 0.0313 s.
    The same when replica 0 is a spot instance reclaimed at 3 s without notice."""
    path = _trace(tmp_path)
    if cause == "failure":
        stop = ["dedicated.failures.mode=script",
                "dedicated.failures.script=[{replica: 0, at_s: 3.0, down_s: 10}]"]
    else:
        reclaims = tmp_path / "reclaims.csv"
        reclaims.write_text("time_s,model,replica\n3.0,llama31-8b,0\n")
        stop = ["dedicated.spot.replicas.llama31-8b=2", "dedicated.spot.preemption.mode=trace",
                f"dedicated.spot.preemption.trace={reclaims}",
                "dedicated.spot.preemption.notice_s=0"]
    res = mooncake_on_a_line(tmp_path, path, [
        f"deployments.llama31-8b.perf.kv_capacity_tokens={cap}", "dedicated.replicas.llama31-8b=2",
        "dedicated.router=round_robin", "deployments.llama31-8b.admission=paged", *stop])
    r = res.requests.set_index("request_id")
    c = r.loc[4]
    assert c["attempts"] == 1 and c["outcome"] == "completed"
    assert c["cached_tokens"] == 0
    assert c["first_token_s"] == pytest.approx(3.0 + 0.01 + 1e-4 * 2124)
    again = (6.2124 - 4.1024) + 0.01 + 1e-4 * 213  # preempted on replica 1 too
    assert c["preempt_s"] == pytest.approx(3.0 - 2.05 + again if cap == 2300 else 0.0, abs=1e-9)
    assert int(r["cached_tokens"].sum()) == 0
