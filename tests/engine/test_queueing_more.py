"""Textbook queues the other queueing tests do not build: infinite servers (stationary and
with a sinusoidal arrival rate), the hybrid's spillover as an Erlang loss system and its
overflow stream, join-the-shortest-queue on two servers, the tokens-per-minute limit with
random request sizes, non-preemptive priority on two servers and on the step engine, and
closed loops at other populations.

Built as ``test_queueing_classic.py`` builds them (README, "Queueing theory: the textbook
settings"): a ``table`` perf model with a constant iteration time ``d``, one-token prompts
and single-sequence replicas make FCFS servers whose service time is ``output_tokens x d``.
Theory is computed here from the run's realised arrival rate and service moments. Where a
setting allows it, both engines run it; the step engine (one event per iteration) runs
shorter services (20 tokens of 50 ms: geometric outputs then have CV^2 = 0.95, not 1), so
its checks are the ones whose answer does not depend on the service law.

Tolerances: 4 standard errors, from 40 batch means of consecutive customers (which carries
their autocorrelation) or, where the samples are independent by construction (occupancies
read a period apart with services shorter than the gap, Poisson counts), from the binomial
or Poisson variance; plus the reduction's stated model error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.queueing import (
    GEO,
    D,
    batch_means,
    erlang_b,
    erlang_c,
    mva_single_server,
    run_table,
    write_table,
)
from helpers.queueing import (
    fcfs_run as _fcfs,
)

import sim

# the step engine's service law: 20-token geometric outputs at 50 ms a token (mean 1 s)
STEP_D, STEP_GEO = 0.05, "{kind: geometric, mean: 20, max: 100000}"
LAW = {"fluid": (D, GEO), "step": (STEP_D, STEP_GEO)}


def _present_at_arrival(r) -> np.ndarray:
    """How many earlier requests are still in the system when each request arrives (log
    sorted by arrival; a request that finishes later arrived later, so counting every
    finish up to the arrival counts only earlier ones)."""
    a = r["arrival_s"].to_numpy()
    return np.arange(a.size) - np.searchsorted(np.sort(r["finish_s"].to_numpy()), a, side="right")


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_many_replicas_are_m_g_infinity(tmp_path, engine):
    """40 single-sequence replicas offered lambda E[S] = 8: a request never waits (P(all 40
    busy) = 1e-11 at a Poisson 8), its delay is its service time exactly, and the number in
    the system an arrival finds is Poisson with mean lambda E[S] whatever the service law
    (M/G/infinity; arrivals see time averages). Each P(N = k), the mean and the variance
    (a Poisson's: the mean) within 4 batch-means SE."""
    d, out = LAW[engine]
    lam, n = 8.0, 20_000
    _, r = _fcfs(tmp_path, 40, lam, n, 3, output=out, engine=engine, d=d)
    assert (r["outcome"] == "completed").all()
    s = r["output_tokens"].to_numpy() * d
    np.testing.assert_allclose(r["e2e_s"].to_numpy(), s, rtol=0, atol=1e-9)
    assert (r["admit_s"] == r["arrival_s"]).all()
    a = len(r) / (n / lam) * s.mean()
    seen = _present_at_arrival(r)
    m, m_se = batch_means(seen)
    assert abs(m - a) < 4 * m_se, (m, a, m_se)
    for k in range(15):
        p, se = batch_means((seen == k).astype(float))
        th = math.exp(-a) * a ** k / math.factorial(k)
        assert abs(p - th) < 4 * se + 1e-4, (k, p, th, se)
    v, v_se = batch_means((seen - m) ** 2)  # Poisson: the variance is the mean
    assert abs(v - a) < 4 * v_se, (v, a, v_se)


@pytest.mark.parametrize("engine,periods", [("fluid", 60), ("step", 20)])
def test_sinusoidal_arrivals_into_infinite_servers(tmp_path, engine, periods):
    """M_t/G/infinity: Poisson arrivals at lambda(t) = r (1 - A cos(2 pi t / P)) (the
    sinusoid curve, trough at t = 0, A = (peak_to_trough - 1) / (peak_to_trough + 1)) into
    60 single-sequence replicas (never all busy), service fixed at D = 2 s. The arrivals in
    each eighth of the period, summed over the periods, are Poisson with mean the rate's
    integral; the number in the system at time t >= D is Poisson with mean Lambda(t) -
    Lambda(t - D) (Eick, Massey and Whitt 1993). Read at 16 phases once per period
    (6.25 s apart, more than D: independent reads), each mean is within 4 Poisson SE and
    the 16 standardised errors' sum of squares within chi-square(16)'s 0.999 quantile
    (39.25); likewise for the 8 counts (26.12)."""
    r0, ptt, period, serve = 8.0, 3.0, 100.0, 2.0
    d = 0.05
    horizon = periods * period
    _, r = _fcfs(tmp_path, 60, r0, r0 * horizon, 5, output=f"{{kind: fixed, mean: {serve / d:g}}}",
                 engine=engine, d=d, extra=[
                     "tenants.chat.arrival.curve=sinusoid", f"tenants.chat.arrival.period_s={period}",
                     f"tenants.chat.arrival.peak_to_trough={ptt}", "tenants.chat.arrival.phase_s=0"])
    assert (r["outcome"] == "completed").all()
    np.testing.assert_allclose(r["e2e_s"].to_numpy(), serve, rtol=0, atol=1e-9)
    amp, w = (ptt - 1) / (ptt + 1), 2 * math.pi / period

    def integral(t):  # Lambda(t), the expected arrivals in [0, t)
        return r0 * (t - amp / w * np.sin(w * t))

    a, f = r["arrival_s"].to_numpy(), np.sort(r["finish_s"].to_numpy())
    edges = np.arange(9) * period / 8
    counts = np.histogram(a % period, edges)[0]
    expect = (integral(edges[1:]) - integral(edges[:-1])) * periods
    z = (counts - expect) / np.sqrt(expect)
    assert np.abs(z).max() < 4 and (z ** 2).sum() < 26.12, (counts, expect)
    t = np.arange(1, periods)[:, None] * period + np.arange(16)[None, :] * period / 16
    present = np.searchsorted(a, t, side="right") - np.searchsorted(f, t, side="right")
    mean = integral(t[0]) - integral(t[0] - serve)
    z = (present.mean(axis=0) - mean) / np.sqrt(mean / (periods - 1))
    assert np.abs(z).max() < 4 and (z ** 2).sum() < 39.25, (present.mean(axis=0), mean)


def _hybrid(tmp_path, c, lam, n, seed, engine, extra=()):
    """One dedicated-placed tenant on ``c`` single-sequence reserved replicas that spill to a
    pool keeping 16 single-sequence replicas warm, with the wait trigger at 0 s."""
    d, out = LAW[engine]
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated",
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        "hybrid.spillover.wait_threshold_s=0", "serverless.autoscaler.min_replicas.llama31-8b=16",
        "serverless.autoscaler.max_replicas=16", "serverless.max_wait_s=inf",
        f"tenants.chat.output={out}", f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}",
        f"seed={seed}", "output.plots=false", "output.report=false", *extra], engine=engine)
    return res, res.requests.sort_values("arrival_s", kind="stable"), d


