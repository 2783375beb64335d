"""Metrics pins from a second hand mutation audit of sim/metrics (cost, billing, summary,
rows, windows, invariants): tiny runs built by hand (``build`` of test_accounting_pins.py:
a few requests with exact times, one or two ledger rows at $3.6/GPU-hour = $0.001/GPU-s),
their summary checked against arithmetic written here. Each test kills mutants that the rest
of the suite let through (README, Reliability).

Record (December 2026). 65 mutations, one at a time, each run against the fast subset
(test_accounting_pins, test_billing, test_quantiles_rows, test_invariants,
test_window_throughput, test_log_counts_exact, test_tier_rows; ``-x -n 0``): cost.py 18
(minimum increment, idle without down time, month of 720 h or 60 s an hour, utilisation
without GPUs, ``close`` always true, shares not applied, quiet tenants, weights from input
tokens or from rejected requests, the pool's tier condition dropped, a background tenant
kept at weight 0 or counted a user, cached price default 0 or ignored, $/k for $/M, the
batch factor inverted), billing.py 10 (period end at arrival, at the horizon, every period
at the run's end, unfinished ended at the horizon, no NaN for a tenant without requests,
padding's segment ``<`` for ``<=``, busy spread over billed not up seconds, idle without
down, ``>= b`` for ``> b``, the user's tail to any background tenant), summary.py 13
(deadline ``>`` and ``<`` edges, batch exclusion, background costs in ``__all__``, the
background row selecting users, unit costs and tokens, model rows for one model or with
background requests, tool stages in tier rows, tier costs with background tenants, undecided
deadlines counted), rows.py 10 (TPOT's one-token case and divisor, TTFT read as E2E,
attainment over completed, p99.9 / TPOT p99 / cold-wait p99 read at lower quantiles,
rejected input tokens, throughput of all tokens, retries), windows.py 6 (warm-up ``<=``,
window length, ``clipped``, aggregate attainment, ``warmup_s = 0``, ``deadline_missed``),
invariants.py 8 (never-ended, finish after the run, ledger past the period, the GPU-cost
tolerance, per-row counts, model-row partition, cached = prompt, completed with a reason).
Killed by that subset: 47; the 18 it let through were then run against the slower files that
cover the module (tests/test_behaviour_pins.py, test_window_clipped,
tests/platform/test_hybrid.py, dedicated/test_batch_tier.py,
dedicated/test_dedicated_cost.py): 6 were killed there by a named check (``close`` always
true; an idle shared pool split with a background tenant, twice; a user's replica tail
billed to a background tenant; windowed ``clipped``; windowed deadlines), 7 only by the
sha256 digests of test_behaviour_pins, which say that an output moved, not which value is
right (a pool's tier condition dropped; model rows for one model, or with background
requests; tier-row costs with background tenants; p99.9, TPOT p99 and cold-wait p99 read at
lower quantiles), and 5 survived everything (padding of a row ending exactly at a period
end, a deadline at exactly the run's end, the windowed aggregate attainment, the model-row
partition check, and the one below). This file (13 tests, about 1 s) kills 17 of the 18, all
5 true survivors but one. Left: ``tenant_periods`` not marking a tenant without requests
NaN, so a quiet user tenant's period becomes the horizon instead of the run's period: not
equivalent, but which period a tenant that sent nothing should report is a design question
left to the lead, so it is not pinned. No bug was found: every hand computation agreed with
the code. (Decided in December 2026: the horizon, as that mutant had it, pinned in
test_end_of_run_accounting.py.)
"""

import numpy as np
import pytest
from test_accounting_pins import REQS_A, build, row

from sim.errors import InvariantError
from sim.metrics.cost import CostBreakdown, check_invariants
from sim.metrics.invariants import violations
from sim.metrics.summary import summarize
from sim.metrics.windows import apply_window
from sim.records import MODEL_ROW, UsageRow


def gpu_row(tier, start, end, *, model="m", billing="gpu_hour", busy=0.0, minimum=0.0):
    """One 1-GPU replica at $3.6/GPU-hour, i.e. $0.001 a billed second."""
    return UsageRow(model, "H100", 1, tier, start, end, busy_s=busy, billing=billing,
                    usd_per_gpu_hour=3.6, min_increment_s=minimum)


