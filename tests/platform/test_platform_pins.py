"""Platform pins from a hand mutation audit: the plain policies of sim/platform (routers,
spillover, cold-start stages, weight caches, placement and eviction, keep-alive, autoscaler,
burst and failures) on tiny inputs whose answers are worked out here by hand, exact at the
boundaries (a tie, a threshold met exactly, a window's edge). Each test kills mutants that
the rest of the suite let through (README, Reliability); the simpy-driven ones are in
test_platform_pins_sim.py."""


from types import SimpleNamespace

import pytest
import simpy

import sim
from sim.engine import Request
from sim.engine.kv import KvCache
from sim.platform.coldstart import stages
from sim.platform.dedicated.burst import (
    LOCAL,
    REMOTE,
    BurstPolicy,
    BurstPool,
    WaitEstimator,
)
from sim.platform.dedicated.failures import (
    FailureDriver,
    FailurePlan,
    RetryPolicy,
    availability,
)
from sim.platform.routers import CacheAware, LeastExpectedCompletion
from sim.platform.serverless.autoscaler import Autoscaler
from sim.platform.serverless.eviction import IdleReplica, LruEviction, NodeView
from sim.platform.serverless.keepalive import HybridHistogramKeepAlive
from sim.platform.serverless.nodes import NodeClass, NodePool
from sim.platform.spillover import SpilloverPolicy
from sim.platform.storage import LruCache, NodeStorage
from sim.simulation.build import build


# ---- routers ------------------------------------------------------------------------------
class Rep:
    """A replica as the cache-aware router sees it: a load and a trie of served prompts."""

    def __init__(self, load, cached=()):
        self.outstanding = load
        self.kv = KvCache(100_000, block=1)
        for i, (keys, lens) in enumerate(cached):
            r = Request(i, 0, 0, 0.0, sum(lens) + 1, 1, pfx=(keys, lens))
            self.kv.admit(r, 1)
            self.kv.prompt_done(r)
            self.kv.release(r)


def _req(keys, lens, extra):
    return Request(99, 0, 0, 0.0, sum(lens) + extra, 5, pfx=(tuple(keys), tuple(lens)))


def test_cache_aware_needs_strictly_more_than_the_threshold_cached():
    # 300 of a 1000-token prompt cached on replica 0 is exactly 0.3: not above it, so the
    # replica caching the least (1, empty) gets it; 301 of 1000 is above it
    a, b = Rep(0, [((1,), (300,))]), Rep(0)
    ca = CacheAware(threshold=0.3, balance_abs=64, balance_rel=1.5)
    assert ca.choose([a, b], _req([1, 2], [300, 600], extra=100)) == 1
    a2 = Rep(0, [((1,), (301,))])
    assert ca.choose([a2, b], _req([1, 2], [301, 599], extra=100)) == 0


def test_cache_aware_equal_prefixes_go_to_the_lower_load():
    a, b = Rep(5, [((1,), (800,))]), Rep(2, [((1,), (800,))])
    assert CacheAware().choose([a, b], _req([1], [800], extra=200)) == 1


def test_cache_aware_balance_needs_both_the_gap_and_the_ratio():
    # loads 300 and 200: a gap of 100 > 64 but 300 is not above 1.5 x 200: still balanced,
    # so the cached replica (the busier one) gets it
    a, b = Rep(300, [((1,), (900,))]), Rep(200)
    assert CacheAware().choose([a, b], _req([1], [900], extra=100)) == 0
    # loads 10 and 0: a ratio above 1.5 but a gap of 10 <= 64: balanced as well
    a.outstanding, b.outstanding = 10, 0
    assert CacheAware().choose([a, b], _req([1], [900], extra=100)) == 0


class Lect:
    """A replica as least-expected-completion sees it: fixed admit, prefill and decode
    estimates (seconds)."""

    def __init__(self, admit, prefill, decode):
        self.e = (admit, prefill, decode)
        self.queue = type("Q", (), {"items": [], "consumers": [None]})()
        self.waiting = []

    def fits(self, req):
        return True

    def admit_eta(self, req, ahead):
        return self.e[0]

    def prefill_eta(self, tokens, pairs):
        return self.e[1]

    def decode_eta(self, pin, n):
        return self.e[2]


