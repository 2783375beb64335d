"""The hybrid setup: placement, exact times of each path, spillover, shadows, billing."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from helpers import later_wins
from helpers.timing import COLD_8B, prefill
from helpers.timing import perf_of as perf
from omegaconf import OmegaConf, open_dict

import sim
from sim.errors import InputError
from sim.metrics.requests import requests_frame
from sim.metrics.summary import summarize
from sim.platform.spillover import SpilloverPolicy
from sim.records import COMPLETED, REJECTED
from sim.simulation.build import build_catalog
from sim.simulation.frames import model_prices, setup_tables
from sim.simulation.simulate import simulate
from sim.workload import Workload

M8, TWIN = "llama31-8b", "twin-8b"


def config(overrides=(), **nested):
    cfg = sim.compose(["setups=[hybrid]", *overrides])
    with open_dict(cfg):
        # a second model identical to the 8B (same weights, same speed, same deployment)
        cfg.catalog.models[TWIN] = copy.deepcopy(cfg.catalog.models[M8])
        cfg.deployments[TWIN] = copy.deepcopy(cfg.deployments[M8])
        if nested:
            cfg = OmegaConf.merge(cfg, nested)
    return cfg


def workload(reqs, horizon_s, tenants, slo=1.0) -> Workload:
    """``reqs``: (arrival_s, tenant, input_tokens, output_tokens); ``tenants``: name -> model."""
    reqs = sorted(reqs)
    names = list(tenants)
    models = list(dict.fromkeys(tenants.values()))
    ti = np.array([names.index(r[1]) for r in reqs], np.int16)
    return Workload(
        tenants=names, models=models, horizon_s=float(horizon_s),
        arrival_s=np.array([r[0] for r in reqs], float), tenant=ti,
        model=np.array([models.index(tenants[names[t]]) for t in ti], np.int16),
        input_tokens=np.array([r[2] for r in reqs], np.int32),
        output_tokens=np.array([r[3] for r in reqs], np.int32),
        slo_ttft_s={t: slo for t in names}, tenant_models={t: [m] for t, m in tenants.items()})


def run(cfg, wl, setup="hybrid"):
    catalog = build_catalog(cfg)
    r = simulate(cfg, wl, setup)
    return r, summarize(wl, r, model_prices(catalog, wl.models))


def ttft(r):
    return r.log.first_s - r.log.arrival_s


def tier(r, i):
    return r.log.tiers.names[r.log.tier[i]]


# ------------------------------------------------------------------------ exact times
@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_dedicated_request_is_warm_and_serverless_request_pays_the_cold_start(engine):
    cfg = config([f"engine={engine}", f"hybrid.placement.{M8}=dedicated",
                  f"dedicated.replicas.{M8}=1"])
    wl = workload([(1.0, "crit", 500, 20), (2.0, "tail", 500, 20)], 120,
                  {"crit": M8, "tail": TWIN})
    r, s = run(cfg, wl)
    p = perf(cfg)
    assert ttft(r)[0] == pytest.approx(prefill(p, 500), rel=1e-12)
    assert r.log.cold_wait_s[0] == 0 and tier(r, 0) == "dedicated"
    assert ttft(r)[1] == pytest.approx(COLD_8B + prefill(p, 500), rel=1e-12)
    assert r.log.cold_wait_s[1] == pytest.approx(COLD_8B, rel=1e-12)
    assert tier(r, 1) == "serverless"
    assert not r.log.spilled.any()


def _queue_scenario(extra=()):
    """One dedicated replica that runs one sequence at a time: a long request occupies it
    from t=0, and the requests behind it queue."""
    cfg = config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                  f"deployments.{M8}.max_num_seqs=1", *extra])
    reqs = [(0.0, "crit", 100, 2000),  # holds the replica for ~10 s
            (0.5, "crit", 500, 20),  # queue empty on arrival: waits, no spill
            (1.5, "crit", 500, 20),  # head waited 1.0 s < 2 s: no spill
            (3.0, "crit", 500, 20)]  # head waited 2.5 s > 2 s, nothing completed: spills
    return cfg, workload(reqs, 60, {"crit": M8})


def test_request_spills_when_the_estimated_wait_passes_the_threshold():
    cfg, wl = _queue_scenario()
    r, s = run(cfg, wl)
    assert r.log.spilled.tolist() == [False, False, False, True]
    assert [tier(r, i) for i in range(4)] == ["dedicated"] * 3 + ["serverless"]
    # the spilled request takes the serverless path: a cold start from object storage,
    # then its prefill on a fresh replica ...
    p = perf(cfg)
    assert ttft(r)[3] == pytest.approx(COLD_8B + prefill(p, 500), rel=1e-12)
    # ... the same TTFT as the serverless setup alone gives that request
    alone = workload([(3.0, "crit", 500, 20)], 60, {"crit": M8})
    r1, _ = run(cfg, alone, "serverless")
    assert ttft(r)[3] == pytest.approx(ttft(r1)[0], rel=1e-12)
    assert int(s.loc[s.tenant == "crit", "spilled"].iloc[0]) == 1
    # without spillover it waits behind the long request instead
    r2, s2 = run(*_queue_scenario(["hybrid.spillover.enabled=false"]))
    assert not r2.log.spilled.any() and tier(r2, 3) == "dedicated"
    assert ttft(r2)[3] > ttft(r2)[0] + 5.0
    assert int(s2.loc[s2.tenant == "crit", "spilled"].iloc[0]) == 0


def test_queue_bound_spills_and_threshold_estimate():
    r, _ = run(*_queue_scenario(["hybrid.spillover.max_queue=1",
                                 "hybrid.spillover.wait_threshold_s=1000"]))
    # the second queued request finds one request in the queue: the bound spills it
    assert r.log.spilled.tolist() == [False, False, True, True]
    pol = SpilloverPolicy(True, 2.0, None)
    assert pol.estimate(5, False, 1.0, 9.0) == 0.0  # room in a replica: admitted next iteration
    assert pol.estimate(3, True, 2.0, 0.0) == pytest.approx(2.0)  # (3 + 1) / 2 per s
    assert pol.estimate(3, True, 0.0, 1.5) == 1.5  # nothing completed: the head's wait so far
    assert pol.spill(3, True, 1.0, 0.0) and not pol.spill(0, True, 1.0, 0.0)
    assert not SpilloverPolicy(False, 0.0, 1).spill(9, True, 0.0, 99.0)


def test_cold_aware_spillover_waits_for_a_warm_pool():
    # the pool is cold (a 27.4 s load) and the dedicated wait 2.5 s: no spill
    r, _ = run(*_queue_scenario(["hybrid.spillover.cold_aware=true"]))
    assert not r.log.spilled.any()
    # a serverless-placed tenant warmed the 8B on the pool first: the same queue spills,
    # and the spilled request is served at once by the warm replica
    cfg = config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                  f"deployments.{M8}.max_num_seqs=1", "hybrid.placement.tail=serverless",
                  "hybrid.spillover.cold_aware=true"])
    t0 = 40.0
    reqs = [(0.0, "tail", 100, 5), (t0, "crit", 100, 2000), (t0 + 0.5, "crit", 500, 20),
            (t0 + 1.5, "crit", 500, 20), (t0 + 3.0, "crit", 500, 20)]
    wl = workload(reqs, 120, {"crit": M8, "tail": M8})
    r, _ = run(cfg, wl)
    assert r.log.spilled.tolist() == [False, False, False, False, True]
    assert ttft(r)[4] == pytest.approx(prefill(perf(cfg), 500), rel=1e-12)
    assert r.log.cold_wait_s[4] == 0.0
    pol = SpilloverPolicy(True, 2.0, None, cold_aware=True)
    assert not pol.spill(3, True, 0.0, 2.5, pool_wait_s=27.4)
    assert pol.spill(3, True, 0.0, 2.5, pool_wait_s=0.0)
    assert not pol.spill(3, True, 0.0, 1.5, pool_wait_s=0.0)  # below the threshold
    assert SpilloverPolicy(True, 2.0, 3, cold_aware=True).spill(3, False, 0.0, 0.0, 99.0)


def test_outage_rule_weighs_the_wait_for_a_replica_only_when_cold_aware():
    # no replica up: the queue threshold and an SLO are not asked, only the two waits
    plain, aware = SpilloverPolicy(True, 2.0, None), SpilloverPolicy(True, 2.0, None, True)
    assert plain.outage(1.0, 27.4) and plain.outage(0.0, 0.0)
    assert not aware.outage(1.0, 27.4) and aware.outage(30.0, 27.4)
    assert aware.outage(math.inf, 27.4) and not aware.outage(27.4, 27.4)
    assert not SpilloverPolicy(False, 2.0, None).outage(math.inf, 0.0)


# -------------------------------------------------------------------------- placement
def test_tenant_placement_wins_over_model_placement():
    cfg = config([f"hybrid.placement.{M8}=dedicated", "hybrid.placement.b=serverless",
                  f"dedicated.replicas.{M8}=1"])
    wl = workload([(1.0, "a", 200, 5), (1.0, "b", 200, 5), (2.0, "c", 200, 5)], 120,
                  {"a": M8, "b": M8, "c": TWIN})
    r, _ = run(cfg, wl)
    by_tenant = {wl.tenants[wl.tenant[i]]: tier(r, i) for i in range(3)}
    assert by_tenant == {"a": "dedicated", "b": "serverless", "c": "serverless"}
    # default_tier=dedicated (every model needs replicas), one tenant moved to serverless
    cfg = config(["hybrid.default_tier=dedicated", "hybrid.placement.a=serverless",
                  f"dedicated.replicas.{M8}=1", f"dedicated.replicas.{TWIN}=1"])
    r, _ = run(cfg, wl)
    by_tenant = {wl.tenants[wl.tenant[i]]: tier(r, i) for i in range(3)}
    assert by_tenant == {"a": "serverless", "b": "dedicated", "c": "dedicated"}
    assert r.log.cold_wait_s.tolist()[:3] == [pytest.approx(COLD_8B, rel=1e-12), 0.0, 0.0]


@pytest.mark.parametrize("overrides, key", [
    ([f"hybrid.placement.{M8}=dedicated"], f"dedicated.replicas.{M8}"),
    ([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=0"], f"dedicated.replicas.{M8}"),
    (["hybrid.placement.nosuch=dedicated"], "hybrid.placement.nosuch"),
    (["hybrid.shadow_fraction=1.5"], "hybrid.shadow_fraction"),
    (["hybrid.spillover.max_queue=0"], "hybrid.spillover.max_queue"),
])
def test_bad_hybrid_input_names_the_key(overrides, key):
    with pytest.raises(InputError) as e:
        sim.run(["setups=[hybrid]", "horizon_s=10", "output.parquet=false", *overrides])
    assert e.value.key == key


def test_a_model_the_pool_cannot_hold_does_not_spill():
    # the 8B reserved on an H200; the pool has only H100 nodes: the queue waits instead
    r, _ = run(*_queue_scenario([f"deployments.{M8}.gpu=H200"]))
    assert not r.log.spilled.any() and set(r.log.tier.tolist()) == {0}  # all dedicated


def test_a_tenant_placed_dedicated_on_a_model_without_replicas_names_its_key():
    # its model becomes dedicated-tier, which needs reserved replicas: checked before the run
    cfg = config(["hybrid.placement.crit=dedicated"])
    wl = workload([(1.0, "crit", 200, 5)], 60, {"crit": M8})
    with pytest.raises(InputError, match=f"config key 'dedicated.replicas.{M8}': model {M8} is "
                                         "placed dedicated"):
        run(cfg, wl)


# ---------------------------------------------------------------------------- billing
def test_bill_is_dedicated_gpu_hours_plus_the_serverless_token_bill():
    cfg = config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=2"])
    reqs = [(float(t), "crit", 300, 40) for t in range(0, 100, 7)]
    reqs += [(float(t) + 0.5, "tail", 700, 90) for t in range(10, 100, 20)]
    wl = workload(reqs, 300, {"crit": M8, "tail": TWIN})
    r, s = run(cfg, wl)
    cat = cfg.catalog
    gpu = cat.gpus[cfg.deployments[M8].gpu]
    assert (r.log.outcome == COMPLETED).all() and r.period_s == 300.0
    # two reserved TP1 replicas for the 300 s period, idle time included
    dedicated = 2 * 1 * 300.0 / 3600.0 * gpu.reserved_usd_per_hour
    tail = wl.tenant == wl.tenants.index("tail")
    pm = cat.models[TWIN]
    tokens = (wl.input_tokens[tail].sum() * pm.price_in_usd_per_mtok
              + wl.output_tokens[tail].sum() * pm.price_out_usd_per_mtok) / 1e6
    a = s[s.tenant == "__all__"].iloc[0]
    assert a.cost_dedicated_usd == pytest.approx(dedicated, rel=1e-9)
    assert a.cost_serverless_usd == pytest.approx(tokens, rel=1e-9)
    assert a.cost_usd == pytest.approx(dedicated + tokens, rel=1e-9)
    crit = s[s.tenant == "crit"].iloc[0]
    assert crit.cost_usd == pytest.approx(dedicated, rel=1e-9)
    assert crit.gpu_hours == pytest.approx(2 * 300.0 / 3600.0, rel=1e-9)


def test_a_tenant_billed_per_token_pays_its_tokens_and_no_reserved_tail():
    """A tenant placed on the pool beside one reserved on the same model, still draining on
    the pool after the horizon: it pays its tokens x prices, nothing more; the reserved
    replicas' time after the horizon goes to the tenant they are reserved for (until December
    2026 the draining per-token tenant paid it)."""
    cfg = config([f"hybrid.placement.{M8}=dedicated", "hybrid.placement.tail=serverless",
                  f"dedicated.replicas.{M8}=2"])
    reqs = [(float(t), "crit", 300, 40) for t in range(0, 100, 7)]
    reqs += [(10.5, "tail", 700, 90), (299.0, "tail", 700, 90)]  # the last one drains (cold)
    wl = workload(reqs, 300, {"crit": M8, "tail": M8})
    r, s = run(cfg, wl)
    assert (r.log.outcome == COMPLETED).all() and r.period_s > 300.0
    tail = wl.tenant == wl.tenants.index("tail")
    assert {tier(r, i) for i in np.flatnonzero(tail)} == {"serverless"}
    pm = cfg.catalog.models[M8]
    tokens = (wl.input_tokens[tail].sum() * pm.price_in_usd_per_mtok
              + wl.output_tokens[tail].sum() * pm.price_out_usd_per_mtok) / 1e6
    gpu = cfg.catalog.gpus[cfg.deployments[M8].gpu]
    reserved = 2 * r.period_s / 3600.0 * gpu.reserved_usd_per_hour  # up the whole run
    row = s.set_index("tenant")
    assert row.loc["tail", "cost_usd"] == pytest.approx(tokens, rel=1e-12)
    assert row.loc["tail", "gpu_cost_usd"] == 0.0
    assert row.loc["crit", "cost_usd"] == pytest.approx(reserved, rel=1e-9)
    assert row.loc["__all__", "cost_usd"] == pytest.approx(reserved + tokens, rel=1e-9)


# ---------------------------------------------------------------------------- shadows
def test_shadow_copies_take_capacity_but_are_never_billed_nor_logged():
    base = [f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1"]
    reqs = [(float(t), "crit", 300, 40) for t in range(0, 120, 5)]
    reqs += [(60.0, "tail", 500, 20)]
    wl = workload(reqs, 200, {"crit": M8, "tail": TWIN})
    r0, s0 = run(config(base), wl)
    r1, s1 = run(config(base + ["hybrid.shadow_fraction=1.0"]), wl)
    n = len(wl)
    assert len(requests_frame(wl, r1)) == n and int(s1[s1.tenant == "__all__"].requests.iloc[0]) == n
    assert (r1.log.outcome == COMPLETED).all()
    cols = ["cost_usd", "cost_dedicated_usd", "cost_serverless_usd", "requests", "completed"]
    assert s0[cols].equals(s1[cols])
    # the dedicated tenant's requests are untouched; every one was mirrored
    crit = wl.tenant == 0
    assert np.array_equal(r0.log.first_s[crit], r1.log.first_s[crit])
    sh = setup_tables([r1], wl)["hybrid_shadow"].set_index("tenant")
    assert sh.loc["crit", "shadows"] == int(crit.sum())
    assert sh.loc["crit", "completed"] + sh.loc["crit", "unfinished"] == sh.loc["crit", "shadows"]
    assert sh.loc["crit", "cold_starts"] >= 1  # the first copy found the model cold
    # the copies sent in the first 27 s waited for that cold start; the served ones did not
    assert sh.loc["crit", "shadow_ttft_p99_s"] > COLD_8B - 5.0 > 1.0 > sh.loc["crit", "served_ttft_p99_s"]
    # the copies occupied the pool: it loaded the 8B for them
    assert "llama31-8b" in set(r1.extra["cold_starts"]["model"])
    assert "llama31-8b" not in set(r0.extra["cold_starts"]["model"])


# -------------------------------------------------------------------- under a spike
# chat's on phases offer ~43 req/s for 60 s to one dedicated 8B replica (more than it
# sustains); a small serverless-placed tenant on the same model keeps it warm on the pool. (On a
# cold pool a spilled request waits a ~27 s cold start, which a short spike's queue does not
# reach: spillover then raises the p99; see README "Hybrid setup".)
SPIKE = [
    "seed=1", "horizon_s=240", "setups=[hybrid]",
    "tenants.chat.arrival.kind=onoff", "tenants.chat.arrival.rate_rps=20",
    "tenants.chat.arrival.on_s=60", "tenants.chat.arrival.off_s=120",
    "tenants.chat.arrival.off_rate_fraction=0.2",
    f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
    "hybrid.placement.tail=serverless",
    "output.plots=false", "output.report=false",
]
TAIL = f"tenants.tail={{model: {M8}, arrival: {{kind: poisson, rate_rps: 0.5}}}}"


@pytest.fixture(scope="module")
def spike_runs():
    on = sim.run(SPIKE + [TAIL])
    off = sim.run(SPIKE + [TAIL, "hybrid.spillover.enabled=false"])
    return on, off


def test_every_request_ends_exactly_once_with_spillover_under_a_spike(spike_runs):
    on, _ = spike_runs
    req = on.requests
    assert req["request_id"].is_unique
    assert (req["outcome"] != "pending").all()
    a = on.summary[on.summary.tenant == "__all__"].iloc[0]
    assert a.completed + a.rejected + a.failed == a.requests == len(req)
    sp = req[req["spilled"]]
    assert len(sp) > 0 and (sp["tier"] == "serverless").all() and (sp["tenant"] == "chat").all()
    assert int(on.summary[on.summary.tenant == "chat"].spilled.iloc[0]) == len(sp)
    assert (req.loc[req["tenant"] == "tail", "tier"] == "serverless").all()


def test_spillover_lowers_the_critical_tenants_p99_under_a_spike(spike_runs):
    on, off = spike_runs
    p99 = lambda res: float(res.summary[res.summary.tenant == "chat"].ttft_p99_s.iloc[0])  # noqa: E731
    # measured (seed 1): 1.6 s with spillover, 5.1 s without
    assert p99(on) < 0.5 * p99(off)
    assert int(off.summary[off.summary.tenant == "chat"].spilled.iloc[0]) == 0


def test_same_seed_same_summary(tmp_path):
    args = SPIKE + [TAIL, "horizon_s=90", "hybrid.shadow_fraction=0.2"]
    a = sim.run(later_wins(args), output_dir=tmp_path / "a")
    b = sim.run(later_wins(args), output_dir=tmp_path / "b")
    for f in ("summary.csv", "requests.parquet", "hybrid_shadow.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    assert a.summary.equals(b.summary)


def test_background_goes_to_the_serverless_part():
    res = sim.run(["setups=[hybrid]", "horizon_s=120", f"hybrid.placement.{M8}=dedicated",
                   f"dedicated.replicas.{M8}=1", "background.synthetic.tenants=3",
                   f"background.synthetic.models=[{M8}]", "background.synthetic.rate_rps=1",
                   "output.plots=false"])
    req = res.requests
    bg = req["tenant"].astype(str).str.startswith("bg/")
    assert bg.any() and (req.loc[bg, "tier"] == "serverless").all()
    assert (req.loc[~bg & (req["outcome"] == "completed"), "tier"] == "dedicated").all()
    assert (req["outcome"] != "pending").all()


def test_breakeven_curve_equal_to_the_reference_is_no_crossing():
    import pandas as pd

    from sim.analysis.breakeven import X, Y, crossings_table

    loads = [0.1, 0.5, 0.9]
    ded = [4.0, 1.0, 0.50]
    hyb = [4.0, 1.0, 0.52]  # spilled (and paid per token) only at the highest load
    rows = [{X: x, "label": lab, Y: y, "gpu_cost_usd": 1.0, "token_cost_usd": 0.0}
            for lab, ys in (("dedicated", ded), ("hybrid", hyb)) for x, y in zip(loads, ys)]
    t = crossings_table(pd.DataFrame(rows), "dedicated", {})
    assert len(t) == 1 and np.isnan(t[X].iloc[0])
    assert t["note"].iloc[0] == ("no crossing in the swept loads: the same cost at 2 of 3 loads, "
                                 "dedicated cheaper at the others")


def test_a_model_only_the_background_calls_gets_no_reserved_replica_nor_its_bill():
    """`hybrid.placement` naming a model that no user tenant calls reserved replicas for it
    all the same (background requests never reach them), and their GPU-hours were billed to
    the `__background__` row: the platform's other tenants paid for the user's idle GPUs.
    The dedicated setup reserves only the models the user's tenants call; so does the
    hybrid now, and the background pays its tokens x prices and nothing else."""
    m70 = "llama33-70b"
    res = sim.run(["setups=[hybrid]", "horizon_s=120", f"hybrid.placement={{{M8}: dedicated, {m70}: dedicated}}",
                   f"dedicated.replicas={{{M8}: 1, {m70}: 1}}", f"deployments.{m70}={{gpu: H100, precision: fp8, tp: 2}}",
                   "background.synthetic.tenants=3", f"background.synthetic.models=[{m70}]",
                   "background.synthetic.rate_rps=1", "output.plots=false"])
    led = res.tables["replicas"]
    assert not ((led["model"] == m70) & (led["tier"] == "dedicated")).any()
    models = sim.compose([]).catalog.models
    req = res.requests
    bg = req[req["tenant"].astype(str).str.startswith("bg/") & (req["outcome"] == "completed")]
    p = models[m70]
    billed = ((bg["input_tokens"] - bg["cached_tokens"]) * p.price_in_usd_per_mtok
              + bg["cached_tokens"] * p.price_cached_in_usd_per_mtok
              + bg["output_tokens"] * p.price_out_usd_per_mtok).sum() / 1e6
    row = res.summary.query("tenant == '__background__'").iloc[0]
    assert len(bg) > 50 and row["gpu_cost_usd"] == 0
    assert row["cost_usd"] == pytest.approx(billed, rel=1e-9)
    assert [n for n in res.notes if "only background tenants call it" in n] == [
        f"hybrid: {m70} is placed dedicated but only background tenants call it, and they are "
        "served on the pool: no replica of it is reserved (nor billed)"]


def test_the_reserved_replicas_bill_stays_with_the_user_while_background_drains():
    """The background drains on the pool after the user's last request; the reserved
    replicas' time after the horizon went to the tenants "still in their period", which were
    background ones (the Mooncake conversation trace on three 8B replicas: $0.0018 of the
    user's GPUs on the `__background__` row). The user's rows bill every reserved GPU-second
    of the ledger; the background pays its tokens x prices only."""
    res = sim.run(["setups=[hybrid]", "horizon_s=60", f"hybrid.placement.{M8}=dedicated",
                   f"dedicated.replicas.{M8}=1", "tenants.chat.arrival.rate_rps=0.5",
                   "tenants.chat.output={kind: fixed, mean: 8}", "background.synthetic.tenants=2",
                   f"background.synthetic.models=[{M8}]", "background.synthetic.rate_rps=2",
                   "background.synthetic.output={kind: fixed, mean: 2000}", "output.plots=false"])
    led = res.tables["replicas"]
    reserved = led.loc[led["tier"] == "dedicated", "cost_usd"].sum()
    assert led["end_s"].max() > 60  # the background drained past the horizon
    s = res.summary.set_index("tenant")
    assert s.loc["__all__", "cost_dedicated_usd"] == pytest.approx(reserved, rel=1e-12)
    assert s.loc["__background__", "gpu_cost_usd"] == 0


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_request_waiting_for_the_next_boundary_leaves_room_against_spillover(tmp_path, engine):
    """One reserved replica of two sequences, 10 ms iterations. r1 runs from 0.1 s (100
    tokens, out at 1.10 s); r2 arrives at 0.125 s and joins at the boundary 0.13 s; r3 arrives
    at 0.126 s, when the replica still has room for the head (r2 waits for the boundary, it
    does not run yet), so nothing spills: r3 waits for r1's slot, first token at 1.11 s.
    Until December 2026 the fluid engine counted r2 running from its arrival, read the
    replica as full and spilled r3 to a cold serverless replica (first token 27.4 s)."""
    from helpers.queueing import write_table

    trace = tmp_path / "h.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,1,2\n0.1,1,100\n0.125,1,100\n0.126,1,100\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    r = sim.run([f"engine={engine}", "setups=[hybrid]", "output.plots=false", "horizon_s=1",
                 f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                 f"deployments.{M8}.max_num_seqs=2", f"deployments.{M8}.perf.kind=table",
                 f"deployments.{M8}.perf.table_path={table}",
                 f"deployments.{M8}.perf.kv_capacity_tokens=100000",
                 "hybrid.spillover.wait_threshold_s=0.05",
                 "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv}}",
                 "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"]).requests
    r = r.sort_values("request_id")
    assert r["tier"].tolist() == ["dedicated"] * 4
    assert r["ttft_s"].tolist() == pytest.approx([0.01, 0.01, 0.015, 0.984], abs=1e-9)


# ------------------------------------------------------- no replica up: spill, any router
_OUTAGE = [f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
           "dedicated.failures.mode=script",
           f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 1, down_s: 60}}]"]
_OUTAGE_REQS = [(0.0, "crit", 100, 4000), (2.0, "crit", 100, 20), (3.0, "crit", 100, 20),
                (5.0, "crit", 100, 20)]


@pytest.mark.parametrize("router", ["jsq", "round_robin"])
def test_a_per_replica_router_spills_what_an_outage_leaves_without_a_replica(router):
    """The only reserved replica fails at 1 s for 60 s: the request it ran (no replica to
    retry on) and the three arriving during the outage (none to route to) go to the pool,
    as a full queue's would; until December 2026 all four ended badly (retry_no_replica,
    no_replica) with the pool there to take them."""
    wl = workload(_OUTAGE_REQS, 30, {"crit": M8})
    r, s = run(config([*_OUTAGE, f"dedicated.router={router}"]), wl)
    assert (r.log.outcome == COMPLETED).all()
    assert r.log.spilled.all() and {tier(r, i) for i in range(4)} == {"serverless"}
    assert r.log.attempts.tolist() == [1, 0, 0, 0]  # the interrupted try is counted
    assert r.log.first_s.min() > 1.0  # nothing served before the outage's first spill
    assert int(s.loc[s.tenant == "crit", "spilled"].iloc[0]) == 4
    # without spillover they end as before: the retry fails, the arrivals are rejected
    r2, _ = run(config([*_OUTAGE, f"dedicated.router={router}",
                        "hybrid.spillover.enabled=false"]), wl)
    assert not r2.log.spilled.any() and not (r2.log.outcome == COMPLETED).any()


def test_a_spot_notice_spills_its_own_queue_when_no_replica_admits(tmp_path):
    """One spot replica running one sequence at a time, noticed at 2 s (reclaimed at 7 s, no
    replacement), per-replica queues: the two requests waiting in its queue at the notice,
    the one it ran at the reclaim and the one arriving in between all spill."""
    pre = tmp_path / "pre.csv"
    pre.write_text(f"time_s,model,replica\n2,{M8},0\n")
    cfg = config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                  f"dedicated.spot.replicas.{M8}=1", "dedicated.spot.preemption.mode=trace",
                  f"dedicated.spot.preemption.trace={pre}", "dedicated.spot.preemption.notice_s=5",
                  "dedicated.spot.replacement=false", f"deployments.{M8}.max_num_seqs=1",
                  "dedicated.router=jsq"])
    wl = workload([(0.0, "crit", 100, 4000), (0.5, "crit", 100, 20), (1.0, "crit", 100, 20),
                   (3.0, "crit", 100, 20)], 30, {"crit": M8})
    r, s = run(cfg, wl)
    assert (r.log.outcome == COMPLETED).all() and r.log.spilled.all()
    assert r.log.attempts.tolist() == [1, 0, 0, 0]


def test_a_central_queue_spills_when_its_last_replica_fails():
    """One reserved replica running one sequence at a time, central queue: A (0 s) runs,
    B (0.5 s) and C (1 s) queue (the head's wait, under 2 s, spills nothing), the replica
    fails at 1.2 s for 60 s. A's retry, B and C have no replica left: they spill then, and
    D (3 s) on arrival, so all four are served on the pool well before the repair at
    61.2 s. Until December 2026 A, B and C waited in the queue for the repair."""
    opts = [f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
            f"deployments.{M8}.max_num_seqs=1", "dedicated.router=central",
            "dedicated.failures.mode=script",
            f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 1.2, down_s: 60}}]"]
    cfg = config(opts)
    wl = workload([(0.0, "crit", 100, 4000), (0.5, "crit", 100, 20), (1.0, "crit", 100, 20),
                   (3.0, "crit", 100, 20)], 30, {"crit": M8})
    r, s = run(cfg, wl)
    assert (r.log.outcome == COMPLETED).all() and r.log.spilled.all()
    assert r.log.attempts.tolist() == [1, 0, 0, 0]
    assert r.log.first_s.max() < 61.2
    # without spillover the queue waits for the repair, as before
    r2, _ = run(config([*opts, "hybrid.spillover.enabled=false"]), wl)
    assert not r2.log.spilled.any() and r2.log.first_s.min() > 61.2


def test_a_central_queue_spills_at_the_notice_of_its_only_spot_replica(tmp_path):
    """The only replica, spot, noticed at 2 s (reclaimed at 7 s, a replacement loading
    minutes after): B and C, queued behind A, spill at the notice, A's retry at the reclaim;
    all are served on the pool long before the replacement (until December 2026 B and C
    waited in the queue for it)."""
    pre = tmp_path / "pre.csv"
    pre.write_text(f"time_s,model,replica\n2,{M8},0\n")
    cfg = config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                  f"dedicated.spot.replicas.{M8}=1", "dedicated.spot.preemption.mode=trace",
                  f"dedicated.spot.preemption.trace={pre}", "dedicated.spot.preemption.notice_s=5",
                  f"deployments.{M8}.max_num_seqs=1", "dedicated.router=central"])
    wl = workload([(0.0, "crit", 100, 4000), (0.5, "crit", 100, 20), (1.0, "crit", 100, 20)],
                  30, {"crit": M8})
    r, _ = run(cfg, wl)
    assert (r.log.outcome == COMPLETED).all() and r.log.spilled.all()
    assert r.log.attempts.tolist() == [1, 0, 0]
    # the replacement, requested at 7 s, needs a node and a cold start (at least the pool's
    # from the same storage): nothing waited for it
    assert r.log.first_s.max() < 7.0 + COLD_8B


# ------------------------------------------------- cold_aware: an outage against the pool
def _repair(down_s, *extra):
    """One reserved replica, central queue, failing at 1 s for ``down_s``, cold_aware."""
    return config([f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
                   "dedicated.router=central", "dedicated.failures.mode=script",
                   f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 1, "
                   f"down_s: {down_s}}}]", "hybrid.spillover.cold_aware=true", *extra])


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_cold_aware_outage_waits_for_a_repair_sooner_than_the_pools_cold_start(engine):
    """The replica fails at 1 s: A (running) and B (arriving at 1.5 s, none up) wait for
    the repair at 2 s, 1 s against the pool's 27.4 s cold start, and both start on the
    repaired replica at 2 s. Until December 2026 cold_aware was not read for an outage: A
    and B spilled to the cold pool (A's first token at 28.42 s). Down 60 s, longer than
    the cold start, they spill at 1 s and 1.5 s, as without cold_aware."""
    wl = workload([(0.0, "crit", 100, 400), (1.5, "crit", 100, 20)], 40, {"crit": M8})
    r, _ = run(_repair(1, f"engine={engine}"), wl)
    assert not r.log.spilled.any() and {tier(r, i) for i in range(2)} == {"dedicated"}
    assert r.log.attempts.tolist() == [1, 0]
    assert r.log.admit_s.tolist() == [2.0, 2.0]
    r, _ = run(_repair(60, f"engine={engine}"), wl)
    assert r.log.spilled.all() and (r.log.outcome == COMPLETED).all()
    assert r.log.admit_s.tolist() == pytest.approx([1.0 + COLD_8B] * 2, rel=1e-12)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_cold_aware_outage_rule_decides_under_the_slo_trigger(engine):
    """As above with ``trigger=slo``: B (1.5 s, none up) waits for the repair at 2 s, 1 s
    against the pool's 27.4 s cold start, and starts there at 2 s. Until December 2026 the
    SLO rule came first, its predicted TTFT infinite with no replica admitting: B spilled
    to the cold pool (first token 28.92 s)."""
    wl = workload([(0.0, "crit", 100, 400), (1.5, "crit", 100, 20)], 40, {"crit": M8})
    r, _ = run(_repair(1, f"engine={engine}", "hybrid.spillover.trigger=slo"), wl)
    assert not r.log.spilled.any() and {tier(r, i) for i in range(2)} == {"dedicated"}
    assert r.log.admit_s.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_cold_aware_outage_weighs_a_spot_replacements_load(tmp_path, engine):
    """The only replica, spot, noticed at 2 s (reclaim at 32 s) with its replacement
    requested at the notice: loading from host memory on a node at hand it serves at
    2 + 1 + 8.5 GB / 52 GB/s + 25 = 28.16 s, sooner than the pool's 27.42 s cold start from
    2 s, so B and C stay queued and start there in order; waiting for a node (120 s more)
    they spill at the notice. With no replacement none is scheduled: they spill."""
    from helpers.timing import DRAM, W8B
    pre = tmp_path / "pre.csv"
    pre.write_text(f"time_s,model,replica\n2,{M8},0\n")
    opts = [f"engine={engine}", f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
            f"dedicated.spot.replicas.{M8}=1", "dedicated.spot.preemption.mode=trace",
            f"dedicated.spot.preemption.trace={pre}", "dedicated.spot.preemption.notice_s=30",
            "dedicated.spot.replace_at_notice=true", "dedicated.spot.storage_tier=host_dram",
            "dedicated.spot.image_cached=true", f"deployments.{M8}.max_num_seqs=1",
            "dedicated.router=central", "hybrid.spillover.cold_aware=true"]
    wl = workload([(0.0, "crit", 100, 1000), (0.5, "crit", 100, 20), (1.0, "crit", 100, 20)],
                  60, {"crit": M8})
    r, _ = run(config([*opts, "dedicated.spot.need_node=false"]), wl)
    assert not r.log.spilled.any() and (r.log.outcome == COMPLETED).all()
    warm = 2.0 + 1.0 + W8B / DRAM + 25.0
    assert r.log.admit_s[1] == pytest.approx(warm, rel=1e-12)
    assert r.log.admit_s[2] > r.log.admit_s[1]
    r, _ = run(config(opts), wl)  # the replacement waits for a node first
    assert r.log.spilled.tolist() == [False, True, True]
    r, _ = run(config([*opts, "dedicated.spot.need_node=false", "dedicated.spot.replacement=false"]), wl)
    assert r.log.spilled.tolist() == [False, True, True]


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_request_spilled_later_counts_its_cold_wait_from_its_spill(engine):
    """A (0 s) runs on the only replica, B (0.5 s) waits in its central queue; the replica
    fails at 2 s for 60 s: both spill then, and C (3 s) on arrival, to a cold pool warm at
    2 + 27.42 s. A and B waited 27.42 s on it, C 26.42 s: their cold_start_wait_s, and the
    summary's p99 of them. Until December 2026 it counted from the arrival, their time on
    the dedicated side too (A 29.42 s, B 28.92 s). With serverless.max_wait_s=10 the bound
    runs from joining the pool too: A and B are turned away at 12 s, C at 13 s, after 10 s
    each on the pool, their cold waits (until December 2026 from the arrival: A and B at
    10 s and 10.5 s, after 8 s and 8.5 s)."""
    opts = [f"engine={engine}", f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
            f"deployments.{M8}.max_num_seqs=1", "dedicated.router=central",
            "dedicated.failures.mode=script",
            f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 2, down_s: 60}}]"]
    wl = workload([(0.0, "crit", 100, 4000), (0.5, "crit", 100, 20), (3.0, "crit", 100, 20)],
                  30, {"crit": M8})
    r, s = run(config(opts), wl)
    assert r.log.spilled.all() and (r.log.outcome == COMPLETED).all()
    warm = 2.0 + COLD_8B
    assert r.log.cold_wait_s.tolist() == pytest.approx([warm - 2.0, warm - 2.0, warm - 3.0],
                                                       rel=1e-12)
    crit = s.set_index("tenant").loc["crit"]
    assert crit["cold_starts"] == 3
    assert crit["cold_start_wait_p99_s"] == pytest.approx(COLD_8B, rel=1e-12)
    r, _ = run(config([*opts, "serverless.max_wait_s=10"]), wl)
    assert r.log.cold_wait_s.tolist() == pytest.approx([10.0] * 3, rel=1e-12)


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("max_wait", [5, 20])
def test_max_wait_counts_from_a_spill(engine, max_wait):
    """A (crit, 0 s) runs on the only dedicated replica, which fails at 10 s for 60 s: A
    spills to the pool, queued behind B (tail, placed there, 5 s) and its cold start from
    5 s (ready at 32.4 s). ``max_wait_s`` counts from joining the pool: B is turned away
    at 5 + max_wait, A at 10 + max_wait, both having waited max_wait on the load. Until
    December 2026 A's deadline was its arrival's, read only at B's: turned away at B's
    deadline (25 s, a 15 s wait) or the instant it spilled (a wait of 0)."""
    opts = [f"engine={engine}", f"hybrid.placement.{M8}=dedicated", "hybrid.placement.tail=serverless",
            f"dedicated.replicas.{M8}=1", "dedicated.router=central",
            "dedicated.failures.mode=script", f"serverless.max_wait_s={max_wait}",
            f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 10, down_s: 60}}]"]
    wl = workload([(0.0, "crit", 100, 4000), (5.0, "tail", 100, 20)], 30, {"crit": M8, "tail": M8})
    r, _ = run(config(opts), wl)
    df = requests_frame(wl, r)
    assert df.spilled.tolist() == [True, False]
    assert df.reason.tolist() == ["timeout_cold_start"] * 2
    assert df.cold_start_wait_s.tolist() == [max_wait, max_wait]


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_rejected_request_keeps_its_attempts(engine):
    """A runs on the only dedicated replica, which fails at 10 s for 60 s (one interrupted
    attempt), spills and is turned away from the cold pool at 10 + 5 s: its row reads the
    1 attempt, as it would completed or unfinished. Until December 2026 a rejection wrote
    no attempts: 0."""
    opts = [f"engine={engine}", f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
            "dedicated.router=central", "dedicated.failures.mode=script", "serverless.max_wait_s=5",
            f"dedicated.failures.script=[{{model: {M8}, replica: 0, at_s: 10, down_s: 60}}]"]
    wl = workload([(0.0, "crit", 100, 4000)], 30, {"crit": M8})
    r, _ = run(config(opts), wl)
    assert r.log.spilled.tolist() == [True] and r.log.outcome.tolist() == [REJECTED]
    assert r.log.attempts.tolist() == [1]
