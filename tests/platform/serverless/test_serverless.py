"""The serverless setup end to end: keep-alive theory, the Azure trace, isolation,
exactly-once endings, background tenants, billing, placement, input errors."""

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
from helpers import later_wins
from helpers.serverless import Harness, compose, twin_model

import sim
from sim.records import COMPLETED, FAILED, PENDING, REJECTED
from sim.simulation.simulate import simulate_setups

AZURE_CODE = "${traces:}/azure_llm_2023/AzureLLMInferenceTrace_code.csv"
REASONS = {"rate_limit_rpm", "rate_limit_tpm", "rate_limit_concurrency", "exceeds_kv_capacity",
           "queue_full", "timeout_queued", "timeout_cold_start", "timeout_no_capacity",
           "unfinished_at_end"}


# ------------------------------------------------------------------ keep-alive vs theory
def _poisson_keepalive(lam, k, horizon, seed=0):
    cfg = sim.compose([
        "setups=[serverless]", f"horizon_s={horizon}", f"seed={seed}",
        f"tenants.chat.arrival.rate_rps={lam}",
        "tenants.chat.input={kind: fixed, mean: 16}", "tenants.chat.output={kind: fixed, mean: 2}",
        f"serverless.keepalive.idle_s={k}",
        # short service and a short load (8.5 GB from host memory at 52 GB/s, no container or
        # init stage): the model is cold only between requests
        "cold_start.container_start_s=0", "cold_start.engine_init_s=0",
        "cold_start.preloaded_tier=host_dram"])
    w, runs, _ = simulate_setups(cfg)
    return w, runs[0]


@pytest.mark.parametrize("k", [10.0, 30.0])
def test_cold_fraction_matches_exp_minus_lambda_k(k):
    lam, horizon = 0.1, 40000.0
    w, run = _poisson_keepalive(lam, k, horizon)
    log = run.log
    n = len(w)
    cold = log.cold_wait_s > 0
    p = math.exp(-lam * k)
    # Tolerance: 4 binomial standard deviations at n ~ 4,000, plus the model's bias. A
    # request is cold when the gap since the previous request *ended* exceeds K (service
    # s ~ 15 ms, plus the load L ~ 0.17 s after a cold one), or when it arrives during a
    # load: |bias| <= lam * (s + L) ~ 0.02 relative, below 0.01 absolute.
    tol = 4 * math.sqrt(p * (1 - p) / n) + lam * 0.2
    assert abs(cold.mean() - p) < tol, (cold.mean(), p, tol)
    # and the mechanism, request by request: cold iff the gap since the latest finish is
    # longer than K, or the request arrived while the replica was loading
    order = np.argsort(log.arrival_s)
    a, f = log.arrival_s[order], log.finish_s[order]
    gap = a[1:] - np.maximum.accumulate(f)[:-1]
    loading = np.r_[False, gap < 0] & cold[order]
    predicted = np.r_[True, gap > k] | loading
    assert (predicted == cold[order]).all()
    assert loading.sum() < 0.02 * n


# --------------------------------------------------------------- hybrid keep-alive (Azure)
def test_hybrid_histogram_beats_platform_default_timeouts_on_the_azure_code_trace():
    """Against the default idle timeouts of serverless GPU platforms (CAL §5: 5 s and 60 s),
    the hybrid histogram policy has fewer cold requests on the same 8,819 requests, and less
    idle GPU time (loading included) than the 5 s timeout; against 60 s it ties on idle time
    (within 2 %: 1.475 against 1.464 GPU-h since the December 2026 refit of the performance
    model, issue 18; 1.42 against 1.47 before: the margin was never wide). It is not better
    than every fixed timeout: a 300 s timeout, longer than the trace's longest gap, beats it
    on both; see README."""
    res = sim.run(["experiment=keepalive", "keepalive.fixed_idle_s=[5,60]",
                   "output.parquet=false"])
    t = res.tables["keepalive"].set_index("policy", append=True)
    hy = res.tables["keepalive"].query("policy == 'hybrid'").iloc[0]
    assert hy["requests"] == 8819 and hy["completed"] == 8819
    for _, fx in res.tables["keepalive"].query("policy == 'fixed'").iterrows():
        assert hy["cold_fraction"] < fx["cold_fraction"], fx["keepalive_s"]
        bound = 1.0 if fx["keepalive_s"] < 60 else 1.02
        assert hy["idle_gpu_hours"] < fx["idle_gpu_hours"] * bound, fx["keepalive_s"]
    # the histogram was representative and settled on the trace's idle-time tail
    assert 0 < hy["final_keepalive_s"] < 600 and len(t) == 3


