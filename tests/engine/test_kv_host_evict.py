"""A host tier never costs GPU hits: eviction takes only as much of a leaf as is needed
whether or not there is a host tier, what it takes moves to the tier (what the tier cannot
hold is dropped, its tail first), and a host hit is charged the tokens of the hit that come from the host, not its
nodes' whole length. Hits counted by hand, in 16-token blocks."""

from __future__ import annotations

import dataclasses

import pytest
from helpers.engine import make_perf
from test_kv_cache import KINDS, UnitPerf, req, run

from sim.engine.kv import KvCache

S1, S2, S3, S4, S5, S6 = (1, 512), (2, 512), (3, 512), (4, 512), (5, 512), (6, 88)
PROMPTS = [[S1, S2], [S3, S4], [S5, S6]] * 2


def _hits(host_cap):
    """Six one-token prompts served one at a time on 2,100 tokens of KV (block 16)."""
    kv = KvCache(cap=2100, block=16, host_cap=host_cap)
    hits = []
    for i, segs in enumerate(PROMPTS):
        kv.clock = float(i)
        r = req(i, sum(n for _, n in segs), 1, segs)
        hits.append(kv.admit(r, 0))
        kv.check([r])  # a loaded continuation joined its head: the pins and depth agree
        kv.prompt_done(r)
        kv.release(r, finished=True)
        kv.check([])
    return hits, kv


def test_no_host_tier_hits_by_hand():
    """2,048 cached after two prompts; the 600-token one needs 548 more: S2 (512, the
    oldest leaf) whole, then S1's last 36 in whole blocks (48: S1 keeps 464). [S1, S2] hits
    464 and needs 548 more: S4 whole, S3 cut to 464. [S3, S4] hits 464: S6 (88) whole, then
    460 of S5 in whole blocks (S5 keeps 48), which [S5, S6] hits."""
    hits, _ = _hits(0)
    assert hits == [0, 0, 0, 464, 464, 48]


@pytest.mark.parametrize("host_cap", [76, 300, 600, 5000])
def test_a_host_tier_never_loses_a_gpu_hit(host_cap):
    """Until December 2026 a leaf was evicted whole when there was a host tier, and dropped
    when longer than the tier: with 76 tokens of host every hit was 0."""
    base, _ = _hits(0)
    hits, kv = _hits(host_cap)
    assert all(h >= b for h, b in zip(hits, base)), (hits, base)
    assert kv.host_used <= host_cap


def test_a_cut_tail_moves_to_the_host_tier():
    """With 76 tokens of host (64 in whole blocks): S1's 48-token tail, cut for the third
    prompt, moves there, so the repeat of [S1, S2] hits 464 + 48 = 512; S5's 464-token cut
    keeps its first 64 there (the rest dropped), so [S5, S6] hits 48 + 64 = 112. With a
    host tier holding everything, every repeat hits its whole prompt less the last block:
    1,008, 1,008 and 592."""
    hits, _ = _hits(76)
    assert hits[3] == 512 and hits[5] == 112
    assert _hits(5000)[0] == [0, 0, 0, 1008, 1008, 592]


def test_a_node_longer_than_the_host_tier_keeps_its_head_there():
    """A 400-token prefix evicted whole into a 100-token host tier (block 16): its first 96
    tokens (whole blocks) stay in the host tier, its tail is dropped; a repeat hits 96."""
    kv = KvCache(cap=1000, block=16, host_cap=100)
    a = req(0, 400, 1, [(1, 400)])
    kv.admit(a, 0)
    kv.prompt_done(a)
    kv.release(a)
    big = req(1, 1000, 1)
    kv.admit(big, 0)
    node = kv.root.children[1]
    assert node.host and node.length == 96 and kv.host_used == 96
    kv.release(big)
    kv.check([])
    b = req(2, 400, 1, [(1, 400)])
    assert kv.admit(b, 0) == 96
    assert kv.stats.loaded_tokens == 96


def test_a_host_hit_is_charged_the_tokens_it_uses():
    """A 512-token segment in the host tier, a 300-token prompt sharing its first 300: the
    hit is 288 (whole blocks), and 288 tokens are loaded (512 until December 2026); a
    1,024-token prompt wholly in the host tier hits 1,008 and loads 1,008 (1,024 before)."""
    kv = KvCache(cap=1100, block=16, host_cap=2000)
    a = req(0, 1024, 1, [(1, 512), (2, 512)])
    kv.admit(a, 0)
    kv.prompt_done(a)
    kv.release(a)
    big = req(1, 1100, 1)
    kv.admit(big, 0)  # both segments to the host tier
    assert kv.root.children[1].host and kv.host_used == 1024
    kv.release(big)
    short = req(2, 300, 1, [(1, 300)])
    assert kv.admit(short, 0) == 288
    assert kv.stats.loaded_tokens == 288
    kv.release(short)
    kv.check([])


@pytest.mark.parametrize("kind", KINDS)
def test_both_engines_keep_the_gpu_hits_with_a_small_host_tier(catalog, kind):
    """The six prompts through each engine (one-second iterations) on 2,100 tokens with a
    76-token host tier: at least the hits of the run without one, and those of the cache
    driven directly (:func:`test_a_cut_tail_moves_to_the_host_tier`)."""
    dep, _ = make_perf(catalog)
    whole = dep.model.kv_bytes_per_token(dep.kv_dtype)
    dep = dataclasses.replace(dep, block_size=16, host_cache_gb=76.5 * whole / 1e9)
    reqs = [req(i, sum(n for _, n in s), 1, s) for i, s in enumerate(PROMPTS)]
    out, rep = run(kind, dep, UnitPerf(2100), [(10.0 * i, r) for i, r in enumerate(reqs)])
    got = [out[i].cached for i in range(6)]
    assert got == _hits(76)[0] and got[3] == 512 and got[5] == 112
    assert all(g >= b for g, b in zip(got, [0, 0, 0, 464, 464, 48]))
    rep.kv.check([])
