"""Queueing-theory helpers for the tests that reduce the engine to textbook queues: the
formulas (Erlang B and C, finite M/M/c/K, GI/M/1's root, mean-value analysis), batch means,
independent replays of FCFS servers fed the run's own arrivals and service times, and the
run of one dedicated model on a measured (``table``) performance model."""

from __future__ import annotations

import heapq
import math

import numpy as np
from scipy.optimize import brentq

import sim
from helpers import later_wins


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/G/c/c with offered load ``a`` (the recursion B(k) =
    a B(k-1) / (k + a B(k-1)))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability an arrival waits in M/M/c with offered load a = lambda / mu (< c)."""
    s = sum(a ** k / math.factorial(k) for k in range(c))
    top = a ** c / math.factorial(c) * c / (c - a)
    return top / (s + top)


def mmck_blocking(c: int, k: int, a: float) -> float:
    """Share of arrivals turned away by M/M/c/K (``k`` in the system at most)."""
    p = [a ** n / math.factorial(n) if n <= c else a ** c / math.factorial(c) * (a / c) ** (n - c)
         for n in range(k + 1)]
    return p[k] / sum(p)


def gim1_sigma(laplace, mu: float) -> float:
    """GI/M/1: the root in (0, 1) of sigma = A*(mu (1 - sigma)), ``laplace`` the Laplace
    transform of the inter-arrival time. An arrival waits with probability sigma, and the
    mean wait is sigma / (mu (1 - sigma))."""
    return brentq(lambda z: z - laplace(mu * (1.0 - z)), 1e-12, 1.0 - 1e-12)


def mva_single_server(n: int, s: float, z: float) -> tuple[float, float]:
    """Exact mean-value analysis of ``n`` clients with think time ``z`` around one FCFS
    exponential server of mean ``s``: (mean response time, throughput)."""
    q, r, x = 0.0, 0.0, 0.0
    for k in range(1, n + 1):
        r = s * (1.0 + q)
        x = k / (r + z)
        q = x * r
    return r, x


def batch_means(x: np.ndarray, batches: int = 40) -> tuple[float, float]:
    """Mean of ``x`` and its standard error from ``batches`` consecutive batch means (which
    accounts for the autocorrelation of successive customers)."""
    x = np.asarray(x, float)
    x = x[: x.size - x.size % batches].reshape(batches, -1).mean(axis=1)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(batches))


def replay_fcfs(arrivals: np.ndarray, service: np.ndarray, c: int, router: str) -> np.ndarray:
    """Waits of customers (in arrival order) at ``c`` FCFS single servers: ``central`` (one
    queue; the next customer takes the server free first), ``jsq`` (own queues; join the one
    with the fewest customers present, the lowest index on a tie) or ``round_robin``
    (customer k joins server k mod c)."""
    waits = np.empty(len(arrivals))
    if router == "central":
        free = [0.0] * c
        for k, (a, s) in enumerate(zip(arrivals, service)):
            start = max(a, heapq.heappop(free))
            waits[k] = start - a
            heapq.heappush(free, start + s)
        return waits
    last = [0.0] * c
    departures: list[list[float]] = [[] for _ in range(c)]
    for k, (a, s) in enumerate(zip(arrivals, service)):
        if router == "jsq":
            departures = [[t for t in d if t > a] for d in departures]
            i = min(range(c), key=lambda j: (len(departures[j]), j))
        else:
            i = k % c
        start = max(a, last[i])
        waits[k] = start - a
        last[i] = start + s
        departures[i].append(start + s)
    return waits


def write_table(path, fn, decode=(0, 1, 4096), prefill=(0, 8192)):
    """A ``table`` perf model's CSV with step time ``fn(decode_seqs, prefill_tokens)``."""
    rows = ["decode_seqs,prefill_tokens,step_time_s"]
    for d in decode:
        for p in prefill:
            rows.append(f"{d},{p},{fn(d, p)!r}")
    path.write_text("\n".join(rows) + "\n")
    return path


