"""Anonymous tokens held implicitly (``KvCache.hold``: no trie leaf, no host tier) behave
exactly as the explicit queue of ``KvCache.keep`` does: the same request times, hits and
preemptions, the same evictions counted, the same memory once made explicit. The oracle is
the explicit path itself, forced by replacing ``hold`` with ``keep``."""

from __future__ import annotations

import dataclasses
import random

import pytest
import simpy
from helpers.engine import make_perf

from sim.engine import ENGINES, Request, RequestQueue
from sim.engine.kv import KvCache
from sim.engine.kv_memory import Memory


def workload(seed: int, prefixed: float) -> list[Request]:
    """400 Poisson arrivals, prompts 50-1,500 tokens, outputs 1-400; a fraction share one
    of five 512-token prefixes (each a trie leaf once it is released)."""
    rng = random.Random(seed)
    t, out = 0.0, []
    for i in range(400):
        t += rng.expovariate(30.0)
        n_in, n_out = rng.randint(50, 1500), rng.randint(1, 400)
        pfx = None
        if rng.random() < prefixed and n_in > 512:
            pfx = ((rng.randint(1, 5),), (512,))
        out.append(Request(i, 0, 0, t, n_in, n_out, pfx=pfx))
    return out


def simulate(kind, dep, perf, reqs):
    env, q, done = simpy.Environment(), RequestQueue(), {}
    rep = ENGINES[kind](env, 0, perf, dep, q, lambda r, t: done.__setitem__(
        r.id, (r.t_first, r.t_done, r.cached, r.preempts)))

    def arrivals():
        for r in reqs:
            if r.arrival > env.now:
                yield env.timeout(r.arrival - env.now)
            q.push(r)

    env.process(arrivals())
    env.run()
    rep.kv.stats.settle()
    kv = rep.kv
    st = kv.stats
    return done, (st.prompt_tokens, st.cached_tokens, st.evicted_tokens, st.preemptions,
                  kv.cached, kv.unpinned, kv.anon, kv.private)


@pytest.mark.parametrize("prefixed", [0.0, 0.3])
@pytest.mark.parametrize("admission", ["reserve", "paged"])
@pytest.mark.parametrize("kind", ["fluid", "step"])
def test_held_anonymous_tokens_match_the_explicit_queue(catalog, monkeypatch, kind, admission,
                                                        prefixed):
    dep, perf = make_perf(catalog)
    dep = dataclasses.replace(dep, admission=admission)
    perf.kv_capacity_tokens = 30_000  # a few dozen sequences: eviction on most admissions
    lazy = []
    sync = Memory.sync

    def counting_sync(self):
        lazy.append(self.lazy)
        sync(self)

    monkeypatch.setattr(Memory, "sync", counting_sync)
    held = simulate(kind, dep, perf, workload(7, prefixed))
    monkeypatch.setattr(Memory, "hold", KvCache.keep)
    explicit = simulate(kind, dep, perf, workload(7, prefixed))
    assert len(held[0]) == 400
    assert held == explicit
    assert held[1][2] > 100_000  # evictions happened (tokens)
    assert any(lazy)  # the implicit path was taken (and made explicit at least once)
    if admission == "paged":
        assert held[1][3] > 0  # and preemptions


