"""Classic queues built from the public config keys, against their textbook formulas.

How each is built (README, "Queueing theory: the textbook settings"): a ``table``
performance model with a constant iteration time ``d``, one-token prompts and
``max_num_seqs=1`` make each replica a FCFS single server whose service time is
``output_tokens x d`` (the prompt's iteration gives the first token, then one token per
iteration); geometric outputs with mean m make it nearly exponential (CV^2 = 1 - 1/m),
``fixed`` deterministic, ``lognormal`` general. Theory is computed here, with the run's
realised arrival rate and service moments where the formula takes them.

Tolerances: batch means over 40 consecutive batches of customers give a standard error
(SE) that accounts for the autocorrelation of successive waits; the theory must lie within
4 SE, plus the reduction's stated model error.
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
    gim1_sigma,
    md1k_blocking,
    mmck_blocking,
    replay_fcfs,
    run_table,
    write_table,
)
from helpers.queueing import (
    fcfs_run as _fcfs,
)

import sim


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("router", ["central", "jsq", "round_robin"])
def test_fcfs_servers_match_an_independent_replay(tmp_path, engine, router):
    """Each router's waits, request by request, equal those of c FCFS servers replayed here
    from the run's own arrival times and service times (central: the first server free
    takes the head, i.e. M/M/c; jsq: fewest present, lowest index on a tie; round_robin:
    k mod c). Exact up to float rounding (1e-6 s over a 150 s run)."""
    d, c = 0.01, 3
    res, r = _fcfs(tmp_path, c, 12.0, 1800, 4, output="{kind: geometric, mean: 20, max: 1000}",
                   extra=[f"dedicated.router={router}"], engine=engine, d=d)
    assert (r["outcome"] == "completed").all()
    service = r["output_tokens"].to_numpy() * d
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    np.testing.assert_allclose((r["e2e_s"] - r["admit_s"] + r["arrival_s"]).to_numpy(), service,
                               atol=1e-6)
    replay = replay_fcfs(r["arrival_s"].to_numpy(), service, c, router)
    assert (replay > 0).mean() > 0.3  # the run has queueing to replay
    np.testing.assert_allclose(wait, replay, atol=1e-6)


def test_lect_on_identical_fcfs_replicas_is_least_work_left(tmp_path):
    """On identical single-sequence replicas the request that would finish first is the one
    joining the replica with the least work left, and least-work-left routing gives every
    request the wait of one central FCFS queue (the central replay). The estimate counts
    whole iterations at the current pace (d = 10 ms against 200 ms mean services): 1 %
    (measured 0.02 %). Until it counted the output of the requests queued ahead and of the
    sequence in its prompt's iteration, 53 % above the replay (and above
    join-shortest-queue's 19 %)."""
    d, c = 0.01, 3
    _, r = _fcfs(tmp_path, c, 12.0, 18_000, 4, output="{kind: geometric, mean: 20, max: 1000}",
                 extra=["dedicated.router=lect"], d=d)
    assert (r["outcome"] == "completed").all()
    service = r["output_tokens"].to_numpy() * d
    least_work = replay_fcfs(r["arrival_s"].to_numpy(), service, c, "central").mean()
    wait = (r["admit_s"] - r["arrival_s"]).mean()
    assert wait == pytest.approx(least_work, rel=0.01)


def test_serverless_pool_with_fixed_replicas_is_central_fcfs(tmp_path):
    """The serverless pool's per-model queue with c replicas kept warm (min = max = c) and no
    wait limit: request by request the central-queue replay, i.e. M/M/c (1e-6 s)."""
    d, c = 0.01, 3
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    r = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        f"serverless.autoscaler.min_replicas.llama31-8b={c}", f"serverless.autoscaler.max_replicas={c}",
        "serverless.max_wait_s=inf", "tenants.chat.output={kind: geometric, mean: 20, max: 1000}",
        "tenants.chat.arrival.rate_rps=12", "horizon_s=150", "seed=4",
        "output.plots=false", "output.report=false"]).requests.sort_values("arrival_s")
    assert (r["outcome"] == "completed").all() and (r["cold_start_wait_s"] == 0).all()
    service = r["output_tokens"].to_numpy() * d
    replay = replay_fcfs(r["arrival_s"].to_numpy(), service, c, "central")
    assert (replay > 0).mean() > 0.3
    np.testing.assert_allclose((r["admit_s"] - r["arrival_s"]).to_numpy(), replay, atol=1e-6)


