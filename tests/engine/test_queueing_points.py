"""More textbook queues, at points the other queueing tests do not use: many servers, heavy
and overloaded traffic, deterministic service on several servers, bursty renewal arrivals, a
saturated closed loop, and service times from 1 ms to 1,000 s.

Built as ``test_queueing_classic.py`` builds them (README, "Queueing theory: the textbook
settings"): a ``table`` perf model with a constant iteration time, one-token prompts and
single-sequence replicas make FCFS servers whose service time is ``output_tokens x d``.
Theory uses the run's realised arrival rate and service moments; tolerances are 4 batch-means
standard errors plus the reduction's stated model error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.queueing import (
    GEO,
    D,
    batch_means,
    closed_loop_vs_mva,
    erlang_b,
    erlang_c,
    gim1_sigma,
    mdc_wait,
    mmck_blocking,
    replay_fcfs,
    run_table,
    write_table,
)
from helpers.queueing import (
    fcfs_run as _fcfs,
)


def test_erlang_c_with_sixteen_servers_in_heavy_traffic(tmp_path):
    """M/M/16 at rho = 0.9: P(wait) and E[Wq] are Erlang C's, and so is the waiting tail the
    summary's TTFT percentiles read (TTFT = wait + one iteration): P(Wq > t) = C exp(-(c mu -
    lambda) t) at the theory's 90th percentile, and ``ttft_p90_s`` is the 90th percentile of
    the request log's ``ttft_s``. Model error: geometric service, 1 % (0.005 on shares)."""
    c, n = 16, 100_000
    res, r = _fcfs(tmp_path, c, 0.9 * c, n, 12)
    s = r["output_tokens"].to_numpy() * D
    lam = len(r) / (n / (0.9 * c))
    mu = 1.0 / s.mean()
    pw_th = erlang_c(c, lam / mu)
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    pw, pw_se = batch_means((wait > 0).astype(float))
    w, w_se = batch_means(wait)
    assert abs(pw - pw_th) < 4 * pw_se + 0.005, (pw, pw_th, pw_se)
    assert abs(w - pw_th / (c * mu - lam)) < 4 * w_se + 0.01 * w, (w, pw_th / (c * mu - lam), w_se)
    t90 = math.log(pw_th / 0.1) / (c * mu - lam)
    p, p_se = batch_means((wait > t90).astype(float))
    assert abs(p - 0.1) < 4 * p_se + 0.005, (p, p_se)
    row = res.summary.set_index("tenant").loc["__all__"]
    assert row["ttft_p90_s"] == pytest.approx(np.percentile(r["ttft_s"], 90), rel=1e-12)
    assert row["ttft_p90_s"] == pytest.approx(t90 + D, abs=4 * p_se / (0.1 * (c * mu - lam)) + 0.02)


def test_md4_mean_wait_and_wait_probability(tmp_path):
    """M/D/4 at rho = 0.9 (fixed 1,000-token outputs: service exactly 1 s): E[Wq] and P(wait)
    from the exact chain of the number present at multiples of the service time
    (helpers.queueing.mdc_wait: Wq 1.000 s, P(wait) 0.775 at the nominal rate)."""
    c, n = 4, 100_000
    _, r = _fcfs(tmp_path, c, 0.9 * c, n, 14, output="{kind: fixed, mean: 1000}")
    lam = len(r) / (n / (0.9 * c))
    w_th, pw_th = mdc_wait(lam, 1000 * D, c)
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    w, w_se = batch_means(wait)
    pw, pw_se = batch_means((wait > 0).astype(float))
    assert abs(w - w_th) < 4 * w_se + 0.01 * w_th, (w, w_th, w_se)
    assert abs(pw - pw_th) < 4 * pw_se, (pw, pw_th, pw_se)


def test_bursty_gamma_arrivals_gi_m_1(tmp_path):
    """Gamma gaps with CV 2 (shape 1/4, far burstier than Poisson) into one exponential
    server at rho = 0.7: an arrival waits with probability sigma, the root of sigma =
    A*(mu (1 - sigma)), and E[Wq] = sigma / (mu (1 - sigma)) (6.6 s: 2.9 times M/M/1's).
    Model error: geometric service, 1 % (0.005 on the share)."""
    lam, n, cv = 0.7, 100_000, 2.0
    _, r = _fcfs(tmp_path, 1, lam, n, 16,
                 extra=["tenants.chat.arrival.kind=gamma", f"tenants.chat.arrival.cv={cv}"])
    gaps = np.diff(r["arrival_s"].to_numpy())
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.05)
    k, lam_hat = 1 / cv ** 2, len(r) / (n / lam)
    mu = 1.0 / (r["output_tokens"].mean() * D)
    sigma = gim1_sigma(lambda s: (k * lam_hat / (k * lam_hat + s)) ** k, mu)
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    w, w_se = batch_means(wait)
    pw, pw_se = batch_means((wait > 0).astype(float))
    assert abs(pw - sigma) < 4 * pw_se + 0.005, (pw, sigma, pw_se)
    assert abs(w - sigma / (mu * (1 - sigma))) < 4 * w_se + 0.01 * w, (w, sigma, w_se)