# ---- the cost invariants themselves -------------------------------------------------------

def _consistent():
    cb = CostBreakdown()
    cb._add("a", "dedicated", "m", {"cost_usd": 1.0, "gpu_cost_usd": 1.0, "busy_cost_usd": 1.0})
    return cb


@pytest.mark.parametrize("break_it, match", [
    (lambda cb: cb.by_tenant["a"].__setitem__("token_cost_usd", 0.5), "cost = gpu \\+ token"),
    (lambda cb: cb.by_tenant["a"].__setitem__("idle_cost_usd", 0.5), "busy \\+ idle \\+ down"),
    (lambda cb: cb.by_tenant["a"].__setitem__("cost_burst_usd", 0.5), "sum of tiers"),
    (lambda cb: cb.totals.update(cost_usd=1.5, gpu_cost_usd=1.5, busy_cost_usd=1.5,
                                 cost_dedicated_usd=1.5), "add up to"),  # a sound total
    (lambda cb: cb.by_tenant_model[("a", "m")].__setitem__("cost_usd", 0.5), "by model adds up"),
])
def test_cost_invariants_catch_each_broken_sum(break_it, match):
    cb = _consistent()
    check_invariants(cb)  # $1 = $1 GPU = $1 busy = $1 dedicated: clean
    break_it(cb)
    with pytest.raises(InvariantError, match=match):
        check_invariants(cb)


# ---- GPU pools: which tenants pay for which pool ------------------------------------------

def test_an_idle_shared_pool_is_the_users_not_the_background_tenants():
    # nothing completed on the pool (both requests rejected): the even split of an idle pool
    # leaves the background tenant out, so the user pays all 100 s = $0.1
    reqs = [dict(tenant="u", arrival=0.0, **{"in": 10}, out=10, tier="serverless"),
            dict(tenant="g", arrival=0.0, **{"in": 10}, out=10, tier="serverless")]
    wl, run = build(["u", "g"], reqs, [gpu_row("serverless", 0.0, 100.0, billing="gpu_second")],
                    background=1, bg_run=True, setup="serverless")
    s = summarize(wl, run, {})
    assert row(s, "__all__")["cost_usd"] == pytest.approx(0.1, rel=1e-12)
    assert row(s, "__background__")["cost_usd"] == 0.0


def _hybrid():
    # model m: a dedicated replica up 100 s ($0.1) and a serverless one up 50 s ($0.05).
    # a completes 10 output tokens on the dedicated tier; b 30 and background g 30 on the
    # serverless one. Each pool splits by the tokens completed on it: the dedicated $0.1 all
    # a's (b sent nothing there; g, a background tenant, is dropped at weight 0), the
    # serverless $0.05 half b's, half g's.
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="b", arrival=1.0, **{"in": 5}, out=30, done=(1.0, 2.0, 9.0),
                 tier="serverless"),
            dict(tenant="g", arrival=2.0, **{"in": 5}, out=30, done=(2.0, 3.0, 9.0),
                 tier="serverless")]
    ledger = [gpu_row("dedicated", 0.0, 100.0),
              gpu_row("serverless", 0.0, 50.0, billing="gpu_second")]
    return build(["a", "b", "g"], reqs, ledger, background=1, bg_run=True, setup="hybrid")


def test_each_tiers_pool_splits_by_the_tokens_completed_on_that_tier():
    s = summarize(*_hybrid(), {})
    assert row(s, "a")["cost_usd"] == pytest.approx(0.1, rel=1e-12)
    assert row(s, "b")["cost_usd"] == pytest.approx(0.025, rel=1e-12)
    assert row(s, "__background__")["cost_usd"] == pytest.approx(0.025, rel=1e-12)
    # a tier row bills the user tenants only: the serverless one is b's $0.025, not g's too
    assert row(s, "__tier__:dedicated")["cost_usd"] == pytest.approx(0.1, rel=1e-12)
    assert row(s, "__tier__:serverless")["cost_usd"] == pytest.approx(0.025, rel=1e-12)
    assert row(s, "__tier__:serverless")["requests"] == 1
    assert row(s, "__all__")["requests"] == 2 and row(s, "__background__")["requests"] == 1


