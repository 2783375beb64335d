"""``job=plan`` against computations of its own: Erlang C in the textbook setting (README
"Queueing theory"), bills by hand, monotonicity, and the inputs a user tries first (no
traffic, a limit on replicas, background load, tenants of different shapes)."""

import math
import re

import numpy as np
import pytest
from helpers import later_wins
from helpers.queueing import erlang_c, replay_fcfs, write_table

import sim
from sim.analysis.plan import plan_model
from sim.simulation.build import build_workload

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


# (lambda, wait SLO, attainment): points where Erlang C's tail at c - 1 and at c are each
# at least 1.6x away from 1 - attainment, so 8,000 requests decide them
@pytest.mark.parametrize("lam,wait_s,att,n_req", [(2.0, 1.0, 0.95, 8000), (5.0, 1.0, 0.9, 8000),
                                                  (12.0, 2.0, 0.95, 8000), (1.0, 0.5, 0.99, 8000)])
def test_the_planned_replicas_are_erlang_cs_and_billed_by_hand(tmp_path, lam, wait_s, att, n_req):
    cfg = textbook(tmp_path, lam, wait_s, n_req)
    want = erlang_replicas(lam, 1.0 / (D * MEAN_OUT), wait_s, att)
    mp = plan_model(cfg, "llama31-8b", ["H100"], ["fp8"], [1], ["reserved", "on_demand"],
                    ["dedicated"], 2 * want, att)
    assert mp.best is not None and mp.best.replicas == want, mp.why
    # the same requests through c FCFS servers replayed independently: c meets, c - 1 not
    wl = build_workload(cfg)
    o = np.argsort(wl.arrival_s, kind="stable")
    arrivals, service = wl.arrival_s[o], wl.output_tokens[o] * D
    waits = {k: replay_fcfs(arrivals, service, k, "central") for k in (want - 1, want)}
    assert np.mean(waits[want - 1] <= wait_s + 1e-9) < att <= np.mean(waits[want] <= wait_s + 1e-9)
    assert mp.best.worst_attainment == pytest.approx(np.mean(waits[want] <= wait_s + 1e-9), abs=1e-12)
    # billed: replicas x 1 GPU x the catalog's $/GPU-hour over the period, which runs to
    # the last finish (the replay's)
    period_h = max(cfg.horizon_s, float((arrivals + waits[want] + service).max())) / 3600.0
    for c in (c for c in mp.tried if c.replicas == want):
        price = float(cfg.catalog.gpus["H100"][f"{c.pricing}_usd_per_hour"])
        assert c.cost_usd == pytest.approx(want * 1 * price * period_h, rel=1e-6)
    assert mp.best.pricing == "reserved"


def _plan(tmp_path, lam=4.0, wait_s=0.5, gpus=("H100",), extra=()):
    cfg = textbook(tmp_path, lam, wait_s, 2000, extra)
    return plan_model(cfg, "llama31-8b", list(gpus), ["fp8"], [1], ["on_demand"], ["dedicated"],
                      24, 0.95)


def _cheapest_listed(p):
    """The choice is the cheapest candidate an hour the plan lists as meeting the SLO."""
    assert p.best.feasible and p.best.usd_per_hour == min(c.usd_per_hour for c in p.tried if c.feasible)
    return p.best


def test_more_traffic_never_buys_fewer_replicas(tmp_path):
    got = [_cheapest_listed(_plan(tmp_path, lam=r)).replicas for r in (2.0, 4.0, 8.0)]
    assert got == sorted(got) and got[0] < got[-1], got


def test_a_looser_slo_never_costs_more(tmp_path):
    got = [_cheapest_listed(_plan(tmp_path, wait_s=w)).usd_per_hour for w in (0.05, 0.5, 2.0)]
    assert got == sorted(got, reverse=True) and got[0] > got[-1], got


def test_a_gpu_price_cut_never_makes_the_plan_dearer(tmp_path):
    """The table perf model times every GPU alike, so price alone decides: L40S ($1.95/h on
    demand) until H100 is cut to $1.00/h."""
    base = _cheapest_listed(_plan(tmp_path, gpus=("H100", "L40S")))
    cut = _cheapest_listed(_plan(tmp_path, gpus=("H100", "L40S"),
                                 extra=["catalog.gpus.H100.on_demand_usd_per_hour=1.0"]))
    assert base.gpu == "L40S" and cut.gpu == "H100" and cut.replicas == base.replicas
    assert cut.usd_per_hour == pytest.approx(base.usd_per_hour * 1.0 / 1.95, rel=1e-12)
    assert cut.cost_usd == pytest.approx(base.cost_usd * 1.0 / 1.95, rel=1e-9)