@pytest.mark.parametrize("engine,n", [("fluid", 40_000), ("step", 10_000)])
def test_spillover_at_zero_wait_is_an_erlang_loss_system(tmp_path, engine, n):
    """Spillover with ``wait_threshold_s=0`` sends every request that finds all c reserved
    replicas busy to the pool (the estimated wait of a saturated pool is positive once a
    request has completed in the window; before the first completion it is the head's wait
    so far, 0 with an empty queue, so such a request queues), so the reserved replicas are M/G/c/c: no request
    waits there, a request spills exactly when c dedicated-served requests are in progress
    at its arrival (request by request from the log), and the share spilled is Erlang B(c,
    lambda E[S]) whatever the service law (c = 4, a = 3: 0.207)."""
    c, lam = 4, 3.0
    _, r, d = _hybrid(tmp_path, c, lam, n, 7, engine)
    assert (r["outcome"] == "completed").all()
    spilled = r["spilled"].to_numpy().astype(bool)
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    a_all = r["arrival_s"].to_numpy()
    # before the first completion the estimator has no rate and takes the head's wait so
    # far, 0 with an empty queue: such a request queues (1 of 10,000 on the step engine)
    late = a_all > r["finish_s"].min()
    assert (wait[~spilled & late] == 0).all() and (r["cold_start_wait_s"] == 0).all()
    assert (wait[~late] > 0).sum() <= 1
    ded = r[~spilled]
    busy = (np.searchsorted(np.sort(ded["admit_s"].to_numpy()), a_all, side="left")
            - np.searchsorted(np.sort(ded["finish_s"].to_numpy()), a_all, side="right"))
    assert (spilled[late] == (busy[late] == c)).all()
    s = r["output_tokens"].to_numpy() * d
    offered = len(r) / (n / lam) * s.mean()
    p, se = batch_means(spilled.astype(float))
    assert abs(p - erlang_b(c, offered)) < 4 * se, (p, erlang_b(c, offered), se)


def warm_single_sequence_pool(c: int) -> list[str]:
    """Overrides for a serverless pool of exactly ``c`` single-sequence replicas kept warm:
    the c servers of the M/M/c-type settings below."""
    return ["setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
            f"serverless.autoscaler.min_replicas.llama31-8b={c}",
            f"serverless.autoscaler.max_replicas={c}"]


def test_spillover_stream_is_peaked_as_riordan_says(tmp_path):
    """The overflow of an M/M/c/c group into servers that never run out (16 warm single-
    sequence replicas on the pool; a = 3, c = 4) is not Poisson: the number of spilled
    requests in service has mean M = a B and variance V = M (1 - M + a / (c + 1 + M - a))
    (Riordan's equivalent-random moments; peakedness V / M = 1.52 here, 1 for a Poisson
    stream). Time averages of the count and of its squared deviation over 40 windows of
    the run: 4 SE plus 1 % for geometric against exponential service."""
    c, lam, n = 4, 3.0, 40_000
    res, r, d = _hybrid(tmp_path, c, lam, n, 7, "fluid")
    sp = r[r["spilled"].to_numpy().astype(bool)]
    assert (sp["admit_s"] == sp["arrival_s"]).all()  # the pool never queues them
    a = len(r) / (n / lam) * (r["output_tokens"].to_numpy() * d).mean()
    b = erlang_b(c, a)
    m_th = a * b
    v_th = m_th * (1 - m_th + a / (c + 1 + m_th - a))
    # the count of spilled requests in service, piecewise constant between events
    t = np.r_[sp["arrival_s"].to_numpy(), sp["finish_s"].to_numpy()]
    step = np.r_[np.ones(len(sp)), -np.ones(len(sp))]
    order = np.argsort(t, kind="stable")
    t, count = t[order], np.cumsum(step[order])
    horizon = n / lam
    edges = np.linspace(0.0, horizon, 41)
    grid = np.union1d(t[t < horizon], edges)
    held = np.r_[0.0, count][np.searchsorted(t, grid, side="right")]  # value from each point on
    span = np.diff(grid)
    win = np.searchsorted(edges, grid[:-1], side="right") - 1
    mean_w = np.bincount(win, held[:-1] * span, 40) / np.diff(edges)
    m, m_se = float(mean_w.mean()), float(mean_w.std(ddof=1) / math.sqrt(40))
    dev_w = np.bincount(win, (held[:-1] - m) ** 2 * span, 40) / np.diff(edges)
    v, v_se = float(dev_w.mean()), float(dev_w.std(ddof=1) / math.sqrt(40))
    assert abs(m - m_th) < 4 * m_se + 0.01 * m_th, (m, m_th, m_se)
    assert abs(v - v_th) < 4 * v_se + 0.01 * v_th, (v, v_th, v_se)
    assert v / m > 1.3  # peaked: a Poisson stream's count would have V / M = 1


