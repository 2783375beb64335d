"""Spot replicas: exact notice, reclaim and replacement times, spot billing, the reclaim
count of the rate process, nothing lost, hostile settings."""

import math

import numpy as np
import pytest
from helpers.dedicated import MODEL, all_row, config, run, workload
from helpers.engine import make_perf

import sim
from sim.platform.dedicated.failures import FailurePlan
from sim.records import COMPLETED, FAILED


def _trace(tmp_path, lines, name="reclaims.csv"):
    p = tmp_path / name
    p.write_text("time_s,model,replica\n" + "".join(f"{ln}\n" for ln in lines))
    return p


def _spot_cfg(tmp_path, lines, replicas=2, spot=1, notice=2.0, **over):
    p = _trace(tmp_path, lines)
    return config(["dedicated.spot.preemption.mode=trace", f"dedicated.spot.preemption.trace={p}",
                   f"dedicated.spot.preemption.notice_s={notice}",
                   *[f"{k}={v}" for k, v in over.items()]],
                  dedicated={"replicas": {MODEL: replicas}, "spot": {"replicas": {MODEL: spot}}})


def _cold_total_s(cfg) -> float:
    """The replacement's cold start, by hand from the config: a node, the image pulled and
    started, the FP8 weights streamed from object storage, the engine initialised."""
    cs = cfg.cold_start
    tier = cs.tiers["object_storage"]
    gbps = tier.optimized_gbps if cs.loader == "optimized" else tier.stock_gbps
    prec = cfg.deployments[MODEL].precision
    weights_s = cfg.catalog.models[MODEL].weights_gb[prec] / gbps
    init = cs.engine_init_s_by_model.get(MODEL, cs.engine_init_s)
    return cs.node_provision_s + cs.image_pull_s + cs.container_start_s + weights_s + init


def test_a_reclaimed_spot_replica_hands_its_request_over_at_the_reclaim(tmp_path, catalog):
    """One reserved replica (index 0 of the pool, the first consumer) and one spot replica.
    A (t=0) runs on the reserved one, so B (t=0.5) finds the spot one idle. The notice at
    5 s stops the spot replica admitting: C (t=6) goes to the reserved one. At the reclaim
    (5 + 2 s) B, still decoding, goes back to the queue and the idle reserved replica
    admits it at once, prefilling it again; the replacement serves after the cold start."""
    cfg = _spot_cfg(tmp_path, [f"5,{MODEL},0"], notice=2.0)
    reqs = [(0.0, 100, 300), (0.5, 100, 3000), (6.0, 100, 10)]
    r, summary = run(cfg, workload(reqs, horizon_s=600))
    log = r.log
    assert (log.outcome == COMPLETED).all()
    reserved = log.replica[0]
    assert log.finish_s[0] < 5.0  # A is done before the notice: the reserved replica is idle
    assert log.replica[2] == reserved and log.admit_s[2] == 6.0  # not on the notified replica
    assert log.finish_s[2] < 7.0
    # B: retried at the reclaim on the reserved replica, one interrupted try counted
    assert log.replica[1] == reserved and log.attempts[1] == 1
    assert log.admit_s[1] == 7.0
    _, perf = make_perf(catalog, runtime_speedup=float(cfg.dedicated.runtime_speedup))
    assert log.first_s[1] == pytest.approx(7.0 + perf.step_time(0, 100, 0, 100 * 101 / 2), rel=1e-12)
    assert log.tiers.names[log.tier[1]] == "dedicated" and all_row(summary)["retries"] == 1
    spot = r.extra["tables"]["spot"]
    assert list(spot["instance"]) == [0, 1]
    first, repl = spot.iloc[0], spot.iloc[1]
    assert (first["notice_s"], first["reclaim_s"], first["end_s"]) == (5.0, 7.0, 7.0)
    assert first["interrupted"] == 1
    cold = _cold_total_s(cfg)
    assert repl["start_s"] == 7.0 and repl["warm_s"] == pytest.approx(7.0 + cold, rel=1e-12)
    assert repl["loading_s"] == pytest.approx(cold, rel=1e-12)
    events = r.extra["events"]
    assert [k for k in events.kind] == ["spot_notice", "spot_reclaim", "spot_replaced"]
    assert events.t_s[2] == pytest.approx(7.0 + cold, rel=1e-12)
    sm = r.extra["tables"]["spot_summary"].iloc[0]
    assert (sm["preemptions"], sm["replacements"], sm["retried_tries"], sm["failed_requests"]) == (1, 1, 1, 0)