BASE = ["horizon_s=60", "tenants.chat.slo_ttft_s=0.5", "output.plots=false", "output.report=false"]


def test_no_request_in_the_horizon_is_planned_as_nothing_to_serve():
    """No request arrives: there is nothing to size against, so no option is chosen and the
    note says why. Before, the attainment was NaN, NaN >= 0.99 was False at every count, and
    the bisection returned plan.max_replicas (4 L40S), 'all tenants together MISS'."""
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=0.001", "plan.gpus=[H100,L40S]",
                   "plan.tp=[1]", "plan.max_replicas=4", "plan.placements=[dedicated]"])
    assert list(res.tables["plan"]["choice"]) == ["none"], res.tables["plan"]
    assert any("tenants arrived within the horizon" in n and "nothing to plan from" in n
               for n in res.notes), res.notes
    assert not any("MISS" in n for n in res.notes), res.notes


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


def test_background_load_does_not_size_the_dedicated_replicas():
    """Background tenants run only on the serverless pool; their tokens made the lower
    bound 4 H100s where one meets the SLO (checked by a direct run)."""
    args = ["horizon_s=60", "tenants.chat.arrival.rate_rps=10",
            "background.synthetic={tenants: 2, models: [llama31-8b], rate_rps: 100}"]
    mp = plan_model(sim.compose(args), "llama31-8b", ["H100"], ["fp8"], [1], ["on_demand"],
                    ["dedicated"], 16, 0.99)
    one = sim.run(args + ["dedicated.replicas.llama31-8b=1"]).summary.query("tenant == 'chat'").iloc[0]
    assert one["slo_attainment"] >= 0.99
    assert mp.best is not None and mp.best.replicas == 1, mp.why


def test_tenants_of_different_shapes_do_not_inflate_the_bound():
    """A prompt-heavy busiest tenant (6,000 in, 8 out) beside a decode-heavy one (100 in,
    1,000 out): the capacity was measured on the busiest one's lengths alone (88 output
    tok/s), so the bound bought 44 H100s; one meets both SLOs (a direct run)."""
    args = ["horizon_s=60", "tenants={a: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 6}, "
            "input: {kind: fixed, mean: 6000}, output: {kind: fixed, mean: 8}, slo_ttft_s: 2.0}, "
            "b: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 4}, input: {kind: fixed, "
            "mean: 100}, output: {kind: fixed, mean: 1000}, slo_ttft_s: 2.0}}"]
    mp = plan_model(sim.compose(args), "llama31-8b", ["H100"], ["fp8"], [1], ["on_demand"],
                    ["dedicated"], 64, 0.99)
    s = sim.run(args + ["dedicated.replicas.llama31-8b=1"]).summary
    assert (s.query("tenant != '__all__'")["slo_attainment"] >= 0.99).all()
    assert mp.best is not None and mp.best.replicas == 1, mp.why


def test_a_model_with_no_deployment_entry_is_planned():
    """tenants.chat.model=llama33-70b with no deployments.llama33-70b: the dedicated search
    stopped on 'dict is not a subclass of DeploymentConfig'; with serverless placed too, the
    pool's default deployment (1 H100, which the 70B does not fit) stopped the whole plan."""
    for placements in ("[dedicated]", "[dedicated,serverless]"):
        res = sim.run(later_wins(["job=plan", *BASE, "tenants.chat.model=llama33-70b",
                       "tenants.chat.arrival.rate_rps=1", "tenants.chat.slo_ttft_s=2",
                       "plan.gpus=[H100]", "plan.tp=[2]", "plan.precisions=[fp8]",
                       "plan.max_replicas=2", "plan.pricing=[on_demand]", f"plan.placements={placements}"]))
        plan = res.tables["plan"].iloc[0]
        assert plan["choice"] == "1 x H100 fp8 TP2 on_demand", res.tables["why"]
    assert "serverless: cannot run (" in " ".join(res.tables["why"]["reason"])


def test_spot_only_on_a_gpu_without_a_spot_price_is_said_not_a_traceback():
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=20", "plan.gpus=[H100,L40S]",
                   "plan.tp=[1]", "plan.precisions=[fp8]", "plan.pricing=[spot]",
                   "plan.placements=[dedicated]", "plan.max_replicas=4",
                   "catalog.gpus.H100.spot_usd_per_hour=null"])
    assert res.tables["plan"].iloc[0]["gpu"] == "L40S"
    assert "H100: no spot price in the catalog" in " ".join(res.tables["why"]["reason"])