def _jsq_two_servers_mean_present(lam: float, mu: float, cap: int = 70) -> float:
    """Join-the-shortest-queue on two exponential servers (each its own FCFS queue; an
    arrival joins the one with fewer present, the first on a tie): the mean number present
    from the continuous-time chain on (n1, n2), solved exactly on n1, n2 <= ``cap`` (an
    arrival that would pass the cap is dropped; the mass there is below 1e-12 at rho 0.8)."""
    from scipy.sparse import lil_matrix
    from scipy.sparse.linalg import spsolve

    size = (cap + 1) ** 2
    q = lil_matrix((size, size))
    idx = lambda i, j: i * (cap + 1) + j  # noqa: E731
    for i in range(cap + 1):
        for j in range(cap + 1):
            here = idx(i, j)
            to = (i + 1, j) if i <= j else (i, j + 1)
            if max(to) <= cap:
                q[here, idx(*to)] += lam
            if i:
                q[here, idx(i - 1, j)] += mu
            if j:
                q[here, idx(i, j - 1)] += mu
    gen = q.copy()
    gen.setdiag(-np.asarray(q.sum(axis=1)).ravel())
    a = gen.T.tolil()
    a[0, :] = 1.0  # replace one balance equation by the normalisation
    rhs = np.zeros(size)
    rhs[0] = 1.0
    pi = spsolve(a.tocsc(), rhs)
    n = np.add.outer(np.arange(cap + 1), np.arange(cap + 1)).ravel()
    return float(pi @ n)


def test_jsq_on_two_servers_matches_its_exact_chain(tmp_path):
    """``jsq`` on two single-sequence replicas at rho = 0.8 (M/M/1 each with no routing
    would wait 4 s, one central queue M/M/2 1.78 s): the mean wait is the two-queue chain's,
    L / lambda - 1 / mu (solved here), 1.96 s at the nominal rate. Model error: geometric
    against exponential service, 1 %."""
    lam, n = 1.6, 60_000
    _, r = _fcfs(tmp_path, 2, lam, n, 25, extra=["dedicated.router=jsq"])
    assert (r["outcome"] == "completed").all()
    lam_hat = len(r) / (n / lam)
    mu = 1.0 / (r["output_tokens"].mean() * D)
    w_th = _jsq_two_servers_mean_present(lam_hat, mu) / lam_hat - 1.0 / mu
    w, se = batch_means((r["admit_s"] - r["arrival_s"]).to_numpy())
    assert abs(w - w_th) < 4 * se + 0.01 * w_th, (w, w_th, se)
    mmc = erlang_c(2, lam_hat / mu) / (2 * mu - lam_hat)
    assert w > mmc  # worse than one central queue: a server may idle while the other queues


def _bounded_workload_blocking(lam: float, rate: float, cap: float, sizes: np.ndarray,
                               h: float = 1.0) -> float:
    """Share of Poisson arrivals (``lam`` a second) turned away by a token bucket of ``cap``
    tokens refilled at ``rate`` a second when a request needs its ``sizes``-distributed
    tokens: the bucket's deficit is the workload of a queue that refuses a job which would
    take its workload past ``cap`` (a finite dam). Its stationary law, an atom p0 at 0 and a
    density f on (0, cap], solves level crossing: rate f(v) = lam [p0 (G(v) - G(cap)) +
    int_0^v f(w) (G(v - w) - G(cap - w)) dw], G(x) = P(size > x); an arrival is refused
    with probability p0 G(cap) + int f(w) G(cap - w) dw. Solved forward on grids of ``h``
    and ``h / 2`` tokens (trapezoid rule, first order at G's jumps) and extrapolated
    (Richardson): M/D/1/K's exact chain to 1e-4 relative (checked in the test)."""

    def solve(step: float) -> float:
        m = int(round(cap / step))
        grid = np.arange(m + 1) * step
        tail = 1.0 - np.searchsorted(np.sort(np.asarray(sizes, float)), grid, side="right") / len(sizes)
        f = np.zeros(m + 1)
        f[0] = lam * (tail[0] - tail[m]) / rate
        back = np.arange(m + 1)
        for j in range(1, m + 1):
            g = tail[j - back[: j + 1]] - tail[m - back[: j + 1]]
            known = f[0] * g[0] / 2 + f[1:j] @ g[1:j]
            f[j] = lam * (tail[j] - tail[m] + step * known) / (rate - lam * step * g[j] / 2)
        total = 1.0 + step * (f.sum() - (f[0] + f[m]) / 2)
        edge = f * tail[m - back]
        refused = tail[m] + step * (edge.sum() - (edge[0] + edge[m]) / 2)
        return float(refused / total)

    return 2 * solve(h / 2) - solve(h)


def test_tokens_per_minute_limit_is_a_finite_dam(tmp_path):
    """``serverless.rate_limits.<t>.tpm`` is a bucket of tpm tokens refilled at tpm / 60 a
    second from which each request takes its prompt plus output tokens, or is refused: with
    random sizes (one-token prompts, geometric outputs of mean 150, offered 95 % of the
    refill) the share refused is the finite dam's (``_bounded_workload_blocking``, fed the
    run's own sizes), which for one fixed size is M/D/1/K's (checked here first). The
    refusals are separated by refills and nearly independent: 40 batch means, 4 SE."""
    from helpers.queueing import md1k_blocking

    assert _bounded_workload_blocking(0.4, 1 / 3, 10, np.ones(8), h=0.02) == pytest.approx(
        md1k_blocking(0.4, 3.0, 10), rel=1e-3)
    tpm, mean_out, n = 1500, 150, 30_000
    lam = 0.95 * tpm / 60 / (mean_out + 1)
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=100000",
        "deployments.llama31-8b.max_batched_tokens=100000", "serverless.autoscaler.max_replicas=1",
        "serverless.autoscaler.min_replicas.llama31-8b=1",
        f"tenants.chat.output={{kind: geometric, mean: {mean_out}, max: 100000}}",
        f"serverless.rate_limits.chat={{tpm: {tpm}}}", f"tenants.chat.arrival.rate_rps={lam!r}",
        f"horizon_s={n / lam!r}", "seed=27", "output.plots=false", "output.report=false"]).requests
    r = r.sort_values("arrival_s", kind="stable")
    refused = (r["reason"] == "rate_limit_tpm").to_numpy()
    assert (refused | (r["outcome"] == "completed").to_numpy()).all()
    sizes = (r["input_tokens"] + r["output_tokens"]).to_numpy()
    theory = _bounded_workload_blocking(len(r) / (n / lam), tpm / 60, tpm, sizes)
    p, se = batch_means(refused.astype(float))
    assert abs(p - theory) < 4 * se, (p, theory, se)


