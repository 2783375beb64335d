"""Platform pins from a hand mutation audit, through the simulated serverless pool: tiny
scenarios whose event times (keep-alive stops, timeouts, the replica chosen to go) are worked
out here from the cold-start stages and the performance model. Each test kills mutants the
rest of the suite let through (README, Reliability); the plain policies are pinned in
test_platform_pins.py."""

import pytest
from helpers.serverless import Harness, compose, twin_model
from helpers.timing import COLD_8B, prefill

from sim.records import COMPLETED, REJECTED

M = "llama31-8b"


def one_token_done(perf, t_first_start, n_in=200):
    """A 2-token answer alone on a warm replica: its prefill, then one decode step."""
    return t_first_start + prefill(perf, n_in) + perf.step_time(1, 0, n_in, n_in + 1)


def test_keepalive_restarts_when_a_warm_request_ends():
    # keep-alive 30 s; the second request comes 20 s after the first ends (warm): the replica
    # stops 30 s after the second ends, not 30 s after the first (a stale timer)
    h = Harness(compose(["serverless.keepalive.idle_s=30"]), [M])
    perf = h.perf(M)
    t1 = one_token_done(perf, COLD_8B)
    t2 = t1 + 20.0
    h.run([(0.0, M, 200, 2), (t2, M, 200, 2)], until=t2 + 200)
    t2_done = one_token_done(perf, t2)
    assert h.reqs[1].t_done == pytest.approx(t2_done, rel=1e-12)
    (row,) = h.close(t2 + 200)
    assert row.end_s == pytest.approx(t2_done + 30.0, rel=1e-12)
    assert h.platform.stats["keepalive_stops"] == 1


def test_the_autoscaler_never_takes_the_last_replica_before_its_keepalive():
    # keep-alive 100 s, longer than the 60 s stable window: the trailing average reaches 0
    # first, yet only the keep-alive stops the replica, 100 s after its request ends
    h = Harness(compose(["serverless.keepalive.idle_s=100"]), [M])
    h.run([(0.0, M, 200, 2)], until=400)
    t1 = one_token_done(h.perf(M), COLD_8B)
    (row,) = h.close(400)
    assert row.end_s == pytest.approx(t1 + 100.0, rel=1e-12)
    assert h.platform.stats["scale_in_stops"] == 0 and h.platform.stats["keepalive_stops"] == 1


def test_a_minimum_replica_outlives_its_keepalive():
    # min 1: the resident replica (warm at t=0) is idle from 0 with a 5 s keep-alive, yet
    # stays: the request at 10 s is warm, and the one row runs to the end
    h = Harness(compose(["serverless.keepalive.idle_s=5", f"serverless.autoscaler.min_replicas={{{M}: 1}}"]),
                [M])
    h.run([(10.0, M, 200, 2)], until=100)
    assert h.reqs[0].t_done == pytest.approx(one_token_done(h.perf(M), 10.0), rel=1e-12)
    assert h.log.cold_wait_s[0] == 0.0
    (row,) = h.close(100)
    assert (row.start_s, row.end_s) == (0.0, 100.0)
    assert h.platform.stats["keepalive_stops"] == 0


def test_a_replica_at_its_models_minimum_is_not_evicted_and_waits_time_out_per_request():
    # one GPU, held by the 8B's minimum replica; the twin's requests at 0 and 3 s find no GPU
    # and nothing evictable: each is rejected max_wait_s = 10 s after its own arrival
    cfg = compose(["serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=1",
                   f"serverless.autoscaler.min_replicas={{{M}: 1}}", "serverless.max_wait_s=10"],
                  edit=twin_model)
    h = Harness(cfg, [M, "Twin-8B"])
    h.run([(0.0, "Twin-8B", 100, 2), (3.0, "Twin-8B", 100, 2)], until=100)
    for i in (0, 1):
        assert h.log.outcome[i] == REJECTED
        assert h.log.reasons.names[h.log.reason[i]] == "timeout_no_capacity"
        assert h.log.cold_wait_s[i] == pytest.approx(10.0, abs=1e-9)
    assert h.platform.stats["evictions"] == 0 and h.platform.started == 1


