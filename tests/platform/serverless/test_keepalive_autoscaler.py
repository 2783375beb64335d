"""Keep-alive and the autoscaler do not fight (README "Serverless setup", Keep-alive): while
requests are in flight, scaling down is the autoscaler's decision, so an idle replica outlives
its keep-alive while the autoscaler's count is at least the replicas up. Until December 2026
keep-alive stopped it and the same tick's scale-up loaded another, which idled out in turn:
replicas loaded, billed and never served."""

from __future__ import annotations

import math

import pytest
from helpers.queueing import write_table

import sim

M8 = "llama31-8b"
GAP, N, OUT, STEP = 10.0, 30, 1100, 0.01  # a request every 10 s, 1100 steps of 10 ms: 11 s each
TICK, W, TARGET, IDLE = 2.0, 60.0, 0.5, 30.0


def _run(tmp_path, start, engine, n=N, idle=IDLE):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n"
                     + "".join(f"{k * GAP},1,{OUT}\n" for k in range(n)))
    table = write_table(tmp_path / "const.csv", lambda n_, p_: STEP)
    return sim.run([
        f"engine={engine}", "setups=[serverless]", "horizon_s=300", "drain_s=300",
        "output.plots=false", f"serverless.start={start}", "serverless.billing=gpu_second",
        f"serverless.autoscaler.target_concurrency={TARGET}",
        f"serverless.keepalive.idle_s={idle}",
        "tenants={chat: {model: " + M8 + ", arrival: {kind: trace, trace: {path: " + str(trace)
        + ", format: csv}}, input: {kind: trace}, output: {kind: trace}, slo_ttft_s: 1}}",
        f"deployments.{M8}.perf.kind=table", f"deployments.{M8}.perf.table_path={table}",
        f"deployments.{M8}.perf.kv_capacity_tokens=1000000"], output_dir=tmp_path / "out")


def _hand_counts(n=N) -> tuple[int, list[int]]:
    """The warm start's replicas and the autoscaler's count at every tick while requests are
    in flight, by hand. Request k runs [10k, 10k + 11] (every step 10 ms, batched or not), so
    the concurrency is 1, or 2 over the second after each arrival; the warm start holds
    L = 6 / 60 x 11 s = 1.1 in flight before t=0 (Little's law over the first window)."""
    s = OUT * STEP
    L = sum(1 for k in range(n) if k * GAP < W) / W * s
    warm = math.ceil(L / TARGET - 1e-9)

    def integral(lo, hi):  # of the concurrency over (lo, hi], lo >= 0
        return sum(max(0.0, min(hi, k * GAP + s) - max(lo, k * GAP)) for k in range(n))

    counts = []
    t = TICK
    while t < (n - 1) * GAP + s:
        lo = t - W
        avg = (integral(max(lo, 0.0), t) + L * max(-lo, 0.0)) / W
        counts.append(math.ceil(avg / TARGET - 1e-9))
        t += TICK
    return warm, counts


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_warm_pool_keeps_the_replicas_the_autoscaler_wants(tmp_path, engine):
    warm, counts = _hand_counts()
    assert warm == 3 and set(counts) == {3}  # 1.1 / 0.5 -> 3 from t=0 to the last request's end
    res = _run(tmp_path, "warm", engine)
    # the third replica idles from t=0, past its 30 s keep-alive, but the autoscaler wants it:
    # no keep-alive stop, no reload (no event: events.csv is not written)
    assert "events" not in res.tables.data, res.tables["events"]
    rep = res.tables["replicas"]
    assert len(rep) == warm and (rep.start_s == 0).all() and (rep.loading_s == 0).all()


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_no_replica_is_loaded_again_right_after_keepalive_stopped_one(tmp_path, engine):
    # from a cold pool (whose first load queues requests and so over-sizes the pool at once):
    # a keep-alive stop while requests are in flight never meets a scale-up within one tick
    res = _run(tmp_path, "cold", engine)
    ev = res.tables["events"]
    stops = ev.t_s[ev.kind == "keepalive_stop"].tolist()
    ups = ev.t_s[ev.kind == "scale_up"].tolist()
    assert not [(a, b) for a in stops for b in ups if a <= b <= a + TICK], ev
    rep = res.tables["replicas"]
    # every replica up at the end (the run ends with the last request) was loaded once
    assert len(rep) == len(ups)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_wanted_idle_replica_stops_at_a_check_timed_from_its_own_expiry(tmp_path, engine):
    """The exact stop times (README "Serverless setup", Autoscaler). Ten requests, 0 s to 90 s:
    the warm start's 3 replicas, the autoscaler's count 3 at every tick while they run, none in
    flight from the last one's end at 90 + 11 = 101 s. The third replica, idle from t=0, meets
    its 30.3 s keep-alive at 30.3 s while the autoscaler wants it, so it is checked again every
    2 s tick from there (32.3, 34.3, ...), not on the autoscaler's tick grid (2, 4, ...): it
    stops at the first check from 101 s, 30.3 + 36 x 2 = 102.3 s (not 102). The other two
    last served until 91 s and 101 s (requests 8 and 9) and stop at their expiry, 30.3 s later,
    with none in flight then."""
    n, idle = 10, 30.3
    warm, counts = _hand_counts(n)
    assert warm == 3 and set(counts) == {3}
    end = (n - 1) * GAP + OUT * STEP
    first = idle + math.ceil((end - idle) / TICK) * TICK
    res = _run(tmp_path, "warm", engine, n, idle)
    ev = res.tables["events"]
    assert set(ev.kind) == {"keepalive_stop"}, ev
    assert sorted(ev.t_s) == pytest.approx([first, end - GAP + idle, end + idle], abs=1e-9)
    assert first == pytest.approx(102.3)
