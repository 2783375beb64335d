"""A burst replica whose scale-up came from an unbounded wait (a queue with nothing
completed yet, or a request turned away) still drains by the README's rule: the wait stays
at or below the threshold for ``idle_window_s`` and the load fits in the replicas that
remain. No saturated throughput was ever measured there, so the perf model's flat-out
rate of one replica stands in (before the fix the rule compared against 0 and the
replica was billed to the end of the run)."""

import math

import pytest
from helpers.dedicated import config, run, workload
from test_burst import COLD_FRESH_NODE

from sim.platform.dedicated.burst import BurstPolicy

HORIZON = 600.0


def _trickle_after_a_long_queue():
    """Three 2000-token requests at t = 0 on a replica of 2 slots (the third waits with
    nothing completed: an infinite wait, so a scale-up at the first look, t = 1 s), then one
    short request every 5 s: 0.2 completions/s, far below what one replica does."""
    reqs = [(0.0, 100, 2000)] * 3 + [(5.0 * k, 100, 100) for k in range(1, 120)]
    return workload(reqs, horizon_s=HORIZON)


@pytest.mark.parametrize("extra", [[], ["dedicated.max_queue=0"]],
                         ids=["infinite_wait", "turned_away"])
def test_burst_replica_drains_at_the_first_look_after_warm(extra):
    cfg = config(["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=1",
                  "deployments.llama31-8b.max_num_seqs=2", *extra])
    r, _ = run(cfg, _trickle_after_a_long_queue())
    (b,) = [u for u in r.ledger if u.tier == "burst"]
    assert b.start_s == 1.0  # the first look (check_interval_s = 1 s) scaled up
    warm = 1.0 + COLD_FRESH_NODE  # 168.42 s
    # by then the queue has long been empty (the long requests end within ~30 s, so the
    # 60 s idle window has passed) and 0.2 completions/s fit in the reserved replica: the
    # controller's first look at or after warm (looks every 1 s) drains the idle replica,
    # which stops at once
    drain = math.ceil(warm)
    assert b.end_s == drain  # 169 s (599 s, the end of the run, before)
    assert b.cost_usd == pytest.approx((drain - 1.0) * 3.95 * 1.25 / 3600.0, rel=1e-12)


def test_policy_uses_the_modelled_capacity_until_one_is_measured():
    p = BurstPolicy(wait_threshold_s=1.0, max_local=1, max_remote=0, scale_up_interval_s=0.0,
                    idle_window_s=10.0, drain_fill=0.5)
    p.observe(wait_s=math.inf, rate=0.0, n_serving=1)  # unbounded: not a capacity sample
    assert p.capacity_per_replica == 0.0
    assert not p.scale_down(0.0, 0.0, 1.0, 2, 1, modelled=lambda: 4.0)  # the quiet window starts
    assert not p.scale_down(10.0, 0.0, 2.5, 2, 1, modelled=lambda: 4.0)  # 2.5 > 0.5 x 4 x 1
    assert p.scale_down(11.0, 0.0, 2.0, 2, 1, modelled=lambda: 4.0)  # 2 <= 0.5 x 4 x 1
    p.observe(wait_s=5.0, rate=2.0, n_serving=2)  # measured: 1/s a replica, it now rules
    assert not p.scale_down(30.0, 0.0, 1.0, 2, 1, modelled=lambda: 4.0)  # 1 > 0.5 x 1 x 1