def _priority_run(tmp_path, replicas, lam1, lam2, n, seed, engine):
    d, out = LAW[engine]
    horizon = n / (lam1 + lam2)
    bulk = ("{model: llama31-8b, priority: batch, deadline_s: 1e9, arrival: {kind: poisson, "
            f"rate_rps: {lam2}}}, input: {{kind: fixed, mean: 1}}, output: {out}}}")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={replicas}",
        f"tenants.chat.output={out}", f"tenants.chat.arrival.rate_rps={lam1}",
        f"tenants.bulk={bulk}", f"horizon_s={horizon}", f"seed={seed}",
        "output.plots=false", "output.report=false"], engine=engine).requests
    assert (r["outcome"] == "completed").all()
    return r, horizon, d


def _class_waits(r):
    out = {}
    for tenant in ("chat", "bulk"):
        x = r[r["tenant"] == tenant].sort_values("arrival_s", kind="stable")
        out[tenant] = batch_means((x["admit_s"] - x["arrival_s"]).to_numpy())
    return out


def test_nonpreemptive_priority_on_two_servers(tmp_path):
    """An interactive and a batch-tier tenant on two single-sequence replicas, both with the
    same exponential service: M/M/2 with two non-preemptive priority classes. A class-k
    arrival waits W0 / ((1 - s_{k-1})(1 - s_k)), W0 = C(2, a) / (2 mu) the mean residual
    time until a server frees (Erlang C over both classes), s_k the per-server load of
    classes 1..k (Cobham's formula for c servers, Gross and Harris). Loads 0.3 + 0.5 per
    server. Model error: geometric against exponential service, 1 %."""
    lam1, lam2 = 0.6, 1.0
    r, horizon, d = _priority_run(tmp_path, 2, lam1, lam2, 60_000, 33, "fluid")
    mu = 1.0 / (r["output_tokens"].mean() * d)
    rate = {t: (r["tenant"] == t).sum() / horizon for t in ("chat", "bulk")}
    s1 = rate["chat"] / (2 * mu)
    s2 = s1 + rate["bulk"] / (2 * mu)
    w0 = erlang_c(2, (rate["chat"] + rate["bulk"]) / mu) / (2 * mu)
    theory = {"chat": w0 / (1 - s1), "bulk": w0 / ((1 - s1) * (1 - s2))}
    for tenant, (w, se) in _class_waits(r).items():
        assert abs(w - theory[tenant]) < 4 * se + 0.01 * theory[tenant], (tenant, w, theory, se)


def test_nonpreemptive_priority_on_the_step_engine(tmp_path):
    """The same two-class priority queue on one replica with the step engine (one event
    per iteration) at loads 0.5 + 0.3: Cobham's M/G/1 waits W1 = W0 / (1 - rho1), W2 = W0
    / ((1 - rho1)(1 - rho1 - rho2)), W0 = lambda E[S^2] / 2 from the run's service moments
    (any service law: 20-token geometric outputs here). Exact reduction: 1 % for the rate
    estimates."""
    lam1, lam2 = 0.5, 0.3
    r, horizon, d = _priority_run(tmp_path, 1, lam1, lam2, 24_000, 35, "step")
    s = r["output_tokens"].to_numpy() * d
    w0 = len(r) / horizon * (s ** 2).mean() / 2
    rho = {t: (r["tenant"] == t).sum() / horizon * s.mean() for t in ("chat", "bulk")}
    theory = {"chat": w0 / (1 - rho["chat"]),
              "bulk": w0 / ((1 - rho["chat"]) * (1 - rho["chat"] - rho["bulk"]))}
    for tenant, (w, se) in _class_waits(r).items():
        assert abs(w - theory[tenant]) < 4 * se + 0.01 * theory[tenant], (tenant, w, theory, se)


def _closed(tmp_path, replicas, clients, think, per, engine, d, out, seed=4):
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={replicas}",
        f"tenants.chat.output={out}", "tenants.chat.arrival.kind=closed",
        f"tenants.chat.arrival.concurrency={clients}", f"tenants.chat.arrival.think_s={think}",
        f"tenants.chat.arrival.requests_per_client={per}", "horizon_s=1", f"seed={seed}",
        "output.plots=false", "output.report=false"], engine=engine)
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    return r


def test_closed_loop_on_the_step_engine_is_mva(tmp_path):
    """N = 3 clients, exponential think time Z = 1 s, one FCFS single-sequence replica on
    the step engine (100-token geometric outputs at 10 ms: CV^2 = 0.99): exact MVA's mean
    response time for the run's mean service. Model error: near-exponential service, 1 %."""
    d = 0.01
    r = _closed(tmp_path, 1, 3, 1.0, 1500, "step", d, "{kind: geometric, mean: 100, max: 100000}")
    r_mva, _ = mva_single_server(3, r["output_tokens"].mean() * d, 1.0)
    resp, se = batch_means(r["e2e_s"].to_numpy())
    assert abs(resp - r_mva) < 4 * se + 0.01 * r_mva, (resp, r_mva, se)


def test_closed_loop_on_two_servers_is_the_finite_source_chain(tmp_path):
    """N = 6 clients, Z = 2 s, two single-sequence replicas behind the central queue (the
    machine-repairman model with two repairmen, M/M/2//6): the number at the replicas is a
    birth-death chain (births (N - n) / Z, deaths min(n, 2) mu), throughput X = E[min(n, 2)]
    mu and mean response N / X - Z (Little over the loop), 1.55 s at E[S] = 1 s. Model
    error: geometric service, 1 %."""
    clients, think = 6, 2.0
    r = _closed(tmp_path, 2, clients, think, 2000, "fluid", D, GEO)
    mu = 1.0 / (r["output_tokens"].mean() * D)
    p = np.ones(clients + 1)
    for k in range(1, clients + 1):
        p[k] = p[k - 1] * (clients - k + 1) / think / (min(k, 2) * mu)
    p /= p.sum()
    x = (np.minimum(np.arange(clients + 1), 2) * mu * p).sum()
    r_th = clients / x - think
    resp, se = batch_means(r["e2e_s"].to_numpy())
    assert abs(resp - r_th) < 4 * se + 0.01 * r_th, (resp, r_th, se)