def test_the_tail_of_a_users_replica_is_not_billed_to_a_draining_background_tenant():
    # u (model m) is done by the horizon, 100 s; background g (model m2) drains to 150 s.
    # m's replica, up 150 s ($0.15), is all u's: its [100, 150) tail has no tenant of m left,
    # and a background tenant pays only for pools it used. g pays its own m2 replica, 20 s.
    reqs = [dict(tenant="u", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="g", arrival=95.0, **{"in": 5}, out=10, done=(140.0, 141.0, 150.0),
                 tier="serverless", model="m2")]
    ledger = [gpu_row("dedicated", 0.0, 150.0),
              gpu_row("serverless", 130.0, 150.0, model="m2", billing="gpu_second")]
    wl, run = build(["u", "g"], reqs, ledger, period=150.0, models=("m", "m2"), background=1,
                    bg_run=True, setup="hybrid")
    s = summarize(wl, run, {})
    assert row(s, "u")["period_s"] == 100.0
    assert row(s, "u")["cost_usd"] == pytest.approx(0.15, rel=1e-12)
    assert row(s, "__background__")["cost_usd"] == pytest.approx(0.02, rel=1e-12)


def test_padding_of_a_row_ending_at_a_period_end_goes_to_the_next_segment():
    # a's period ends at the horizon, 100 s; b's at 150 s (its last request finishes then).
    # A per-second row up [0, 100), busy 60 s, minimum 150 s: billed 150 s = $0.15. Its
    # 100 s up fall in [0, 100) (split a 10 : b 50 output tokens) with all 60 busy seconds;
    # the 50 s of padding close the bill at 100 s, in [100, 150): b's alone.
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="b", arrival=1.0, **{"in": 5}, out=30, done=(1.0, 2.0, 20.0)),
            dict(tenant="b", arrival=90.0, **{"in": 5}, out=20, done=(90.0, 95.0, 150.0))]
    ledger = [gpu_row("dedicated", 0.0, 100.0, billing="gpu_second", busy=60.0, minimum=150.0)]
    wl, run = build(["a", "b"], reqs, ledger, period=150.0)
    s = summarize(wl, run, {})
    a, tot = row(s, "a"), row(s, "__all__")
    assert tot["cost_usd"] == pytest.approx(0.15, rel=1e-12)
    assert a["cost_usd"] == pytest.approx(0.1 / 6, rel=1e-12)
    assert a["busy_gpu_hours"] == pytest.approx(60 / 6 / 3600, rel=1e-12)
    assert tot["busy_gpu_hours"] == pytest.approx(60 / 3600, rel=1e-12)
    assert tot["idle_gpu_hours"] == pytest.approx(90 / 3600, rel=1e-12)


# ---- request figures ----------------------------------------------------------------------

def test_tail_percentiles_of_ttft_tpot_and_cold_waits_by_hand():
    # TTFT 1 and 2 s; TPOT (6 - 1) / 10 = 0.5 and (12 - 2) / 10 = 1.0; cold waits 0.5, 1.5 s.
    # Linear interpolation between two values x < y at q %: x + q / 100 (y - x).
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 5}, out=11, done=(0.0, 1.0, 6.0), cold=0.5),
            dict(tenant="a", arrival=0.0, **{"in": 5}, out=11, done=(0.0, 2.0, 12.0), cold=1.5)]
    wl, run = build(["a"], reqs, [gpu_row("dedicated", 0.0, 100.0)])
    a = row(summarize(wl, run, {}), "a")
    assert a["ttft_p999_s"] == pytest.approx(1.999, rel=1e-12)
    assert (a["tpot_p50_s"], a["tpot_p99_s"]) == pytest.approx((0.75, 0.995), rel=1e-12)
    assert (a["e2e_p50_s"], a["e2e_p99_s"]) == pytest.approx((9.0, 11.94), rel=1e-12)
    assert a["cold_starts"] == 2
    assert a["cold_start_wait_p99_s"] == pytest.approx(1.49, rel=1e-12)


