"""A warm-started pool is one that has been serving (README "Warm starts and warm-up
windows"): the autoscaler's windows hold the warm start's concurrency before t=0, so its
first ticks do not scale in what the warm start sized, and nothing is reloaded."""

from __future__ import annotations

import math

import pytest
from helpers.queueing import write_table

import sim
from sim.platform.serverless.autoscaler import Autoscaler

M8 = "llama31-8b"
GAP, N, OUT, STEP = 6.0, 10, 1000, 0.01  # a request every 6 s, 1000 steps of 10 ms each
TICK, W = 2.0, 60.0


def test_seeded_windows_average_the_history_before_zero():
    # one request in flight over (0, 2]; 5/3 in flight before 0: the 60 s window reads
    # (2 * 1 + 58 * 5/3) / 60 = 1.644, two replicas; the 6 s panic one (2 + 4 * 5/3) / 6 = 1.44
    a = Autoscaler(1.0, W, 6.0, bucket_s=1.0)
    a.seed(5 / 3)
    a.observe(0.0, 1)
    assert a.decide(2.0, 2) == 2
    assert a.signal.average(2.0, W) == pytest.approx((2 + 58 * 5 / 3) / 60)
    assert a.signal.average(2.0, 6.0) == pytest.approx((2 + 4 * 5 / 3) / 6)
    # past the window the history is out of it: the plain average
    assert a.signal.average(70.0, W) == pytest.approx(1.0)
    b = Autoscaler(1.0, W, 6.0, bucket_s=1.0)  # unseeded (a cold pool): over (0, 2] only
    b.observe(0.0, 1)
    assert b.decide(2.0, 2) == 1
    # idle since t=0 with a history: not scaled to zero while the history is in the window
    c = Autoscaler(1.0, W, 6.0, bucket_s=1.0)
    c.seed(5 / 3)
    assert c.decide(2.0, 2) == math.ceil(58 * 5 / 3 / 60)
    with pytest.raises(ValueError):
        c.seed(1.0)  # after the run started


def _hand_first_scale_in() -> float:
    """The first autoscaler tick whose 60 s average, with L = N / W * s in flight before
    t=0, asks for fewer than the warm start's replicas. Request k runs [6k, 6k + 10] (each
    alone on a replica or batched, every step takes 10 ms), so the concurrency is exact."""
    s = OUT * STEP
    L = N / W * s
    n = math.ceil(L - 1e-9)

    def integral(lo, hi):  # of the concurrency over (lo, hi], lo >= 0
        return sum(max(0.0, min(hi, k * GAP + s) - max(lo, k * GAP)) for k in range(N))

    t = TICK
    while t < 300:
        lo = t - W
        avg = (integral(max(lo, 0.0), t) + L * max(-lo, 0.0)) / W
        if math.ceil(avg - 1e-9) < n:
            return t
        t += TICK
    raise AssertionError("no scale-in")


def test_warm_pool_keeps_its_replicas_until_the_window_says_otherwise(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n"
                     + "".join(f"{k * GAP},1,{OUT}\n" for k in range(N)))
    table = write_table(tmp_path / "const.csv", lambda n_, p_: STEP)

    def run(start):
        return sim.run([
            "setups=[serverless]", "horizon_s=120", "output.plots=false", f"serverless.start={start}",
            "serverless.billing=gpu_second", "serverless.autoscaler.target_concurrency=1",
            "tenants={chat: {model: " + M8 + ", arrival: {kind: trace, trace: {path: " + str(trace)
            + ", format: csv}}, input: {kind: trace}, output: {kind: trace}, slo_ttft_s: 1}}",
            f"deployments.{M8}.perf.kind=table", f"deployments.{M8}.perf.table_path={table}",
            f"deployments.{M8}.perf.kv_capacity_tokens=1000000"])

    res = run("warm")
    ev = res.tables["events"]
    # L = 10 / 60 * 10 s = 5/3 in flight: two replicas at t=0
    assert set(ev.kind) == {"scale_in"}, ev  # no scale-up, no reload (was one at t=2 and 8)
    first = _hand_first_scale_in()
    assert first == 86.0  # (100 - 40) / 60 = 1.0 in flight over (26, 86]
    # one replica removed, when the hand's window says so (or one tick later: a request that
    # joins a running batch waits up to one 10 ms step, which can tip the exact 1.0)
    assert len(ev) == 1 and ev.t_s.iloc[0] in (first, first + TICK)
    assert (res.requests.cold_start_wait_s == 0).all()
