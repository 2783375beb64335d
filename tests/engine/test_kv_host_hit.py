"""A host-tier hit whose loading evicts GPU nodes into the host tier, whose trim then falls
on a deeper node of the same hit: the whole hit stays pinned while it loads, so it is all
resident, counted and charged once, and every pin is released (sizes chosen by hand)."""

from __future__ import annotations

import dataclasses

import pytest
from helpers.engine import make_perf
from test_kv_cache import KINDS, UnitPerf, req, run

from sim.engine.kv import KvCache
from sim.engine.kv_memory import TAIL

A, B, C = (1, 50), (2, 50), (3, 50)  # a prompt's three segments
X1, X2 = (9, 200), (10, 60)  # another prompt's


def _stage(kv):
    """GPU 310 tokens, host 100. Leaves A on the GPU with B, C below it in the host tier
    (full), and X1 -> X2 on the GPU (X2 the least recently used unpinned GPU leaf)."""
    first = req(0, 150, 1, [A, B, C])
    kv.admit(first, 0)
    kv.prompt_done(first)
    kv.release(first)
    kv.clock = 1.0
    other = req(1, 260, 1, [X1, X2])
    kv.admit(other, 0)  # 150 + 260 = 410 > 310: evicts C then B (leaf first) to the host
    kv.prompt_done(other)
    kv.clock = 2.0
    kv.release(other)
    a = kv.root.children[1]
    assert a.children[2].host and a.children[2].children[3].host and kv.host_used == 100
    assert kv.cached == 310 and not a.host


def test_loading_a_hit_never_trims_a_deeper_node_of_it():
    """Admitting A, B, C (150 tokens, block 1): the whole path is pinned before B and C are
    loaded. Loading B (cached 360 > 310) moves X2's last 50 tokens to the host tier (only
    what is needed goes); loading C moves what is left of X2 (10) there, then the last 40
    of X1 (its host continuation, X2 below it): the tier is full again, and nothing trimmed. All 150 tokens are resident: 149 spared (the last one computed), 99 of them
    loaded (the hit's host tokens: B's 50 and C's first 49; the last one is computed)."""
    kv = KvCache(cap=310, block=1, host_cap=100)
    _stage(kv)
    kv.clock = 3.0
    r = req(2, 150, 1, [A, B, C])
    assert kv.need(r, 0) <= 0
    assert kv.admit(r, 0) == 149
    assert kv.stats.loaded_tokens == 99
    a = kv.root.children[1]
    node = a.children[2].children[3]
    assert r.kv_node is node and node.parent is a.children[2] and not node.host
    x1 = kv.root.children[9]
    t1 = x1.children[TAIL]  # X1's last 40, below them X2's 10 and X2's last 50
    x2 = t1.children[10]
    assert x1.length == 160 and t1.host and t1.length == 40
    assert x2.host and x2.length == 10 and x2.children[TAIL].length == 50
    assert kv.cached == 310 and kv.host_used == 100
    kv.check([r])
    kv.prompt_done(r)
    kv.release(r)
    kv.check([])  # every pin released, nothing private
    assert kv.unpinned == kv.cached == 310


@pytest.mark.parametrize("kind", KINDS)
def test_both_engines_charge_the_resident_hit(catalog, kind):
    """The same through an engine (one-second iterations, 0.01 s a token over the host
    link): the third request prefills 1 token and waits 99 x 0.01 s for its load (the
    hit's host tokens: until December 2026 the host nodes' whole 100 were charged)."""
    dep, _ = make_perf(catalog)
    per_token = dep.kv_bytes_per_token_per_gpu()
    gpu = dataclasses.replace(dep.gpu, host_link_gbps=per_token / 0.01 / 1e9)
    whole = dep.model.kv_bytes_per_token(dep.kv_dtype)
    dep = dataclasses.replace(dep, gpu=gpu, block_size=1, admission="paged",
                              host_cache_gb=100.5 * whole / 1e9)
    reqs = [req(0, 150, 1, [A, B, C]), req(1, 260, 1, [X1, X2]), req(2, 150, 1, [A, B, C])]
    out, rep = run(kind, dep, UnitPerf(310), [(0.0, reqs[0]), (10.0, reqs[1]), (20.0, reqs[2])])
    r = out[2]
    assert r.cached == 149 and rep.kv.stats.loaded_tokens == 99
    assert r.t_first == pytest.approx(20.0 + 1.0 + 99 * 0.01)
    assert rep.kv.stats.cached_tokens == 149
    rep.kv.check([])