def _two_speed_mm2_wait(lam: float, mu_fast: float, mu_slow: float) -> tuple[float, float]:
    """M/M/2 with a fast and a slow server behind one FCFS queue, an arrival finding both
    idle taking the fast one (the central queue offers it to the first idle replica in list
    order, the model's own deployment before its variants): the chain on {0, fast busy,
    slow busy, n >= 2 present}. Returns (mean wait in queue, share served by the fast
    server)."""
    s = mu_fast + mu_slow
    r = lam / s
    # unknowns p0, pF, pS, p2; p_n = p2 r^(n-2) beyond: the balance of 0, F and S, and the
    # normalisation
    a = np.array([[lam, -mu_fast, -mu_slow, 0.0],
                  [-lam, lam + mu_fast, 0.0, -mu_slow],
                  [0.0, 0.0, lam + mu_slow, -mu_fast],
                  [1.0, 1.0, 1.0, 1.0 / (1.0 - r)]])
    p0, pf, ps, p2 = np.linalg.solve(a, [0.0, 0.0, 0.0, 1.0])
    lq = p2 * r / (1.0 - r) ** 2
    busy_fast = pf + p2 / (1.0 - r)
    return lq / lam, busy_fast * mu_fast / lam


def test_two_gpu_classes_behind_one_queue_are_a_two_speed_mm2(tmp_path):
    """A heterogeneous fleet (``dedicated.variants``): one H100 and one L40S replica of
    Llama-3.1-8B FP8 on the roofline model, single-sequence, one-token prompts, behind the
    central queue. Each GPU's service is its output tokens times its own decode step at
    batch 1 (5.55 and 13.5 ms: measured per GPU from the run; the step grows with the
    context by under 1 % over these lengths), geometric outputs of mean 200 make both
    nearly exponential, and the pair is the two-speed M/M/2 whose chain gives the mean wait
    and the fast server's share. Model error: 2 % on the wait (geometric service and the
    step's growth with context), 0.005 on the share."""
    lam, n = 0.9, 30_000
    w_mm2, _ = _two_speed_mm2_wait(1.6, 1.0, 1.0)  # the chain at equal speeds: Erlang C's
    assert w_mm2 == pytest.approx(erlang_c(2, 1.6) / (2.0 - 1.6), rel=1e-12)
    res = sim.run([  # the roofline model: no table
        "setups=[dedicated]", "output.parquet=true", "tenants.chat.model=llama31-8b",
        "deployments.llama31-8b.precision=fp8", "deployments.llama31-8b.max_num_seqs=1",
        "dedicated.replicas.llama31-8b=1",
        "dedicated.variants=[{model: llama31-8b, gpu: L40S, replicas: 1}]",
        "dedicated.max_queue=100000000", "drain_s=100000",
        "tenants.chat.input={kind: fixed, mean: 1}",
        "tenants.chat.output={kind: geometric, mean: 200, max: 100000}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}", "seed=37",
        "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    assert list(res.tables["replicas"]["gpu"]) == ["H100", "L40S"]
    tokens = r["output_tokens"].to_numpy()
    served = (r["finish_s"] - r["admit_s"]).to_numpy()
    fast = (r["replica"] == 0).to_numpy()
    per_token = {g: served[m].sum() / tokens[m].sum() for g, m in (("fast", fast), ("slow", ~fast))}
    mu = {g: 1.0 / (tokens.mean() * t) for g, t in per_token.items()}
    w_th, share_th = _two_speed_mm2_wait(len(r) / (n / lam), mu["fast"], mu["slow"])
    w, se = batch_means((r["admit_s"] - r["arrival_s"]).to_numpy())
    assert abs(w - w_th) < 4 * se + 0.02 * w_th, (w, w_th, se)
    share, share_se = batch_means(fast.astype(float))
    assert abs(share - share_th) < 4 * share_se + 0.005, (share, share_th, share_se)


def test_a_file_rate_curve_into_infinite_servers(tmp_path):
    """M_t/G/infinity on a file curve (rates 1, 4, 1 at 0, 20 and 60 s: a ramp up and a
    slower ramp down, scaled to a mean of 8 a second) into 60 replicas, service fixed at 2
    s: the arrivals in each 5 s of the cycle, summed over 50 cycles, are Poisson with mean
    the piecewise-linear rate's integral, and the number present at 12 phases is Poisson
    with mean Lambda(t) - Lambda(t - 2 s). Tolerances as for the sinusoid (chi-square(12)'s
    0.999 quantile: 32.91). Until December 2026 each stretch between two points ran at its
    mean rate, here the same 2.5 on both: the first 5 s got 2,016 arrivals where 1,100 are due
    (z = 28), every bin about 2,000."""
    r0, cycle, serve, cycles, d = 8.0, 60.0, 2.0, 50, 0.05
    (tmp_path / "curve.csv").write_text("time_s,rate\n0,1\n20,4\n60,1\n")
    _, r = _fcfs(tmp_path, 60, r0, r0 * cycle * cycles, 9, output=f"{{kind: fixed, mean: {serve / d:g}}}",
                 d=d, extra=["tenants.chat.arrival.curve=file",
                             f"tenants.chat.arrival.curve_path={tmp_path / 'curve.csv'}"])
    assert (r["outcome"] == "completed").all()
    fine = np.linspace(0.0, cycle, 60_001)  # the knots at 0, 20 and 60 s are on this grid
    rate = r0 * np.interp(fine, [0.0, 20.0, 60.0], [1.0, 4.0, 1.0]) / 2.5  # mean 2.5 -> r0
    cum = np.r_[0.0, np.cumsum((rate[1:] + rate[:-1]) / 2 * np.diff(fine))]

    def integral(t):  # Lambda(t) over whole cycles and the part of one
        t = np.asarray(t, float)
        return np.floor(t / cycle) * cum[-1] + np.interp(np.mod(t, cycle), fine, cum)

    a, f = r["arrival_s"].to_numpy(), np.sort(r["finish_s"].to_numpy())
    edges = np.arange(13) * 5.0
    counts = np.histogram(a % cycle, edges)[0]
    expect = np.diff(integral(edges)) * cycles
    z = (counts - expect) / np.sqrt(expect)
    assert np.abs(z).max() < 4 and (z ** 2).sum() < 32.91, (counts, expect)
    t = np.arange(1, cycles)[:, None] * cycle + edges[None, :-1]
    present = np.searchsorted(a, t, side="right") - np.searchsorted(f, t, side="right")
    mean = integral(t[0]) - integral(t[0] - serve)
    z = (present.mean(axis=0) - mean) / np.sqrt(mean / (cycles - 1))
    assert np.abs(z).max() < 4 and (z ** 2).sum() < 32.91, (present.mean(axis=0), mean)


def _mmc_deterministic_patience(lam: float, mu: float, c: int, tau: float) -> tuple[float, float]:
    """M/M/c+D: a customer still waiting ``tau`` after arriving leaves. The virtual wait V
    (the wait a customer of unbounded patience would have) has, beyond the states with a
    server idle (p_j proportional to a^j / j!, j < c), the density lam p_{c-1} exp(-(c mu -
    lam) x) below tau and lam p_{c-1} exp(lam tau - c mu x) beyond (Baccelli and Hebuterne
    1981: only customers with V < tau add work). Returns (P(V > tau), the share that
    leaves; the mean wait of those served)."""
    a, r = lam / mu, c * mu - lam
    p = np.array([a ** j / math.factorial(j) for j in range(c)])
    k = lam * p[-1]
    below = k * (1 - math.exp(-r * tau)) / r if r else k * tau
    beyond = k * math.exp(lam * tau - c * mu * tau) / (c * mu)
    moment = k * (1 / r ** 2 - math.exp(-r * tau) * (tau / r + 1 / r ** 2)) if r else k * tau ** 2 / 2
    total = p.sum() + below + beyond
    leave = beyond / total
    return leave, moment / total / (1 - leave)


def test_serverless_wait_limit_is_deterministic_patience(tmp_path):
    """The serverless pool's ``max_wait_s`` rejects a request still queued that long after
    arriving (``timeout_queued``): with c = 2 single-sequence replicas kept warm it is M/M/2+D,
    Erlang's delay system with deterministic patience, stable even at rho = 1. The share
    turned away and the mean wait of those served are the virtual-wait law's (0.222 and
    0.284 s at tau = 1 s); no served request waited tau. Model error: geometric service, 1 %
    (0.005 on the share)."""
    c, lam, tau, n = 2, 2.0, 1.0, 40_000
    # unbounded patience: nobody leaves and the wait is Erlang C's (M/M/2 at rho 0.8)
    assert _mmc_deterministic_patience(1.6, 1.0, 2, 200.0) == pytest.approx(
        (0.0, erlang_c(2, 1.6) / 0.4), abs=1e-12)
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        *warm_single_sequence_pool(c),
        f"serverless.max_wait_s={tau}", f"tenants.chat.output={GEO}", f"tenants.chat.arrival.rate_rps={lam}",
        f"horizon_s={n / lam}", "seed=43", "output.plots=false", "output.report=false"]).requests
    r = r.sort_values("arrival_s", kind="stable")
    left = (r["outcome"] == "rejected").to_numpy()
    assert set(r.loc[left, "reason"]) == {"timeout_queued"} and (r.loc[~left, "outcome"] == "completed").all()
    mu = 1.0 / (r["output_tokens"].mean() * D)
    leave_th, wait_th = _mmc_deterministic_patience(len(r) / (n / lam), mu, c, tau)
    served = r[~left]
    wait = (served["admit_s"] - served["arrival_s"]).to_numpy()
    assert wait.max() < tau
    p, p_se = batch_means(left.astype(float))
    w, w_se = batch_means(wait)
    assert abs(p - leave_th) < 4 * p_se + 0.005, (p, leave_th, p_se)
    assert abs(w - wait_th) < 4 * w_se + 0.01 * wait_th, (w, wait_th, w_se)