def test_preemptions_that_swap_could_not_take_are_counted_and_said():
    """``preemption: swap`` with no swap space recomputes every preempted sequence, as
    retract does (the same requests, unsaid until December 2026): the run's note counts
    them, per model, against the summary's preemptions; swap space for them leaves few or
    none, and recompute says nothing."""
    import re

    import sim
    base = ["horizon_s=20", "deployments.llama31-8b.admission=paged",
            "tenants.chat.arrival.rate_rps=40", "deployments.llama31-8b.gpu_memory_utilization=0.2",
            "output.plots=false", "output.report=false"]

    def said(res):
        lines = [n for n in res.notes if "preemption=swap that freed" in n]
        assert len(lines) <= 1
        if not lines:
            return None
        k, p = re.search(r"llama31-8b ([\d,]+) of ([\d,]+)", lines[0]).groups()
        return int(k.replace(",", "")), int(p.replace(",", ""))

    total = lambda res: int(res.summary.query("tenant == '__all__'")["preemptions"].iloc[0])  # noqa: E731
    none = sim.run(base + ["deployments.llama31-8b.preemption=swap", "deployments.llama31-8b.swap_gb=0"])
    assert total(none) > 0 and said(none) == (total(none), total(none))
    room = sim.run(base + ["deployments.llama31-8b.preemption=swap", "deployments.llama31-8b.swap_gb=64"])
    k = said(room)
    assert total(room) > 0 and (k is None or k[0] < total(room) // 10)
    assert said(sim.run(base + ["deployments.llama31-8b.preemption=recompute"])) is None
    # as the note says, the sequences it could not take run exactly as under retract
    retract = sim.run(base + ["deployments.llama31-8b.preemption=retract"]).requests
    cols = ["first_token_s", "finish_s", "cached_tokens", "preemptions"]
    assert none.requests[cols].equals(retract[cols])


def test_the_swap_note_counts_every_replicas_preemptions():
    """The note's "k of p" gives p as the model's preemptions on all its replicas: until
    December 2026 only those of the replicas that fell back to recompute were added (two
    70B replicas with 70 and 47 preemptions were said as "2 of 47")."""
    import re

    import sim
    res = sim.run(["horizon_s=120", "seed=3", "drain_s=60", "setups=[dedicated]", "output.plots=false",
                   "tenants={chat: {model: llama33-70b, arrival: {kind: poisson, rate_rps: 6}, "
                   "input: {kind: lognormal, mean: 3000, cv: 1.0, max: 30000}, "
                   "output: {kind: lognormal, mean: 1500, cv: 1.0, max: 8000}}}",
                   "deployments={llama33-70b: {gpu: H100, precision: fp8, tp: 2, admission: paged, "
                   "preemption: swap, swap_gb: 2}}", "dedicated.replicas={llama33-70b: 2}"])
    line = [n for n in res.notes if "preemption=swap that freed" in n]
    assert len(line) == 1
    k, p = (int(x.replace(",", "")) for x in re.search(r"llama33-70b ([\d,]+) of ([\d,]+)", line[0]).groups())
    per_replica = res.tables["replicas"].query("model == 'llama33-70b'")["preemptions"]
    assert (per_replica > 0).sum() == 2 and p == int(per_replica.sum()) and 0 < k < p
    # the summary counts the same preemptions, those of the requests the drain cut too
    # (until December 2026 a failed or unfinished request's were dropped: 78 of 117 here)
    assert (res.requests["reason"] == "unfinished_at_end").sum() > 0
    assert int(res.summary.query("tenant == '__all__'")["preemptions"].iloc[0]) == p


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_summary_counts_the_preemptions_of_requests_that_failed(engine):
    """Requests preempted, then failed with their replica (max_attempts 1) or cut by the
    drain: the summary's preemptions equal the replicas' (replicas.csv)."""
    import sim
    res = sim.run([f"engine={engine}", "horizon_s=60", "seed=1", "setups=[dedicated]",
                   "tenants.chat.arrival.rate_rps=45", "output.plots=false", "drain_s=5",
                   "deployments.llama31-8b.admission=paged", "dedicated.replicas={llama31-8b: 2}",
                   "tenants.chat.prefix={system_tokens: 500, sessions: {turns_mean: 3, think_s: 3}}",
                   "dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.05",
                   "dedicated.failures.mttr_s=60", "dedicated.failures.max_attempts=1"])
    r = res.requests
    failed = r[r["outcome"] == "failed"]
    assert failed["preemptions"].sum() > 0 and set(failed["reason"]) >= {"unfinished_at_end"}
    ledger = int(res.tables["replicas"]["preemptions"].sum())
    assert int(res.summary.query("tenant == '__all__'")["preemptions"].iloc[0]) == ledger > 0


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("setup", ["dedicated", "serverless"])
@pytest.mark.parametrize("admission", ["reserve", "paged"])
def test_the_longest_request_a_replica_holds(tmp_path, engine, setup, admission):
    """On 992 tokens of KV, ``reserve`` holds prompt + every output token, the last included,
    so 992 tokens in all; ``paged`` never stores the last output token (never fed back), so
    it serves 993 (900 + 93 and 992 + 1 peak at 992 tokens) and rejects 994. Until December
    2026 both rejected 993 tokens as exceeding the KV capacity."""
    import json

    from helpers.engine import mooncake_on_a_line

    lengths = [(900, 93), (900, 92), (992, 1), (992, 2)]
    path = tmp_path / "edge.jsonl"
    path.write_text("".join(json.dumps({"timestamp": 1000 * i, "input_length": a, "output_length": b,
                                        "hash_ids": []}) + "\n" for i, (a, b) in enumerate(lengths)))
    res = mooncake_on_a_line(tmp_path, path, [
        f"setups=[{setup}]", f"engine={engine}", "deployments.llama31-8b.perf.kv_capacity_tokens=992",
        f"deployments.llama31-8b.admission={admission}"])
    r = res.requests.sort_values("request_id")
    longest = 992 + (admission == "paged")
    want = ["completed" if a + b <= longest else "rejected" for a, b in lengths]
    assert (r["setup"] == setup).all() and r["outcome"].tolist() == want
    assert (r.loc[r["outcome"] == "rejected", "reason"] == "exceeds_kv_capacity").all()


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_two_cache_hit_rates_count_different_prompts(tmp_path, engine):
    """``summary.csv`` counts each request's first admission (its prompt, what that found
    cached); ``replicas.csv`` counts every prefill a replica ran, a recompute's too. Prompts of
    496 and 480 tokens on 992 tokens of KV share the 16 free tokens: after 8 decode iterations
    each the second is preempted holding 480 + 8 tokens, which stay cached; the first grows to
    496 + 49 (its last token never stored), evicting the kept tokens from their end in whole
    blocks of 16, so the recompute of 480 + 9 tokens (the prompt and every token generated:
    the prefill's and 8 decode iterations') finds 16 x floor((992 - 545) / 16) = 432. The
    first admissions found an empty cache: the summary reads 0 of 976, the replica 432 of
    976 + 489."""
    import json

    import pandas as pd
    from helpers.engine import mooncake_on_a_line

    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"timestamp": 0, "input_length": a, "output_length": 50,
                                        "hash_ids": []}) + "\n" for a in (496, 480)))
    out = tmp_path / "out"
    res = mooncake_on_a_line(tmp_path, path, [
        f"engine={engine}", "deployments.llama31-8b.perf.kv_capacity_tokens=992",
        "deployments.llama31-8b.admission=paged", "tenants.chat.arrival.trace.duplicates=keep"],
        output_dir=out)
    assert res.requests["preemptions"].tolist() == [0, 1]
    s = res.summary.set_index("tenant").loc["__all__"]
    assert (s["input_tokens"], s["cached_tokens"], s["cache_hit_rate"]) == (976, 0, 0.0)
    rep = pd.read_csv(out / "replicas.csv").iloc[0]
    assert (rep["prompt_tokens"], rep["cached_tokens"]) == (976 + 489, 432)
    assert rep["cache_hit_rate"] == pytest.approx(432 / 1465)
