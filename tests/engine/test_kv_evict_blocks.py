"""Eviction frees the least recently used leaf's tail in whole blocks, a named segment (a
Mooncake ``hash_ids`` block, a system prompt, a document, an answer) as a preempted
request's own tokens: until December 2026 a named segment went whole however few tokens
were needed, so a prompt reusing it hit less than vLLM's block LRU gives, and naming a
request's prefix made its recompute after a preemption worse than leaving it unnamed."""

from __future__ import annotations

import random
from collections import OrderedDict

import pytest
from helpers.engine import mooncake_on_a_line

from sim.engine import Request
from sim.engine.kv import KvCache


def _req(rid, segs):
    keys = tuple(k for k, _ in segs)
    lens = tuple(n for _, n in segs)
    return Request(rid, 0, 0, 0.0, sum(lens), 1, pfx=(keys, lens))


def _serve(kv, r, t):
    kv.clock = t
    assert kv.need(r, 0) <= 0
    hit = kv.admit(r, 0)
    kv.prompt_done(r)
    kv.release(r)
    return hit


def test_a_two_token_overflow_evicts_one_block_not_the_segment():
    """16-token blocks. A (512 + 512 + 76 tokens) is served and stays cached; B (1,100
    other tokens) overflows 2,198 tokens of memory by 2: the last block of A's prompt goes,
    its partial 12 tokens (1,088..1,100), not its whole last segment (76). C, A's prompt
    again, hits 1,088 tokens (68 blocks, the most a 1,100-token prompt can: its last token
    is computed); until December 2026 1,024."""
    kv = KvCache(cap=2198, block=16)
    a = [(1, 512), (2, 512), (3, 76)]
    assert _serve(kv, _req(0, a), 0.0) == 0
    assert _serve(kv, _req(1, [(5, 512), (6, 512), (7, 76)]), 1.0) == 0
    assert kv.stats.evicted_tokens == 12
    assert _serve(kv, _req(2, a), 2.0) == 1088
    kv.check([])


def _block_lru(prompts, cap_blocks: int, block: int) -> list[int]:
    """Hits of prompts served one at a time by a cache of ``cap_blocks`` blocks, each block
    keyed by the chain of segment ids up to it and its index; a request's blocks, once it
    is done, go to the end of the LRU order last block first (vLLM's free-block queue), and
    an admission evicts from the front what it needs beyond its hit (written here without
    sim.engine)."""
    lru: OrderedDict = OrderedDict()
    hits = []
    for segs in prompts:
        keys = []
        for j, (_, ln) in enumerate(segs):
            chain = tuple(k for k, _ in segs[: j + 1])
            keys += [(chain, b) for b in range(ln // block)]
        n = len(keys)
        hit = 0
        while hit < (n * block - 1) // block and keys[hit] in lru:
            hit += 1
        hits.append(hit * block)
        for k in keys[:hit]:  # pinned while it runs
            del lru[k]
        while len(lru) + n > cap_blocks:
            lru.popitem(last=False)
        for k in reversed(keys):
            lru.pop(k, None)
            lru[k] = None
    return hits


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_served_one_at_a_time_the_cache_hits_what_a_block_lru_does(seed):
    """Prompts drawn from a tree of shared segments (lengths in whole 16-token blocks),
    each ending in a segment of its own, served one at a time by a cache a few prompts
    large: request by request, the hits equal those of a block LRU written independently
    (whole segments evicted, as before the fix, fall short of it)."""
    rng = random.Random(seed)
    lengths: dict = {}  # chain of ids -> its last segment's length (one per chain)

    def seg(chain):
        if chain not in lengths:
            lengths[chain] = 16 * rng.randint(1, 40)
        return lengths[chain]

    prompts = []
    for i in range(400):
        chain, segs = (), []
        for _ in range(rng.randint(0, 3)):
            chain += (rng.randint(1, 3),)
            segs.append((chain[-1], seg(chain)))
        segs.append((10_000 + i, 16 * rng.randint(1, 30)))  # its own
        prompts.append(segs)
    cap = 16 * 160
    kv = KvCache(cap=cap, block=16)
    got = [_serve(kv, _req(i, s), float(i)) for i, s in enumerate(prompts)]
    kv.check([])
    expected = _block_lru(prompts, cap // 16, 16)
    assert sum(expected) > 0 and kv.stats.evicted_tokens > 0
    assert got == expected


def _a397(tmp_path, prefixes: bool):
    """A (600 tokens, ids [1, 2], 20 out) at 0 and B (397 tokens, id [3], 5 out) at 1 ms on
    1,000 tokens of paged KV: B is preempted, its recompute hits what is left of it."""
    path = tmp_path / "a397.jsonl"
    path.write_text('{"timestamp": 0, "input_length": 600, "output_length": 20, "hash_ids": [1, 2]}\n'
                    '{"timestamp": 1, "input_length": 397, "output_length": 5, "hash_ids": [3]}\n')
    res = mooncake_on_a_line(tmp_path, path, [
        "deployments.llama31-8b.perf.kv_capacity_tokens=1000",
        "deployments.llama31-8b.admission=paged"], prefixes=prefixes,
        output_dir=tmp_path / str(prefixes))
    return res.requests.set_index("request_id").sort_index()


def test_naming_a_prompt_nobody_shares_changes_nothing_after_a_preemption(tmp_path):
    """The same two prompts, once with their ids and once without: no prompt shares a
    segment with another, so the names must not change what happens. B is preempted once
    in both and finishes at the same time (until December 2026, named, B's recompute hit 0
    tokens and it finished at 0.3696 s; unnamed, 0.3328 s)."""
    named, plain = _a397(tmp_path, True), _a397(tmp_path, False)
    assert named["preemptions"].tolist() == plain["preemptions"].tolist() == [0, 1]
    for col in ("first_token_s", "finish_s", "preempt_s"):
        assert named[col].tolist() == pytest.approx(plain[col].tolist(), abs=1e-12), col
