"""serverless.start: warm. The pool starts with each model's replicas for its first stable
window (sim/platform/serverless/sizing.py), warm and billed from t=0."""

import math

import numpy as np
import pytest
from helpers.serverless import Harness
from helpers.timing import decode, prefill

import sim
from sim.config import compose
from sim.simulation.simulate import simulate_setups

STEADY = [
    "setups=[serverless]", "horizon_s=300", "~tenants.chat", "drain_s=600", "output.parquet=true",
    "output.report=false", "output.plots=false",
    "tenants={steady: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 0.5},"
    " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}, slo_ttft_s: 1.0}}",
    "serverless.billing=gpu_second", "serverless.keepalive.idle_s=inf",
]


def _runs(extra):
    wl, runs, _ = simulate_setups(compose(STEADY + extra))
    return wl, runs[0]


def test_warm_steady_tenant_first_request_is_not_cold_and_one_replica_at_t0():
    wl, run = _runs(["serverless.start=warm"])
    # 0.5 req/s of short requests is far below one replica's target of 32 in flight: one
    assert run.extra["warm_start"] == {"llama31-8b": 1}
    first = int(np.nanargmin(wl.arrival_s))
    assert run.log.cold_wait_s[first] == 0.0
    assert (run.log.cold_wait_s == 0).all()  # it stays warm (idle_s = inf)
    rows = [r for r in run.ledger if r.tier == "serverless"]
    assert [r.start_s for r in rows] == [0.0]  # billed from t=0
    cold = _runs([])[1]
    assert cold.extra["warm_start"] == {}
    assert cold.log.cold_wait_s[first] > 20.0  # a cold pool: the first request waits a load


def test_warm_replica_count_is_littles_law_over_the_first_window():
    """Hand check of the rule: A arrivals in [0, 60), each alone on a replica takes s (measured
    on a dedicated replica by the engine, not by the sizing code); L = A / 60 * s in flight;
    replicas = ceil(L / target)."""
    target = 0.01
    wl, run = _runs(["serverless.start=warm", f"serverless.autoscaler.target_concurrency={target}",
                     "serverless.autoscaler.max_replicas=50", "serverless.pool.H100.nodes=8"])
    a = int(np.count_nonzero(wl.arrival_s < 60.0))
    perf = Harness(compose(STEADY), ["llama31-8b"]).perf("llama31-8b")
    s = prefill(perf, 200) + decode(perf, 200, 20)
    want = a / 60.0 * s / target
    assert abs(want - round(want)) > 0.05, "too close to an integer for a robust check"
    assert run.extra["warm_start"] == {"llama31-8b": math.ceil(want)}
    first = int(np.nanargmin(wl.arrival_s))
    assert run.log.cold_wait_s[first] == 0.0


def test_a_run_shorter_than_the_window_is_sized_over_its_own_length():
    """horizon_s 20 s under the 60 s stable window: the rate is A / 20, not A / 60 (which
    sized for a third of it; the panic window then loaded the rest mid-run)."""
    target, h = 0.01, 20.0
    wl, run = _runs(["serverless.start=warm", f"serverless.autoscaler.target_concurrency={target}",
                     "serverless.autoscaler.max_replicas=50", "serverless.pool.H100.nodes=8",
                     f"horizon_s={h}"])
    a = int(np.count_nonzero(wl.arrival_s < h))
    perf = Harness(compose(STEADY), ["llama31-8b"]).perf("llama31-8b")
    want = a / h * (prefill(perf, 200) + decode(perf, 200, 20)) / target
    assert abs(want - round(want)) > 0.05, "too close to an integer for a robust check"
    assert math.ceil(want) > math.ceil(want * h / 60.0)  # the two rules differ here
    assert run.extra["warm_start"] == {"llama31-8b": math.ceil(want)}


def test_a_run_shorter_than_its_requests_starts_no_more_replicas_than_requests():
    """Little's law over a 3 s run of requests that take longer than that asks for more in
    flight than there are requests; the window's requests bound it (8 replicas for 5
    requests, three billed for nothing, until December 2026)."""
    wl, run = _runs(["serverless.start=warm", "serverless.autoscaler.target_concurrency=1",
                     "serverless.autoscaler.max_replicas=50", "serverless.pool.H100.nodes=8",
                     "horizon_s=3", "tenants.steady.arrival.rate_rps=2",
                     "tenants.steady.output.mean=2000", "seed=1"])
    a = int(np.count_nonzero(wl.arrival_s < 3.0))
    perf = Harness(compose(STEADY), ["llama31-8b"]).perf("llama31-8b")
    assert a / 3.0 * (prefill(perf, 200) + decode(perf, 200, 2000)) > a + 1  # the bound binds
    assert run.extra["warm_start"] == {"llama31-8b": a}


