"""The prefix cache and paged admission: the trie's accounting, hits, eviction, the host
tier, and exact times by hand for a cached prefix and for preemptions (recompute, swap)."""

from __future__ import annotations

import dataclasses
import random

import pytest
import simpy
from helpers.engine import make_perf

from sim.engine import ENGINES, Request, RequestQueue
from sim.engine.kv import KvCache

KINDS = ["fluid", "step"]


def req(rid, n_in, n_out, segs=(), out_key=-1):
    keys = tuple(k for k, _ in segs)
    lens = tuple(n for _, n in segs)
    return Request(rid, 0, 0, 0.0, n_in, n_out, pfx=(keys, lens) if segs else None, out_key=out_key)


# ------------------------------------------------------------------------------ the trie
def test_a_shared_prefix_is_stored_once_and_hits_in_whole_blocks():
    kv = KvCache(cap=10_000, block=16)
    a = req(0, 1100, 10, [(7, 1000), (8, 100)])
    assert kv.need(a, 10) <= 0
    assert kv.admit(a, 10) == 0  # nothing cached yet
    assert kv.private == 1110
    kv.prompt_done(a)  # its segments join the trie: private shrinks by as much
    assert (kv.cached, kv.private) == (1100, 10)
    b = req(1, 1050, 10, [(7, 1000), (9, 50)])
    assert kv.admit(b, 10) == 992  # 1000 tokens match; 62 whole blocks of 16
    assert kv.cached == 1100 and kv.private == 10 + 50 + 10  # the prefix is held once
    kv.prompt_done(b)
    kv.check()
    kv.release(a)
    kv.release(b)
    assert kv.private == 0 and kv.unpinned == kv.cached == 1150  # cached, evictable
    kv.check()


def test_a_fully_cached_prompt_still_computes_its_last_block():
    kv = KvCache(cap=10_000, block=16)
    a = req(0, 1024, 1, [(1, 1024)])
    kv.admit(a, 1)
    kv.prompt_done(a)
    kv.release(a)
    b = req(1, 1024, 1, [(1, 1024)])
    assert kv.admit(b, 1) == 1008  # (1024 - 1) // 16 whole blocks: the last one is recomputed


def test_kv_full_only_when_prompt_done_would_add_nothing():
    # kv_full (the engine then skips prompt_done) against what prompt_done does: a prompt
    # whose segments are all cached (full), one cached only in part (prompt_done inserts),
    # one whose last segment is cached longer than its own (not full, though prompt_done
    # adds nothing: the chain stops inside the segment, so the call is merely not skipped)
    kv = KvCache(cap=10_000, block=16)
    a = req(0, 800, 10, [(7, 500), (8, 300)])
    kv.admit(a, 10)
    kv.prompt_done(a)
    cases = [(req(1, 800, 10, [(7, 500), (8, 300)]), True),
             (req(2, 900, 10, [(7, 500), (9, 400)]), False),
             (req(3, 700, 10, [(7, 500), (8, 200)]), False)]
    for r, full in cases:
        kv.admit(r, 10)
        assert r.kv_full == full
        before = (kv.cached, kv.private, kv.version)
        kv.prompt_done(r)
        assert ((kv.cached, kv.private, kv.version) == before) == (r.id != 2)
    kv.check()


def test_eviction_is_least_recently_used_leaf_first_and_never_a_pinned_node():
    kv = KvCache(cap=1000, block=1)
    seqs = []
    for i, key in enumerate((1, 2, 3)):  # three 300-token prompts, released in order
        r = req(i, 300, 1, [(key, 300)])
        kv.clock = float(i)
        kv.admit(r, 0)
        kv.prompt_done(r)
        seqs.append(r)
    kv.clock = 10.0
    kv.release(seqs[1])  # key 2 is released first: the oldest use
    kv.clock = 11.0
    kv.release(seqs[0])
    assert kv.room() == 1000 - 300  # key 3 pinned; 1 and 2 evictable
    d = req(9, 350, 1)
    kv.clock = 12.0
    kv.admit(d, 0)  # needs 350: 100 free, so 250 of the LRU leaf (key 2) go, from its end
    assert [kv.root.children[k].length for k in (1, 2, 3)] == [300, 50, 300]
    assert kv.stats.evicted_tokens == 250
    kv.check()