# ---------------------------------------------------------------------------- isolation
def test_p99_ttft_does_not_improve_when_background_load_rises():
    res = sim.run(["experiment=noisy_neighbour", "setups=[serverless]", "horizon_s=600",
                   "noisy_neighbour.background_levels=[0,0.5,1]", "output.parquet=false"])
    iso = res.tables["isolation"]
    for tenant, g in iso.groupby("tenant"):
        g = g.sort_values("background_level")
        p99 = g["ttft_p99_s"].to_numpy()
        # The user's requests are the same at every level (nested background, common random
        # numbers), so only the background moves them. A 2 % allowance covers second-order
        # effects that can help (e.g. a scale-up the background triggers); p99 of ~120 to
        # ~1,200 requests is the 2nd to 12th largest TTFT.
        assert (p99[1:] >= p99[:-1] * 0.98).all(), (tenant, p99)
        assert g["requests"].nunique() == 1
    top = iso[iso["background_level"] == 1.0]
    assert (top["isolation_ratio"] > 1.2).all()  # the background does hurt both tenants


# ------------------------------------------------------------------- exactly-once endings
STRESS = [
    "setups=[serverless]", "horizon_s=900",
    "serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=2",
    "serverless.max_wait_s=20", "serverless.max_queue=40",
    "serverless.keepalive.idle_s=15",
    "tenants.chat.arrival={kind: onoff, rate_rps: 3.0, on_s: 30, off_s: 60}",
    "background.synthetic.tenants=12", "background.synthetic.rate_rps=3.0",
    "background.synthetic.models=[llama31-8b,qwen3-32b,mixtral-8x7b]",
    "deployments={qwen3-32b: {tp: 1}, mixtral-8x7b: {tp: 1}}",
    "serverless.rate_limits={bg/syn000: {rpm: 20, concurrency: 2}}",
]


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_every_request_ends_exactly_once_under_stress(engine):
    cfg = compose(later_wins(STRESS + [f"engine={engine}", "horizon_s=400" if engine == "step" else "seed=0"]))
    w, runs, _ = simulate_setups(cfg)
    log = runs[0].log
    assert (log.outcome != PENDING).all()
    n_done = int((log.outcome == COMPLETED).sum())
    n_rej = int((log.outcome == REJECTED).sum())
    n_fail = int((log.outcome == FAILED).sum())
    assert n_done + n_rej + n_fail == len(w)
    reasons = np.asarray(log.reasons.names)[log.reason]
    assert set(reasons[log.outcome == COMPLETED]) == {""}
    ended = reasons[log.outcome != COMPLETED]
    assert set(ended) <= REASONS and "" not in set(ended)
    assert n_rej > 0 and runs[0].extra["stats"]["evictions"] > 0  # the stress did stress
    done = log.outcome == COMPLETED
    assert (log.first_s[done] >= log.arrival_s[done]).all()
    assert (log.finish_s[done] >= log.first_s[done]).all()
    cold = log.cold_wait_s > 0
    assert (np.asarray(log.cold_tiers.names)[log.cold_tier[cold]] != "").all()
    # a request that waited for a cold start got its first token after the wait
    assert (log.first_s[done & cold] >= log.arrival_s[done & cold] + log.cold_wait_s[done & cold] - 1e-9).all()
    # the ledger never holds more GPUs than the pool has, at any instant
    ev = sorted([(r.start_s, r.gpus) for r in runs[0].ledger] + [(r.end_s, -r.gpus) for r in runs[0].ledger],
                key=lambda e: (e[0], e[1]))
    assert max(np.cumsum([g for _, g in ev])) <= 2


def test_rate_limits_reject_with_their_reason():
    res = sim.run(["setups=[serverless]", "horizon_s=120", "tenants.chat.arrival.rate_rps=2",
                   "serverless.rate_limits={chat: {rpm: 30}}", "output.parquet=true"])
    r = res.requests
    rej = r[r["outcome"] == "rejected"]
    assert len(rej) > 0 and set(rej["reason"]) == {"rate_limit_rpm"}
    # a 30/min bucket that starts full admits at most 30 + 30/60 x 120 = 90 in 120 s
    assert (r["outcome"] == "completed").sum() <= 90


