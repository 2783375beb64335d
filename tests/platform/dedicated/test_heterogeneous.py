"""Heterogeneous fleets: one model on reserved replicas of several GPU classes
(``dedicated.variants``), the least-expected-completion router, and burst variants taken
cheapest per token first and drained dearest first (``dedicated.burst.variants``)."""

import pytest
from helpers.timing import prefill

import sim
from sim.config import compose
from sim.simulation.build import build, build_catalog

ONE = ["setups=[dedicated]", "horizon_s=60", "drain_s=600", "output.plots=false",
       "output.report=false",
       "tenants={chat: {model: llama31-8b, arrival: {kind: closed, concurrency: 1, requests_per_client: 1},"
       " input: {kind: fixed, mean: 2000}, output: {kind: fixed, mean: 1}, slo_ttft_s: 1}}",
       # the reserved L40S first, then an H100 of the same model
       "deployments={llama31-8b: {gpu: L40S, precision: fp8, tp: 1}}",
       "dedicated.replicas={llama31-8b: 1}",
       "dedicated.variants=[{model: llama31-8b, gpu: H100, replicas: 1}]"]


def _perf(cfg, where=None):
    return build(cfg, workload=False).perf_for("llama31-8b", 1.0, where)


def test_lect_sends_a_lone_request_to_the_faster_gpu_jsq_to_the_first():
    """One request in an empty fleet: JSQ takes the first replica (the L40S, a tie on load),
    the least-expected-completion router the H100; its TTFT is that GPU's prefill."""
    for router, gpu in (("jsq", "L40S"), ("lect", "H100")):
        res = sim.run(ONE + [f"dedicated.router={router}"])
        req = res.requests
        assert len(req) == 1
        cfg = compose(ONE)
        perf = _perf(cfg) if gpu == "L40S" else _perf(cfg, ("dedicated.variants", 0))
        assert req.ttft_s.iloc[0] == pytest.approx(prefill(perf, 2000), rel=1e-9)
        rep = res.tables["replicas"]
        assert rep[rep.gpu == gpu].output_tokens.sum() == 1


def test_each_gpu_class_is_billed_at_its_own_price():
    res = sim.run(ONE + ["dedicated.router=lect"])
    rep = res.tables["replicas"]
    assert sorted(rep.gpu) == ["H100", "L40S"]
    cat = build_catalog(compose(ONE))
    hours = res.summary.set_index("tenant").loc["chat", "period_s"] / 3600.0
    want = sum(cat.gpus[g].reserved_usd_per_hour * hours for g in ("H100", "L40S"))
    assert res.summary.set_index("tenant").loc["__all__", "cost_usd"] == pytest.approx(want, rel=1e-9)
    for g in ("H100", "L40S"):
        assert rep[rep.gpu == g].usd_per_gpu_hour.iloc[0] == cat.gpus[g].reserved_usd_per_hour


LOADED = ["setups=[dedicated]", "horizon_s=600", "output.plots=false", "output.report=false",
          "tenants={chat: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 45},"
          " input: {kind: lognormal, mean: 1024, cv: 1}, output: {kind: lognormal, mean: 256, cv: 1},"
          " slo_ttft_s: 1}}",
          "deployments={llama31-8b: {gpu: H100, precision: fp8, tp: 1}}",
          "dedicated.replicas={llama31-8b: 1}",
          "dedicated.variants=[{model: llama31-8b, gpu: L40S, replicas: 2}]"]


def test_lect_beats_join_shortest_queue_on_a_mixed_fleet():
    """One H100 and two L40S at 45 req/s, a load at which a third of the requests is more
    than an L40S sustains (about 14 req/s of this mix by the performance model) while the
    fleet as a whole is not saturated: counting requests sends too many to the L40S;
    weighing each replica's speed sends more to the H100 and cuts the tail. (Until the
    December 2026 refit the L40S sustained about 12.7 req/s and 40 req/s was that load; with
    the refit's faster L40S, at 40 req/s JSQ's queue counts already send 60 % of the tokens
    to the H100 and the least-expected-completion router gains nothing.)"""
    p99 = {}
    for router in ("jsq", "lect"):
        res = sim.run(LOADED + [f"dedicated.router={router}"])
        p99[router] = res.summary.set_index("tenant").loc["chat", "ttft_p99_s"]
        rep = res.tables["replicas"]
        share = rep[rep.gpu == "H100"].output_tokens.sum() / rep.output_tokens.sum()
        if router == "lect":
            assert share > 0.6
    assert p99["lect"] < 0.75 * p99["jsq"]


@pytest.mark.parametrize("override,key", [
    ("dedicated.variants=[{model: llama31-8b, gpu: Z100}]", "dedicated.variants[0].gpu"),
    ("dedicated.variants=[{model: nope, gpu: H100}]", "dedicated.variants[0].model"),
    ("dedicated.variants=[{model: llama31-8b, gpu: H100, tp: 3}]", "dedicated.variants[0].tp"),
    ("dedicated.burst.variants=[{model: llama31-8b, gpu: Z100}]", "dedicated.burst.variants[0].gpu"),
])
def test_bad_variants_name_their_key(override, key):
    with pytest.raises(sim.errors.InputError, match=key.replace("[", r"\[").replace("]", r"\]")):
        sim.run(["setups=[dedicated]", "horizon_s=10", override])