@pytest.mark.parametrize("notice", [2.0, 1000.0])
def test_a_replacement_requested_at_the_notice_loads_while_the_old_one_drains(tmp_path, notice):
    """With replace_at_notice the new instance's row starts at the notice (5 s) and it
    serves after the cold start, before the reclaim when the notice is longer than it; the
    old row still ends at the reclaim; the replacement's reclaim clock starts at its
    first service or at the old one's reclaim, whichever is later."""
    cfg = _spot_cfg(tmp_path, [f"5,{MODEL},0", f"5,{MODEL},0"], notice=notice,
                    **{"dedicated.spot.replace_at_notice": "true"})
    r, summary = run(cfg, workload([(0.0, 100, 300), (0.5, 100, 3000)], horizon_s=3000))
    cold = _cold_total_s(cfg)
    spot = r.extra["tables"]["spot"]
    first, repl, third = spot.iloc[0], spot.iloc[1], spot.iloc[2]
    assert (first["notice_s"], first["reclaim_s"]) == (5.0, 5.0 + notice)
    assert repl["start_s"] == 5.0 and repl["warm_s"] == pytest.approx(5.0 + cold, rel=1e-12)
    # the second scripted reclaim hits the replacement once its clock has started
    assert repl["notice_s"] == pytest.approx(max(5.0 + cold, 5.0 + notice), rel=1e-12)
    assert third["start_s"] == repl["notice_s"]
    rows = [u for u in r.ledger if u.tier == "spot"]
    assert [u.start_s for u in rows] == list(spot["start_s"])
    # the two instances overlap from the notice to the reclaim: both are billed
    s = all_row(summary)
    billed = sum(u.up_s for u in rows)
    assert billed == pytest.approx(r.period_s + 2 * notice, rel=1e-12)
    assert s["cost_spot_usd"] == pytest.approx(billed / 3600 * 2.25, rel=1e-12)
    assert (r.log.outcome == COMPLETED).all()


def test_spot_rows_are_billed_at_the_spot_price(tmp_path):
    cfg = _spot_cfg(tmp_path, [f"5,{MODEL},0"])
    r, summary = run(cfg, workload([(0.0, 100, 300), (0.5, 100, 3000)], horizon_s=600))
    T = r.period_s
    spot_rows = [u for u in r.ledger if u.tier == "spot"]
    price = cfg.catalog.gpus["H100"].spot_usd_per_hour
    assert price == 2.25
    assert [(u.start_s, u.end_s) for u in spot_rows] == [(0.0, 7.0), (7.0, T)]
    assert all(u.usd_per_gpu_hour == price for u in spot_rows)
    s = all_row(summary)
    assert s["cost_spot_usd"] == pytest.approx(T / 3600 * price, rel=1e-12)  # billed while loading
    assert s["cost_dedicated_usd"] == pytest.approx(T / 3600 * 2.37, rel=1e-12)
    assert s["cost_usd"] == pytest.approx(T / 3600 * (2.37 + price), rel=1e-12)
    assert s["loading_gpu_hours"] == pytest.approx(_cold_total_s(cfg) / 3600, rel=1e-12)


def test_without_retries_the_reclaimed_request_fails_with_its_reason(tmp_path):
    cfg = _spot_cfg(tmp_path, [f"5,{MODEL},0"], **{"dedicated.failures.max_attempts": 1,
                                                  "dedicated.spot.replacement": "false"})
    r, summary = run(cfg, workload([(0.0, 100, 300), (0.5, 100, 3000), (20.0, 50, 5)], horizon_s=60))
    log = r.log
    assert log.outcome[1] == FAILED and log.reasons.names[log.reason[1]] == "spot_preemption"
    assert log.outcome[0] == COMPLETED and log.outcome[2] == COMPLETED
    s = all_row(summary)
    assert (s["failed"], s["completed"], s["retries"]) == (1, 2, 0)
    assert len(r.extra["tables"]["spot"]) == 1  # no replacement: the slot stays empty
    assert r.extra["tables"]["spot_summary"].iloc[0]["failed_requests"] == 1
    # it failed on the spot replica, so in tier spot (as a request the run's end cuts
    # there): until December 2026 in the pool's tier, dedicated, where the spot tier row
    # was missing and the dedicated row counted a failure no reserved replica caused
    tiers = [log.tiers.names[c] for c in log.tier]
    assert tiers == ["dedicated", "spot", "dedicated"]
    rows = summary.set_index("tenant")
    assert rows.loc["__tier__:spot", ["requests", "completed", "failed"]].tolist() == [1, 0, 1]
    assert rows.loc["__tier__:dedicated", ["requests", "completed", "failed"]].tolist() == [2, 2, 0]