@pytest.mark.parametrize("engine,n", [("fluid", 20_000), ("step", 10_000)])
def test_keepalive_cold_fraction_of_a_queueing_replica(tmp_path, engine, n):
    """One serverless replica at most (single-sequence: M/G/1 FCFS, rho = 0.5) with a fixed
    keep-alive K = 1 s and loads of L seconds: a cycle is an idle time, Exp(lambda)
    (Poisson arrivals), then a busy period; when the idle time passed K the replica was
    stopped, and the first request and those arriving during the load (lambda L on average)
    are cold, the busy period then starting with 1 + lambda L requests. So a cycle holds 1 /
    (1 - rho) requests, plus e^(-lambda K) lambda L / (1 - rho) for the load, and
    e^(-lambda K) (1 + lambda L) cold ones: P(cold) = e^(-lambda K) (1 + lambda L) (1 - rho)
    / (1 + e^(-lambda K) lambda L), whatever the service law (0.309 here). 4 batch-means SE."""
    d, out = LAW[engine]
    lam, k = 0.5, 1.0
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    r = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        "serverless.autoscaler.max_replicas=1", "serverless.max_wait_s=inf",
        f"serverless.keepalive.idle_s={k}", "cold_start.container_start_s=0",
        "cold_start.engine_init_s=0", "cold_start.preloaded_tier=host_dram",
        f"tenants.chat.output={out}", f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}",
        "seed=47", "output.plots=false", "output.report=false"], engine=engine).requests
    r = r.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    wait = r["cold_start_wait_s"].to_numpy()
    cold = wait > 0
    load = wait.max()  # every load takes as long: the first cold request of a cycle waits it all
    assert np.median(wait[cold]) == pytest.approx(load, rel=1e-9)
    lam_hat = len(r) / (n / lam)
    rho = lam_hat * r["output_tokens"].mean() * d
    e = math.exp(-lam_hat * k)
    theory = e * (1 + lam_hat * load) * (1 - rho) / (1 + e * lam_hat * load)
    p, se = batch_means(cold.astype(float))
    assert abs(p - theory) < 4 * se, (p, theory, se)


def test_concurrency_limit_on_queueing_replicas_is_mmck(tmp_path):
    """The serverless concurrency limit K counts requests from arrival to finish, queued or
    served: with c = 3 single-sequence replicas kept warm and K = 5 the pool is M/M/3/5, and
    the share turned away (``rate_limit_concurrency``) is p_K (0.208 at a = 3). Model error:
    geometric service, 0.005."""
    from helpers.queueing import mmck_blocking

    c, k, lam, n = 3, 5, 3.0, 40_000
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        *warm_single_sequence_pool(c),
        "serverless.max_wait_s=inf", f"serverless.rate_limits.chat={{concurrency: {k}}}",
        f"tenants.chat.output={GEO}", f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}",
        "seed=53", "output.plots=false", "output.report=false"]).requests
    r = r.sort_values("arrival_s", kind="stable")
    refused = (r["reason"] == "rate_limit_concurrency").to_numpy()
    assert (refused | (r["outcome"] == "completed").to_numpy()).all()
    present = _present_at_arrival(r[~refused])
    assert present.max() == k - 1  # an admitted request found at most K - 1 in flight
    a = len(r) / (n / lam) * r["output_tokens"].mean() * D
    p, se = batch_means(refused.astype(float))
    assert abs(p - mmck_blocking(c, k, a)) < 4 * se + 0.005, (p, mmck_blocking(c, k, a), se)