@pytest.mark.parametrize("field,value", [("gpu", "L40S"), ("precision", "bf16"), ("tp", 2)])
def test_a_measured_table_times_no_other_gpu_precision_or_tp(tmp_path, field, value):
    """A ``table`` perf model is measured on one deployment: a variant on another GPU class,
    precision or TP is refused naming that field (until December 2026 it ran at the table's
    pace, billed at its own GPU's price, unsaid); a variant differing only in pricing runs."""
    from helpers.queueing import write_table

    table = write_table(tmp_path / "t.csv", lambda n_, p_: 0.01)
    run = ["setups=[dedicated]", "horizon_s=10", "output.plots=false", "output.report=false",
           "deployments.llama31-8b.precision=fp8", "deployments.llama31-8b.perf.kind=table",
           f"deployments.llama31-8b.perf.table_path={table}",
           "deployments.llama31-8b.perf.kv_capacity_tokens=100000"]
    fields = ", ".join(f"{k}: {v}" for k, v in {"gpu": "H100", field: value}.items())
    bad = f"dedicated.variants=[{{model: llama31-8b, {fields}}}]"
    with pytest.raises(sim.errors.InputError, match=rf"dedicated\.variants\[0\]\.{field}"):
        sim.run(run + [bad])
    with pytest.raises(sim.errors.InputError, match=rf"dedicated\.burst\.variants\[0\]\.{field}"):
        sim.run(run + [bad.replace("dedicated.variants", "dedicated.burst.variants")])
    res = sim.run(run + ["dedicated.variants=[{model: llama31-8b, gpu: H100, pricing: on_demand}]"])
    assert len(res.tables["replicas"]) == 2


def test_burst_takes_the_cheapest_variant_per_token_first_and_drains_the_dearest_first():
    """experiment=burst with three GPU options for its burst replicas (H100, the pool's own;
    an H200; two L40S): the provisioning order follows $ per token on the offered mix
    (on-demand price x premium over the perf model's saturated tok/s, computed here), and the
    first drained is the dearest."""
    args = ["experiment=burst", "output.plots=false", "output.report=false",
            "dedicated.burst.max_replicas=1",
            "dedicated.burst.variants=[{model: llama31-8b, gpu: L40S, replicas: 2},"
            " {model: llama31-8b, gpu: H200, replicas: 1}]"]
    res = sim.run(args)
    life = res.tables["dedicated+burst_burst_replicas"].sort_values("provision_s")
    cfg = compose(args)
    cat = build_catalog(cfg)
    wl_in, wl_out = res.requests.input_tokens.mean(), res.requests.output_tokens.mean()

    def usd_per_token(perf, gpu):
        d = perf.deployment if hasattr(perf, "deployment") else None
        seqs = d.max_num_seqs if d is not None else 256
        return cat.gpus[gpu].on_demand_usd_per_hour * 1.25 / 3600 / perf.saturated_tok_s(wl_in, wl_out, seqs)

    cost = {"H100": usd_per_token(_perf(cfg), "H100"),
            "L40S": usd_per_token(_perf(cfg, ("dedicated.burst.variants", 0)), "L40S"),
            "H200": usd_per_token(_perf(cfg, ("dedicated.burst.variants", 1)), "H200")}
    order = sorted(cost, key=cost.get)
    assert len(set(cost.values())) == 3
    got = list(dict.fromkeys(life.gpu))  # first provisioning of each class
    assert got == order
    drained = life.dropna(subset=["drain_s"]).sort_values("drain_s")
    assert drained.gpu.iloc[0] == order[-1]


def test_the_analytic_availability_is_the_mean_of_each_variants_replicas():
    """Failures strike a replica at MTBF = mtbf_gpu_hours / tp: an L40S at TP 1 and two H100s
    at TP 2 have different MTBFs, so the model's analytic capacity availability is the mean
    of each replica's MTBF / (MTBF + MTTR + R) (R = 1 s: the engine init, the weights loaded
    from host memory at 1e9 GB/s), as its measured capacity figure is the replicas' mean.
    Until December 2026 it held the last replica's value alone (kept per model)."""
    hours, mttr, reload_s = 0.5, 30.0, 1.0
    res = sim.run(ONE[:-1] + [
        "dedicated.variants=[{model: llama31-8b, gpu: H100, tp: 2, replicas: 2}]",
        "dedicated.failures.mode=random", f"dedicated.failures.mtbf_gpu_hours={hours}",
        f"dedicated.failures.mttr_s={mttr}", "dedicated.failures.reload_tier=host_dram",
        "cold_start.container_start_s=0", f"cold_start.engine_init_s={reload_s}",
        "cold_start.tiers.host_dram.optimized_gbps=1e9", "cold_start.tiers.host_dram.stock_gbps=1e9"])
    assert sorted(res.tables["replicas"].gpu) == ["H100", "H100", "L40S"]
    row = res.tables["dedicated_availability"].iloc[0]

    def a(tp):
        mtbf = hours * 3600 / tp
        return mtbf / (mtbf + mttr + reload_s)

    assert row["replicas"] == 3
    assert row["analytic_capacity_availability"] == pytest.approx((a(1) + 2 * a(2)) / 3, rel=1e-6)


def test_a_script_fails_a_variants_replica_numbered_after_the_models_own():
    """Replicas of ``dedicated.variants`` follow the model's own in the numbering a failure
    script uses (until December 2026 replica 1 here was refused: "llama31-8b has replicas
    0..0", the count leaving the variants out)."""
    script = ["dedicated.failures.mode=script", "dedicated.failures.script=[{replica: 1, at_s: 0.001, down_s: 1}]"]
    res = sim.run(ONE + script)
    assert list(res.tables["replicas"].gpu) == ["L40S", "H100"]
    assert list(res.tables["dedicated_downtime"].replica) == [1]
    with pytest.raises(sim.InputError, match=r"script\[0\]\.replica': llama31-8b has replicas 0\.\.1$"):
        sim.run(ONE + [script[0], "dedicated.failures.script=[{replica: 2, at_s: 0.001, down_s: 1}]"])