# --------------------------------------------------------------------- background tenants
BG = ["background.synthetic.tenants=5", "background.synthetic.rate_rps=2",
      "background.servegen.path=${traces:}/servegen/m-mid_client_windows.csv.gz",
      "background.servegen.clients=3", "background.servegen.rate_scale=0.05"]


def test_background_leaves_user_requests_identical_and_is_marked():
    from sim.simulation.build import build_workload

    plain = build_workload(sim.compose(["horizon_s=300"]))
    noisy = build_workload(sim.compose(["horizon_s=300"] + BG))
    assert noisy.background_tenants == 8 and noisy.tenants[:1] == ["chat"]
    u = noisy.user_mask()
    for col in ("arrival_s", "input_tokens", "output_tokens", "tenant", "model"):
        assert np.array_equal(getattr(plain, col), getattr(noisy, col)[u]), col
    assert noisy.tenants[1].startswith("bg/syn") and noisy.tenants[-1].startswith("bg/sg")
    # nested thinning: the kept background at scale 0.5 is a subset of the full one
    half = build_workload(sim.compose(["horizon_s=300", "background.scale=0.5"] + BG))
    key = lambda w: set(zip(w.tenant[~w.user_mask()].tolist(), w.arrival_s[~w.user_mask()].tolist()))
    assert key(half) < key(noisy)
    assert 0.35 < len(key(half)) / len(key(noisy)) < 0.65  # ~0.5 of a few hundred requests


def test_servegen_clients_replay_their_window_rates():
    from sim.simulation.build import build_catalog
    from sim.workload.background import WINDOW_S, load_client_windows, servegen

    cfg = sim.compose(["horizon_s=3600", "background.servegen.path=${traces:}/servegen/m-large_client_windows.csv.gz",
                       "background.servegen.clients=4"])
    tenants = servegen(cfg, build_catalog(cfg), 0, 3600.0, ["llama31-8b"])
    cid, w, rate, _, _ = load_client_windows(cfg.background.servegen.path)
    expected = {c: rate[(cid == c) & (w < 3600)].sum() * WINDOW_S for c in np.unique(cid)}
    busiest = sorted(expected, key=lambda c: (-expected[c], c))[:4]
    assert [t.name for t in tenants] == [f"bg/sg{c}" for c in busiest]
    for t, c in zip(tenants, busiest):
        n = t.arrival_s.size
        # a renewal count over ~an hour: within 5 Poisson-like standard deviations, with
        # room for the bursty (CV >> 1) clients' extra variance
        assert abs(n - expected[c]) < 5 * math.sqrt(expected[c]) * 3, (c, n, expected[c])
        assert (np.diff(t.arrival_s) >= 0).all() and t.arrival_s.max() < 3600


def test_dedicated_ignores_background_and_serverless_summarises_it_apart():
    base = ["setups=[serverless,dedicated]", "horizon_s=200", "output.parquet=true"]
    plain = sim.run(base)
    noisy = sim.run(base + BG)
    s0 = plain.summary.set_index(["setup", "tenant"])
    s1 = noisy.summary.set_index(["setup", "tenant"])
    cols = ["requests", "completed", "ttft_p50_s", "ttft_p99_s", "cost_usd"]
    pd.testing.assert_frame_equal(s0.loc["dedicated", cols], s1.loc["dedicated", cols])
    assert ("serverless", "__background__") in s1.index and ("dedicated", "__background__") not in s1.index
    assert s1.loc[("serverless", "__background__"), "background"]
    assert not s1.loc[("serverless", "chat"), "background"]
    # the per-request file: background rows only for the setup that served them
    r = noisy.requests
    bg = r["tenant"].astype(str).str.startswith("bg/")
    assert bg[r["setup"] == "dedicated"].sum() == 0
    assert bg[r["setup"] == "serverless"].sum() == s1.loc[("serverless", "__background__"), "requests"]
    assert s1.loc[("serverless", "__all__"), "requests"] == s0.loc[("serverless", "__all__"), "requests"]


def test_same_seed_same_bytes_with_background(tmp_path):
    args = ["setups=[serverless]", "horizon_s=120", "seed=3"] + BG
    a, b = tmp_path / "a", tmp_path / "b"
    sim.run(args, output_dir=a)
    sim.run(args, output_dir=b)
    for f in ("summary.csv", "requests.parquet"):
        assert hashlib.sha256((a / f).read_bytes()).digest() == hashlib.sha256((b / f).read_bytes()).digest()