def test_least_expected_completion_adds_the_decode_and_keeps_the_first_on_a_tie():
    r = Request(0, 0, 0, 0.0, 100, 10)
    # 1 + 1 + 5 = 7 against 2 + 2 + 1 = 5: the decode term decides
    assert LeastExpectedCompletion().choose([Lect(1, 1, 5), Lect(2, 2, 1)], r) == 1
    # 2 + 2 + 2 on both: the first position
    assert LeastExpectedCompletion().choose([Lect(2, 2, 2), Lect(1, 3, 2)], r) == 0


# ---- spillover ----------------------------------------------------------------------------
def test_spillover_boundaries_by_hand():
    p = SpilloverPolicy(True, wait_threshold_s=2.0, max_queue=4)
    assert SpilloverPolicy.estimate(3, True, 2.0, 9.0) == 2.0  # (3 + 1) / 2 per s
    assert SpilloverPolicy.estimate(3, True, 0.0, 9.0) == 9.0  # no completion: the head's wait
    assert SpilloverPolicy.estimate(3, False, 2.0, 9.0) == 0.0
    assert not p.spill(3, True, 2.0, 0.0)  # a 2 s wait is not above the 2 s threshold
    assert p.spill(3, True, 1.9, 0.0)  # 4 / 1.9 > 2
    assert p.spill(4, False, 0.0, 0.0)  # the queue at its bound spills whatever the wait
    assert not p.spill(3, False, 0.0, 0.0)
    # the SLO trigger: a predicted TTFT equal to the SLO share stays, above it spills
    assert not p.spill(0, True, 1.0, 0.0, predicted_s=1.5, slo_s=1.5)
    assert p.spill(0, True, 1.0, 0.0, predicted_s=1.5000001, slo_s=1.5)
    cold = SpilloverPolicy(True, 2.0, None, cold_aware=True)
    assert cold.spill(7, True, 2.0, 0.0, pool_wait_s=3.9)  # 4 s here against 3.9 s there
    assert not cold.spill(7, True, 2.0, 0.0, pool_wait_s=4.0)


# ---- cold-start stages --------------------------------------------------------------------
@pytest.fixture(scope="module")
def built():
    return build(sim.compose([]), workload=False)


def test_cold_start_stages_by_tier_and_image(built):
    dep = built.deployment_for("llama31-8b")
    # defaults: container 1 s, image pull 20 s, engine init 25 s, snapshot speed-up 10x
    snap = stages(built.cfg, dep, "gpu_snapshot", bandwidth_gbps=8.5)
    assert (snap.container_s, snap.weights_s, snap.init_s) == (1.0, 1.0, 2.5)
    dram = stages(built.cfg, dep, "host_dram", image_cached=False, bandwidth_gbps=17.0)
    assert (dram.container_s, dram.weights_s, dram.init_s) == (21.0, 0.5, 25.0)
    assert dram.total_s == 46.5


# ---- weight caches and load bandwidth -----------------------------------------------------
def test_lru_cache_fills_to_capacity_and_evicts_least_recent_first():
    c = LruCache(10)
    assert c.put("a", 4) == [] and c.put("b", 6) == []  # exactly full: nothing out
    assert c.keys() == ["a", "b"]
    c.touch("a")
    assert c.put("c", 5) == ["b"]  # b is now the least recent
    assert c.put("d", 10) == ["a", "c"]  # exactly the whole cache: stored, all else out
    assert c.keys() == ["d"] and c.put("e", 10.5) == [] and "e" not in c


def test_node_storage_tiers_after_loads():
    s = NodeStorage(dram_bytes=10, nvme_bytes=10, snapshots=True)
    s.record_load("m", 6, None)  # from remote: into NVMe and the page cache
    assert s.best_tier("m") == "host_dram" and "m" in s.nvme
    s.record_snapshot("m")
    assert s.best_tier("m") == "gpu_snapshot"
    s.record_load("k", 4, None)  # NVMe holds m (6) and k (4); DRAM too
    s.dram.remove("m")
    s.dram.remove("k")
    s.record_load("m", 6, "local_nvme")  # a load from NVMe refreshes m there
    s.record_load("j", 4, None)  # NVMe full: the least recent, k, goes
    assert s.nvme.keys() == ["m", "j"]