def test_model_rows_cover_user_requests_only_and_need_two_models():
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="b", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0), model="m2"),
            dict(tenant="g", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 5.0),
                 tier="serverless")]
    ledger = [gpu_row("dedicated", 0.0, 100.0), gpu_row("dedicated", 0.0, 100.0, model="m2"),
              gpu_row("serverless", 0.0, 10.0, billing="gpu_second")]
    wl, run = build(["a", "b", "g"], reqs, ledger, models=("m", "m2"), background=1,
                    bg_run=True, setup="hybrid")
    s = summarize(wl, run, {})
    # the background request to m is in __background__, not in m's model row
    assert row(s, MODEL_ROW + "m")["requests"] == 1
    assert row(s, MODEL_ROW + "m2")["requests"] == 1
    assert violations(wl, run, summary=s) == []
    i = s.index[s["tenant"] == MODEL_ROW + "m"][0]
    s.loc[i, ["requests", "completed", "output_tokens"]] += 1  # the model rows now add up to 3
    assert any("of the model rows add up to 3" in v for v in violations(wl, run, summary=s))
    one = summarize(*build(["a"], REQS_A[:1], [gpu_row("dedicated", 0.0, 100.0)]), {})
    assert not one["tenant"].str.startswith(MODEL_ROW).any()  # one model: no model rows


# ---- deadlines and the warm-up window -----------------------------------------------------

def _deadlines():
    # bulk: deadline 60 s, run ends at 70 s. r0 done at 30 s: met. r1 (arrival 10 s) still
    # unfinished at 70 s, exactly its due time: decided, missed. r2 rejected: missed.
    reqs = [dict(tenant="bulk", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 1.0, 30.0)),
            dict(tenant="bulk", arrival=10.0, **{"in": 5}, out=10, failed="unfinished_at_end"),
            dict(tenant="bulk", arrival=30.0, **{"in": 5}, out=10),
            dict(tenant="chat", arrival=0.0, **{"in": 5}, out=10, done=(0.0, 0.5, 2.0))]
    return build(["chat", "bulk"], reqs, [gpu_row("dedicated", 0.0, 70.0)], horizon=60.0,
                 period=70.0, t_end=70.0, slo={"chat": 1.0, "bulk": 1.0},
                 deadlines={"bulk": 60.0})


def test_a_deadline_falling_exactly_at_the_runs_end_is_missed():
    wl, run = _deadlines()
    bulk = row(summarize(wl, run, {}), "bulk")
    assert bulk["deadline_missed"] == 2 and bulk["slo_attainment"] == pytest.approx(1 / 3)


def test_the_warmup_window_splits_deadlines_too():
    wl, run = _deadlines()
    w = apply_window(wl, run, summarize(wl, run, {}), 20.0, "none")
    # measured (arrival >= 20 s): r2, missed; warm-up: r0 met, r1 missed
    assert row(w, "bulk")["deadline_missed"] == 1 and row(w, "bulk")["slo_attainment"] == 0.0
    wb = row(w, "bulk@warmup")
    assert wb["deadline_missed"] == 1 and wb["slo_attainment"] == 0.5


def test_the_warmup_window_computes_aggregate_attainment_and_clipped_per_window():
    wl, run = build(["a", "b"], REQS_A, [gpu_row("dedicated", 0.0, 100.0)])
    wl.changed_req = np.array([True, False, True, False, False])  # a's requests at 0 and 20 s
    s = summarize(wl, run, {})
    w = apply_window(wl, run, s, 10.0, "none")
    # measured: b@10 TTFT 3 s > 2 (missed), a@20 rejected, a@30 TTFT 2 s (met), b@40 failed
    assert row(w, "__all__")["slo_attainment"] == pytest.approx(1 / 4)
    assert row(w, "__all__@warmup")["slo_attainment"] == 1.0  # a@0, TTFT 1 s
    assert row(w, "a")["clipped"] == 1 and row(w, "a@warmup")["clipped"] == 1
    # no warm-up: the summary's own rows, once each
    w0 = apply_window(wl, run, s, 0.0, "none")
    assert len(w0) == len(s) and set(w0["window"]) == {"all"}