def test_the_host_tier_keeps_evicted_nodes_and_a_hit_there_is_loaded():
    kv = KvCache(cap=1000, block=1, host_cap=500)
    a = req(0, 400, 1, [(1, 400)])
    kv.admit(a, 0)
    kv.prompt_done(a)
    kv.release(a)
    big = req(1, 1000, 1)
    kv.admit(big, 0)  # evicts the whole 400-token prefix to the host tier
    assert kv.root.children[1].host and kv.host_used == 400 and kv.cached == 0
    kv.release(big)
    b = req(2, 450, 1, [(1, 400), (2, 50)])
    assert kv.admit(b, 0) == 400  # a hit: loaded back, not recomputed
    assert kv.stats.loaded_tokens == 400 and kv.host_used == 0 and not kv.root.children[1].host
    kv.check()


def test_a_finished_answer_is_cached_for_the_next_turn():
    kv = KvCache(cap=10_000, block=1)
    t1 = req(0, 100, 50, [(1, 100)], out_key=2)
    kv.admit(t1, 50)
    kv.prompt_done(t1)
    kv.release(t1, t1.out_key, 49)  # every generated token but the last has KV
    t2 = req(1, 200, 5, [(1, 100), (2, 50), (3, 50)])
    assert kv.admit(t2, 5) == 149  # the prompt and 49 of the answer's 50 tokens


def test_the_next_turns_prefill_completes_the_answer_and_the_chain_goes_on():
    kv = KvCache(cap=10_000, block=1)
    t1 = req(0, 100, 50, [(1, 100)], out_key=2)
    kv.admit(t1, 50)
    kv.prompt_done(t1)
    kv.release(t1, t1.out_key, 49)
    t2 = req(1, 200, 7, [(1, 100), (2, 50), (3, 50)], out_key=4)
    assert kv.admit(t2, 7) == 149
    assert (kv.cached, kv.private) == (149, 51 + 7)
    kv.prompt_done(t2)  # its prefill computed the answer's last token, then its own text
    assert kv.root.children[1].children[2].length == 50
    assert (kv.cached, kv.private, t2.kv_depth) == (200, 7, 3)
    kv.check()
    kv.release(t2, t2.out_key, 6)
    # turn 3 finds the whole conversation: both prompts and all but the last answer token
    t3 = req(2, 300, 5, [(1, 100), (2, 50), (3, 50), (4, 7), (5, 93)])
    assert kv.admit(t3, 5) == 206
    kv.prompt_done(t3)
    kv.release(t3)
    kv.check()
    assert kv.unpinned == kv.cached == 300 and kv.private == 0


def test_random_admissions_and_releases_conserve_memory():
    """Block conservation: after any sequence of admissions, prompt completions and
    releases, the recount from the trie agrees and every token is freed or cached."""
    rng = random.Random(3)
    kv = KvCache(cap=5000, block=8, host_cap=2000)
    live = []
    for i in range(3000):
        kv.clock = float(i)
        if live and (rng.random() < 0.45 or kv.room() < 1500):
            r = live.pop(rng.randrange(len(live)))
            if rng.random() < 0.3:  # preempted to recompute, holding some computed tokens
                r.preempts += 1
                kv.release(r, computed=rng.randint(0, r.pin))
            else:
                kv.release(r, r.out_key, rng.randint(0, 20) if r.kv_depth else 0)
        else:
            segs = [(rng.randint(1, 4), 100)]
            for d in range(rng.randint(0, 3)):
                segs.append((10 * segs[-1][0] + rng.randint(1, 3), rng.choice([50, 100])))
            n = sum(x for _, x in segs) + rng.randint(1, 80)
            r = req(i, n, 30, segs, out_key=10_000 + i)
            if kv.need(r, 30) <= 0:
                kv.admit(r, 30)
                if rng.random() < 0.8:
                    kv.prompt_done(r)
                live.append(r)
        kv.check()
    for r in live:
        kv.release(r)
    kv.check()
    assert kv.private == 0 and kv.cached == kv.unpinned  # nothing held, all evictable