def test_warm_start_in_the_hybrid_sizes_only_pool_traffic():
    base = [o for o in STEADY if not o.startswith("tenants=")] + [
        "setups=[hybrid]", "deployments={qwen3-32b: {gpu: H100, precision: fp8, tp: 1}}",
        "tenants={steady: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 0.5},"
        " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}, slo_ttft_s: 1.0},"
        " big: {model: qwen3-32b, arrival: {kind: poisson, rate_rps: 0.5},"
        " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}}}",
        "hybrid.placement.llama31-8b=dedicated", "hybrid.placement.qwen3-32b=serverless",
        "dedicated.replicas.llama31-8b=1", "serverless.start=warm"]
    wl, runs, _ = simulate_setups(compose(base))
    run = runs[0]
    # the pool also holds the 8B (spillover target) but its traffic is placed dedicated: none
    assert run.extra["warm_start"] == {"llama31-8b": 0, "qwen3-32b": 1}
    big = wl.tenant == wl.tenants.index("big")
    assert (run.log.cold_wait_s[big] == 0).all()


@pytest.mark.parametrize("fraction", [1.0, 0.5])
def test_warm_start_in_the_hybrid_sizes_the_shadow_share(fraction):
    """Mirrored copies (hybrid.shadow_fraction) are pool traffic too: the dedicated 8B's
    first-window load times the fraction, sized by the rule's hand computation (until December
    2026 a warm start left the shadow copies' model cold)."""
    target = 0.01
    base = [o for o in STEADY if not o.startswith("setups=")] + [
        "setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated", "dedicated.replicas.llama31-8b=1",
        "hybrid.spillover.enabled=false", f"hybrid.shadow_fraction={fraction}",
        "serverless.start=warm", f"serverless.autoscaler.target_concurrency={target}",
        "serverless.autoscaler.max_replicas=50", "serverless.pool.H100.nodes=8"]
    wl, runs, _ = simulate_setups(compose(base))
    a = int(np.count_nonzero(wl.arrival_s < 60.0))
    perf = Harness(compose(STEADY), ["llama31-8b"]).perf("llama31-8b")
    want = fraction * a / 60.0 * (prefill(perf, 200) + decode(perf, 200, 20)) / target
    assert abs(want - round(want)) > 0.05, "too close to an integer for a robust check"
    assert runs[0].extra["warm_start"] == {"llama31-8b": math.ceil(want)}
    shadows = runs[0].extra["shadows"]  # [id, tenant, arrival, first, done, outcome, cold wait]
    assert shadows and all(r[6] == 0.0 for r in shadows)  # every copy found a warm replica


def test_warmup_window_excludes_exactly_the_early_arrivals():
    w = 100.0
    res = sim.run(STEADY + [f"metrics.warmup_s={w}"])
    s, req = res.summary, res.requests
    early = int((req.arrival_s < w).sum())
    assert 0 < early < len(req)
    rows = s.set_index(["tenant", "window"])
    assert set(s.window) == {"measured", "warmup"}
    assert rows.loc[("__all__@warmup", "warmup"), "requests"] == early
    assert rows.loc[("__all__", "measured"), "requests"] == len(req) - early
    assert rows.loc[("steady@warmup", "warmup"), "requests"] == early
    late = req[(req.arrival_s >= w) & (req.outcome == "completed")]
    assert rows.loc[("steady", "measured"), "ttft_p99_s"] == pytest.approx(
        np.percentile(late.ttft_s, 99), rel=1e-9)
    # the cold start falls in the warm-up: the measured rows have none
    assert rows.loc[("steady@warmup", "warmup"), "cold_starts"] >= 1
    assert rows.loc[("steady", "measured"), "cold_starts"] == 0
    assert (s.warmup_s == w).all() and (s.start == "cold").all()
    # the bill is the run's in both windows
    assert rows.loc[("__all__@warmup", "warmup"), "cost_usd"] == rows.loc[("__all__", "measured"), "cost_usd"]
    whole = sim.run(STEADY).summary
    assert set(whole.window) == {"all"} and (whole.warmup_s == 0).all()
    assert whole.set_index("tenant").loc["__all__", "requests"] == len(req)


def test_warmup_at_or_past_the_horizon_is_refused():
    with pytest.raises(sim.errors.InputError, match="metrics.warmup_s"):
        sim.run(STEADY + ["metrics.warmup_s=300"])


@pytest.mark.parametrize("max_nodes, horizon, later", [(1, 30, 0), (2, 30, 0), (2, 160, 1)])
def test_a_warm_start_the_pool_cannot_hold_is_said_not_dropped(max_nodes, horizon, later):
    """A tenant needing several replicas at t=0 on a pool with room for one: one is placed,
    and the run's notes say how many were wanted (nothing is dropped silently) and how many
    loaded later: none on a pool that stays one GPU (the one placed holds it under a steady
    load; until December 2026 the note said "the rest start cold" of replicas that never
    did), one once a second one-GPU node can be provisioned (serverless.pool.H100.max_nodes)
    and the run lasts past its load: a node provisioned at 120 s, its replica started at 122 s
    and loading for its whole life when a 30 s horizon's run stops at about 147 s, is not
    loaded (until December 2026 "1 loaded later in the run" of it)."""
    from sim.metrics.overload_notes import stability_notes

    busy = [o.replace("rate_rps: 0.5", "rate_rps: 200").replace("mean: 20}", "mean: 400}")
            for o in STEADY] + ["serverless.start=warm", "serverless.pool.H100.nodes=1",
                                "serverless.pool.H100.gpus_per_node=1", f"horizon_s={horizon}",
                                f"serverless.pool.H100.max_nodes={max_nodes}"]
    cfg = compose(busy)
    wl, runs, _ = simulate_setups(cfg)
    run = runs[0]
    ready, wanted, loaded = run.extra["warm_start_short"]["llama31-8b"]
    assert ready == run.extra["warm_start"]["llama31-8b"] == 1 and wanted > 2
    assert loaded == later
    late = [r for r in run.ledger if r.start_s > 0]  # what each replica started later did
    assert len(late) == max_nodes - 1
    assert all((r.busy_s > 0) == bool(later) for r in late)
    notes = stability_notes(wl, runs, float(cfg.drain_s))
    said = "none loaded later in the run" if later == 0 else f"{later} loaded later in the run"
    assert any(f"llama31-8b 1 of {wanted}, {said} (the rest start cold when the pool has GPUs "
               "free for them" in n for n in notes), notes