def test_a_spot_price_of_zero_is_a_price_not_its_absence():
    """A free spot L40S is tried (and, free, chosen over a priced spot H100, with the note for a
    price of 0); a price of 0 read as "no spot price in the catalog ...; not tried" before."""
    res = sim.run(later_wins(["job=plan", *BASE, "horizon_s=30", "tenants.chat.arrival.rate_rps=5",
                   "plan.gpus=[H100,L40S]", "plan.tp=[1]", "plan.precisions=[fp8]",
                   "plan.pricing=[spot]", "plan.placements=[dedicated]", "plan.max_replicas=4",
                   "catalog.gpus.L40S.spot_usd_per_hour=0"]))
    assert "no spot price" not in " ".join(res.tables["why"]["reason"])
    plan = res.tables["plan"].iloc[0]
    assert (plan["gpu"], plan["pricing"], plan["usd_per_hour"]) == ("L40S", "spot", 0)
    assert any("(catalog.gpus.L40S.spot_usd_per_hour is 0)" in n for n in res.notes), res.notes


def test_the_hourly_figures_agree_across_the_plans_tables():
    """plan.csv's usd_per_hour is the GPUs' hourly price; the note and pareto.csv divided
    the bill over the run (drain included) by the horizon instead: $13.92/h against
    $9.48/h for 4 H100s reserved on a 60 s run."""
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=120", "plan.gpus=[H100]",
                   "plan.tp=[1]", "plan.precisions=[fp8]", "plan.max_replicas=6",
                   "plan.placements=[dedicated]"])
    plan = res.tables["plan"].iloc[0]
    price = float(sim.compose([]).catalog.gpus.H100[f"{plan['pricing']}_usd_per_hour"])
    assert plan["usd_per_hour"] == pytest.approx(plan["replicas"] * price, rel=1e-12)
    assert f"(${plan['usd_per_hour']:,.2f}/h)" in next(n for n in res.notes if n.startswith("plan: "))
    pareto = res.tables["pareto"]
    chosen = pareto[pareto["plan"] == "llama31-8b: " + plan["choice"]]
    assert len(chosen) == 1 and chosen["usd_per_hour"].iloc[0] == pytest.approx(plan["usd_per_hour"])


def test_the_plan_ranks_by_cost_an_hour_not_by_the_drain():
    """A dedicated bill runs until the last request ends: on a 60 s horizon of 2,000-token
    answers that drain (13 s) made one H100 ($2.37/h) cost more over the run than the
    serverless pool ($2.65/h), and the plan chose the pool."""
    res = sim.run(["job=plan", *BASE, "tenants.chat.arrival.rate_rps=1.6",
                   "tenants.chat.output={kind: fixed, mean: 2000}", "serverless.start=warm",
                   "plan.gpus=[H100]", "plan.tp=[1]", "plan.precisions=[fp8]", "plan.pricing=[reserved]"])
    cands = res.tables["candidates"].set_index("placement")
    assert cands.loc["serverless", "feasible"] and cands.loc["dedicated", "feasible"]
    # the drain: the dedicated bill over the run is above its hourly price over the horizon
    assert cands.loc["dedicated", "cost_usd"] > cands.loc["serverless", "cost_usd"]
    assert cands.loc["dedicated", "usd_per_hour"] == pytest.approx(2.37, rel=1e-12)
    assert cands.loc["serverless", "usd_per_hour"] > 2.37
    assert res.tables["plan"].iloc[0]["choice"] == "1 x H100 fp8 TP1 reserved"


def test_at_an_equal_hourly_cost_the_faster_deployment_wins():
    """One MI300X at $1.61/h in bf16 or fp8 both meet the SLO; fp8 has the headroom (lower
    p99 / SLO). Ranked an hour alone, the tie went to bf16, visited first by name."""
    mp = plan_model(sim.compose(BASE + ["tenants.chat.arrival.rate_rps=2"]), "llama31-8b",
                    ["MI300X"], ["bf16", "fp8"], [1], ["reserved"], ["dedicated"], 2, 0.99)
    assert mp.best is not None and mp.best.precision == "fp8" and mp.best.replicas == 1, mp.why