# ------------------------------------------------------------------------- exact times
class UnitPerf:
    """Every iteration takes one second; ``cap`` tokens of KV."""

    def __init__(self, cap):
        self.kv_capacity_tokens = cap

    def step_time(self, decode_seqs, prefill_tokens, kv_tokens, attn_pairs):
        return 1.0

    peak_bandwidth = float("nan")  # the load figures (sim/metrics/load.py) are not tested here

    def bytes_per_gpu(self, decode_seqs, prefill_tokens, kv_tokens):
        return float("nan")

    def saturated_tok_s(self, mean_in, mean_out, max_seqs):
        return float("nan")


def run(kind, dep, perf, reqs):
    env = simpy.Environment()
    q = RequestQueue()
    out = {}
    rep = ENGINES[kind](env, 0, perf, dep, q, lambda r, t: out.__setitem__(r.id, r))

    def arrivals():
        for t, r in reqs:
            if t > env.now:
                yield env.timeout(t - env.now)
            r.arrival = t
            q.push(r)

    env.process(arrivals())
    env.run()
    return out, rep


@pytest.mark.parametrize("block,hit", [(8, 1000), (16, 992)])
@pytest.mark.parametrize("kind", KINDS)
def test_a_second_request_sharing_a_1000_token_prefix_prefills_only_its_suffix(catalog, kind,
                                                                               block, hit):
    dep, perf = make_perf(catalog)
    dep = dataclasses.replace(dep, block_size=block)
    a = req(0, 1100, 2, [(7, 1000), (8, 100)])
    b = req(1, 1100, 2, [(7, 1000), (9, 100)])
    out, rep = run(kind, dep, perf, [(0.0, a), (10.0, b)])
    left = 1100 - hit
    prefill = perf.step_time(0, left, hit, left * (hit + (left + 1) / 2))
    assert out[1].t_first == pytest.approx(10.0 + prefill, rel=1e-12)
    assert out[1].cached == hit and out[0].cached == 0
    full = perf.step_time(0, 1100, 0, 1100 * 1101 / 2)
    assert out[0].t_first == pytest.approx(full, rel=1e-12)
    rep.kv.check()


def _preempt_case(catalog, **kw):
    dep, _ = make_perf(catalog)
    per_token = dep.kv_bytes_per_token_per_gpu()  # 131,072 bytes for Llama-3.1-8B BF16 KV
    gpu = dataclasses.replace(dep.gpu, host_link_gbps=per_token / 0.01 / 1e9)  # 0.01 s/token
    return dataclasses.replace(dep, gpu=gpu, admission="paged", **kw), UnitPerf(100)


@pytest.mark.parametrize("kind", KINDS)
def test_a_preemption_by_recompute_by_hand(catalog, kind):
    """100 tokens of KV, one-second iterations. A and B (40-token prompts, 30 tokens out)
    are admitted at 0 and emit their first tokens at 1; two decoding sequences claim two
    tokens an iteration, so the 20 free tokens last 10 iterations: at 11 the newest, B
    (context 40 + 11 - 1 = 50), is preempted. A needs 19 more iterations (done at 30); B
    cannot come back before (51 tokens to recompute beside A's growth), is admitted at
    30, recomputes 40 + 11 tokens in one iteration (token 12 at 31), and 18 more: 49."""
    dep, perf = _preempt_case(catalog, preemption="recompute")
    a, b = req(0, 40, 30), req(1, 40, 30)
    out, rep = run(kind, dep, perf, [(0.0, a), (0.0, b)])
    assert (a.t_first, a.t_done) == (1.0, 30.0)
    assert (b.t_first, b.t_done) == (1.0, 49.0)
    assert (a.preempts, b.preempts) == (0, 1)
    assert b.preempt_s == pytest.approx(19.0 + 1.0)  # out of the batch 11..30, recomputing 30..31
    assert b.gen == 30 and a.gen == 30 and rep.preemptions == 1
    assert rep.kv.private == 0