def run_table(tmp_path, table, extra, engine="fluid"):
    """One tenant ``chat`` on llama31-8b (one-token prompts) on the dedicated setup, timed by
    ``table``, with room for every request (KV, queue, drain)."""
    return sim.run(later_wins([
        f"engine={engine}", "setups=[dedicated]", "output.parquet=true",
        "tenants.chat.model=llama31-8b",
        "deployments.llama31-8b.perf.kind=table",
        f"deployments.llama31-8b.perf.table_path={table}",
        "deployments.llama31-8b.perf.kv_capacity_tokens=100000000",
        "dedicated.max_queue=100000000",
        "tenants.chat.input={kind: fixed, mean: 1}",
        "drain_s=100000",
    ], extra))


D = 0.001  # the constant iteration time (s) of the textbook settings' tables
GEO = "{kind: geometric, mean: 1000, max: 100000}"  # service ~ Exp(1 s): CV^2 = 0.999


def fcfs_run(tmp_path, replicas, lam, n, seed, output=GEO, extra=(), engine="fluid", d=D):
    """About ``n`` Poisson arrivals at ``lam`` a second to ``replicas`` FCFS single-sequence
    replicas (service ``output`` tokens x ``d`` s): the run and its requests by arrival."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={replicas}",
        f"tenants.chat.output={output}", f"tenants.chat.arrival.rate_rps={lam!r}",
        f"horizon_s={n / lam!r}", f"seed={seed}", "output.plots=false", "output.report=false",
        *extra], engine=engine)
    return res, res.requests.sort_values("arrival_s", kind="stable")


def closed_loop_vs_mva(tmp_path, n_clients: int, z: float, per: int, d: float, output: str):
    """N clients with exponential think time ``z`` around one FCFS single-sequence replica
    (the machine-repairman model), each sending ``per`` requests of ``output`` tokens at a
    constant ``d`` s an iteration: the run's requests by arrival, and MVA's response time
    and throughput for the run's own mean service time."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        f"tenants.chat.output={output}", "tenants.chat.arrival.kind=closed",
        f"tenants.chat.arrival.concurrency={n_clients}", f"tenants.chat.arrival.think_s={z}",
        f"tenants.chat.arrival.requests_per_client={per}", "horizon_s=1", "seed=4",
        "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s")
    return (r, *mva_single_server(n_clients, r["output_tokens"].mean() * d, z))


def md1k_blocking(lam: float, d: float, k: int) -> float:
    """Share of arrivals turned away by M/D/1/K (service ``d``, ``k`` in the system at most):
    the embedded chain at departures on 0..k-1, then P(block) = 1 - 1 / (pi_0 + rho)
    (Gross and Harris, M/G/1/K)."""
    from scipy.stats import poisson

    a = poisson.pmf(np.arange(k + 1), lam * d)  # arrivals during one service
    p = np.zeros((k, k))
    for i in range(k):
        lo = max(i - 1, 0)
        for j in range(lo, k):
            m = j - lo
            p[i, j] = a[m] if j < k - 1 else 1.0 - a[:m].sum()
    w, v = np.linalg.eig(p.T)
    pi = np.real(v[:, int(np.argmin(np.abs(w - 1.0)))])
    pi /= pi.sum()
    return 1.0 - 1.0 / (pi[0] + lam * d)


def mdc_wait(lam: float, d: float, c: int) -> tuple[float, float]:
    """M/D/c: (mean wait in queue, probability of waiting). Every customer in service at t
    has left by t + d and none who starts later has, so the number present at t, t + d,
    t + 2d, ... is the chain N' = max(N - c, 0) + Poisson(lambda d), stationary at any phase
    of Poisson arrivals: its law is the time-average one. Lq = E[max(N - c, 0)], Wq = Lq /
    lambda (Little), P(wait) = P(N >= c) (arrivals see time averages)."""
    from scipy.stats import poisson

    a = lam * d
    top = int(c + 60 + 40 * a + 50 / (1 - a / c))  # the chain's mass beyond this is negligible
    pa = poisson.pmf(np.arange(top + 1), a)
    p = np.zeros((top + 1, top + 1))
    for i in range(top + 1):
        base = max(i - c, 0)
        p[i, base:] = pa[: top + 1 - base]
        p[i, top] += 1.0 - p[i].sum()  # truncated: the tail mass stays at the top state
    m = p.T - np.eye(top + 1)
    m[-1] = 1.0
    rhs = np.zeros(top + 1)
    rhs[-1] = 1.0
    pi = np.linalg.solve(m, rhs)
    n = np.arange(top + 1)
    return float((np.maximum(n - c, 0) * pi).sum() / lam), float(pi[c:].sum())