# ---- placement and eviction ---------------------------------------------------------------
def _pool(nodes=2, max_nodes=2, gpus=2):
    pool = NodePool({"H100": NodeClass(gpus, max_nodes, 0.0, 0.0)}, LruEviction(), False, 30.0)
    for _ in range(nodes):
        pool.add_node("H100", 0.0, True)
    return pool


def test_placement_best_fit_ready_first_then_provisions_a_ready_later_node():
    pool = _pool(nodes=2)
    pool.nodes[0].free = 2
    pool.nodes[1].free = 1
    assert pool.choose(0, "H100", 1, 0.0)[0].id == 1  # the fewest free GPUs that fit
    pool.nodes[1].ready_at = 5.0  # still provisioning at t=0
    assert pool.choose(0, "H100", 1, 0.0)[0].id == 0
    assert pool.choose(0, "H100", 1, 5.0)[0].id == 1  # ready at exactly 5 s
    pool.nodes[0].free = pool.nodes[1].free = 0
    assert pool.choose(0, "H100", 1, 0.0, may_provision=True) == (None, [], False)  # at max
    grow = _pool(nodes=1, max_nodes=2)
    grow.nodes[0].free = 0
    node, victims, provisioned = grow.choose(0, "H100", 1, 7.0, may_provision=True)
    assert (node.id, node.ready_at, victims, provisioned) == (1, 37.0, [], True)


def test_lru_eviction_victims_and_node_by_hand():
    ev = LruEviction()
    nodes = [NodeView(0, 0, True, None), NodeView(1, 0, True, None)]
    # node 0 needs its two idle replicas (idle since 1 and 9) for 2 GPUs; node 1 one (since 5)
    idle = [IdleReplica("a", 0, 1, 9.0), IdleReplica("b", 0, 1, 1.0), IdleReplica("c", 1, 2, 5.0)]
    assert ev.choose(nodes, 2, idle) == (1, ["c"])  # its newest victim, 5, is older than 9
    # one GPU wanted: node 0's oldest idle replica alone (b, since 1; it beats c's 5)
    assert ev.choose(nodes, 1, idle) == (0, ["b"])


# ---- keep-alive ---------------------------------------------------------------------------
def _hybrid(its):
    ka = HybridHistogramKeepAlive(600.0, bin_s=60.0, range_s=600.0, head_pct=5.0, tail_pct=99.0,
                                  margin=0.1, cv_threshold=2.0, min_samples=10)
    for it in its:
        ka.observe(0, it)
    return ka


def test_hybrid_keepalive_windows_by_hand():
    # ten idle times of 150 s: all in bin 2 ([120, 180)); 10 bins, cv = 3: representative.
    # pre-warm = 120 x 0.9 = 108; keep-alive reaches 180 x 1.1 = 198, so 90 after the pre-warm
    ka = _hybrid([150.0] * 10)
    assert ka.representative(0)
    assert ka.windows(0) == pytest.approx((108.0, 90.0), rel=1e-12)
    # nine are too few: the fixed fallback
    assert _hybrid([150.0] * 9).windows(0) == (0.0, 600.0)


def test_hybrid_keepalive_cv_exactly_at_the_threshold_is_representative():
    # bins 0 and 2 hold 5 each: mean 1, std sqrt((2 x 16 + 8 x 1) / 10) = 2: cv = 2 exactly
    ka = _hybrid([30.0] * 5 + [150.0] * 5)
    assert ka.representative(0)
    assert ka.windows(0) == pytest.approx((0.0, 198.0), rel=1e-12)


# ---- autoscaler ---------------------------------------------------------------------------
def _scaler():
    return Autoscaler(1.0, stable_s=10.0, panic_s=2.0, panic_threshold=2.0, max_replicas=8)


def test_autoscaler_rounds_up_the_stable_average():
    a = _scaler()
    a.observe(0.0, 1.5)
    assert a.decide(10.0, 2) == 2  # 1.5 in flight per target 1: two replicas