def test_the_rate_process_gives_a_poisson_count_of_reclaims():
    """Exponential up times with rate lambda per replica and no time away: the reclaims in
    [0, T) are Poisson(lambda T); 40 replicas x 100 expected each = 4,000, sd 63: 4 sd is
    +-6.3 %."""
    lam, T, n = 0.01, 10_000.0, 40
    count = 0
    for i in range(n):
        plan, now = FailurePlan("random", seed=7, name=f"spot/m/{i}", mtbf_s=1 / lam), 0.0
        while True:
            at, _ = plan.next(now)
            if at >= T:
                break
            count += 1
            now = at
    assert abs(count - lam * T * n) <= 4 * math.sqrt(lam * T * n)


def test_a_simulated_spot_pool_is_reclaimed_at_the_configured_rate():
    """8 spot replicas at 30 reclaims per GPU-hour (mean 120 s up), a 10 s notice and a
    replacement loading from the local disk: each replica cycles through Exp(120 s) up +
    10 s + the cold start c. Over T the count is about 8 T / (120 + 10 + c) (renewal); its
    sd is sqrt(8 T sigma^2 / mu^3) with sigma = 120 s, mu the cycle: within 4 sd."""
    T = 3600.0
    res = sim.run([f"horizon_s={T:g}", "tenants.chat.arrival.rate_rps=2",
                   "dedicated.replicas.llama31-8b=8", "dedicated.spot.replicas.llama31-8b=8",
                   "dedicated.spot.preemption.per_gpu_hour=30", "dedicated.spot.preemption.notice_s=10",
                   "dedicated.spot.storage_tier=local_nvme", "dedicated.spot.need_node=false",
                   "dedicated.spot.image_cached=true", "output.plots=false"])
    spot = res.tables["dedicated_spot"]
    cold = float(spot["loading_s"][spot["instance"] > 0].max())
    mu, sigma = 120.0 + 10.0 + cold, 120.0
    expected = 8 * T / mu
    sd = math.sqrt(8 * T * sigma**2 / mu**3)
    reclaims = int(res.tables["dedicated_spot_summary"].iloc[0]["preemptions"])
    assert reclaims == int((spot["reclaim_s"] <= res.summary["period_s"].max()).sum())
    assert abs(reclaims - expected) <= 4 * sd + 8  # + one cycle per replica cut at T
    req = res.requests
    s = res.summary.query("tenant == '__all__'").iloc[0]
    assert s["completed"] + s["failed"] + s["rejected"] == s["requests"] == len(req)
    assert set(req["outcome"].astype(str)) <= {"completed", "failed"}
    assert (req.loc[req["outcome"] == "failed", "reason"].astype(str) == "spot_preemption").all()
    assert s["retries"] == res.tables["dedicated_spot_summary"].iloc[0]["retried_tries"]
    # every replica is spot: the whole bill is spot GPU time at the spot price
    tier = res.summary.query("tenant == '__tier__:spot'")
    assert len(tier) == 0 or tier.iloc[0]["cost_usd"] == pytest.approx(s["cost_spot_usd"], rel=1e-9)
    assert s["cost_usd"] == pytest.approx(s["cost_spot_usd"], rel=1e-12)
    assert s["cost_usd"] == pytest.approx(spot["billed_s"].sum() / 3600 * 2.25, rel=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_spot_and_failures_together_lose_no_request(engine):
    res = sim.run([f"engine={engine}", "horizon_s=240", "tenants.chat.arrival.rate_rps=8",
                   "dedicated.replicas.llama31-8b=3", "dedicated.spot.replicas.llama31-8b=2",
                   "dedicated.spot.preemption.per_gpu_hour=40", "dedicated.spot.preemption.notice_s=5",
                   "dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.03",
                   "dedicated.failures.mttr_s=20", "dedicated.failures.max_attempts=2",
                   "dedicated.router=jsq", "output.plots=false"])
    req = res.requests
    s = res.summary.query("tenant == '__all__'").iloc[0]
    assert s["completed"] + s["failed"] + s["rejected"] == s["requests"] == len(req)
    assert np.isfinite(s["cost_spot_usd"]) and s["cost_spot_usd"] > 0


def test_bad_spot_settings_name_their_key(tmp_path):
    base = ["horizon_s=5", "dedicated.replicas.llama31-8b=2"]
    with pytest.raises(sim.InputError, match=r"dedicated\.spot\.replicas\.llama31-8b.*at most 2"):
        sim.run(base + ["dedicated.spot.replicas.llama31-8b=3"])
    with pytest.raises(sim.InputError, match=r"catalog\.gpus\.H100\.spot_usd_per_hour"):
        sim.run(base + ["dedicated.spot.replicas.llama31-8b=1", "catalog.gpus.H100.spot_usd_per_hour=null"])
    with pytest.raises(sim.InputError, match=r"dedicated\.spot\.preemption\.trace"):
        sim.run(base + ["dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.preemption.mode=trace"])
    p = _trace(tmp_path, ["1,llama31-8b,0", "2,llama31-8b,1"])
    with pytest.raises(sim.InputError, match=rf"{p}:3: llama31-8b has spot replicas 0..0"):
        sim.run(base + ["dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.preemption.mode=trace",
                        f"dedicated.spot.preemption.trace={p}"])
    with pytest.raises(sim.InputError, match=r"dedicated\.failures\.script\[0\]\.replica"):
        sim.run(base + ["dedicated.spot.replicas.llama31-8b=1", "dedicated.failures.mode=script",
                        "dedicated.failures.script=[{replica:1,at_s:1,down_s:1}]"])


def test_spot_runs_are_deterministic():
    args = ["horizon_s=120", "seed=4", "tenants.chat.arrival.rate_rps=10",
            "dedicated.replicas.llama31-8b=3", "dedicated.spot.replicas.llama31-8b=2",
            "dedicated.spot.preemption.per_gpu_hour=60", "dedicated.spot.preemption.notice_s=1",
            "output.plots=false"]
    a, b = sim.run(args), sim.run(args)
    assert len(a.tables["dedicated_spot"]) > 2  # reclaimed and replaced
    assert a.summary.equals(b.summary) and a.requests.equals(b.requests)
    assert a.tables["dedicated_spot"].equals(b.tables["dedicated_spot"])


@pytest.mark.parametrize("experiment_first", [True, False])
def test_the_command_line_overrides_experiment_spot_in_either_order(experiment_first):
    # experiment files are `# @package _global_` entries of the defaults list: Hydra applies
    # the command line's overrides after them, wherever experiment= stands
    own = ["dedicated.spot.preemption.per_gpu_hour=5", "dedicated.replicas.llama31-8b=6"]
    cfg = sim.compose(["experiment=spot", *own] if experiment_first else [*own, "experiment=spot"])
    assert cfg.job == "spot"
    assert cfg.dedicated.spot.preemption.per_gpu_hour == 5.0  # the experiment's 2.0 is replaced
    assert cfg.dedicated.replicas["llama31-8b"] == 6  # and its 4


def test_the_spot_job_refuses_spot_replicas_it_would_overwrite(tmp_path):
    # the job sets dedicated.spot.replicas in each of its four mixes: a value given for it
    # went unused, silently (the run compared the job's own mixes)
    with pytest.raises(sim.InputError, match=r"^config key 'dedicated\.spot\.replicas\.llama31-8b': "
                                             r"the spot job .* so 1 would go unused"):
        sim.run(["experiment=spot", "horizon_s=20", "dedicated.spot.replicas.llama31-8b=1"],
                output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_spot_billed_but_serving_nothing_is_in_cost_spot_usd_with_no_tier_rows(tmp_path):
    """One reserved and one spot replica: B (t=0.1) starts on the spot one, which is noticed
    at 2 s and reclaimed at 4 s (no replacement); B finishes on the reserved replica. Every
    request was served by tier dedicated: no __tier__ rows (they need two tiers served, as
    README's Spot paragraph now says; it said a __tier__:spot row appeared), and the spot
    bill is cost_spot_usd, the 4 s the instance lived at $2.25 per GPU-hour."""
    cfg = _spot_cfg(tmp_path, [f"2,{MODEL},0"], notice=2.0, **{"dedicated.spot.replacement": "false"})
    r, summary = run(cfg, workload([(0.0, 100, 2000), (0.1, 100, 2000)], horizon_s=30))
    assert (r.log.outcome == COMPLETED).all() and r.log.attempts.tolist() == [0, 1]
    assert {r.log.tiers.names[c] for c in r.log.tier} == {"dedicated"}
    assert not summary["tenant"].str.startswith("__tier__").any()
    assert all_row(summary)["cost_spot_usd"] == pytest.approx(4.0 / 3600 * 2.25, rel=1e-9)