def test_mm1_sojourn_distribution(tmp_path):
    """M/M/1 FCFS: P(T > t) = exp(-(mu - lambda) t) for the whole sojourn, at 1, 3 and 6
    mean services. Model error: geometric against exponential service, 0.005 absolute."""
    lam = 0.8
    res, r = _fcfs(tmp_path, 1, lam, 60_000, 7)
    s = r["output_tokens"].to_numpy() * D
    lam_hat = len(r) / (60_000 / lam)
    mu = 1.0 / s.mean()
    t_all = r["e2e_s"].to_numpy()
    for t in (1.0, 3.0, 6.0):
        p, se = batch_means((t_all > t).astype(float))
        theory = math.exp(-(mu - lam_hat) * t)
        assert abs(p - theory) < 4 * se + 0.005, (t, p, theory, se)
    # the utilisation law on the summary: busy fraction = lambda E[S]
    busy = float(res.summary.set_index("tenant").loc["__all__", "busy_fraction"])
    period = float(res.summary.set_index("tenant").loc["__all__", "period_s"])
    assert busy == pytest.approx(s.sum() / period, rel=1e-9)
    assert busy == pytest.approx(0.8, abs=0.02)  # lambda E[S] = 0.8, 2 % sampling (n = 60,000)


@pytest.mark.parametrize("output", ["{kind: fixed, mean: 1000}",
                                    "{kind: lognormal, mean: 1000, cv: 2, max: 100000}"])
def test_mg1_fcfs_mean_wait_is_pollaczek_khinchine(tmp_path, output):
    """M/D/1 and M/G/1 (lognormal CV 2) FCFS: E[Wq] = lambda E[S^2] / (2 (1 - rho)) with
    the realised rate and service moments. The reduction is exact (no model error beyond
    1 % for the rate estimate over the run)."""
    lam, n = 0.8, 60_000
    _, r = _fcfs(tmp_path, 1, lam, n, 7, output=output)
    s = r["output_tokens"].to_numpy() * D
    lam_hat = len(r) / (n / lam)
    rho = lam_hat * s.mean()
    theory = lam_hat * (s ** 2).mean() / (2 * (1 - rho))
    w, se = batch_means((r["admit_s"] - r["arrival_s"]).to_numpy())
    assert abs(w - theory) < 4 * se + 0.01 * theory, (w, theory, se)


@pytest.mark.parametrize("arrival,replicas", [("round_robin", 4), ("gamma", 1)])
def test_gi_m_1_mean_wait(tmp_path, arrival, replicas):
    """GI/M/1: E[Wq] = sigma / (mu (1 - sigma)), sigma = A*(mu (1 - sigma)). Round-robin
    routing over c replicas gives each an Erlang-c renewal stream (A*(s) = (lambda /
    (lambda + s))^c); a gamma arrival process with CV 0.5 is a renewal process with Gamma(4)
    gaps. Model error: geometric against exponential service, 1 %."""
    if arrival == "round_robin":
        lam = 0.8 * replicas
        extra = ["dedicated.router=round_robin"]
        laplace = lambda s: (lam / (lam + s)) ** replicas  # noqa: E731
    else:
        lam, k = 0.7, 4.0
        extra = ["tenants.chat.arrival.kind=gamma", "tenants.chat.arrival.cv=0.5"]
        laplace = lambda s: (k * lam / (k * lam + s)) ** k  # noqa: E731
    _, r = _fcfs(tmp_path, replicas, lam, 60_000, 11 if replicas > 1 else 23, extra=extra)
    mu = 1.0 / (r["output_tokens"].mean() * D)
    sigma = gim1_sigma(laplace, mu)
    theory = sigma / (mu * (1 - sigma))
    w, se = batch_means((r["admit_s"] - r["arrival_s"]).to_numpy())
    assert abs(w - theory) < 4 * se + 0.01 * theory, (w, theory, se)


def test_max_queue_makes_mmck(tmp_path):
    """Behind the central queue, ``dedicated.max_queue`` bounds the requests waiting, not
    those in service: c = 4 single-sequence replicas with max_queue = 2 are M/M/4/6, whose
    blocking probability the run must show. Model error: geometric service, 0.005."""
    c, q, lam = 4, 2, 3.2
    _, r = _fcfs(tmp_path, c, lam, 60_000, 13,
                 extra=["dedicated.router=central", f"dedicated.max_queue={q}"])
    blocked = (r["outcome"] == "rejected").to_numpy()
    assert set(r.loc[blocked, "reason"]) == {"queue_full"}
    a = lam * r["output_tokens"].mean() * D
    p, se = batch_means(blocked.astype(float))
    theory = mmck_blocking(c, c + q, a)
    assert abs(p - theory) < 4 * se + 0.005, (p, theory, se)


