"""The serverless platform's plain policies, without an environment."""

import pytest

from sim.platform.serverless.autoscaler import Autoscaler, WindowedSignal
from sim.platform.serverless.eviction import (
    IdleReplica,
    LruEviction,
    NodeView,
    NoEviction,
    choose_node,
)
from sim.platform.serverless.interference import InterferedPerf
from sim.platform.serverless.keepalive import FixedKeepAlive, HybridHistogramKeepAlive
from sim.platform.serverless.ratelimit import TenantLimiter, TokenBucket
from sim.platform.storage import FairShareBandwidth, LruCache, NodeStorage


# ----------------------------------------------------------------------------- autoscaler
def test_windowed_signal_matches_a_direct_integral_on_random_signals():
    # idle stretches (the signal at 0 across many buckets, the ring wrapping) and busy ones,
    # against the integral of the recorded steps over the window (start on a bucket boundary)
    import random

    rng = random.Random(3)
    for _ in range(200):
        s = WindowedSignal(1.0, 10.0)
        steps, t = [(0.0, 0.0)], 0.0
        for _ in range(rng.randint(1, 60)):
            t += rng.choice([0.2, 1.0, 3.0, 9.0, 25.0]) * rng.random()
            v = rng.choice([0, 0, 0, 1, 3])
            s.set(t, v)
            steps.append((t, v))
        now = t + rng.choice([0.0, 0.5, 4.0, 12.0])
        for w in (2.0, 10.0):
            start = max((now - w) // 1.0, 0.0)
            if now <= start:
                continue
            area = sum(v * max(min(b, now) - max(a, start), 0.0)
                       for (a, v), (b, _) in zip(steps, steps[1:] + [(now, 0)]))
            assert s.average(now, w) == pytest.approx(area / (now - start), abs=1e-9)


def test_windowed_signal_is_an_exact_time_average():
    s = WindowedSignal(1.0, 60.0)
    s.set(0.0, 4.0)
    s.set(10.0, 0.0)
    s.set(30.0, 10.0)
    # over (0, 40]: 4 x 10 + 0 x 20 + 10 x 10 = 140
    assert s.average(40.0, 60.0) == pytest.approx(140 / 40)
    # over (34, 40] (6 s window on 1 s buckets): 10 throughout
    assert s.average(40.0, 6.0) == pytest.approx(10.0)
    # a long gap: the old values leave the window
    assert s.average(500.0, 60.0) == pytest.approx(10.0)
    s.set(500.0, 0.0)
    assert s.average(530.0, 60.0) == pytest.approx(10.0 * 30 / 60)
    with pytest.raises(ValueError):
        s.set(10.0, 1.0)


@pytest.mark.parametrize("bucket,span", [(1.0, 60.0), (0.5, 7.0), (1.0, 1e11)])
def test_windowed_signal_matches_a_brute_force_integral(bucket, span):
    """Random piecewise-constant signals; the average over (start, t] with the start rounded
    down to a bucket (and never before 0, nor before the ring's span) against an integral
    computed from the list of steps. A window of 1e11 s keeps only the run's buckets."""
    import math
    import random

    rng = random.Random(7)
    s = WindowedSignal(bucket, span)
    steps = [(0.0, 0.0)]  # (from time, value)
    t = 0.0
    for _ in range(400):
        t += rng.expovariate(1.0) * rng.choice([0.1, 1.0, 20.0])
        if rng.random() < 0.5:
            v = rng.choice([0.0, 1.0, 3.5, 17.0])
            s.set(t, v)
            steps.append((t, v))
            continue
        w = rng.choice([0.5, 3.0, 30.0, span])
        n = int(math.ceil(span / bucket)) + 2
        first = max(int((t - w) // bucket), 0, int(t // bucket) - n + 1)
        lo = first * bucket
        want = steps[-1][1]
        if t > lo:
            total = 0.0
            for (a, v), (b, _) in zip(steps, steps[1:] + [(t, 0.0)]):
                total += v * max(0.0, min(b, t) - max(a, lo))
            want = total / (t - lo)
        assert s.average(t, w) == pytest.approx(want, rel=1e-9, abs=1e-9)
    assert len(s.at) <= t / bucket + 2  # the ring grew with the run, not with the span


def test_autoscaler_stable_mode_is_ceil_of_average_over_target():
    a = Autoscaler(target=10, stable_s=60, panic_s=6, panic_threshold=2.0, min_replicas=0, max_replicas=8)
    a.observe(0.0, 25.0)
    assert a.decide(60.0, ready=3) == 3  # ceil(25 / 10), no panic (25/10 < 2 x 3)
    a.observe(60.0, 0.0)
    assert a.decide(90.0, ready=3) == 2  # average over (30, 90] = 12.5 -> 2
    assert a.decide(200.0, ready=2) == 0  # idle: the autoscaler alone would scale to zero


def test_autoscaler_panics_on_a_burst_and_does_not_scale_down_until_a_stable_window_passes():
    a = Autoscaler(target=10, stable_s=60, panic_s=6, panic_threshold=2.0, min_replicas=0, max_replicas=20)
    a.observe(0.0, 10.0)
    assert a.decide(60.0, ready=1) == 1
    a.observe(60.0, 100.0)  # burst: the 6 s window sees 100, the 60 s window barely
    d = a.decide(66.0, ready=1)
    assert d == 10 and a.in_panic  # ceil(100 / 10), since 10 >= 2 x 1
    a.observe(66.0, 10.0)  # burst over
    assert a.decide(80.0, ready=10) == 10  # panic holds the count
    assert a.decide(125.9, ready=10) == 10  # panic lasts one stable window after it last held
    assert a.decide(126.5, ready=10) == 1  # then the stable average: 10 in flight -> 1
    assert not a.in_panic


def test_autoscaler_clamps_to_min_and_max():
    a = Autoscaler(target=1, min_replicas=2, max_replicas=4)
    a.observe(0.0, 100.0)
    assert a.decide(60.0, ready=4) == 4
    a.observe(60.0, 0.0)
    assert a.decide(1000.0, ready=4) == 2
    with pytest.raises(ValueError):
        Autoscaler(target=0)
    with pytest.raises(ValueError):
        Autoscaler(target=1, min_replicas=5, max_replicas=4)


# ----------------------------------------------------------------------------- keep-alive
def test_fixed_keepalive():
    p = FixedKeepAlive(60.0)
    p.observe(0, 1000.0)
    assert p.windows(0) == (0.0, 60.0)


def test_hybrid_histogram_windows_from_percentiles():
    """ITs: 95 in [300, 360) s and 5 in [600, 660) s, with 60 s bins (paper defaults).
    5th percentile: bin 5 -> head 300 s; 99th: bin 10 -> tail 660 s.
    pre-warm = 300 x 0.9 = 270 s; keep-alive = 660 x 1.1 - 270 = 456 s."""
    p = HybridHistogramKeepAlive(fallback_idle_s=60.0)
    for _ in range(95):
        p.observe(7, 330.0)
    for _ in range(5):
        p.observe(7, 630.0)
    assert p.representative(7)
    pre, keep = p.windows(7)
    assert pre == pytest.approx(270.0)
    assert keep == pytest.approx(660 * 1.1 - 270.0)
    assert p.windows(8) == (0.0, 60.0)  # another model, nothing observed: the fallback


def test_hybrid_short_idle_times_give_no_prewarm():
    p = HybridHistogramKeepAlive(fallback_idle_s=600.0, bin_s=10.0)
    for it in [1.0] * 50 + [25.0] * 49 + [45.0]:
        p.observe(0, it)
    pre, keep = p.windows(0)
    # head in bin 0 -> no pre-warm; 99th percentile: 99 of 100 are below 30 s -> bin 2
    assert pre == 0.0
    assert keep == pytest.approx(30.0 * 1.1)


def test_hybrid_falls_back_to_fixed_when_not_representative():
    few = HybridHistogramKeepAlive(fallback_idle_s=60.0, min_samples=10)
    for _ in range(9):
        few.observe(0, 100.0)
    assert few.windows(0) == (0.0, 60.0) and not few.representative(0)
    flat = HybridHistogramKeepAlive(fallback_idle_s=60.0, bin_s=60.0, range_s=600.0)
    for k in range(10):  # one IT in each of the 10 bins: CV of the counts is 0
        for _ in range(3):
            flat.observe(0, 60.0 * k + 1.0)
    assert flat.windows(0) == (0.0, 60.0)
    oob = HybridHistogramKeepAlive(fallback_idle_s=60.0, range_s=600.0)
    for _ in range(20):
        oob.observe(0, 5000.0)  # beyond the range (the paper's ARIMA case)
    for _ in range(5):
        oob.observe(0, 30.0)
    assert oob.windows(0) == (0.0, 60.0)


# ------------------------------------------------------------------------------ placement
def test_choose_node_prefers_cached_weights_then_ready_then_best_fit():
    nodes = [NodeView(0, 8, True, None), NodeView(1, 2, True, None), NodeView(2, 4, True, "local_nvme"),
             NodeView(3, 8, True, "host_dram"), NodeView(4, 8, False, "gpu_snapshot")]
    assert choose_node(nodes, 2) == 4  # snapshot beats everything, even while provisioning
    assert choose_node(nodes[:4], 2) == 3  # page cache beats NVMe
    assert choose_node(nodes[:2], 2) == 1  # best fit: the fullest node that has room
    assert choose_node(nodes[:2], 4) == 0
    assert choose_node(nodes[:2], 16) is None
    assert choose_node([NodeView(0, 8, False, None), NodeView(1, 8, True, None)], 1) == 1


def test_node_pool_places_where_choose_node_does():
    # NodePool.choose ranks the nodes itself (no views); on random pools it must pick the
    # node choose_node picks from the views of the same nodes
    import random

    from sim.platform.serverless.nodes import NodeClass, NodePool

    rng = random.Random(7)
    for _ in range(300):
        pool = NodePool({"H100": NodeClass(8, 64, 1.0, 2.0)}, NoEviction(), True, 30.0)
        for _ in range(rng.randint(1, 12)):
            node = pool.add_node("H100", rng.choice([0.0, 50.0, 200.0]), False)
            node.free = rng.randint(0, 8)
            for model in rng.sample(range(4), rng.randint(0, 3)):  # weights cached locally
                node.storage.preload(model, 1e8, rng.choice(["local_nvme", "host_dram"]))
                if rng.random() < 0.3:
                    node.storage.record_snapshot(model)
        model, tp, now = rng.randrange(4), rng.choice([1, 2, 4, 8]), rng.choice([0.0, 100.0])
        views = [NodeView(n.id, n.free, n.ready_at <= now, n.storage.best_tier(model))
                 for n in pool.nodes]
        node, victims, provisioned = pool.choose(model, "H100", tp, now)
        assert (node.id if node is not None else None) == choose_node(views, tp)
        assert victims == [] and not provisioned


def test_lru_eviction_takes_the_least_recently_used_idle_replicas():
    nodes = [NodeView(0, 0, True, None), NodeView(1, 1, True, None)]
    idle = [IdleReplica("a", 0, 2, 50.0), IdleReplica("b", 0, 2, 10.0),
            IdleReplica("c", 1, 1, 30.0), IdleReplica("d", 1, 1, 40.0)]
    # 2 GPUs: node 0 needs b (idle since 10); node 1 has 1 free + c (30): b is older
    assert LruEviction().choose(nodes, 2, idle) == (0, ["b"])
    # 3 GPUs: node 0 needs b then a (newest victim 50); node 1 needs c, d (newest 40)
    assert LruEviction().choose(nodes, 3, idle) == (1, ["c", "d"])
    assert LruEviction().choose(nodes, 5, idle) is None
    assert NoEviction().choose(nodes, 2, idle) is None


# ---------------------------------------------------------------------------- rate limits
def test_token_bucket_refills_at_the_per_minute_rate():
    b = TokenBucket(60.0)  # 1 per second, burst 60
    assert b.can_take(0.0, 60)
    b.take(60)
    assert not b.can_take(0.5, 1)
    assert b.can_take(1.0, 1)
    assert not b.can_take(1.0, 2)
    assert b.can_take(1000.0, 60) and not b.can_take(1000.0, 61)  # capped at one minute


def _admit(lim, now, tokens):
    """check, then take when it passes (the pool takes every request here)."""
    why = lim.check(now, tokens)
    if why is None:
        lim.take(tokens)
    return why


def test_tenant_limiter_reasons_and_concurrency():
    lim = TenantLimiter(rpm=2, tpm=1000, concurrency=None)
    assert _admit(lim, 0.0, 400) is None
    assert _admit(lim, 0.0, 700) == "rate_limit_tpm"  # nothing consumed by a rejection
    assert _admit(lim, 0.0, 500) is None
    assert _admit(lim, 0.0, 1) == "rate_limit_rpm"
    c = TenantLimiter(concurrency=1)
    assert _admit(c, 0.0, 1) is None
    assert _admit(c, 0.0, 1) == "rate_limit_concurrency"
    c.release()
    assert _admit(c, 0.0, 1) is None


def test_a_check_alone_charges_nothing():
    # rpm 2: a bucket of 2 refilled at 1 per 30 s. Requests checked but not taken (the pool
    # turned them away for another reason) leave it full; until December 2026 the check
    # charged, so two such requests at 0 s left the next ones rejected until 30 s
    lim = TenantLimiter(rpm=2, tpm=100)
    assert lim.check(0.0, 60) is None and lim.check(0.0, 60) is None
    assert lim.in_flight == 0
    assert _admit(lim, 1.0, 60) is None and _admit(lim, 2.0, 40) is None
    assert lim.check(2.0, 1) == "rate_limit_rpm"
    # one request token back 30 s after the first take (1 s); tokens: 100 - 60 at 1 s, +100/60
    # a second, - 40 at 2 s, so 50 at 31 s
    assert lim.check(31.0 - 1e-6, 1) == "rate_limit_rpm"
    assert lim.check(31.0, 51) == "rate_limit_tpm"
    assert lim.check(31.0, 50) is None


def test_a_request_over_the_tpm_bucket_is_oversize_not_rate_limited():
    lim = TenantLimiter(rpm=10, tpm=100, concurrency=1)
    assert lim.check(0.0, 100) is None
    assert lim.check(0.0, 101) == "rate_limit_tpm_oversize"
    assert lim.check(1e6, 101) == "rate_limit_tpm_oversize"  # no refill lets it in


# ------------------------------------------------------------------------------- storage
def test_lru_cache_evicts_least_recently_used():
    c = LruCache(100)
    assert c.put("a", 40) == [] and c.put("b", 40) == []
    c.touch("a")
    assert c.put("c", 40) == ["b"]
    assert c.keys() == ["a", "c"]
    assert c.put("huge", 101) == [] and "huge" not in c


def test_node_storage_tiers_follow_what_ran_there():
    s = NodeStorage(dram_bytes=50, nvme_bytes=100, snapshots=True)
    assert s.best_tier("m") is None
    s.record_load("m", 40, None)  # from remote: NVMe and page cache
    assert s.best_tier("m") == "host_dram"
    s.record_snapshot("m")
    assert s.best_tier("m") == "gpu_snapshot"
    s.record_load("n", 40, None)  # evicts m from the 50-byte page cache, not from NVMe
    assert s.best_tier("m") == "local_nvme"
    s.record_load("m", 40, "local_nvme")
    assert s.best_tier("m") == "host_dram"  # the snapshot went with the page-cache copy


def test_fair_share_one_backend_processor_sharing():
    # no node limits: the backend alone is shared (the old single-link behaviour)
    link = FairShareBandwidth(backend_bps=10.0, cap_bps=10.0)
    link.start("a", 0, 100.0, 0.0)
    assert link.next_finish() == pytest.approx(10.0)
    link.start("b", 1, 20.0, 5.0)  # a has 50 left; both at 5 per second
    assert link.next_finish() == pytest.approx(9.0)
    link.advance(9.0)
    assert link.finished() == ["b"]
    assert link.left["a"] == pytest.approx(30.0)
    assert link.next_finish() == pytest.approx(12.0)
    capped = FairShareBandwidth(backend_bps=100.0, cap_bps=10.0)  # each load at most 10
    capped.start("x", 0, 50.0, 0.0)
    capped.start("y", 0, 50.0, 0.0)
    assert capped.next_finish() == pytest.approx(5.0)


def _links(**bps):
    return lambda node: bps.get(node)


def test_fair_share_different_nodes_do_not_slow_each_other_until_the_backend_saturates():
    # node links 4 each, per-load cap 6, backend 10: two loads on two nodes get 4 each
    link = FairShareBandwidth(10.0, 6.0, _links(n0=4.0, n1=4.0, n2=4.0))
    link.start("a", "n0", 40.0, 0.0)
    link.start("b", "n1", 40.0, 0.0)
    assert link.rates == {"a": 4.0, "b": 4.0}
    # a third on a third node: the backend (10) binds, 10/3 each
    link.start("c", "n2", 40.0, 0.0)
    assert link.rates == pytest.approx({"a": 10 / 3, "b": 10 / 3, "c": 10 / 3})


def test_fair_share_same_node_halves_and_redistributes():
    # node n0's link (4) binds two loads at 2 each; the load alone on n1 takes its cap (3),
    # not the backend's leftover: max-min, not equal shares of the backend
    link = FairShareBandwidth(100.0, 3.0, _links(n0=4.0, n1=8.0))
    link.start("a", "n0", 20.0, 0.0)
    assert link.rates == {"a": 3.0}  # alone: its cap
    link.start("b", "n0", 20.0, 0.0)
    assert link.rates == {"a": 2.0, "b": 2.0}  # same node: the link halves
    link.start("c", "n1", 20.0, 0.0)
    assert link.rates == {"a": 2.0, "b": 2.0, "c": 3.0}
    # progressive filling with a backend of 6: level 2 freezes n0's two (4 used), c rises to
    # the backend's remaining 2 -> all at 2; with a backend of 7, c gets 3 (its cap)
    tight = FairShareBandwidth(6.0, 3.0, _links(n0=4.0, n1=8.0))
    for k, n in (("a", "n0"), ("b", "n0"), ("c", "n1")):
        tight.start(k, n, 20.0, 0.0)
    assert tight.rates == pytest.approx({"a": 2.0, "b": 2.0, "c": 2.0})
    loose = FairShareBandwidth(7.0, 3.0, _links(n0=4.0, n1=8.0))
    for k, n in (("a", "n0"), ("b", "n0"), ("c", "n1")):
        loose.start(k, n, 20.0, 0.0)
    assert loose.rates == pytest.approx({"a": 2.0, "b": 2.0, "c": 3.0})


def test_fair_share_staggered_starts_exact_times():
    # node link 4, cap 6, backend 100. a (40 bytes) starts on n0 at 0, b (40) on n0 at 2,
    # c (12) on n1 at 3.
    # 0-2: a alone at 4 -> a has 32 left. 2-3: a, b at 2 -> a 30, b 38 left.
    # 3: c alone on n1 at 4 (its link) -> c ends at 6; a, b at 2 -> a ends at 3 + 15 = 18;
    # then b alone at 4: left 38 - 2*15 = 8 -> ends at 20.
    link = FairShareBandwidth(100.0, 6.0, _links(n0=4.0, n1=4.0))
    link.start("a", "n0", 40.0, 0.0)
    link.start("b", "n0", 40.0, 2.0)
    link.start("c", "n1", 12.0, 3.0)
    ends = {}
    while link.left:
        t = link.next_finish()
        link.advance(t)
        for k in link.finished(tol_s=1e-9):
            ends[k] = t
    assert ends == pytest.approx({"c": 6.0, "a": 18.0, "b": 20.0})


def test_interference_wrapper_multiplies_step_time():
    class Base:
        kv_capacity_tokens = 123

        def step_time(self, d, p, kv, pairs):
            return 0.01 * (1 + d)

    w = InterferedPerf(Base())
    assert w.kv_capacity_tokens == 123
    w.factor = 1.195
    assert w.step_time(1, 0, 0, 0) == pytest.approx(0.02 * 1.195)


def test_no_policy_imports_simpy():
    import sim.platform.serverless.autoscaler as a
    import sim.platform.serverless.eviction as e
    import sim.platform.serverless.keepalive as k
    import sim.platform.serverless.ratelimit as r
    import sim.platform.storage as s

    for mod in (a, e, k, r, s):
        src = open(mod.__file__).read()
        assert "simpy" not in src.replace("(no simpy)", "").replace("without simpy", ""), mod.__name__


def test_a_request_still_waiting_for_a_first_replica_at_the_end_is_cold_like_a_timed_out_one():
    """A pool whose one node takes longer to provision than the run lasts: every request waits
    for a replica that never loads. With the bounded wait each times out cold; with no bound
    each is cut at the run's end, now cold too, its wait to the end (it counted 0 cold
    requests, December 2026). (A pool of no GPUs, once used here, is refused.)"""
    import numpy as np

    import sim
    base = ["horizon_s=20", "setups=[serverless]", "serverless.pool.H100.nodes=0",
            "serverless.pool.H100.max_nodes=1", "cold_start.node_provision_s=1e6",
            "output.plots=false", "output.report=false"]
    timed = sim.run(base + ["serverless.max_wait_s=5"])
    cut = sim.run(base + ["serverless.max_wait_s=inf"])
    for res in (timed, cut):
        r = res.requests
        row = res.summary.query("tenant == '__all__'").iloc[0]
        assert len(r) > 0 and int(row["cold_starts"]) == len(r)
        # the load under way reads the remote tier (cold_start.remote_tier): nothing cached
        assert (r["cold_start_tier"] == "object_storage").all()
    assert (timed.requests["reason"] == "timeout_cold_start").all()
    r = cut.requests
    assert (r["reason"] == "unfinished_at_end").all()
    ends = r["cold_start_wait_s"].to_numpy() + r["arrival_s"].to_numpy()
    assert np.ptp(ends) < 1e-9 and ends[0] >= 20.0  # each waited to the run's one end
    assert np.allclose(timed.requests["cold_start_wait_s"], 5.0)


def test_a_pool_class_that_can_never_hold_a_replica_of_a_served_model_is_refused(tmp_path, monkeypatch,
                                                                                 capsys):
    """README's sweep (December 2026): ``serverless.pool.H100.nodes=0`` with no max_nodes ran,
    its 68 requests all turned away (timeout_no_capacity) and counted 68 cold starts of 300 s
    each for a load that never happened. No replica can ever load there: refused, naming the
    key. A class no served model runs on may have none, and max_nodes lets one be provisioned."""
    from helpers.cli import assert_one_clear_line, run_main

    import sim

    status, err = run_main(["setups=[serverless]", "serverless.pool.H100.nodes=0", "horizon_s=5"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "config key 'serverless.pool.H100.nodes'")
    assert "max_nodes" in err and "llama31-8b" in err
    quiet = ["setups=[serverless]", "horizon_s=5", "output.plots=false", "output.report=false"]
    spare = sim.run(quiet + ["serverless.pool.A100={nodes: 0}"])
    grow = sim.run(quiet + ["serverless.pool.H100.nodes=0", "serverless.pool.H100.max_nodes=1"])
    for res in (spare, grow):
        row = res.summary.query("tenant == '__all__'").iloc[0]
        assert row["completed"] == row["requests"] > 0


def test_no_drain_limit_beside_no_wait_limit_is_refused(tmp_path, monkeypatch, capsys):
    """README's sweep (December 2026): ``drain_s=inf`` with ``serverless.max_wait_s=inf`` ran
    forever once a request no replica could take was queued (one GPU held by another model's
    minimum replica, eviction none): nothing ended it. Refused, naming drain_s; either
    alone ends (the wait bound, or the drain)."""
    from helpers.cli import assert_one_clear_line, run_main

    import sim

    stuck = ["setups=[serverless]", "horizon_s=10", "serverless.billing=gpu_second",
             "tenants.b={model: llama2-7b, arrival: {rate_rps: 0.5}}",
             "serverless.pool={H100: {nodes: 1, gpus_per_node: 1}}", "serverless.eviction=none",
             "serverless.autoscaler.min_replicas.llama31-8b=1", "output.report=false"]
    status, err = run_main([*stuck, "serverless.max_wait_s=inf", "drain_s=inf"], tmp_path,
                           monkeypatch, capsys)
    assert_one_clear_line(status, err, "config key 'drain_s'")
    assert "serverless.max_wait_s" in err
    for bound in (["serverless.max_wait_s=inf", "drain_s=30"], ["drain_s=inf", "serverless.max_wait_s=5"]):
        r = sim.run([*stuck, *bound, "output.plots=false"]).requests
        b = r[r["tenant"] == "b"]
        assert len(b) > 0 and (b["outcome"] != "completed").all()