class PrefillPerf(UnitPerf):
    """One second an iteration plus 0.1 s a prompt token computed."""

    def step_time(self, decode_seqs, prefill_tokens, kv_tokens, attn_pairs):
        return 1.0 + 0.1 * prefill_tokens


@pytest.mark.parametrize("preemption,done,hit", [("recompute", 59.0, 31), ("retract", 62.1, 0)])
@pytest.mark.parametrize("kind", KINDS)
def test_a_recompute_hits_what_is_left_of_its_own_tokens_by_hand(catalog, kind, preemption,
                                                                 done, hit):
    """As above, with one-token blocks and prompt tokens that cost time. Both prompts take
    one iteration of 1 + 8 s (first tokens at 9); at 19 (contexts 50 + 50) B is preempted;
    its 50 computed tokens stay cached. A's 19 more tokens evict B's last 19, one an
    iteration (A is done at 38). B's recompute of 40 + 11 tokens finds its first 31 cached
    and computes 20 (1 + 2 s: token 12 at 41), then 18 more tokens: 59. ``retract`` frees
    them: it recomputes all 51 (1 + 5.1 s), done at 62.1."""
    dep, _ = _preempt_case(catalog, preemption=preemption)
    dep = dataclasses.replace(dep, block_size=1)
    a, b = req(0, 40, 30), req(1, 40, 30)
    out, rep = run(kind, dep, PrefillPerf(100), [(0.0, a), (0.0, b)])
    assert (a.t_first, a.t_done) == (9.0, 38.0)
    assert b.t_first == 9.0 and b.t_done == pytest.approx(done, abs=1e-9)
    assert b.preempt_s == pytest.approx(19.0 + 1.0 + 0.1 * (51 - hit))  # out 19..38, then recomputing
    assert (b.preempts, b.gen, b.cached) == (1, 30, 0)  # ``cached``: its first admission's hit
    assert rep.kv.stats.cached_tokens == hit
    if hit:  # B's tail; then, of A's 69 unnamed tokens, 20 for B's recompute and 18 for its growth
        assert rep.kv.stats.evicted_tokens == 19 + 20 + 18
    rep.kv.check([])


@pytest.mark.parametrize("kind", KINDS)
def test_a_preemption_by_swap_by_hand(catalog, kind):
    """The same, swapping: B's 50 tokens go to host memory at 0.01 s a token (the replica
    waits 0.5 s: A's next iteration ends at 12.5, A finishes at 30.5), come back when A is
    done (0.5 s more), and B decodes its remaining 19 tokens from 31: done at 50, 20 s after
    the 30 it would finish at unpreempted: out of the batch 11..30.5 (the copy out within
    it), then the copy in. (Until December 2026 the copy out was counted twice: 20.5.)"""
    dep, perf = _preempt_case(catalog, preemption="swap")
    a, b = req(0, 40, 30), req(1, 40, 30)
    out, rep = run(kind, dep, perf, [(0.0, a), (0.0, b)])
    assert a.t_done == pytest.approx(30.5)
    assert b.t_done == pytest.approx(50.0)
    assert b.preempt_s == pytest.approx(19.5 + 0.5)
    big, _ = run(kind, dep, UnitPerf(1000), [(0.0, req(0, 40, 30)), (0.0, req(1, 40, 30))])
    assert b.t_done - big[1].t_done == pytest.approx(b.preempt_s)  # its delay, by preemption
    assert (b.preempts, b.gen, rep.swap_used) == (1, 30, 0)