# ------------------------------------------------------------ consistency with dedicated
@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_one_provisioned_replica_serves_like_a_dedicated_one(engine):
    """min_replicas=1, below the autoscaler's target: the same replica, the same times."""
    res = sim.run([f"engine={engine}", "setups=[serverless,dedicated]", "horizon_s=120",
                   "serverless.autoscaler.min_replicas={llama31-8b: 1}", "tenants.chat.arrival.rate_rps=1"])
    r = res.requests.pivot(index="request_id", columns="setup", values="ttft_s")
    assert np.allclose(r["serverless"], r["dedicated"], rtol=1e-12, atol=0)
    assert (res.requests["cold_start_wait_s"] == 0).all()


# ------------------------------------------------------------------------------ billing
def test_gpu_second_billing_counts_load_and_idle_time_exactly():
    cfg = compose(["serverless.billing=gpu_second", "serverless.keepalive.idle_s=30"])
    h = Harness(cfg, ["llama31-8b"]).run([(0.0, "llama31-8b", 100, 2)], until=500)
    (row,) = h.close(500.0)
    t_done = h.reqs[0].t_done
    assert row.billing == "gpu_second" and row.usd_per_gpu_hour == pytest.approx(0.00116 * 3600)
    assert (row.start_s, row.end_s) == (0.0, pytest.approx(t_done + 30.0, rel=1e-12))
    assert row.cost_usd == pytest.approx((t_done + 30.0) * 0.00116, rel=1e-12)  # RunPod flex H100 (CAL §5)
    assert row.loading_s == pytest.approx(1 + 8.5 / 6 + 25, rel=1e-12)


def test_per_token_billing_charges_catalog_prices():
    res = sim.run(["setups=[serverless]", "horizon_s=120", "tenants.chat.arrival.rate_rps=1",
                   "output.parquet=true"])
    r = res.requests[res.requests["outcome"] == "completed"]
    usd = (r["input_tokens"].sum() * 0.18 + r["output_tokens"].sum() * 0.18) / 1e6  # CAL §5
    row = res.summary.query("tenant == 'chat'").iloc[0]
    assert row["cost_usd"] == pytest.approx(usd, rel=1e-9)


# ---------------------------------------------------------------- placement and waiting
def test_a_full_pool_evicts_the_least_recently_used_idle_replica():
    cfg = compose(["serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=2",
                   "serverless.keepalive.idle_s=1000",
                   "cold_start.preloaded_tier=host_dram"],
                  edit=lambda c: (twin_model(c, "Twin-A"), twin_model(c, "Twin-B")))
    m = ["llama31-8b", "Twin-A", "Twin-B"]
    h = Harness(cfg, m).run([(0.0, m[0], 100, 2), (1.0, m[1], 100, 2), (100.0, m[1], 100, 2),
                             (200.0, m[2], 100, 2)], until=400)
    cs = h.platform.cold_starts()
    assert list(cs.model) == m  # Twin-B's load happened at once, by evicting ...
    assert cs.start_s.iloc[2] == 200.0
    rows = h.close(400.0)
    assert rows[0].end_s == 200.0 and rows[1].end_s == 400.0  # ... the 8B, idle the longest
    assert h.platform.stats["evictions"] == 1


def test_no_eviction_waits_then_rejects_with_a_reason():
    cfg = compose(["serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=1",
                   "serverless.eviction=none",
                   "serverless.keepalive.idle_s=100", "serverless.max_wait_s=100"], edit=twin_model)
    h = Harness(cfg, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (20.0, "Twin-8B", 100, 2), (90.0, "Twin-8B", 100, 2)], until=600)
    t_free = h.reqs[0].t_done + 100.0  # the 8B's keep-alive frees the only GPU
    # request 1 waited 100 s with no GPU: rejected; request 2 is served by the replica that
    # loads once the GPU frees, within its 100 s
    assert h.log.outcome[1] == REJECTED
    assert h.log.reasons.names[h.log.reason[1]] == "timeout_no_capacity"
    assert h.log.cold_wait_s[1] == pytest.approx(100.0)
    cs = h.platform.cold_starts()
    assert cs.start_s.iloc[1] == pytest.approx(t_free, rel=1e-12)
    assert h.log.outcome[2] == COMPLETED
    assert h.log.cold_wait_s[2] == pytest.approx(t_free - 90.0 + cs.total_s.iloc[1], rel=1e-9)