def test_scale_in_stops_the_replica_idle_the_longest():
    # target concurrency 1, two requests at 0: the activator starts replica 0 at once, the
    # first tick (2 s) sees 2 in flight and panics for replica 1. Replica 0 is warm first and
    # takes both (one central queue); replica 1, warm at 2 s + a cold start, never serves.
    # The last tick with the panic condition (2 wanted, 1 ready) is 28 s, so the panic ends
    # at 28 + 60 = 88 s; the stable average over (28, 88] is under 1: one replica goes, the
    # one idle since its warm-up (about 29 s), not the one idle since its requests ended.
    h = Harness(compose(["serverless.keepalive.idle_s=inf", "serverless.autoscaler.target_concurrency=1"]),
                [M])
    h.run([(0.0, M, 200, 2000), (0.0, M, 200, 2000)], until=400)
    assert h.reqs[0].replica == h.reqs[1].replica == 0
    assert h.reqs[1].t_done > COLD_8B + 2.0  # replica 1 was warm before replica 0 went idle
    ev = h.platform.events
    got = [(t, k, r) for t, k, r in zip(ev.t_s, ev.kind, ev.replica)]
    assert got == [(0.0, "scale_up", 0), (2.0, "scale_up", 1), (88.0, "scale_in", 1)]
    rows = h.close(400)
    assert [r.end_s for r in rows] == [400.0, 88.0]


def test_hybrid_keepalive_unloads_and_prewarms_one_load_ahead():
    # one idle time of 150 s (bin [120, 180)), min_samples 1: pre-warm 108 s, keep-alive 90 s
    # after it (test_platform_pins.py). When the second request ends at t2 the replica is
    # unloaded at once and a new one placed at t2 + 108 - (the last load, a cold start from
    # object storage), so it is warm about when the next request is due; it stops, unused,
    # at t2 + 108 + 90
    h = Harness(compose(["serverless.keepalive.kind=hybrid", "serverless.keepalive.idle_s=1000",
                         "serverless.keepalive.hybrid.bin_s=60", "serverless.keepalive.hybrid.range_s=600",
                         "serverless.keepalive.hybrid.min_samples=1"]), [M])
    h.run([(0.0, M, 200, 2)], until=100)
    t1 = one_token_done(h.perf(M), COLD_8B)
    h.run([(t1 + 150.0, M, 200, 2)], until=1000)
    t2 = one_token_done(h.perf(M), t1 + 150.0)
    ev = h.platform.events
    got = [(t, k, r) for t, k, r in zip(ev.t_s, ev.kind, ev.replica)]
    at = t2 + 108.0 - COLD_8B
    assert got == [(0.0, "scale_up", 0), (pytest.approx(t2, rel=1e-12), "prewarm_unload", 0),
                   (pytest.approx(at, rel=1e-12), "scale_up", 1), (pytest.approx(at, rel=1e-12), "prewarm", 1),
                   (pytest.approx(t2 + 198.0, rel=1e-12), "keepalive_stop", 1)]


def test_expected_wait_counts_from_the_replica_loading_longest():
    # two requests at 0, target concurrency 1: replicas start loading at 0 and at the 2 s
    # tick. At 3 s a request would wait for the first: 0 + one cold start - 3 s (no load has
    # finished yet, so the cold start is the stages from object storage)
    h = Harness(compose(["serverless.autoscaler.target_concurrency=1"]), [M])
    h.run([(0.0, M, 200, 2), (0.0, M, 200, 2)], until=3.0)
    assert h.platform.stats["scale_ups"] == 2
    assert h.platform.expected_wait(0, 3.0) == pytest.approx(COLD_8B - 3.0, rel=1e-12)


def test_a_full_dedicated_queue_turns_away_when_spillover_is_off():
    # shadows (a vanishing fraction) put the 8B on the pool, but spillover is off: the
    # dedicated queue holds one request, so those at 1.5 and 3 s are turned away, not spilled
    from test_hybrid import _queue_scenario
    from test_hybrid import run as run_hybrid

    r, _ = run_hybrid(*_queue_scenario(["hybrid.spillover.enabled=false", "dedicated.max_queue=1",
                                        "hybrid.shadow_fraction=1e-12"]))
    assert not r.log.spilled.any()
    assert r.log.outcome.tolist() == [COMPLETED, COMPLETED, REJECTED, REJECTED]
    assert [r.log.reasons.names[r.log.reason[i]] for i in (2, 3)] == ["queue_full"] * 2
