"""Textbook settings an outside oracle would build through the documented interface alone
(README, "Queueing theory: the textbook settings"), at points the other queueing tests do not
cover: M/M/c waiting and sojourn percentiles as the summary reports them, merged Poisson
streams of two tenants on one pool, finite-source queues with a waiting room (M/M/c/K/N) and
without one (Engset, through the serverless concurrency limit), M/G/1 with hyperexponential
service (an empirical PMF), and the serverless pool kept warm by an infinite keep-alive.

Each is built with ``sim.run`` as the README's recipe says (a ``table`` perf model with a
constant iteration time, one-token prompts, single-sequence replicas), and compared with the
formula computed here. Theory uses the run's realised arrival rate and service moments;
tolerances are 4 batch-means standard errors (40 batches) plus the stated model error
(geometric against exponential service: 1 % on means, 0.005 on shares).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.queueing import (
    D,
    batch_means,
    erlang_b,
    erlang_c,
    run_table,
    write_table,
)
from helpers.queueing import (
    fcfs_run as _fcfs,
)

EXP = "{kind: geometric, mean: 1000, max: null}"  # ~Exp(1 s), untruncated (README: max)


def _wait(r):
    return (r["admit_s"] - r["arrival_s"]).to_numpy()


def _mmc_sojourn_sf(t, c, lam, mu):
    """P(T > t) in M/M/c FCFS: T = Wq + S, Wq = 0 with probability 1 - C, else Exp(c mu -
    lambda), S ~ Exp(mu) independent of it."""
    pc, g = erlang_c(c, lam / mu), c * mu - lam
    return ((1 - pc) * math.exp(-mu * t)
            + pc * (g * math.exp(-mu * t) - mu * math.exp(-g * t)) / (g - mu))


def _quantile(sf, q):
    """The t with sf(t) = 1 - q (sf decreasing from sf(0) >= 1 - q)."""
    from scipy.optimize import brentq
    if q >= 1:
        return math.inf
    if sf(0.0) <= 1 - q:
        return 0.0
    return brentq(lambda t: sf(t) - (1 - q), 0.0, 1e4)


@pytest.mark.parametrize("c,rho,n,seed", [(1, 0.5, 40_000, 31), (4, 0.8, 60_000, 22),
                                          (8, 0.95, 100_000, 21)])
def test_mmc_wait_and_sojourn_percentiles_as_the_summary_reports_them(tmp_path, c, rho, n, seed):
    """M/M/c from light to heavy traffic: P(wait) is Erlang C, E[Wq] = C / (c mu - lambda),
    E[T] = E[Wq] + 1/mu, and the summary's percentiles (``ttft_p50/p90_s`` = the wait's plus
    one iteration, ``e2e_p50_s``, the sojourn's) lie between the closed-form quantiles at q
    -+ delta, delta the 4-SE band of the batch-means estimate of P(X > t_q)."""
    res, r = _fcfs(tmp_path, c, rho * c, n, seed, output=EXP)
    assert (r["outcome"] == "completed").all()
    s = r["output_tokens"].to_numpy() * D
    lam, mu = len(r) / (n / (rho * c)), 1.0 / s.mean()
    pc, g = erlang_c(c, lam / mu), c * mu - lam
    w, t = _wait(r), r["e2e_s"].to_numpy()
    pw, pw_se = batch_means((w > 0).astype(float))
    assert abs(pw - pc) < 4 * pw_se + 0.005, (pw, pc, pw_se)
    for x, th in ((w, pc / g), (t, pc / g + 1 / mu)):
        m, se = batch_means(x)
        assert abs(m - th) < 4 * se + 0.01 * th, (m, th, se)
    row = res.summary.set_index("tenant").loc["__all__"]
    wait_sf = lambda x: pc * math.exp(-g * x)  # noqa: E731  P(Wq > x), x > 0
    soj_sf = lambda x: _mmc_sojourn_sf(x, c, lam, mu)  # noqa: E731
    checks = [(t, soj_sf, 0.5, row["e2e_p50_s"]), (t, soj_sf, 0.9, None),
              (w, wait_sf, 0.9, row["ttft_p90_s"] - D)]
    if pc > 0.5:
        checks.append((w, wait_sf, 0.5, row["ttft_p50_s"] - D))
    for x, sf, q, reported in checks:
        tq = _quantile(sf, q)
        p, se = batch_means((x > tq).astype(float))
        delta = 4 * se + 0.005
        assert abs(p - (1 - q)) < delta, (q, p, se)
        if reported is not None:
            assert _quantile(sf, q - delta) - 1e-9 <= reported <= _quantile(sf, q + delta), (
                q, reported, tq)
    # utilisation law on the summary (drain end effect well under 1 %)
    assert row["busy_fraction"] == pytest.approx(lam * s.mean() / c, rel=0.01)


def test_merged_poisson_streams_share_one_mmc_queue(tmp_path):
    """Two Poisson tenants (2.4 + 0.8 a second) on one central M/M/4 queue: their merged
    stream is Poisson at 3.2 a second, so each class waits as the whole M/M/4 does (Erlang C
    at the merged rate), and the two classes' mean waits agree with each other. Per tenant,
    throughput is its offered load (output tokens over the period, exactly) and the request
    log's fields have the README's meaning exactly: ``ttft_s`` = first token - arrival
    = wait + one iteration, ``e2e_s`` = finish - arrival = wait + output_tokens x d."""
    c, n = 4, 40_000
    bulk = f"{{model: llama31-8b, arrival: {{kind: poisson, rate_rps: 0.8}}, " \
           f"input: {{kind: fixed, mean: 1}}, output: {EXP}}}"
    res, r = _fcfs(tmp_path, c, 2.4, n, 5, output=EXP, extra=[f"tenants.bulk={bulk}"])
    horizon = n / 2.4
    s = r["output_tokens"].to_numpy() * D
    lam, mu = len(r) / horizon, 1.0 / s.mean()
    pc = erlang_c(c, lam / mu)
    w_th = pc / (c * mu - lam)
    means = {}
    for tenant, nominal in (("chat", 2.4), ("bulk", 0.8)):
        g = r[r["tenant"] == tenant]
        # Poisson count over the horizon: 4 SD of sqrt(lambda T)
        assert abs(len(g) - nominal * horizon) < 4 * math.sqrt(nominal * horizon)
        w = _wait(g)
        pw, pw_se = batch_means((w > 0).astype(float))
        m, se = batch_means(w)
        assert abs(pw - pc) < 4 * pw_se + 0.005, (tenant, pw, pc, pw_se)
        assert abs(m - w_th) < 4 * se + 0.01 * w_th, (tenant, m, w_th, se)
        means[tenant] = (m, se)
        np.testing.assert_allclose(g["ttft_s"], g["first_token_s"] - g["arrival_s"], atol=1e-9)
        np.testing.assert_allclose(g["e2e_s"], g["finish_s"] - g["arrival_s"], atol=1e-9)
        np.testing.assert_allclose(g["first_token_s"] - g["admit_s"], D, atol=1e-9)
        np.testing.assert_allclose(g["finish_s"] - g["admit_s"], g["output_tokens"] * D,
                                   rtol=1e-9, atol=1e-9)
        row = res.summary.set_index("tenant").loc[tenant]
        assert row["throughput_tok_s"] == pytest.approx(
            g["output_tokens"].sum() / row["period_s"], rel=1e-12)
        assert row["ttft_mean_s"] == pytest.approx(w.mean() + D, rel=1e-9)
    (m1, s1), (m2, s2) = means["chat"], means["bulk"]
    assert abs(m1 - m2) < 4 * math.hypot(s1, s2), means
    busy = float(res.summary.set_index("tenant").loc["__all__", "busy_fraction"])
    assert busy == pytest.approx(lam * s.mean() / c, rel=0.01)


def _finite_source(n_src, c, k, z, mu):
    """M/M/c/K/N (N sources thinking Exp(z), a blocked source thinks again): the share of
    attempts blocked, and the admitted requests' mean wait and response time."""
    rates = [(n_src - j) / z for j in range(k + 1)]
    p = [1.0]
    for j in range(1, k + 1):
        p.append(p[-1] * rates[j - 1] / (min(j, c) * mu))
    p = np.array(p) / sum(p)
    arrive = np.array(rates) * p
    x = arrive[:k].sum()  # admitted = served per second
    lq = (np.maximum(np.arange(k + 1) - c, 0) * p).sum()
    el = (np.arange(k + 1) * p).sum()
    return arrive[k] / arrive.sum(), lq / x, el / x