def test_autoscaler_panic_starts_at_the_threshold_and_holds_a_stable_window():
    a = _scaler()
    a.observe(0.0, 0.0)
    a.observe(8.0, 2.0)
    # at 10 s: stable average 2 x 2 / 10 = 0.4 -> 1; panic average 2 -> 2 = 2 x 1 ready
    assert a.decide(10.0, 1) == 2 and a.panic_until == 20.0
    a.observe(10.0, 0.0)
    # at 15 s: stable 0.4 -> 1, panic 0; still in panic (until 20 s): it keeps 2
    assert a.decide(15.0, 2) == 2
    # at 20 s the panic is over, and the stable window (10, 20] held nothing: 0
    assert a.decide(20.0, 2) == 0


def test_autoscaler_keeps_the_panic_count_when_nothing_is_in_flight():
    a = _scaler()
    a.observe(0.0, 8.0)
    a.observe(10.0, 0.0)
    # at 11.5 s: stable over (1, 11.5]: 8 x 9 / 10.5 = 6.86 -> 7; panic over (9, 11.5]:
    # 8 x 1 / 2.5 = 3.2 -> 4 > 1 ready and >= 2 x 1: panic until 21.5 s, count 7
    assert a.decide(11.5, 1) == 7 and a.panic_until == 21.5
    # at 21.2 s nothing was in flight over the whole stable window, but the panic holds
    assert a.decide(21.2, 7) == 7
    assert a.decide(21.5, 7) == 0


# ---- burst --------------------------------------------------------------------------------
def test_wait_estimator_window_edges():
    w = WaitEstimator(10.0)
    w.record(1.0)
    assert w.rate(4.0) == 0.25  # one completion over the 4 s since the start
    assert w.rate(11.0) == 0.0  # a completion exactly a window ago is out
    w.record(12.0)
    assert w.estimate(3, 12.0) == 30.0  # 3 queued at 0.1 completions/s


def test_burst_policy_scale_up_interval_and_regions():
    p = BurstPolicy(1.0, max_local=1, max_remote=1, scale_up_interval_s=5.0, idle_window_s=10.0,
                    drain_fill=0.8)
    assert p.scale_up(0.0, 2.0, 0, 0) == LOCAL
    assert p.scale_up(4.9, 2.0, 1, 0) is None
    assert p.scale_up(5.0, 2.0, 1, 0) == REMOTE  # exactly the interval later; local is full
    assert p.scale_up(10.0, 2.0, 1, 1) is None


def test_burst_policy_drain_needs_room_on_the_rest_and_a_fresh_quiet_window():
    p = BurstPolicy(1.0, 2, 0, 5.0, idle_window_s=10.0, drain_fill=0.8)
    p.observe(2.0, 2.0, 1)  # saturated: 2 completions/s on one replica
    assert p.capacity_per_replica == 2.0
    assert not p.scale_down(0.0, 0.5, 1.0, 2, 1)  # quiet since 0
    # 2 replicas serving, one would go: 2.0/s > 0.8 x 2 x 1 = 1.6/s stays
    assert not p.scale_down(10.0, 0.5, 2.0, 2, 1)
    assert p.scale_down(10.0, 0.5, 1.6, 2, 1)
    assert not p.scale_down(11.0, 0.5, 1.0, 3, 1)  # the next drain waits another 10 s
    assert p.scale_down(20.0, 0.5, 1.0, 3, 1)


def _drain_pick(*reps):
    """The burst replica the controller drains when the policy says drain: ``reps`` are
    (name, region, option, running, rid); option 0 costs $1 per token, option 1 $2."""
    bp = object.__new__(BurstPool)
    bp.pool = SimpleNamespace(queued=0, replicas=[SimpleNamespace(accepting=True)] * 3)
    bp.estimator, bp.predict, bp.turned_away = WaitEstimator(10.0), False, 0
    bp.policy = SimpleNamespace(observe=lambda *a: None, scale_up=lambda *a: None,
                                scale_down=lambda *a: True)
    bp.prompts, bp.outputs = SimpleNamespace(mean=100.0), SimpleNamespace(mean=10.0)
    bp.options = [SimpleNamespace(usd_per_token=lambda i, o, p=p: p) for p in (1.0, 2.0)]
    bp.replicas = [SimpleNamespace(name=n, region=g, option=k, serving=True, t_stop=None,
                                   rep=SimpleNamespace(n_running=r, rid=i)) for n, g, k, r, i in reps]
    out = []
    bp.drain = lambda b, now: out.append(b.name)
    bp.step(100.0)
    return out


