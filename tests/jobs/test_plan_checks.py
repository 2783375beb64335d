"""``job=plan`` against computations of its own: Erlang C in the textbook setting (README
"Queueing theory"), bills by hand, monotonicity, and the inputs a user tries first (no
traffic, a limit on replicas, background load, tenants of different shapes)."""

import math

from helpers.queueing import erlang_c, write_table

import sim
from sim.analysis.plan import plan_model

D, MEAN_OUT = 0.01, 100  # constant 10 ms iterations, geometric outputs: mean service 1 s


def textbook(tmp_path, lam: float, wait_s: float, n_req: int, extra=()):
    """M/M/c on single-sequence replicas (README "Queueing theory"): TTFT = wait + one
    iteration, so a TTFT SLO of ``wait_s + D`` is P(wait <= wait_s)."""
    table = write_table(tmp_path / "const.csv", lambda n, p: D)
    return sim.compose([
        "setups=[dedicated]", "deployments.llama31-8b.perf.kind=table",
        f"deployments.llama31-8b.perf.table_path={table}",
        "deployments.llama31-8b.perf.kv_capacity_tokens=100000000",
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.max_queue=100000000",
        "tenants.chat.input={kind: fixed, mean: 1}", "drain_s=100000", "metrics.warmup_s=0",
        f"tenants.chat.output={{kind: geometric, mean: {MEAN_OUT}, max: 100000}}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n_req / lam}", "seed=1",
        f"tenants.chat.slo_ttft_s={wait_s + D}", *extra])


def erlang_replicas(lam: float, mu: float, wait_s: float, attainment: float) -> int:
    """The smallest c with P(wait > t) = C(c, a) exp(-(c mu - lambda) t) <= 1 - attainment."""
    c = 1
    while lam / mu >= c or erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * wait_s) > 1 - attainment:
        c += 1
    return c


def _plan(tmp_path, lam=4.0, wait_s=0.5, gpus=("H100",), extra=()):
    cfg = textbook(tmp_path, lam, wait_s, 2000, extra)
    return plan_model(cfg, "llama31-8b", list(gpus), ["fp8"], [1], ["on_demand"], ["dedicated"],
                      24, 0.95)


def _cheapest_listed(p):
    """The choice is the cheapest candidate the plan lists as meeting the SLO."""
    assert p.best.feasible and p.best.cost_usd == min(c.cost_usd for c in p.tried if c.feasible)
    return p.best


BASE = ["horizon_s=60", "tenants.chat.slo_ttft_s=0.5", "output.plots=false", "output.report=false"]


def test_the_plan_never_buys_more_than_max_replicas():
    """At 120 req/s one H100 measures 6,912 output tok/s: at least 4 for the 30,341
    offered. With plan.max_replicas=2 the planner simulated and chose 4."""
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=120", "plan.gpus=[H100]",
                   "plan.tp=[1]", "plan.precisions=[fp8]", "plan.max_replicas=2",
                   "plan.placements=[dedicated]"])
    assert res.tables["plan"].iloc[0]["choice"] == "none"
    assert len(res.tables["candidates"]) == 0
    why = " ".join(res.tables["why"]["reason"])
    assert "more than plan.max_replicas (2); not simulated" in why and "0 simulated runs" in why


def test_spot_only_on_a_gpu_without_a_spot_price_is_said_not_a_traceback():
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=20", "plan.gpus=[H100,L40S]",
                   "plan.tp=[1]", "plan.precisions=[fp8]", "plan.pricing=[spot]",
                   "plan.placements=[dedicated]", "plan.max_replicas=2",
                   "catalog.gpus.H100.spot_usd_per_hour=null"])
    assert res.tables["plan"].iloc[0]["gpu"] == "L40S"
    assert "H100: no spot price in the catalog" in " ".join(res.tables["why"]["reason"])