@pytest.mark.parametrize("n_src,c,max_queue,z", [(6, 1, 1, 3.0), (8, 2, 2, 2.0)])
def test_finite_source_with_a_waiting_room(tmp_path, n_src, c, max_queue, z):
    """N closed-loop clients (exponential think time z) on c single-sequence replicas with
    ``dedicated.max_queue``: a request finding K = c + max_queue present is rejected and its
    client thinks again, so the system is the finite-source M/M/c/K/N birth-death chain
    (arrival rate (N - n) / z). Blocking share, admitted mean wait and response time; the
    clients' staggered ends are within the tolerance (3,000 requests each)."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        f"dedicated.max_queue={max_queue}", f"tenants.chat.output={EXP}",
        "tenants.chat.arrival.kind=closed", f"tenants.chat.arrival.concurrency={n_src}",
        f"tenants.chat.arrival.think_s={z}", "tenants.chat.arrival.requests_per_client=3000",
        "horizon_s=1", "seed=4", "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert set(r["outcome"]) == {"completed", "rejected"}
    mu = 1.0 / (r["output_tokens"].mean() * D)
    b_th, w_th, t_th = _finite_source(n_src, c, c + max_queue, z, mu)
    blocked = (r["outcome"] == "rejected").to_numpy()
    b, b_se = batch_means(blocked.astype(float))
    assert abs(b - b_th) < 4 * b_se + 0.005, (b, b_th, b_se)
    ok = r[~blocked]
    for x, th in ((_wait(ok), w_th), (ok["e2e_s"].to_numpy(), t_th)):
        m, se = batch_means(x)
        assert abs(m - th) < 4 * se + 0.01 * th, (m, th, se)


@pytest.mark.parametrize("output", [EXP, "{kind: fixed, mean: 1000}"])
def test_engset_loss_through_the_concurrency_limit(tmp_path, output):
    """Engset: 8 closed-loop clients (think ~Exp(2 s)) against a concurrency limit of 3 with
    3 replicas kept warm, so nobody waits and a request beyond 3 in flight is turned away
    (its client thinks again): M/G/3/3/8. The share turned away is Engset's call congestion,
    the time congestion of N - 1 sources, C(N-1, c) a^c / sum_k C(N-1, k) a^k with a = E[S]
    / z, the same for exponential and fixed service (insensitivity)."""
    n_src, c, z = 8, 3, 2.0
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        f"serverless.autoscaler.min_replicas.llama31-8b={c}",
        f"serverless.autoscaler.max_replicas={c}", "serverless.max_wait_s=inf",
        f"serverless.rate_limits.chat={{concurrency: {c}}}", f"tenants.chat.output={output}",
        "tenants.chat.arrival.kind=closed", f"tenants.chat.arrival.concurrency={n_src}",
        f"tenants.chat.arrival.think_s={z}", "tenants.chat.arrival.requests_per_client=2500",
        "horizon_s=1", "seed=5", "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    blocked = (r["outcome"] == "rejected").to_numpy()
    assert (r.loc[blocked, "reason"] == "rate_limit_concurrency").all()
    assert (_wait(r[~blocked]) == 0).all()
    a = r["output_tokens"].mean() * D / z
    terms = [math.comb(n_src - 1, j) * a ** j for j in range(c + 1)]
    b, b_se = batch_means(blocked.astype(float))
    assert abs(b - terms[c] / sum(terms)) < 4 * b_se, (b, terms[c] / sum(terms), b_se)


def test_mg1_hyperexponential_service_is_pollaczek_khinchine(tmp_path):
    """M/H2/1: service drawn from an empirical PMF (``output.kind: empirical``), the mixture
    0.9 Geometric(50) + 0.1 Geometric(550) tokens at 10 ms (mean 1 s, CV^2 5.5), at rho 0.7.
    P-K: E[Wq] = lambda E[S^2] / (2 (1 - rho)) with the run's own moments (7.3 s; M/M/1
    would wait 2.3 s). No model error: P-K holds for any service law."""
    d, lam, n = 0.01, 0.7, 40_000
    k = np.arange(1, 20_001)
    pmf = 0.9 * (1 / 50) * (1 - 1 / 50) ** (k - 1) + 0.1 * (1 / 550) * (1 - 1 / 550) ** (k - 1)
    pmf /= pmf.sum()
    path = tmp_path / "h2.csv"
    path.write_text("tokens,probability\n" + "".join(f"{a},{float(p)!r}\n" for a, p in zip(k, pmf)))
    res, r = _fcfs(tmp_path, 1, lam, n, 3, d=d,
                   output=f"{{kind: empirical, path: {path}, max: null}}")
    assert not res.notes  # nothing clipped
    s = r["output_tokens"].to_numpy() * d
    assert s.var() / s.mean() ** 2 == pytest.approx(5.49, rel=0.1)
    lam_hat = len(r) / (n / lam)
    w_th = lam_hat * (s ** 2).mean() / (2 * (1 - lam_hat * s.mean()))
    w, se = batch_means(_wait(r))
    assert abs(w - w_th) < 4 * se, (w, w_th, se)


def _pool(tmp_path, n, extra):
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    return run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        "serverless.autoscaler.max_replicas=4", "serverless.keepalive.idle_s=inf",
        "serverless.max_wait_s=inf", f"tenants.chat.output={EXP}",
        "tenants.chat.arrival.rate_rps=3.2", f"horizon_s={n / 3.2}", "seed=4",
        "output.plots=false", "output.report=false", *extra])


def test_infinite_keepalive_pool_is_mmc_once_warm(tmp_path):
    """The serverless pool with an infinite keep-alive and at most c = 4 replicas is M/M/4
    once all four are up, provided the autoscaler never asks for fewer: with
    ``target_concurrency`` 0.01 it asks for 4 whenever a request was in flight in its
    window. After a 600 s warm-up (``metrics.warmup_s``: the first load and scale-ups),
    Erlang C. With the default target (32 a replica), the same keep-alive is not M/M/4: the
    autoscaler stops idle replicas beyond its count (the keep-alive bounds only idleness)
    and requests wait for reloads."""
    n, c, warm = 20_000, 4, 600.0
    res = _pool(tmp_path, n, ["serverless.autoscaler.target_concurrency=0.01",
                              f"metrics.warmup_s={warm}"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all() and r["replica"].nunique() == c
    late = r[r["arrival_s"] >= warm]
    assert (late["cold_start_wait_s"] == 0).all()
    s = r["output_tokens"].to_numpy() * D
    lam, mu = len(r) / (n / 3.2), 1.0 / s.mean()
    pc = erlang_c(c, lam / mu)
    w = _wait(late)
    pw, pw_se = batch_means((w > 0).astype(float))
    m, se = batch_means(w)
    assert abs(pw - pc) < 4 * pw_se + 0.005, (pw, pc, pw_se)
    assert abs(m - pc / (c * mu - lam)) < 4 * se + 0.01 * m, (m, pc / (c * mu - lam), se)
    row = res.summary.set_index("tenant").loc["__all__"]
    assert row["ttft_mean_s"] == pytest.approx(w.mean() + D, rel=1e-9)
    # the default target concurrency: scaled in and reloaded, far from M/M/4
    r0 = _pool(tmp_path, n // 4, []).requests
    assert r0["replica"].nunique() > c
    assert _wait(r0).mean() > 5 * pc / (c * mu - lam)


@pytest.mark.parametrize("router", ["central", "jsq"])
def test_no_waiting_room_is_erlang_b(tmp_path, router):
    """``dedicated.max_queue=0``: no waiting room, so c = 4 single-sequence replicas behind
    ``central`` (or ``jsq``, which sends an arrival to an idle replica when there is one) are
    M/G/4/4, and the share turned away (queue_full) is Erlang B at the run's offered load,
    whatever the service law (lognormal CV 2 here: insensitivity). Nobody waits."""
    c, a, n = 4, 3.0, 20_000
    res, r = _fcfs(tmp_path, c, a, n, 7, output="{kind: lognormal, mean: 1000, cv: 2, max: null}",
                   extra=["dedicated.max_queue=0", f"dedicated.router={router}"])
    blocked = (r["outcome"] == "rejected").to_numpy()
    assert (r.loc[blocked, "reason"] == "queue_full").all()
    assert (_wait(r[~blocked]) == 0).all()
    a_hat = len(r) / (n / a) * r["output_tokens"].mean() * D
    b, se = batch_means(blocked.astype(float))
    assert abs(b - erlang_b(c, a_hat)) < 4 * se, (b, erlang_b(c, a_hat), se)
    assert any("loss system" in note for note in res.notes)  # said, not called overload
    assert not any("unstable" in note for note in res.notes)


@pytest.mark.parametrize("engine,n", [("fluid", 20_000), ("step", 10_000)])
def test_no_waiting_room_with_batched_slots(tmp_path, engine, n):
    """One replica running up to 5 sequences at full speed (a constant step) with
    ``max_queue=0``: 5 parallel servers and no waiting room, M/G/5/5 (Erlang B). An admitted
    request arriving mid-iteration joins at the next boundary: it waits less than one
    iteration (d = 10 ms), and is not turned away for it."""
    d, lam = 0.01, 4.0
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=5", "deployments.llama31-8b.max_batched_tokens=100000",
        "dedicated.replicas.llama31-8b=1", "dedicated.max_queue=0",
        "tenants.chat.output={kind: lognormal, mean: 100, cv: 2, max: null}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}", "seed=9",
        "output.plots=false", "output.report=false"], engine=engine)
    r = res.requests.sort_values("arrival_s", kind="stable")
    blocked = (r["outcome"] == "rejected").to_numpy()
    assert (_wait(r[~blocked]) < d).all()
    a_hat = len(r) / (n / lam) * r["output_tokens"].mean() * d
    b, se = batch_means(blocked.astype(float))
    # model error: service is output x d plus the join's wait (< d, on a mean of 1 s): 1 %
    assert abs(b - erlang_b(5, a_hat)) < 4 * se + 0.01 * b, (b, erlang_b(5, a_hat), se)


def test_spillover_from_no_waiting_room_is_erlang_b(tmp_path):
    """Hybrid: 4 reserved single-sequence replicas with ``dedicated.max_queue=0`` and
    spillover on a full queue only (``wait_threshold_s=inf``): every request finding the 4
    busy spills, from the first one on (the zero-wait trigger queues requests before the
    first completion), so the reserved replicas are M/G/4/4 and the share spilled is Erlang B.
    Nobody waits on them, and nothing is rejected (16 pool replicas kept warm)."""
    c, lam, n = 4, 3.0, 20_000
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated",
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        "dedicated.max_queue=0", "hybrid.spillover.enabled=true",
        "hybrid.spillover.wait_threshold_s=inf", "serverless.autoscaler.min_replicas.llama31-8b=16",
        "serverless.autoscaler.max_replicas=16", "serverless.max_wait_s=inf",
        f"tenants.chat.output={EXP}", f"tenants.chat.arrival.rate_rps={lam}",
        f"horizon_s={n / lam}", "seed=7", "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    spilled = r["spilled"].to_numpy().astype(bool)
    assert (_wait(r[~spilled]) == 0).all()
    a = len(r) / (n / lam) * r["output_tokens"].mean() * D
    b, se = batch_means(spilled.astype(float))
    assert abs(b - erlang_b(c, a)) < 4 * se, (b, erlang_b(c, a), se)