def test_onoff_arrivals_have_the_mmpp_count_variance(tmp_path):
    """``arrival.kind: onoff`` is a two-state Markov-modulated Poisson process (exponential
    on and off periods, rates r_on and f r_on, started stationary): the arrivals in a
    window of T seconds (equally, the number present in an infinite-server system with
    service fixed at T) have mean lambda T and variance lambda T + 2 p_on p_off (r_on -
    r_off)^2 (T / g - (1 - e^(-g T)) / g^2), g = 1 / on_s + 1 / off_s: 52 times the Poisson
    variance here. Mean and variance of 2,000 consecutive 10 s windows, 4 batch-means SE."""
    rate, on, off, frac, horizon, window = 10.0, 20.0, 40.0, 0.2, 20_000.0, 10.0
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=100000", "deployments.llama31-8b.max_batched_tokens=100000",
        "dedicated.replicas.llama31-8b=1", "tenants.chat.output={kind: fixed, mean: 1}",
        f"tenants.chat.arrival.rate_rps={rate}", "tenants.chat.arrival.kind=onoff",
        f"tenants.chat.arrival.on_s={on}", f"tenants.chat.arrival.off_s={off}",
        f"tenants.chat.arrival.off_rate_fraction={frac}", f"horizon_s={horizon}", "seed=59",
        "output.plots=false", "output.report=false"]).requests
    counts = np.histogram(r["arrival_s"].to_numpy(), np.arange(0.0, horizon + 1e-9, window))[0]
    r_on = rate * (on + off) / (on + frac * off)
    p_on, g = on / (on + off), 1 / on + 1 / off
    var = rate * window + 2 * p_on * (1 - p_on) * (r_on * (1 - frac)) ** 2 * (
        window / g - (1 - math.exp(-g * window)) / g ** 2)
    m, m_se = batch_means(counts.astype(float))
    v, v_se = batch_means((counts - m) ** 2)
    assert abs(m - rate * window) < 4 * m_se, (m, rate * window, m_se)
    assert abs(v - var) < 4 * v_se, (v, var, v_se)


def _mva_two_classes(n_a: int, z_a: float, n_b: int, z_b: float, s: float) -> tuple[float, float]:
    """Exact multi-class mean-value analysis: two closed classes (``n`` clients, think time
    ``z``) at one FCFS exponential server whose mean service ``s`` is the same for both
    (product form): R_k(n) = s (1 + Q(n - e_k)), X_k = n_k / (R_k + z_k), Q = sum X_k R_k.
    Returns the two classes' mean response times."""
    q = {(0, 0): 0.0}
    resp = {}
    for a in range(n_a + 1):
        for b in range(n_b + 1):
            if a == b == 0:
                continue
            r_a = s * (1 + q[(a - 1, b)]) if a else 0.0
            r_b = s * (1 + q[(a, b - 1)]) if b else 0.0
            q[(a, b)] = (a * r_a / (r_a + z_a) if a else 0.0) + (b * r_b / (r_b + z_b) if b else 0.0)
            resp[(a, b)] = (r_a, r_b)
    return resp[(n_a, n_b)]


def test_two_closed_classes_are_multiclass_mva(tmp_path):
    """Two closed tenants at one FCFS single-sequence replica: 2 clients thinking 1 s and 3
    thinking 4 s, the same service law (E[S] 1 s), so the network has product form and
    exact two-class MVA gives each class's mean response (2.69 s and 3.14 s). Only requests
    that arrive while every client still runs count: once one tenant's clients are done the
    other's responses shorten (over the whole log the second class read 2.30 s against 3.11 s
    when its clients ran twice as long). The cut is 0.9 of the earliest tenant's last
    arrival, over 4 SD of one client's end time before it. Model error: geometric service,
    1 %."""
    # two identical classes are one class of their total population
    assert _mva_two_classes(2, 2.0, 2, 2.0, 1.0)[0] == pytest.approx(mva_single_server(4, 1.0, 2.0)[0])
    other = ("{model: llama31-8b, arrival: {kind: closed, concurrency: 3, think_s: 4, "
             f"requests_per_client: 800}}, input: {{kind: fixed, mean: 1}}, output: {GEO}}}")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        f"tenants.chat.output={GEO}", "tenants.chat.arrival.kind=closed",
        "tenants.chat.arrival.concurrency=2", "tenants.chat.arrival.think_s=1",
        "tenants.chat.arrival.requests_per_client=1500", f"tenants.bulk={other}", "horizon_s=1",
        "seed=4", "output.plots=false", "output.report=false"]).requests.sort_values("arrival_s")
    assert (r["outcome"] == "completed").all()
    theory = dict(zip(("chat", "bulk"), _mva_two_classes(2, 1.0, 3, 4.0, r["output_tokens"].mean() * D)))
    end = 0.9 * r.groupby("tenant")["arrival_s"].max().min()
    for tenant, th in theory.items():
        x = r[(r["tenant"] == tenant) & (r["arrival_s"] < end)]
        resp, se = batch_means(x["e2e_s"].to_numpy())
        assert abs(resp - th) < 4 * se + 0.01 * th, (tenant, resp, th, se)