def test_max_queue_is_per_replica_with_replica_queues(tmp_path):
    """With jsq (each replica its own queue) the bound applies to each replica's queue: more
    than max_queue requests wait across the pool at once, never more than max_queue at one
    replica."""
    _, r = _fcfs(tmp_path, 2, 1.8, 4000, 3,
                 extra=["dedicated.router=jsq", "dedicated.max_queue=1"])
    done = r[r["outcome"] == "completed"]

    def most_waiting(x):
        t = np.r_[x["arrival_s"], x["admit_s"]]
        step = np.r_[np.ones(len(x)), -np.ones(len(x))]
        order = np.lexsort((step, t))  # an admission at the same instant first
        return int(np.cumsum(step[order]).max())

    assert most_waiting(done) == 2
    assert max(most_waiting(g) for _, g in done.groupby("replica")) == 1


def test_nonpreemptive_priority_is_cobham(tmp_path):
    """An interactive tenant and a batch-tier tenant on one single-sequence replica: batch
    requests are admitted only when no interactive one waits, and none is preempted, so
    the replica is a two-class non-preemptive priority M/G/1. Cobham: W1 = W0 / (1 - rho1),
    W2 = W0 / ((1 - rho1)(1 - rho1 - rho2)), W0 = lambda E[S^2] / 2 (service moments as
    realised over both classes). Exact reduction: 1 % for the rate estimates."""
    lam1 = lam2 = 0.4
    n = 60_000
    horizon = n / (lam1 + lam2)
    bulk = ("{model: llama31-8b, priority: batch, deadline_s: 1e9, arrival: {kind: poisson, "
            f"rate_rps: {lam2}}}, input: {{kind: fixed, mean: 1}}, output: {GEO}}}")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        f"tenants.chat.output={GEO}", f"tenants.chat.arrival.rate_rps={lam1}",
        f"tenants.bulk={bulk}", f"horizon_s={horizon}", "seed=21",
        "output.plots=false", "output.report=false"])
    r = res.requests
    assert (r["outcome"] == "completed").all()
    s = r["output_tokens"].to_numpy() * D
    w0 = len(r) / horizon * (s ** 2).mean() / 2
    rho = {t: (r["tenant"] == t).sum() / horizon * s.mean() for t in ("chat", "bulk")}
    theory = {"chat": w0 / (1 - rho["chat"]),
              "bulk": w0 / ((1 - rho["chat"]) * (1 - rho["chat"] - rho["bulk"]))}
    for tenant, th in theory.items():
        x = r[r["tenant"] == tenant].sort_values("arrival_s")
        w, se = batch_means((x["admit_s"] - x["arrival_s"]).to_numpy())
        assert abs(w - th) < 4 * se + 0.01 * th, (tenant, w, th, se)


def test_closed_loop_matches_mean_value_analysis(tmp_path):
    """N = 4 clients with exponential think time Z = 2 s around one FCFS single-sequence
    replica (the machine-repairman model): the mean response time is exact MVA's.
    Model error: geometric against exponential service, 1 %."""
    r, r_mva, _ = closed_loop_vs_mva(tmp_path, 4, 2.0, 3750, D, GEO)
    resp, se = batch_means(r["e2e_s"].to_numpy())
    assert abs(resp - r_mva) < 4 * se + 0.01 * r_mva, (resp, r_mva, se)


def _serverless(tmp_path, output, lam, n, seed, extra):
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    return run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=100000",
        "deployments.llama31-8b.max_batched_tokens=100000",
        "serverless.autoscaler.max_replicas=1", f"tenants.chat.output={output}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}", f"seed={seed}",
        "output.plots=false", "output.report=false", *extra]).requests.sort_values("arrival_s")


def test_concurrency_limit_is_erlang_b(tmp_path):
    """A serverless tenant limited to c = 5 requests in flight, served by one warm replica
    that runs every admitted request at once at a constant iteration time (M/G/infinity):
    the share turned away is Erlang B(c, lambda E[T]), whatever the service law (here
    lognormal, CV 2). E[T] includes the wait for the next iteration boundary (< 1 ms)."""
    c, lam = 5, 4.0
    r = _serverless(tmp_path, "{kind: lognormal, mean: 1000, cv: 2, max: 100000}", lam, 40_000,
                    41, ["serverless.autoscaler.min_replicas.llama31-8b=1",
                         f"serverless.rate_limits.chat={{concurrency: {c}}}"])
    blocked = (r["reason"] == "rate_limit_concurrency").to_numpy()
    done = (r["outcome"] == "completed").to_numpy()
    assert (blocked | done).all()
    a = lam * r.loc[done, "e2e_s"].mean()
    p, se = batch_means(blocked.astype(float))
    theory = erlang_b(c, a)
    assert abs(p - theory) < 4 * se, (p, theory, se)