@pytest.mark.parametrize("c,k,rho", [(1, 2, 0.9), (16, 20, 1.1)])
def test_mmck_blocking_wait_and_utilisation(tmp_path, c, k, rho):
    """M/M/c/K behind the central queue (K = c + max_queue): the smallest waiting room
    (M/M/1/2) and an overloaded M/M/16/20. The share blocked is p_K, the admitted requests'
    mean wait is Lq / (lambda (1 - p_K)) (Little), and ``busy_fraction`` is (1 - p_K) a / c
    up to the drain's end effect. Model error: geometric service, 1 % (0.005 on shares)."""
    n = 60_000
    res, r = _fcfs(tmp_path, c, rho * c, n, 18, extra=[f"dedicated.max_queue={k - c}"])
    lam = len(r) / (n / (rho * c))
    a = lam * r["output_tokens"].mean() * D
    probs = np.array([a ** j / math.factorial(j) if j <= c
                      else a ** c / math.factorial(c) * (a / c) ** (j - c) for j in range(k + 1)])
    probs /= probs.sum()
    assert probs[k] == pytest.approx(mmck_blocking(c, k, a), rel=1e-12)
    blocked = (r["outcome"] == "rejected").to_numpy()
    b, b_se = batch_means(blocked.astype(float))
    assert abs(b - probs[k]) < 4 * b_se + 0.005, (b, probs[k], b_se)
    lq = (np.maximum(np.arange(k + 1) - c, 0) * probs).sum()
    w_th = lq / (lam * (1 - probs[k]))
    admitted = r[~blocked]
    w, w_se = batch_means((admitted["admit_s"] - admitted["arrival_s"]).to_numpy())
    assert abs(w - w_th) < 4 * w_se + 0.01 * w_th, (w, w_th, w_se)
    busy = float(res.summary.set_index("tenant").loc["__all__", "busy_fraction"])
    assert busy == pytest.approx((1 - probs[k]) * a / c, rel=0.01)


@pytest.mark.parametrize("c,a", [(1, 0.5), (20, 25.0)])
def test_concurrency_limit_is_erlang_b_at_light_and_overload(tmp_path, c, a):
    """The serverless concurrency limit with every admitted request running at once (one warm
    replica, M/G/infinity) turns away Erlang B(c, lambda E[T]) whatever the service law
    (here fixed: 1 s): a/(1 + a) = 1/3 for one slot, 28 % for 20 slots offered 25."""
    n = 40_000
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=100000",
        "deployments.llama31-8b.max_batched_tokens=100000", "serverless.autoscaler.max_replicas=1",
        "serverless.autoscaler.min_replicas.llama31-8b=1", "tenants.chat.output={kind: fixed, mean: 1000}",
        f"serverless.rate_limits.chat={{concurrency: {c}}}", f"tenants.chat.arrival.rate_rps={a}",
        f"horizon_s={n / a}", "seed=19", "output.plots=false", "output.report=false"]).requests
    r = r.sort_values("arrival_s", kind="stable")
    blocked = (r["reason"] == "rate_limit_concurrency").to_numpy()
    done = (r["outcome"] == "completed").to_numpy()
    assert (blocked | done).all()
    offered = len(r) / (n / a) * r.loc[done, "e2e_s"].mean()
    p, se = batch_means(blocked.astype(float))
    assert abs(p - erlang_b(c, offered)) < 4 * se, (p, erlang_b(c, offered), se)


def test_saturated_closed_loop_is_mva(tmp_path):
    """32 clients with 10 s think time around one exponential server (E[S] 1 s): saturated,
    MVA's response time 21.9 s (N S - Z would be 22). Its throughput is MVA's over the middle
    half of the log (the clients' staggered starts and ends aside). Model error: geometric
    service, 1 %."""
    r, r_mva, x_mva = closed_loop_vs_mva(tmp_path, 32, 10.0, 1000, D, GEO)
    resp, se = batch_means(r["e2e_s"].to_numpy())
    assert abs(resp - r_mva) < 4 * se + 0.01 * r_mva, (resp, r_mva, se)
    fin = np.sort(r["finish_s"].to_numpy())
    lo, hi = fin[fin.size // 4], fin[3 * fin.size // 4]
    x = (fin.size // 2) / (hi - lo)
    assert x == pytest.approx(x_mva, rel=0.01), (x, x_mva)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_service_from_a_millisecond_to_a_thousand_seconds(tmp_path, engine):
    """Time scaled by 10^6: four FCFS replicas at rho = 0.8 with 20-token geometric outputs at
    50 us and at 50 s a token (mean service 1 ms and 1,000 s; a 3,750 s and a 3.75e9 s
    horizon). Each run's waits equal the central replay of its own arrivals and services
    within 1e-9 of a mean service, the two runs' waits and busy fractions agree once scaled
    (the same seed draws the same requests), and each service time is exactly the
    tokens times the step."""
    c, rho, n, m = 4, 0.8, 3000, 20
    runs = {}
    for d in (5e-5, 50.0):
        res, r = _fcfs(tmp_path, c, rho * c / (m * d), n, 21, engine=engine, d=d,
                       output=f"{{kind: geometric, mean: {m}, max: 100000}}")
        assert (r["outcome"] == "completed").all()
        service = r["output_tokens"].to_numpy() * d
        wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
        np.testing.assert_allclose((r["e2e_s"] - r["admit_s"] + r["arrival_s"]).to_numpy(),
                                   service, rtol=0, atol=1e-9 * m * d)
        replay = replay_fcfs(r["arrival_s"].to_numpy(), service, c, "central")
        assert (replay > 0).mean() > 0.3
        np.testing.assert_allclose(wait, replay, rtol=0, atol=1e-9 * m * d)
        runs[d] = (wait / d, float(res.summary.set_index("tenant").loc["__all__", "busy_fraction"]))
    (w_small, b_small), (w_large, b_large) = runs[5e-5], runs[50.0]
    np.testing.assert_allclose(w_small, w_large, rtol=0, atol=1e-9 * m)
    assert b_small == pytest.approx(b_large, rel=1e-9)
