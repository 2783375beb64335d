"""Accounting pins from a hand mutation audit: tiny runs built by hand (a few requests with
exact times, one or two ledger rows, round prices), their summary checked against arithmetic
done here, not against the code's own output. Each test kills mutants that the rest of the
suite let through (README, Reliability)."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.metrics.cost import attribute_cost
from sim.metrics.invariants import violations
from sim.metrics.load import load
from sim.metrics.summary import summarize
from sim.metrics.windows import apply_window
from sim.records import KvStats, RequestLog, SetupRun, UsageRow
from sim.workload import Workload

MONTH_S = 730 * 3600.0
TIER = {"dedicated": 0, "serverless": 1, "burst": 2}


def build(tenants, reqs, ledger, *, horizon=100.0, period=100.0, t_end=None, slo=None,
          deadlines=None, background=0, models=("m",), setup="dedicated", bg_run=False):
    """A workload and a finished run from ``reqs``: dicts with tenant, arrival, in, out and
    either done=(admit, first, finish) or rejected / failed=<reason>; optional cached,
    attempts, cold, tier, model, end (when a failed one failed)."""
    n = len(reqs)
    wl = Workload(
        tenants=list(tenants), models=list(models), horizon_s=horizon,
        arrival_s=np.array([r["arrival"] for r in reqs], float),
        tenant=np.array([tenants.index(r["tenant"]) for r in reqs], np.int16),
        model=np.array([models.index(r.get("model", models[0])) for r in reqs], np.int16),
        input_tokens=np.array([r["in"] for r in reqs], np.int32),
        output_tokens=np.array([r["out"] for r in reqs], np.int32),
        slo_ttft_s=dict(slo or dict.fromkeys(tenants, 2.0)),
        deadlines=dict(deadlines or {}), background_tenants=background)
    log = RequestLog(n, wl.arrival_s, want=wl.output_tokens)
    for i, r in enumerate(reqs):
        tier = TIER[r.get("tier", "dedicated")]
        if "done" in r:
            admit, first, finish = r["done"]
            log.complete(SimpleNamespace(id=i, t_admit=admit, t_first=first, t_done=finish,
                                         replica=0, attempts=r.get("attempts", 0), gen=r["out"],
                                         cached=r.get("cached", 0), preempts=0, preempt_s=0.0),
                         tier)
        elif "failed" in r:  # when it failed: "end", else the run's end if unfinished
            # then, else at its arrival
            end = r.get("end", period if r["failed"] == "unfinished_at_end" else r["arrival"])
            log.fail(i, r["failed"], tier, end)
            log.put("attempts", i, r.get("attempts", 0))
        elif "end" in r:  # turned away later than its arrival (a bounded wait run out)
            log.reject(i, "timeout_queued", tier, r["end"])
        else:
            log.reject(i, "queue_full", tier)
        if "cold" in r:
            log.cold(i, r["cold"], "hbm")
    log.flush()
    run = SetupRun(setup=setup, log=log, ledger=list(ledger), period_s=period, extra={},
                   t_end=t_end if t_end is not None else period, background=bg_run)
    return wl, run


def row(df, tenant):
    return df[df["tenant"] == tenant].iloc[0]


# ---- one pool, two tenants, one 2-GPU replica and one short per-second burst --------------
# $3/GPU-hour for 100 s on 2 GPUs = $0.1666..; a 10 s up gpu_second row with a 30 s minimum
# at $3.6/GPU-hour bills 30 s = $0.03. The pool's $0.19666.. splits by completed output
# tokens: a 11 + 1 = 12, b 31.
POOL = 100 * 2 * 3 / 3600 + 30 * 3.6 / 3600
REQS_A = [
    dict(tenant="a", arrival=0.0, **{"in": 100}, out=11, done=(0.0, 1.0, 6.0), attempts=1),
    dict(tenant="b", arrival=10.0, **{"in": 300}, out=31, done=(10.5, 13.0, 28.0), cached=100,
         cold=0.7),
    dict(tenant="a", arrival=20.0, **{"in": 77}, out=5),  # rejected
    dict(tenant="a", arrival=30.0, **{"in": 50}, out=1, done=(30.0, 32.0, 32.0)),  # one token
    dict(tenant="b", arrival=40.0, **{"in": 10}, out=10, failed="replica_failure", attempts=2),
]
LEDGER_A = [
    UsageRow("m", "H100", 2, "dedicated", 0.0, 100.0, busy_s=40.0, billing="gpu_hour",
             usd_per_gpu_hour=3.0, loading_s=5.0, down_s=10.0),
    UsageRow("m", "H100", 1, "dedicated", 50.0, 60.0, busy_s=4.0, billing="gpu_second",
             usd_per_gpu_hour=3.6, min_increment_s=30.0),
]


@pytest.fixture(scope="module")
def small():
    wl, run = build(["a", "b"], REQS_A, LEDGER_A)
    return wl, run, summarize(wl, run, {})


def test_gpu_bill_splits_by_output_tokens_and_counts_the_minimum_increment(small):
    _, _, s = small
    a, b, tot = row(s, "a"), row(s, "b"), row(s, "__all__")
    assert tot["cost_usd"] == pytest.approx(POOL, rel=1e-12)
    assert a["cost_usd"] == pytest.approx(POOL * 12 / 43, rel=1e-12)
    assert b["cost_usd"] == pytest.approx(POOL * 31 / 43, rel=1e-12)
    # GPU-seconds: 200 up on the replica + 30 billed on the burst (10 up, padded to 30)
    assert tot["gpu_hours"] == pytest.approx(230 / 3600, rel=1e-12)
    assert tot["busy_gpu_hours"] == pytest.approx((80 + 4) / 3600, rel=1e-12)
    assert tot["down_gpu_hours"] == pytest.approx(20 / 3600, rel=1e-12)
    assert tot["idle_gpu_hours"] == pytest.approx((100 + 26) / 3600, rel=1e-12)
    assert tot["loading_gpu_hours"] == pytest.approx(10 / 3600, rel=1e-12)
    # busy over up GPU-seconds, both counted per GPU, the replica's 20 s down not up time:
    # (80 + 4) / (200 - 20 + 10) (until December 2026 over 200 + 10, down time read as idle)
    assert tot["busy_fraction"] == pytest.approx(84 / 190, rel=1e-12)
    assert a["busy_fraction"] == pytest.approx(84 / 190, rel=1e-12)


def test_unit_costs_and_monthly_figures_by_hand(small):
    _, _, s = small
    a = row(s, "a")
    cost = POOL * 12 / 43
    assert (a["requests"], a["completed"], a["rejected"], a["failed"]) == (3, 2, 1, 0)
    assert (a["input_tokens"], a["output_tokens"]) == (150, 12)  # the rejected one's left out
    assert a["cost_per_mtok_out_usd"] == pytest.approx(cost / 12 * 1e6, rel=1e-12)
    assert a["cost_per_1k_requests_usd"] == pytest.approx(cost / 2 * 1e3, rel=1e-12)
    assert a["cost_per_mtok_total_usd"] == pytest.approx(cost / 162 * 1e6, rel=1e-12)
    assert a["throughput_tok_s"] == pytest.approx(12 / 100, rel=1e-12)
    assert a["monthly_cost_usd"] == pytest.approx(cost * MONTH_S / 100, rel=1e-12)
    assert a["monthly_requests"] == pytest.approx(3 * MONTH_S / 100, rel=1e-12)
    assert a["monthly_output_tokens"] == pytest.approx(12 * MONTH_S / 100, rel=1e-12)


def test_latency_percentiles_and_slo_by_hand(small):
    _, _, s = small
    a, b, tot = row(s, "a"), row(s, "b"), row(s, "__all__")
    # a's TTFTs 1 and 2 s (linear interpolation between them)
    assert (a["ttft_p50_s"], a["ttft_p90_s"], a["ttft_p99_s"]) == pytest.approx((1.5, 1.9, 1.99))
    assert a["ttft_mean_s"] == pytest.approx(1.5)
    # TPOT: (6 - 1) / (11 - 1) = 0.5; the one-token request has none
    assert a["tpot_p50_s"] == pytest.approx(0.5) and a["tpot_p99_s"] == pytest.approx(0.5)
    assert (a["e2e_p50_s"], a["e2e_p99_s"]) == pytest.approx((4.0, 5.96))  # E2E 6 and 2 s
    # SLO 2 s: both completions meet it (2 s exactly counts), the rejection does not
    assert a["slo_attainment"] == pytest.approx(2 / 3)
    assert b["slo_attainment"] == 0.0  # TTFT 3 s, and a failure
    assert tot["slo_attainment"] == pytest.approx(2 / 5)
    # retries: a's interrupted try that then completed; b's two tries, the last of which failed
    assert a["retries"] == 1 and b["retries"] == 1
    assert b["cold_starts"] == 1 and b["cold_start_wait_p99_s"] == pytest.approx(0.7)
    assert b["cache_hit_rate"] == pytest.approx(100 / 300)


def test_warmup_window_splits_at_the_boundary_and_uses_the_window_length(small):
    wl, run, s = small
    w = apply_window(wl, run, s, 10.0, "none")
    mb, wb = row(w, "b"), row(w, "b@warmup")
    # b's request arriving at exactly 10 s is measured, not warm-up
    assert (mb["requests"], wb["requests"]) == (2, 0)
    ma = row(w, "a")
    assert (ma["requests"], row(w, "a@warmup")["requests"]) == (2, 1)
    assert ma["throughput_tok_s"] == pytest.approx(1 / 90)  # one token over 100 - 10 s
    assert row(w, "a@warmup")["throughput_tok_s"] == pytest.approx(11 / 10)


# ---- per-token prices, prefix-cache discount, batch discount and deadlines -----------------

def per_token(prices, factor=0.5):
    reqs = [
        dict(tenant="chat", arrival=0.0, **{"in": 1000}, out=200, done=(0.0, 0.5, 10.0),
             cached=400, tier="serverless"),
        dict(tenant="bulk", arrival=0.0, **{"in": 2000}, out=100, done=(0.0, 1.0, 60.0),
             tier="serverless"),  # finishes at its deadline exactly: met
        dict(tenant="bulk", arrival=50.0, **{"in": 10}, out=10, failed="unfinished_at_end",
             tier="serverless"),  # its deadline (110 s) is after the run's end: undecided
        dict(tenant="bulk", arrival=5.0, **{"in": 10}, out=10, failed="unfinished_at_end",
             tier="serverless"),  # its deadline (65 s) passed before the run's end: missed
    ]
    ledger = [UsageRow("m", "H100", 1, "serverless", 0.0, 70.0, busy_s=20.0, billing="per_token",
                       usd_per_gpu_hour=0.0, batch_price_factor=factor)]
    wl, run = build(["chat", "bulk"], reqs, ledger, horizon=60.0, period=70.0, t_end=70.0,
                    slo={"chat": 1.0, "bulk": 0.1}, deadlines={"bulk": 60.0}, setup="serverless")
    return summarize(wl, run, prices)


def test_per_token_bill_by_hand():
    s = per_token({"m": (2.0, 10.0, 0.5)})
    # chat: 600 uncached x $2 + 400 cached x $0.5 + 200 out x $10, per million
    assert row(s, "chat")["cost_usd"] == pytest.approx((1200 + 200 + 2000) / 1e6, rel=1e-12)
    # bulk (batch tier): 2000 x $2 + 100 x $10, times the batch factor 0.5
    assert row(s, "bulk")["cost_usd"] == pytest.approx((4000 + 1000) / 1e6 * 0.5, rel=1e-12)
    assert row(s, "chat")["token_cost_usd"] == pytest.approx(3400 / 1e6, rel=1e-12)
    assert row(s, "chat")["cost_serverless_usd"] == pytest.approx(3400 / 1e6, rel=1e-12)


def test_a_missing_cached_price_charges_the_input_price():
    s = per_token({"m": (2.0, 10.0)})
    assert row(s, "chat")["cost_usd"] == pytest.approx((1000 * 2 + 2000) / 1e6, rel=1e-12)


def test_deadline_attainment_by_hand():
    s = per_token({"m": (2.0, 10.0, 0.5)})
    bulk, tot = row(s, "bulk"), row(s, "__all__")
    # one met (finished at its deadline), one missed (still unfinished at the run's end, 70 s,
    # past its deadline), one undecided (the run ended before its deadline)
    assert bulk["deadline_missed"] == 1 and bulk["slo_attainment"] == 0.5
    assert bulk["failed"] == 2
    # the aggregate's attainment is over interactive requests only: chat's, TTFT 0.5 <= 1 s
    assert tot["slo_attainment"] == 1.0


# ---- billing periods: a tenant that drains past the horizon pays for the time after it ----

@pytest.mark.parametrize("drain", ["finished", "unfinished"])
def test_gpu_time_after_a_tenants_period_goes_to_the_tenant_still_draining(drain):
    # a's period ends at the horizon (100 s); b's runs to the end (150 s): its last request
    # finishes then, or is still unfinished when the run stops. $3.6/GPU-hour = $0.001/s.
    late = (dict(tenant="b", arrival=90.0, **{"in": 5}, out=20, done=(90.0, 95.0, 150.0))
            if drain == "finished" else
            dict(tenant="b", arrival=90.0, **{"in": 5}, out=20, failed="unfinished_at_end"))
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 100}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="b", arrival=1.0, **{"in": 100}, out=30, done=(1.0, 2.0, 20.0)),
            late]
    ledger = [UsageRow("m", "H100", 1, "dedicated", 0.0, 150.0, busy_s=60.0, billing="gpu_hour",
                       usd_per_gpu_hour=3.6, loading_s=15.0, down_s=30.0),
              # up 10 s after a's period, padded to a 60 s minimum: all b's
              UsageRow("m", "H100", 1, "dedicated", 110.0, 120.0, busy_s=6.0,
                       billing="gpu_second", usd_per_gpu_hour=3.6, min_increment_s=60.0)]
    wl, run = build(["a", "b"], reqs, ledger, period=150.0)
    s = summarize(wl, run, {})
    a, b = row(s, "a"), row(s, "b")
    assert a["period_s"] == 100.0 and b["period_s"] == 150.0
    # [0, 100): 100 s split by completed output tokens, a 10 : b 30 (+ 20 if the late one
    # completed); [100, 150) and the second row are all b's
    wa = 10 / 60 if drain == "finished" else 10 / 40
    assert a["cost_usd"] == pytest.approx(100 * 0.001 * wa, rel=1e-12)
    assert b["cost_usd"] == pytest.approx(0.21 - 100 * 0.001 * wa, rel=1e-12)
    # a's share of [0, 100): the row's busy, down and loading spread over its 150 s up
    assert a["gpu_hours"] == pytest.approx(100 * wa / 3600, rel=1e-12)
    assert a["busy_gpu_hours"] == pytest.approx(60 * 100 / 150 * wa / 3600, rel=1e-12)
    assert a["down_gpu_hours"] == pytest.approx(30 * 100 / 150 * wa / 3600, rel=1e-12)
    assert a["idle_gpu_hours"] == pytest.approx((100 - 40 - 20) * wa / 3600, rel=1e-12)
    assert a["loading_gpu_hours"] == pytest.approx(15 * 100 / 150 * wa / 3600, rel=1e-12)
    # b: the rest of the first row's [0, 100) busy, all of [100, 150), all 6 s of the second
    assert b["busy_gpu_hours"] == pytest.approx((40 * (1 - wa) + 20 + 6) / 3600, rel=1e-12)
    assert b["monthly_cost_usd"] == pytest.approx(b["cost_usd"] * MONTH_S / 150, rel=1e-12)


def test_a_prefill_only_pool_splits_by_prompt_tokens():
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 100}, out=0, done=(0.0, 1.0, 1.0)),
            dict(tenant="b", arrival=1.0, **{"in": 300}, out=0, done=(1.0, 2.0, 2.0))]
    ledger = [UsageRow("m", "H100", 1, "dedicated", 0.0, 100.0, busy_s=2.0, billing="gpu_hour",
                       usd_per_gpu_hour=3.6)]
    wl, run = build(["a", "b"], reqs, ledger)
    s = summarize(wl, run, {})
    assert row(s, "a")["cost_usd"] == pytest.approx(0.1 * 100 / 400, rel=1e-12)
    assert row(s, "b")["cost_usd"] == pytest.approx(0.1 * 300 / 400, rel=1e-12)


def test_a_background_tenant_pays_its_share_of_a_shared_pool_and_not_the_users_row():
    reqs = [dict(tenant="u", arrival=0.0, **{"in": 10}, out=10, done=(0.0, 1.0, 2.0),
                 tier="serverless"),
            dict(tenant="bg", arrival=0.0, **{"in": 10}, out=30, done=(0.0, 1.0, 4.0),
                 tier="serverless")]
    ledger = [UsageRow("m", "H100", 1, "serverless", 0.0, 100.0, busy_s=4.0,
                       billing="gpu_second", usd_per_gpu_hour=3.6)]
    wl, run = build(["u", "bg"], reqs, ledger, background=1, bg_run=True, setup="serverless")
    costs = attribute_cost(wl, run, {})
    assert costs.tenant("bg", ["m"])["cost_usd"] == pytest.approx(0.1 * 0.75, rel=1e-12)
    s = summarize(wl, run, {}, costs)
    assert row(s, "__all__")["cost_usd"] == pytest.approx(0.1 * 0.25, rel=1e-12)
    assert row(s, "__background__")["cost_usd"] == pytest.approx(0.1 * 0.75, rel=1e-12)


# ---- load figures -------------------------------------------------------------------------

def test_load_figures_by_hand():
    # one replica up 100 s, busy 40 s: 0.5 s of it at 50 % occupancy, the rest empty;
    # 2 requests served (200 prompt, 50 output tokens: a mix of 100 in, 25 out)
    kv = KvStats(occupancy_s=0.25, served=2, served_in=200, served_out=50,
                 bytes_per_gpu=3e12, peak_bandwidth=1e12)
    kv.occupancy_hist[50] = 0.5
    kv.occupancy_hist[0] = 39.5
    # flat out on a mix of (in, out) tokens: 100 x out / (in + out) tok/s (a stand-in model)
    perf = SimpleNamespace(saturated_tok_s=lambda i, o, max_seqs: 100.0 * o / (i + o))
    kv.saturation = (perf, 8)
    r = UsageRow("m", "H100", 1, "dedicated", 0.0, 100.0, busy_s=40.0, billing="gpu_hour",
                 usd_per_gpu_hour=1.0, kv=kv)
    got = load([r])
    assert got["capacity_fraction"] == pytest.approx(50 / (20.0 * 100), rel=1e-12)
    assert got["kv_occupancy_mean"] == pytest.approx(0.25 / 100, rel=1e-12)
    assert got["kv_occupancy_p99"] == 0.0  # 99.5 of the 100 s up held nothing
    assert got["bandwidth_fraction"] == pytest.approx(3e12 / (1e12 * 100), rel=1e-12)


# ---- invariants: corruptions the existing corruption tests do not make --------------------

def _corrupt(how):
    wl, run = build(["a", "b"], REQS_A, LEDGER_A)
    how(wl, run)
    return violations(wl, run, attribute_cost(wl, run, {}), summarize(wl, run, {}))


def test_the_small_run_is_clean():
    assert _corrupt(lambda wl, run: None) == []


@pytest.mark.parametrize("how, match", [
    (lambda wl, run: run.log.first_s.__setitem__(1, 10.2), "first token before admission"),
    (lambda wl, run: run.log.reason.__setitem__(4, 0), "carry no reason"),
    (lambda wl, run: run.log._set("cached", np.array([3]), np.array([50])), "prompt cached"),
])
def test_each_check_fires(how, match):
    found = _corrupt(how)
    assert any(match in v for v in found), found


def test_the_gpu_cost_must_match_the_ledger_to_rounding():
    wl, run = build(["a", "b"], REQS_A, LEDGER_A)
    costs = attribute_cost(wl, run, {})
    run.ledger[0].usd_per_gpu_hour *= 1.001  # the ledger now bills 0.08 % more than was split
    found = violations(wl, run, costs)
    assert any("differs from the ledger's" in v for v in found), found


def test_a_failed_count_off_by_one_is_caught_even_when_the_rows_add_up():
    wl, run = build(["a", "b"], REQS_A, LEDGER_A)
    s = summarize(wl, run, {})
    for t, extra in (("b", 1), ("__all__", 1)):  # one failure too many, requests to match
        i = s.index[s["tenant"] == t][0]
        s.loc[i, "failed"] += extra
        s.loc[i, "requests"] += extra
    found = violations(wl, run, summary=s)
    assert any("failed 2, the log has 1" in v for v in found), found
