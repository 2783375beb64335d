"""Routers: plain policies (no simpy) and end to end through a dedicated pool."""

import pytest

import sim
from sim.engine import Request
from sim.engine.kv import KvCache
from sim.platform.routers import CacheAware, JoinShortestQueue, RoundRobin


class Rep:
    def __init__(self, n, cached=()):
        self.outstanding = n
        self.kv = KvCache(100_000, block=1)
        for i, (keys, lens) in enumerate(cached):  # prompts it served: in its trie
            r = Request(i, 0, 0, 0.0, sum(lens) + 1, 1, pfx=(keys, lens))
            self.kv.admit(r, 1)
            self.kv.prompt_done(r)
            self.kv.release(r)


def _req(keys, lens, extra=10):
    return Request(99, 0, 0, 0.0, sum(lens) + extra, 5, pfx=(tuple(keys), tuple(lens)))


def test_cache_aware_follows_the_longest_cached_prefix_unless_out_of_balance():
    a = Rep(5, [((1, 2), (500, 500))])
    b = Rep(2, [((1,), (500,))])
    c = Rep(0)
    ca = CacheAware(threshold=0.3, balance_abs=64, balance_rel=1.5)
    assert ca.choose([a, b, c], _req([1, 2, 3], [500, 500, 100])) == 0  # 1000 of 1110 cached
    assert ca.choose([c, b], _req([1, 9], [500, 500])) == 1  # 500 of 1010: above 0.3
    # below the threshold: the replica caching the least (c, empty)
    assert ca.choose([a, b, c], _req([7], [10], extra=1000)) == 2
    # out of balance (100 vs 0 outstanding, factor > 1.5): the least loaded, whatever it caches
    a.outstanding = 100
    assert ca.choose([a, c], _req([1, 2, 3], [500, 500, 100])) == 1
    # no prefix at all, out of balance: the least loaded
    assert ca.choose([a, b], Request(1, 0, 0, 0.0, 100, 5)) == 1


def test_cache_aware_sends_a_prompt_naming_no_prefix_to_the_smallest_cache():
    """Balanced loads (0 and 3): a prompt with no named prefix matches nothing, so it goes
    where sgl-router sends a prompt matching nothing, the replica caching least (b, empty),
    not the least loaded (a, caching 500 tokens; so it went until December 2026)."""
    a, b = Rep(0, [((1,), (500,))]), Rep(3)
    ca = CacheAware(threshold=0.3, balance_abs=64, balance_rel=1.5)
    assert ca.choose([a, b], Request(1, 0, 0, 0.0, 100, 5)) == 1
    assert ca.choose([b, a], Request(2, 0, 0, 0.0, 100, 5)) == 0


def test_jsq_picks_the_fewest_outstanding_lowest_id_on_tie():
    assert JoinShortestQueue().choose([Rep(3), Rep(1), Rep(1)], None) == 1
    assert JoinShortestQueue().choose([Rep(0), Rep(0)], None) == 0


def test_round_robin_cycles():
    rr = RoundRobin()
    assert [rr.choose([Rep(0)] * 3, None) for _ in range(5)] == [0, 1, 2, 0, 1]


@pytest.mark.parametrize("router", ["central", "jsq", "round_robin"])
def test_every_router_serves_every_request(router):
    res = sim.run(["horizon_s=120", "tenants.chat.arrival.rate_rps=10",
                   "dedicated.replicas.llama31-8b=3", f"dedicated.router={router}"])
    r = res.requests
    assert (r["outcome"] == "completed").all()
    assert set(r["replica"]) == {0, 1, 2}  # all three replicas served


def test_round_robin_spreads_evenly():
    res = sim.run(["horizon_s=120", "tenants.chat.arrival.rate_rps=10",
                   "dedicated.replicas.llama31-8b=3", "dedicated.router=round_robin"])
    counts = res.requests["replica"].value_counts()
    assert counts.max() - counts.min() <= 1