def test_burst_drains_remote_first_then_the_dearest_then_the_emptiest_then_the_newest():
    assert _drain_pick(("local", LOCAL, 1, 0, 5), ("remote", REMOTE, 0, 4, 6)) == ["remote"]
    assert _drain_pick(("cheap", LOCAL, 0, 0, 5), ("dear", LOCAL, 1, 4, 6)) == ["dear"]
    assert _drain_pick(("busy", LOCAL, 0, 3, 5), ("light", LOCAL, 0, 1, 6)) == ["light"]
    assert _drain_pick(("old", LOCAL, 0, 1, 5), ("new", LOCAL, 0, 1, 6)) == ["new"]


# ---- failures -----------------------------------------------------------------------------
def test_retry_and_availability_by_hand():
    assert RetryPolicy(2).retry(1) and not RetryPolicy(2).retry(2)
    # replica 0 down [0, 10), replica 1 down [5, 15), over 20 s
    got = availability([[(0.0, 10.0)], [(5.0, 15.0)]], 20.0)
    assert got == {"capacity": 0.5, "all_up": 0.25, "any_up": 0.75, "down_s": 20.0}


def test_failure_driver_waits_the_notice_before_failing():
    env = simpy.Environment()
    seen = []
    plan = FailurePlan("script", script=[(5.0, 2.0), (6.0, 1.0)])
    FailureDriver(env, [("s", plan)], fail=lambda s, t: seen.append(("fail", t)),
                  recover=lambda s, t: seen.append(("up", t)),
                  warn=lambda s, t: seen.append(("warn", t)), notice_s=1.0)
    env.run(until=100)
    # warned at 5, down at 6 for 2 s; the second (scripted at 6, while down) on recovery
    assert seen == [("warn", 5.0), ("fail", 6.0), ("up", 8.0), ("warn", 8.0), ("fail", 9.0),
                    ("up", 10.0)]
    assert plan.fired == 2


# ---- KV admission -------------------------------------------------------------------------
def _kv_req(rid, n_in, segs):
    return Request(rid, 0, 0, 0.0, n_in, 1, pfx=(tuple(k for k, _ in segs), tuple(n for _, n in segs)))


def test_kv_admission_counts_a_host_hit_as_memory_it_takes():
    # GPU 310 tokens, host 100. A prompt A, B, C (50 each) runs, then X1, X2 (200 + 60) push
    # C then B to the host tier: the GPU holds A and X1, X2 (310, all unpinned)
    A, B, C, X1, X2 = (1, 50), (2, 50), (3, 50), (9, 200), (10, 60)
    kv = KvCache(cap=310, block=1, host_cap=100)
    for i, (n, segs) in enumerate([(150, [A, B, C]), (260, [X1, X2])]):
        kv.clock = float(i)
        r = _kv_req(i, n, segs)
        kv.admit(r, 0)
        kv.prompt_done(r)
        kv.release(r)
    assert kv.host_used == 100 and kv.cached == 310 and kv.room() == 310
    # A, B, C again: all matched, but B and C (100) come back from the host and A (50) gets
    # pinned: 150 of the 310, so 160 to spare, and a 170-token reservation does not fit
    r = _kv_req(2, 150, [A, B, C])
    assert kv.need(r, 0) == -160
    assert kv.need(r, 170) == 10


def test_kv_paged_answer_holding_exactly_its_tokens_is_cached_for_the_next_turn():
    # paged admission reserves nothing up front: the answer's 49 tokens with KV (all but the
    # last of 50) are grown one by one, so the request holds exactly what its answer needs;
    # the next turn finds the 100-token prompt and those 49 (block 1)
    kv = KvCache(cap=10_000, block=1)
    t1 = _kv_req(0, 100, [(1, 100)])
    t1.out_key = 2
    kv.admit(t1, 0)
    kv.prompt_done(t1)
    kv.grow(t1, 49)
    kv.release(t1, t1.out_key, 49, finished=True)
    assert kv.admit(_kv_req(1, 200, [(1, 100), (2, 50), (3, 50)]), 0) == 149