def test_requests_per_minute_limit_is_md1k(tmp_path):
    """The per-minute request limit is a token bucket of rpm tokens refilled at rpm/60 per
    second; under Poisson arrivals its deficit is the workload of an M/D/1/K queue with
    K = rpm and service 60/rpm s, so the share rejected is M/D/1/K's blocking."""
    rpm, lam = 20, 0.4
    res = sim.run([
        "setups=[serverless]", "serverless.start=warm", f"serverless.rate_limits.chat={{rpm: {rpm}}}",
        f"tenants.chat.arrival.rate_rps={lam}", "tenants.chat.input={kind: fixed, mean: 16}",
        "tenants.chat.output={kind: fixed, mean: 2}", "horizon_s=100000", "seed=6",
        "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s")
    p, se = batch_means((r["reason"] == "rate_limit_rpm").to_numpy().astype(float))
    theory = md1k_blocking(lam, 60.0 / rpm, rpm)
    assert abs(p - theory) < 4 * se, (p, theory, se)


def test_keepalive_cold_fraction_with_requests_overlapping(tmp_path):
    """Fixed keep-alive K on a model whose requests overlap (one replica running all of
    them at once, M/G/infinity): a request is cold when it finds the model empty and the
    model has been empty longer than K, or arrives while that load runs. Request by request
    from the log, exactly; and in fraction, P(empty) = exp(-lambda E[T]) (M/G/infinity),
    the idle gap is Exp(lambda) (Poisson), each load of L seconds catches lambda L more:
    P(cold) = exp(-lambda (E[T] + K)) (1 + lambda L). Tolerance: 4 binomial SE (cold
    requests are separated by idle gaps, nearly independent) plus 2 % for the load's
    effect on E[T]."""
    lam, k = 0.5, 2.0
    r = _serverless(tmp_path, "{kind: geometric, mean: 2000, max: 100000}", lam, 30_000, 9, [
        f"serverless.keepalive.idle_s={k}", "cold_start.container_start_s=0",
        "cold_start.engine_init_s=0", "cold_start.preloaded_tier=host_dram"])
    a, f = r["arrival_s"].to_numpy(), r["finish_s"].to_numpy()
    wait = r["cold_start_wait_s"].to_numpy()
    in_flight = np.arange(a.size) - np.searchsorted(np.sort(f), a, side="left")
    empty_since = np.maximum.accumulate(np.r_[-np.inf, f[:-1]])
    first = (in_flight == 0) & (a - empty_since > k)
    predicted = np.zeros(a.size, bool)
    warm_at = -np.inf
    for i in range(a.size):
        if first[i]:
            warm_at = a[i] + wait[i]
        predicted[i] = first[i] or a[i] < warm_at
    cold = wait > 0
    assert (predicted == cold).all()
    load = float(np.median(wait[first]))
    p = math.exp(-lam * (r["e2e_s"].mean() + k)) * (1 + lam * load)
    tol = 4 * math.sqrt(p * (1 - p) / a.size) + 0.02 * p
    assert abs(cold.mean() - p) < tol, (cold.mean(), p, tol)


def test_keepalive_cold_fraction_with_long_loads_is_the_renewal_formula(tmp_path):
    """The same with fixed service S and a load L long against the gaps, where the
    light-load form above exceeds 1 (it gave 2.27 here). A renewal cycle: a cold request
    starts the load, the lambda L arriving during it are cold too, then each warm epoch
    (the load's end or an arrival) is followed by another arrival within S + K with
    probability 1 - p, p = exp(-lambda (S + K)), else the model stops: (1 - p) / p warm
    requests a cycle, so P(cold) = (1 + lambda L) p / (1 + lambda L p), exactly.
    Tolerance: 4 batch-means SE (cold requests come in clusters, one a load)."""
    lam, k, n_out = 1.0, 0.5, 500
    r = _serverless(tmp_path, f"{{kind: fixed, mean: {n_out}}}", lam, 20_000, 120, [
        f"serverless.keepalive.idle_s={k}", "cold_start.container_start_s=0",
        "cold_start.engine_init_s=5", "cold_start.preloaded_tier=host_dram"])
    wait = r["cold_start_wait_s"].to_numpy()
    load = float(wait.max())  # the first request of a cycle waits the whole load
    s = n_out * D  # prefill 1 step + n_out - 1 decode steps of D
    p = math.exp(-lam * (s + k))
    light = p * (1 + lam * load)
    assert light > 1  # the light-load form is no probability here
    theory = (1 + lam * load) * p / (1 + lam * load * p)
    got, se = batch_means((wait > 0).astype(float))
    assert abs(got - theory) < 4 * se, (got, theory, se)