@pytest.mark.parametrize("rate,choice", [(0.9, "serverless"), (1.8, "1 x H100 fp8 TP2 on_demand")])
def test_the_plan_flips_to_dedicated_past_the_break_even(rate, choice):
    """The break-even job's fleet (one H100 TP2 pair at $3.95/GPU-hour, its 70B tenant, 1,000
    in / 1,000 out) against per-token serverless ($0.88/M in and out) on a warm pool: the
    pair costs $7.90/h, the pool rate x 2,000 tokens x $0.88/M an hour, equal near 1.25
    req/s (the break-even's 27-29 % of a 4,559 tok/s pair). Below, the plan buys the pool;
    above, the pair; each priced by hand."""
    res = sim.run(["experiment=breakeven", "job=plan", "horizon_s=600", f"tenants.chat.arrival.rate_rps={rate}",
                   "tenants.chat.input={kind: fixed, mean: 1000}", "tenants.chat.output={kind: fixed, mean: 1000}",
                   "serverless.start=warm", "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[2]",
                   "plan.pricing=[on_demand]", "plan.max_replicas=1", "output.plots=false"])
    plan = res.tables["plan"].iloc[0]
    assert plan["choice"] == choice
    cands = res.tables["candidates"].set_index("placement")
    requests = int(res.summary.query("tenant == 'chat'")["requests"].iloc[0])
    assert cands.loc["serverless", "usd_per_hour"] == pytest.approx(
        requests * 2000 * 0.88e-6 / (600 / 3600), rel=1e-9)
    if choice != "serverless":
        assert cands.loc["dedicated", "usd_per_hour"] == pytest.approx(2 * 3.95, rel=1e-12)


def test_a_spot_spare_stays_within_max_replicas():
    """One spot H100 reclaimed every few seconds misses the SLO; its spare (a second spot
    replica) was simulated and listed, and could be chosen, with plan.max_replicas=1."""
    cfg = sim.compose(BASE + ["tenants.chat.arrival.rate_rps=20", "dedicated.spot.preemption.per_gpu_hour=300",
                              "dedicated.spot.preemption.notice_s=0"])
    mp = plan_model(cfg, "llama31-8b", ["H100"], ["fp8"], [1], ["on_demand", "spot"], ["dedicated"], 1, 0.99)
    assert [c.replicas for c in mp.tried if c.pricing == "spot"] == [1], mp.why
    assert all(c.replicas <= 1 for c in mp.tried) and mp.best.label == "1 x H100 fp8 TP1 on_demand"


def test_the_confirmation_bills_the_pricing_the_plan_chose():
    """With dedicated.pricing=on_demand in the config, a plan choosing reserved L40Ss was
    confirmed at the on-demand price ($0.107 for $0.064) until December 2026: the run now
    bills each model at the pricing chosen for it, so the two figures agree."""
    args = ["job=plan", "horizon_s=60", "tenants.chat.arrival.rate_rps=15", "tenants.chat.slo_ttft_s=0.5",
            "plan.gpus=[L40S]", "plan.tp=[1]", "plan.precisions=[fp8]", "plan.pricing=[reserved]",
            "plan.placements=[dedicated]", "dedicated.pricing=on_demand"]
    res = sim.run(args)
    note = next(n for n in res.notes if "simulated together" in n)
    over, together = re.search(r"\$([\d.]+) over the run .* \$([\d.]+) simulated together", note).groups()
    assert over == together, note
    row = res.summary.query("tenant == '__all__'")
    assert float(row["cost_usd"].iloc[0]) == pytest.approx(float(res.tables["plan"].iloc[0]["cost_usd"]), rel=1e-9)


@pytest.mark.parametrize("given, key", [
    ("dedicated.variants=[{model: llama31-8b, gpu: A100, precision: bf16, replicas: 2}]", "dedicated.variants"),
    ("dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.replicas.llama31-8b"),
])
def test_a_fleet_the_planner_does_not_search_is_refused(given, key):
    """A heterogeneous fleet rode along unpriced in every candidate (two A100s billed at an
    L40S's rate), and spot replicas ran in every candidate priced as reserved, then were left
    out of the confirmation: both unsaid until December 2026."""
    with pytest.raises(sim.InputError) as e:
        sim.run(["job=plan", "horizon_s=60", given])
    assert e.value.key == key


def test_an_embedding_model_is_planned_on_requests_per_second():
    """An embedding model produces no output token: its replica's capacity read 0 output
    tok/s, so every deployment "cannot run (its saturated run completed nothing)", though its
    runs completed every request, and the plan was none. The bound of a prefill-only model is
    in requests/s: the offered rate is the requests counted in the workload over the horizon,
    and one L40S serves 3.5 req/s of 300-token prompts within the SLO."""
    cfg = sim.compose(["horizon_s=30", "tenants.chat.model=bge-large-en",
                       "tenants.chat.input={kind: fixed, mean: 300, max: 300}"])
    mp = plan_model(cfg, "bge-large-en", ["L40S"], ["fp8"], [1], ["reserved"], ["dedicated"], 4, 0.99)
    assert mp.best is not None and mp.best.replicas == 1, mp.why
    sent = len(build_workload(cfg))
    assert f"requests/s per replica (closed loop); {sent / 30:,.1f} offered" in mp.why[0], mp.why