def _batch_fill_chain(lam1: float, lam2: float, mu: float, c: int, m: int,
                      cap_a: int = 40, cap_w: int = 60) -> tuple[float, float]:
    """One replica running up to c sequences at once, each at full speed (c exponential
    servers), an interactive class and a batch class that is admitted only when no
    interactive request waits and fewer than m sequences run, never preempted. The chain on
    (interactive present a, batch running b <= m, batch waiting w), truncated at ``cap_a`` and
    ``cap_w`` (mass there below 1e-25 at the test's loads): (mean interactive wait, mean
    batch wait), by Little."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    def settle(a, b, w):  # admit batch requests while the rule allows
        while w and a <= c - b and a + b < m:
            b, w = b + 1, w - 1
        return a, b, w

    states = [(a, b, w) for a in range(cap_a + 1) for b in range(m + 1) for w in range(cap_w + 1)]
    index = {s: i for i, s in enumerate(states)}
    rows, cols, rates = [], [], []
    for i, (a, b, w) in enumerate(states):
        served = min(a, c - b)
        for rate, nxt in ((lam1, (a + 1, b, w)), (lam2, (a, b, w + 1)),
                          (served * mu, (a - 1, b, w)), (b * mu, (a, b - 1, w))):
            j = index.get(settle(*nxt)) if rate > 0 else None
            if j is not None:
                rows.append(i)
                cols.append(j)
                rates.append(rate)
    n = len(states)
    q = coo_matrix((rates, (rows, cols)), shape=(n, n)).tocsr()
    gen = (q - coo_matrix((np.asarray(q.sum(axis=1)).ravel(), (range(n), range(n))), shape=(n, n))).T.tolil()
    gen[0, :] = 1.0  # one balance equation replaced by the normalisation
    rhs = np.zeros(n)
    rhs[0] = 1.0
    pi = spsolve(gen.tocsc(), rhs)
    a, b, w = np.array(states).T
    return float(pi @ (a - np.minimum(a, c - b))) / lam1, float(pi @ w) / lam2


def test_batch_fill_below_the_running_limit_is_its_chain(tmp_path):
    """A batch-tier tenant beside an interactive one on one replica holding 4 sequences,
    each served at full speed (a constant iteration time): 4 servers. Batch requests are
    admitted only when no interactive request waits and fewer than ``max(1, floor(
    running_fraction x max_num_seqs))`` = 2 sequences run (``dedicated.batch.running_fraction
    =0.5``), and never preempted: not work-conserving, so no textbook formula, but an exact
    chain (``_batch_fill_chain``): interactive waits 0.017 s, batch 1.44 s at 1.0 + 0.8 a
    second against 4 exponential servers of mean 1 s. Model error: geometric service, 1 %,
    and a request joining a running replica waits for its next iteration boundary, one
    iteration (1 ms) at most."""
    lam1, lam2, c, n = 1.0, 0.8, 4, 40_000
    # a batch class that never comes, with the limit at c: M/M/4's Erlang C wait
    assert _batch_fill_chain(2.4, 1e-9, 1.0, 4, 4, cap_w=3)[0] == pytest.approx(
        erlang_c(4, 2.4) / 1.6, rel=1e-6)
    horizon = n / (lam1 + lam2)
    bulk = ("{model: llama31-8b, priority: batch, deadline_s: 1e9, arrival: {kind: poisson, "
            f"rate_rps: {lam2}}}, input: {{kind: fixed, mean: 1}}, output: {GEO}}}")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        f"deployments.llama31-8b.max_num_seqs={c}", "deployments.llama31-8b.max_batched_tokens=100000",
        "dedicated.replicas.llama31-8b=1", "dedicated.batch.running_fraction=0.5",
        f"tenants.chat.output={GEO}", f"tenants.chat.arrival.rate_rps={lam1}", f"tenants.bulk={bulk}",
        f"horizon_s={horizon}", "seed=61", "output.plots=false", "output.report=false"]).requests
    assert (r["outcome"] == "completed").all()
    mu = 1.0 / (r["output_tokens"].mean() * D)
    rate = {t: (r["tenant"] == t).sum() / horizon for t in ("chat", "bulk")}
    theory = dict(zip(("chat", "bulk"), _batch_fill_chain(rate["chat"], rate["bulk"], mu, c, 2)))
    for tenant, (w, se) in _class_waits(r).items():
        assert abs(w - theory[tenant]) < 4 * se + 0.01 * theory[tenant] + D, (tenant, w, theory, se)


def test_serverless_queue_bound_makes_mmck(tmp_path):
    """``serverless.max_queue`` bounds a model's waiting requests (those in service aside),
    as ``dedicated.max_queue`` does behind ``central``: c = 2 single-sequence replicas kept
    warm with max_queue = 2 are M/M/2/4, and the share refused (``queue_full``) is p_4
    (0.224 at a = 2; 0.288 and 0.184 were the bound one less or one more). Model error:
    geometric service, 0.005."""
    from helpers.queueing import mmck_blocking

    c, q, lam, n = 2, 2, 2.0, 30_000
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    r = run_table(tmp_path, table, [
        *warm_single_sequence_pool(c),
        "serverless.max_wait_s=inf", f"serverless.max_queue={q}", f"tenants.chat.output={GEO}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}", "seed=53",
        "output.plots=false", "output.report=false"]).requests.sort_values("arrival_s", kind="stable")
    refused = (r["outcome"] == "rejected").to_numpy()
    assert set(r.loc[refused, "reason"]) == {"queue_full"}
    a = len(r) / (n / lam) * r["output_tokens"].mean() * D
    p, se = batch_means(refused.astype(float))
    assert abs(p - mmck_blocking(c, c + q, a)) < 4 * se + 0.005, (p, mmck_blocking(c, c + q, a), se)


def test_spillover_on_a_full_queue_is_mmck_overflow(tmp_path):
    """Spillover on the queue's length alone (``wait_threshold_s=inf``, ``max_queue=3``):
    a request spills when 3 wait, so the c = 4 reserved replicas are M/M/4/7 and the share
    spilled is its blocking, 0.065 at a = 3. Model error: geometric service, 0.005."""
    from helpers.queueing import mmck_blocking

    c, q, lam, n = 4, 3, 3.0, 30_000
    _, r, d = _hybrid(tmp_path, c, lam, n, 7, "fluid", extra=[
        "hybrid.spillover.wait_threshold_s=inf", f"hybrid.spillover.max_queue={q}"])
    assert (r["outcome"] == "completed").all()
    spilled = r["spilled"].to_numpy().astype(bool)
    a = len(r) / (n / lam) * (r["output_tokens"].to_numpy() * d).mean()
    p, se = batch_means(spilled.astype(float))
    assert abs(p - mmck_blocking(c, c + q, a)) < 4 * se + 0.005, (p, mmck_blocking(c, c + q, a), se)