# ----------------------------------------------- a bounded cache against an independent LRU
def lru_reuse(prompts, cap: int, block: int) -> int:
    """Cached tokens of requests served one at a time by a cache of ``cap`` tokens that keeps
    each prompt's blocks as a chain and, to make room, drops the least recently used block
    no cached block extends (written here without sim.engine.kv)."""
    stamp: dict[tuple, int] = {}  # chain of ids -> last use
    size: dict[tuple, int] = {}
    kids: dict[tuple, int] = {}  # chain -> cached chains one block longer
    used = hits = 0
    for i, (ids, lens) in enumerate(prompts):
        n_in = sum(lens)
        k = 0
        while k < len(ids) and tuple(ids[: k + 1]) in size:
            k += 1
        matched = sum(lens[:k])
        for j in range(k):
            stamp[tuple(ids[: j + 1])] = i
        hits += min(matched // block, (n_in - 1) // block) * block
        pinned = {tuple(ids[: j + 1]) for j in range(k)}
        while used + n_in - matched > cap:
            victim = min((c for c in size if kids.get(c, 0) == 0 and c not in pinned),
                         key=lambda c: (stamp[c], -len(c)))
            used -= size.pop(victim)
            del stamp[victim]
            if len(victim) > 1:
                kids[victim[:-1]] -= 1
        for j in range(k, len(ids)):
            c = tuple(ids[: j + 1])
            size[c], stamp[c] = lens[j], i
            if j:
                kids[c[:-1]] = kids.get(c[:-1], 0) + 1
        used += n_in - matched
    return hits


@pytest.mark.parametrize("cap", [60_000, 250_000])
def test_a_bounded_cache_reuses_what_an_independent_lru_does_on_mooncake(cap):
    from helpers import TRACES

    from sim.workload.traces import read_mooncake
    tr = read_mooncake(TRACES / "mooncake_fast25" / "synthetic_trace.jsonl")
    prompts = []
    for i in range(1500):
        a, b = int(tr.hash_ptr[i]), int(tr.hash_ptr[i + 1])
        ids = tr.hash_ids[a:b].tolist()
        lens = [512] * len(ids)
        lens[-1] = int(tr.input_tokens[i]) - 512 * (len(ids) - 1)
        prompts.append((ids, lens))
    prompts = [p for p in prompts if sum(p[1]) <= cap]
    kv = KvCache(cap=cap, block=512)
    total = 0
    for i, (ids, lens) in enumerate(prompts):
        r = req(i, sum(lens), 1, list(zip(ids, lens)))
        kv.clock = float(i)
        assert kv.need(r, 0) <= kv.room()
        total += kv.admit(r, 0)
        kv.prompt_done(r)
        kv.release(r)
    kv.check()
    expected = lru_reuse(prompts, cap, 512)
    assert expected > 0
    assert total == expected == kv.stats.cached_tokens


# ----------------------------------------------- what a finished request leaves cached
def _finish(kv, r, t):
    kv.clock = t
    kv.release(r, finished=True)


def test_a_finished_requests_unnamed_tokens_stay_cached_and_age_out_in_lru_order():
    # by hand: vLLM keeps every computed block of a finished request in its free queue, so
    # the unique rest of a prompt and its answer take cache room until they are the least
    # recently used; they never hit
    kv = KvCache(cap=1000, block=1)
    a = req(0, 300, 100)  # no segment: nothing a later prompt can name
    kv.clock = 0.0
    kv.admit(a, 100)
    _finish(kv, a, 1.0)
    assert (kv.private, kv.cached, kv.unpinned, kv.anon) == (0, 400, 400, 400)
    assert kv.room() == 1000  # evictable, so it blocks no admission
    b = req(1, 250, 1, [(7, 200)])  # a named 200-token prefix and a 50-token unique rest
    kv.clock = 2.0
    kv.admit(b, 0)
    kv.prompt_done(b)
    _finish(kv, b, 3.0)  # its prefix node and its 50 anonymous tokens, both at t = 3
    assert (kv.cached, kv.anon) == (650, 450)
    kv.check()
    c = req(2, 700, 1)
    kv.clock = 4.0
    kv.admit(c, 0)  # 650 + 700 > 1000: 350 go, the oldest first: 350 of a's 400
    assert (kv.anon, kv.stats.evicted_tokens, kv.cached) == (100, 350, 300)
    assert kv.root.children[7].refs == 0  # the prefix (t = 3) is younger: still cached
    d = req(3, 200, 1)
    kv.clock = 5.0
    kv.admit(d, 0)  # 300 + 700 + 200 > 1000: 200 more: a's last 50, then b's 50 unique
    # tokens before b's prefix (same time: vLLM frees a request's blocks tail first), then
    # the prefix node's last 100 (one-token blocks; until December 2026 all 200 of it)
    assert kv.anon == 0 and kv.root.children[7].length == 100
    assert kv.stats.evicted_tokens == 350 + 50 + 50 + 100
    kv.check()
    e = req(4, 250, 1, [(7, 200)])
    assert kv.admit(e, 0) == 100  # what is left of the prefix


def test_without_caching_a_finished_request_frees_its_tokens():
    kv = KvCache(cap=1000, block=1, caching=False)
    a = req(0, 300, 100)
    kv.admit(a, 100)
    _finish(kv, a, 1.0)
    assert (kv.private, kv.cached, kv.anon) == (0, 0, 0)


def test_a_preempted_request_frees_what_it_held():
    kv = KvCache(cap=1000, block=1)
    a = req(0, 300, 100)
    kv.admit(a, 100)
    kv.release(a)  # preempted to swap: its KV went to host memory
    assert (kv.private, kv.cached, kv.anon) == (0, 0, 0)


def test_a_request_preempted_to_recompute_keeps_its_tokens_under_its_own_key():
    kv = KvCache(cap=1000, block=1)
    a = req(0, 300, 100, [(7, 200)])
    kv.admit(a, 0)
    kv.prompt_done(a)  # 200 tokens in the trie, 100 private
    kv.grow(a, 49)  # 50 tokens out, 49 of them with KV
    a.preempts = a.preempts_here = 1
    kv.clock = 1.0
    kv.release(a, computed=349)
    assert (kv.private, kv.cached, kv.unpinned, kv.anon) == (0, 349, 349, 0)
    assert a.pfx == ((7, (0, 1)), (200, 149)) and a.pfx0 == ((7,), (200,))
    other = req(1, 300, 10)
    kv.admit(other, 451)  # 751 tokens: 100 evicted, the last of its own tokens first
    assert (kv.cached, kv.stats.evicted_tokens) == (249, 100)
    kv.release(other)
    a.pin = 350  # its recompute: the prompt and 50 tokens out
    assert kv.admit(a, 0) == 249  # its named 200 and the 49 left of its own
    kv.check([a])
    kv.release(a)
    a.restart(2.0)  # a failure: another replica never saw its own segment
    assert (a.pfx, a.pfx0) == (((7,), (200,)), None)
    b = req(2, 100, 10)  # no named segment: its own tokens hang from the root
    kv.admit(b, 0)
    b.preempts = b.preempts_here = 1
    kv.release(b, computed=60)
    assert b.pfx == (((2, 1),), (60,))
    b.restart(2.0)
    assert b.pfx is None
    kv.check([])


def test_anonymous_tokens_move_to_the_host_tier_and_leave_it_oldest_first():
    kv = KvCache(cap=500, block=1, host_cap=300)
    a = req(0, 200, 1)
    kv.clock = 0.0
    kv.admit(a, 0)
    _finish(kv, a, 1.0)
    b = req(1, 200, 1, [(7, 200)])
    kv.clock = 2.0
    kv.admit(b, 0)
    kv.prompt_done(b)
    _finish(kv, b, 3.0)
    c = req(2, 500, 1)
    kv.clock = 4.0
    kv.admit(c, 0)  # both go to the host tier (400 > 300): a's anonymous 200 (t = 1)
    # first, then b's node; the tier then drops its oldest: 100 of a's tokens
    assert (kv.cached, kv.anon, kv.host_anon, kv.host_used) == (0, 0, 100, 300)
    assert kv.root.children[7].host
    kv.check()
    kv.release(c)
    d = req(3, 200, 1, [(7, 200)])
    kv.clock = 5.0
    assert kv.admit(d, 0) == 199  # b's prefix is loaded back from the host tier