def test_a_spill_only_model_that_starts_cold_is_said():
    """A hybrid with serverless.start=warm whose 8B is placed dedicated, spilling to the pool:
    the warm start places no pool replica of it (spillover is not foreseen), and the run's
    notes say its first spilled request starts cold (until December 2026 unsaid, beside a
    summary reading start=warm); with every request mirrored the pool has it warm: no note."""
    from sim.metrics.overload_notes import stability_notes

    base = [o for o in STEADY if not o.startswith("setups=")] + [
        "setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated", "dedicated.replicas.llama31-8b=1",
        "hybrid.spillover.enabled=true", "serverless.start=warm", "horizon_s=60"]
    for shadow, said in ((0.0, True), (1.0, False)):
        cfg = compose(base + [f"hybrid.shadow_fraction={shadow}"])
        wl, runs, _ = simulate_setups(cfg)
        assert (runs[0].extra["warm_start"]["llama31-8b"] == 0) == said
        notes = [n for n in stability_notes(wl, runs, float(cfg.drain_s)) if "spill" in n]
        assert bool(notes) == said, notes
        assert not said or ("llama31-8b" in notes[0] and "serverless.start=warm" in notes[0]
                            and "cold" in notes[0])


def test_closed_loop_clients_count_by_the_interactive_law():
    """c closed-loop clients with think time z keep c * s / (s + z) requests in flight (s:
    their request alone on a replica, timed by the test's own helpers); with a small target
    the pool starts with ceil of that over the target (closed-loop requests have no arrival
    time, so before this they were not counted and the pool started empty)."""
    target, c, z = 0.05, 4, 2.0
    closed = [o for o in STEADY if not o.startswith("tenants=")] + [
        "tenants={loop: {model: llama31-8b, arrival: {kind: closed, concurrency: 4,"
        " requests_per_client: 3, think_s: 2.0}, input: {kind: fixed, mean: 200},"
        " output: {kind: fixed, mean: 20}, slo_ttft_s: 1.0}}",
        "serverless.start=warm", f"serverless.autoscaler.target_concurrency={target}",
        "serverless.autoscaler.max_replicas=200", "serverless.pool.H100.nodes=16"]
    wl, runs, _ = simulate_setups(compose(closed))
    perf = Harness(compose(STEADY), ["llama31-8b"]).perf("llama31-8b")
    s = prefill(perf, 200) + decode(perf, 200, 20)
    zbar = float(wl.think_s.mean())  # the drawn think times' mean (exponential, mean z)
    assert abs(zbar - z) < 1.0
    want = c * s / (s + zbar) / target
    assert abs(want - round(want)) > 0.05, "too close to an integer for a robust check"
    assert runs[0].extra["warm_start"] == {"llama31-8b": math.ceil(want)}
    assert (runs[0].log.cold_wait_s == 0).all()  # the replicas were there at t=0


def test_pipeline_stage_models_start_warm():
    """Stage requests are sent when their predecessors end (no arrival time of their own):
    they count at their pipeline request's arrival, so every stage model called in the first
    window is warm at t=0 and the first pipeline request waits for no cold start."""
    piped = [o for o in STEADY if not o.startswith("tenants=")] + [
        "tenants={rag: {model: llama31-8b, pipeline: p, arrival: {kind: poisson, rate_rps: 0.5},"
        " slo_ttft_s: 2.0}}",
        "pipelines={p: {stages: {embed: {model: bge-large-en, input: {kind: fixed, mean: 48},"
        " output: {kind: fixed, mean: 1}}, answer: {model: llama31-8b, after: [embed],"
        " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}}}}}",
        "serverless.start=warm"]
    wl, runs, _ = simulate_setups(compose(piped))
    run = runs[0]
    assert run.extra["warm_start"] == {"bge-large-en": 1, "llama31-8b": 1}
    stages = np.arange(int(wl.pipelines.first[0]), len(wl))
    assert (run.log.cold_wait_s[stages] == 0).all()
    cold = simulate_setups(compose(piped[:-1]))[1][0]
    assert (cold.log.cold_wait_s[stages] > 0).any()  # the same run cold: stages wait loads