def test_interference_slows_replicas_that_share_a_node():
    """Two provisioned replicas on one node, each 1 + alpha x (1 neighbour) slower."""
    alpha = 0.2
    reqs = [(1.0, "llama31-8b", 500, 50), (1.0, "Twin-8B", 500, 50)]
    warm = "serverless.autoscaler.min_replicas={llama31-8b: 1, Twin-8B: 1}"
    base = Harness(compose([warm], edit=twin_model), ["llama31-8b", "Twin-8B"]).run(reqs, until=300)
    slow = Harness(compose([warm, f"serverless.interference.per_neighbour={alpha}"], edit=twin_model),
                   ["llama31-8b", "Twin-8B"]).run(reqs, until=300)
    assert len({s.node.id for s in slow.platform.slots.values()}) == 1  # packed on one node
    for i in (0, 1):
        serve = base.reqs[i].t_done - 1.0
        assert slow.reqs[i].t_done - 1.0 == pytest.approx(serve * (1 + alpha), rel=1e-12)
        assert slow.log.cold_wait_s[i] == 0.0


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("override, key", [
    (["serverless.rate_limits={nobody: {rpm: 1}}"], "serverless.rate_limits.nobody"),
    (["cold_start.remote_tier=host_dram"], "cold_start.remote_tier"),
    (["serverless.max_wait_s=0"], "serverless.max_wait_s"),
    (["deployments={llama31-8b: {gpu: A100, precision: bf16}}"], "serverless.pool"),
    (["serverless.pool={B300: {nodes: 1}}"], "serverless.pool.B300"),
    (["background.scale=2", "background.synthetic.tenants=2"], "background.scale"),
    (["background.servegen.clients=2"], "background.servegen.path"),
    (["serverless.keepalive.kind=hybrid", "serverless.keepalive.hybrid.margin=1.5"], "serverless.keepalive.hybrid"),
])
def test_bad_serverless_input_names_the_key(override, key):
    with pytest.raises(sim.InputError, match=key.replace(".", r"\.")):
        sim.run(["setups=[serverless]", "horizon_s=10"] + override)


def test_experiments_write_their_figures(tmp_path):
    for exp, extra in [("cold_start", ["horizon_s=900"]),
                       ("noisy_neighbour", ["horizon_s=300", "noisy_neighbour.background_levels=[0,1]"]),
                       ("keepalive", ["keepalive.fixed_idle_s=[60]", "horizon_s=600"])]:
        out = tmp_path / exp
        res = sim.run([f"experiment={exp}"] + extra, output_dir=out)
        stem = {"cold_start": "cold_start", "noisy_neighbour": "isolation", "keepalive": "keepalive"}[exp]
        assert (out / "plots" / f"{stem}.png").stat().st_size > 0
        assert (out / "plots" / f"{stem}.svg").stat().st_size > 0
        assert (out / "summary.csv").stat().st_size > 0 and res.tables


def test_rows_of_stopped_replicas_are_closed_with_the_same_figures(monkeypatch):
    """A stopped replica's ledger row is made small when it stops (KvStats.close: implicit
    evictions counted, histogram sparse); every figure of replicas.csv is what the row gives
    when it is left open to the end of the run (close a no-op)."""
    from sim.kvstats import KvStats
    from sim.metrics.events import ledger_frame
    cfg = compose(["setups=[serverless]", "serverless.keepalive.idle_s=5", "horizon_s=900"])
    _, runs, _ = simulate_setups(cfg)
    rows = runs[0].ledger
    closed = [r for r in rows if isinstance(r.kv.occupancy_hist, bytes)]
    assert len(closed) >= 2  # replicas scaled to zero and stopped (4 of them)
    assert all(r.kv.pending is None for r in rows)  # every implicit hold counted
    monkeypatch.setattr(KvStats, "close", lambda self: None)
    _, open_runs, _ = simulate_setups(cfg)
    assert not any(isinstance(r.kv.occupancy_hist, bytes) for r in open_runs[0].ledger)
    pd.testing.assert_frame_equal(ledger_frame(runs), ledger_frame(open_runs), check_exact=True)
    # and packed (closedrows.py): the stopped replicas' rows are views, read the same
    from sim.platform.serverless.closedrows import ClosedRow
    assert sum(isinstance(r, ClosedRow) for r in rows) == len(closed)
    assert all(isinstance(r, ClosedRow) for r in closed)
