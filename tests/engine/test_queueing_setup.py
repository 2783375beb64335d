"""Serverless replicas with setup (cold-start) times against queueing theory: M/G/1 with
setup on arrival to an empty system (scale to zero at once, Welch 1964), the same with a
delayed off (a fixed keep-alive K), c replicas scaled by the autoscaler, and Little's law on
a run with cold starts.

Built as ``test_queueing_more.py`` builds its serverless settings (README, "Queueing
theory: the textbook settings"): a ``table`` perf model with a constant iteration time
``d``, one-token prompts and single-sequence replicas make FCFS servers whose service time
is ``output_tokens x d``. The load is deterministic: weights from host memory (every node
holds them from t=0, so every load reads the same tier at the same rate: 0.163 s for the
8B's FP8 weights), no container start, an engine initialisation of ``INIT`` s; the test reads
L from the run (the first request of a cycle waits it all).

Theory comes from the run's realised arrival rate and service moments; tolerances are 4
standard errors from 40 batch means of consecutive customers (or of consecutive stretches
of time, for time averages).

c > 1: the pool cannot be configured into M/M/k/setup (Gandhi, Doroudi, Harchol-Balter and
Scheller-Wolf, "Exact analysis of the M/M/k/setup class of Markov chains via recursive
renewal reward", SIGMETRICS 2013 / Queueing Systems 2014), whose policy starts a setup for
every arrival that finds no idle server and, when a busy server frees up while setups run,
cancels one of them. Here only a request to a model scaled to zero starts a replica at once
(the activator); further replicas start at the autoscaler's ticks from its windowed average
of requests in flight, and a load in progress is never cancelled (it finishes, finds the
queue empty and stops under keep-alive 0). So the c-replica test compares the pool with an
independent event simulation of that documented policy (``_autoscaled_pool``, plain Python,
none of the simulator's code), each run on its own random draws, with a tolerance from both
sample sizes.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque

import numpy as np
import pytest
from helpers.queueing import GEO, D, batch_means, run_table, write_table

STEP_D, STEP_GEO = 0.05, "{kind: geometric, mean: 20, max: 100000}"  # step engine: 20 x 50 ms
LAW = {"fluid": (D, GEO), "step": (STEP_D, STEP_GEO)}
INIT = 1.0  # engine initialisation (s): with the 0.163 s weight load, L = 1.163 s


def _setup_run(tmp_path, lam, n, seed, keep, engine="fluid", replicas=1, extra=()):
    """About ``n`` Poisson arrivals at ``lam`` to a model on the serverless pool, at most
    ``replicas`` single-sequence replicas, keep-alive ``keep`` s, deterministic loads,
    unbounded patience. Returns the run and its requests by arrival."""
    d, out = LAW[engine]
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "setups=[serverless]", "deployments.llama31-8b.max_num_seqs=1",
        f"serverless.autoscaler.max_replicas={replicas}", "serverless.max_wait_s=inf",
        f"serverless.keepalive.idle_s={keep}", "cold_start.container_start_s=0",
        f"cold_start.engine_init_s={INIT}", "cold_start.preloaded_tier=host_dram",
        f"tenants.chat.output={out}", f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n / lam}",
        f"seed={seed}", "output.plots=false", "output.report=false", *extra], engine=engine)
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    return res, r


def _replay_setup(arrivals, services, load, keep):
    """One FCFS server that is off at t=0, turns on (``load`` s) when a customer arrives to
    find it off, and turns off ``keep`` s after the system empties unless a customer comes
    first. Returns (waits to the start of service, arrived before the server was on)."""
    wait = np.empty(len(arrivals))
    cold = np.zeros(len(arrivals), bool)
    done, up = -math.inf, -math.inf
    for k, (a, s) in enumerate(zip(arrivals, services)):
        if a > done + keep:  # the server went off at done + keep (or was never on)
            up = start = a + load
        else:
            start = max(a, done)
        cold[k] = a < up
        wait[k] = start - a
        done = start + s
    return wait, cold


def _setup_theory(lam, es, es2, load, keep):
    """M/G/1 with a deterministic setup L started by an arrival that finds the server off,
    the server going off K after the system empties (K = 0: Welch 1964). Returns (mean wait
    of all customers, mean wait of those arriving while it is off or setting up, fraction of
    time the server is on or setting up).

    Fuhrmann and Cooper's decomposition (Operations Research 1985; vacations chosen without
    looking ahead at arrivals): the number in system is M/G/1's plus the number present at a
    random instant of a non-serving period. Such a period is an idle time, Exp(lambda) with
    mean 1/lambda, then with probability p = e^(-lambda K) (no arrival within K) a setup L,
    during which 1 + lambda t customers are present t into it: E[X] = p (L + lambda L^2 / 2)
    / (1/lambda + p L), and by Little the extra wait E[X] / lambda = p (2L + lambda L^2) /
    (2 (1 + p lambda L)). At p = 1 that is Welch's (2 E[I] + lambda E[I^2]) / (2 (1 + lambda
    E[I])) for a deterministic setup I = L (for an exponential one it is E[I]: Harchol-Balter,
    "Performance Modeling and Design of Computer Systems", 2013, exercise on M/M/1 with
    setup). Cold customers: the first of an off period waits L, one arriving u into the setup
    waits L - u plus the services of the 1 + lambda u ahead: E[W | cold] = L (1 + lambda L /
    2) (1 + rho) / (1 + lambda L), whatever K. The server is off for (I - K)+ of each cycle,
    mean p / lambda, of a cycle of mean (1/lambda + p L) / (1 - rho)."""
    rho, p = lam * es, math.exp(-lam * keep)
    base = lam * es2 / (2 * (1 - rho))
    extra = p * (2 * load + lam * load ** 2) / (2 * (1 + p * lam * load))
    cold = load * (1 + lam * load / 2) * (1 + rho) / (1 + lam * load)
    on = 1 - p * (1 - rho) / (1 + p * lam * load)
    return base + extra, cold, on


def _autoscaled_pool(arrivals, services, load, c, tick, keep=0.0, iteration=None):
    """An independent event simulation of the pool's documented scaling (README, "Serverless
    setup": the activator, the autoscaler, keep-alive) for one model on at most ``c``
    single-sequence replicas, a fixed keep-alive ``keep``, ``target_concurrency`` 1, both
    windows and the tick ``tick`` s. A request goes to the first idle warm replica (in the
    order they were started), else queues; with no replica warm or loading it starts one.
    Every ``tick`` s from the model's activation the autoscaler wants ceil(mean in flight over
    the window), the window's start rounded down to a bucket (min(1 s, tick)); panic (wanting
    at least twice the warm replicas, at least one) holds the count from falling for one
    window. While requests are in flight the pool starts loads up to min(max(want, 1), c),
    else it stops idle excess replicas down to max(want, 1), longest idle first; a replica
    idle ``keep`` s stops, unless requests are in flight and the last tick's max(want, 1) is
    at least the replicas warm and loading (the autoscaler wants it): then it is asked again
    every ``tick`` s while it idles. Ticks stop at a tick with nothing in flight or loading and at most
    one replica. With ``iteration`` (the engine's constant iteration time) a service ends at
    (start + d) + (k - 1) d for its k = services / d iterations (d = ``iteration``), summed as the fluid
    engine sums them (its prefill, then its decode stretch), so that a service ending when a
    load does (both on the tick grid plus multiples of d) falls on the same side of it
    as in the run, to the last bit: which replica then takes the queue's head decides which
    one idles, and so which one keep-alive may stop. Returns (waits, cold flags, load start
    times)."""
    n, bucket = len(arrivals), min(1.0, tick)
    wait, cold = np.empty(n), np.zeros(n, bool)
    heap, seq = [], itertools.count()

    def at(t, kind, x=None):
        heapq.heappush(heap, (t, next(seq), kind, x))

    for i, a in enumerate(arrivals):
        at(a, "arrive", i)
    queue, loads, reps = deque(), [], []  # reps: warm replicas [busy, idle since, generation]
    loading = inflight = 0
    times, values, areas = [0.0], [0], [0.0]  # in flight: a step function and its integral
    active, last, panic_until = False, 0, -math.inf

    def step(t, v):
        areas.append(areas[-1] + values[-1] * (t - times[-1]))
        times.append(t)
        values.append(v)

    def area(x):
        j = bisect.bisect_right(times, x) - 1
        return areas[j] + values[j] * (x - times[j])

    def start_load(t):
        nonlocal loading
        loading += 1
        loads.append(t)
        at(t + load, "warm")

    def take(rep, t):  # a warm replica takes the queue's head, or idles
        if queue:
            i = queue.popleft()
            wait[i] = t - arrivals[i]
            rep[0] = True
            if iteration is None:
                at(t + services[i], "done", rep)
            else:
                at((t + iteration) + (round(services[i] / iteration) - 1) * iteration, "done", rep)
        else:
            rep[:] = [False, t, rep[2] + 1]
            at(t + keep, "expire", (rep, rep[2]))

    while heap:
        t, _, kind, x = heapq.heappop(heap)
        if kind == "arrive":
            inflight += 1
            step(t, inflight)
            queue.append(x)
            idle = [r for r in reps if not r[0]]
            if idle:
                take(idle[0], t)
            elif not reps and loading == 0:
                start_load(t)
            if not active:
                active = True
                at(t + tick, "tick")
        elif kind == "warm":
            loading -= 1
            reps.append([False, t, 0])
            if len(reps) == 1:
                cold[list(queue)] = True
            take(reps[-1], t)
        elif kind == "done":
            inflight -= 1
            step(t, inflight)
            take(x, t)
        elif kind == "expire":
            rep, gen = x
            if not rep[0] and rep[2] == gen and rep in reps and not queue:
                if inflight and len(reps) + loading <= max(last, 1):
                    at(t + tick, "expire", x)
                else:
                    reps.remove(rep)
        else:
            s0 = max((t - tick) // bucket, 0.0) * bucket
            avg = (area(t) - area(s0)) / (t - s0)
            want = math.ceil(avg - 1e-9) if avg > 0 else 0
            if want > len(reps) and want >= 2 * max(len(reps), 1):
                panic_until = t + tick
            if panic_until > t:
                want = max(want, last)
            last = want = min(want, c)
            floor = max(want, 1)
            if inflight and floor > len(reps) + loading:
                for _ in range(floor - len(reps) - loading):
                    start_load(t)
            elif len(reps) > floor and not queue:
                idle = sorted((r for r in reps if not r[0]), key=lambda r: r[1])
                for r in idle[: len(reps) - floor]:
                    reps.remove(r)
            if inflight or loading or len(reps) > 1:
                at(t + tick, "tick")
            else:
                active = False
    return wait, cold, np.array(loads)


def test_the_setup_formulas_against_an_independent_replay():
    """The theory the tests below use, checked without the simulator: 400,000 customers of
    M/M/1 (rho 0.5) through ``_replay_setup`` at K = 0, 0.5, 2 s with L = 1.163 s, and the
    c-replica event simulation at c = 1 (where the autoscaler can add nothing) against the
    K = 0 formula. 4 batch-means SE."""
    rng = np.random.default_rng(5)
    lam, load, n = 0.5, 1.163, 400_000
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    services = rng.exponential(1.0, n)
    es, es2 = services.mean(), (services ** 2).mean()
    for keep in (0.0, 0.5, 2.0):
        wait, cold = _replay_setup(arrivals, services, load, keep)
        w_th, c_th, _ = _setup_theory(lam, es, es2, load, keep)
        w, se = batch_means(wait)
        assert abs(w - w_th) < 4 * se, (keep, w, w_th, se)
        wc, se_c = batch_means(wait[cold])
        assert abs(wc - c_th) < 4 * se_c, (keep, wc, c_th, se_c)
    m = 40_000
    wait, cold, _ = _autoscaled_pool(arrivals[:m], services[:m], load, 1, 0.5)
    w, se = batch_means(wait)
    assert abs(w - _setup_theory(lam, es, es2, load, 0.0)[0]) < 4 * se, (w, se)
    assert np.array_equal(wait, _replay_setup(arrivals[:m], services[:m], load, 0.0)[0])


def _load_time(res, r) -> float:
    """L: every replica's load takes as long, and the first cold request of a cycle waits
    all of it."""
    loading = res.tables["replicas"]["loading_s"].to_numpy()
    load = r["cold_start_wait_s"].max()
    assert np.abs(loading - load).max() < 1e-9
    return load


@pytest.mark.parametrize("engine,n", [("fluid", 20_000), ("step", 8_000)])
def test_scale_to_zero_replica_is_welchs_mg1_with_setup(tmp_path, engine, n):
    """Keep-alive 0 and one replica at most: the replica stops as soon as it has nothing to
    do and the next request starts a load of L s, during which later arrivals queue; that
    is M/G/1 with setup on arrival to an empty system (Welch, "On generalized M/G/1 queuing
    processes in which the first customer of each busy period receives exceptional service",
    Operations Research 12, 1964): E[W] = lambda E[S^2] / (2 (1 - rho)) + (2L + lambda L^2)
    / (2 (1 + lambda L)) (1.95 s at rho 0.5, L 1.163 s: the setup adds 0.95 s). Request by
    request the waits (``admit_s - arrival_s``) and cold flags equal an independent replay
    of that server fed the run's arrivals and service times (to 1e-6 s), and the mean wait,
    the cold requests' mean wait and the share of time a replica is up (from the replica
    table) match the formulas within 4 SE."""
    d = LAW[engine][0]
    lam = 0.5
    res, r = _setup_run(tmp_path, lam, n, 61, 0, engine)
    arrivals = r["arrival_s"].to_numpy()
    services = r["output_tokens"].to_numpy() * d
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    load = _load_time(res, r)
    assert load == pytest.approx(INIT + 0.163, abs=0.001)
    w_re, cold_re = _replay_setup(arrivals, services, load, 0.0)
    assert np.abs(wait - w_re).max() < 1e-6
    assert np.array_equal(r["cold_start_wait_s"].to_numpy() > 0, cold_re)
    _check_means(res, r, lam, n, services, wait, load, 0.0)


def _check_means(res, r, lam, n, services, wait, load, keep):
    lam_hat = len(r) / (n / lam)
    w_th, cold_th, on_th = _setup_theory(lam_hat, services.mean(), (services ** 2).mean(), load, keep)
    w, se = batch_means(wait)
    assert abs(w - w_th) < 4 * se, (w, w_th, se)
    cold = r["cold_start_wait_s"].to_numpy() > 0
    wc, se_c = batch_means(wait[cold])
    assert abs(wc - cold_th) < 4 * se_c, (wc, cold_th, se_c)
    reps = res.tables["replicas"]
    grid = np.linspace(0, n / lam, 200_000, endpoint=False)
    start, end = np.sort(reps["start_s"].to_numpy()), np.sort(reps["end_s"].to_numpy())
    up = np.searchsorted(start, grid, side="right") - np.searchsorted(end, grid, side="right")
    assert up.max() == 1
    u, se_u = batch_means(up.astype(float))
    assert abs(u - on_th) < 4 * se_u, (u, on_th, se_u)
    return w, se, w_th, wc, se_c, cold_th, u, se_u, on_th


@pytest.mark.parametrize("engine,n", [("fluid", 20_000), ("step", 8_000)])
def test_delayed_off_replica_mean_waits(tmp_path, engine, n):
    """A fixed keep-alive K = 1 s (delayed off): the replica stops K after its last request
    unless one comes first (probability e^(-lambda K) that none does). By Fuhrmann and
    Cooper's decomposition the mean wait is M/G/1's plus e^(-lambda K) (2L + lambda L^2) /
    (2 (1 + e^(-lambda K) lambda L)) (1.67 s at rho 0.5, L 1.163 s), a cold request waits L
    (1 + lambda L / 2) (1 + rho) / (1 + lambda L) on average (1.42 s, whatever K), and a
    replica is up 1 - e^(-lambda K) (1 - rho) / (1 + e^(-lambda K) lambda L) of the time;
    derivations in ``_setup_theory``. Request by request the run equals the replay of a
    delayed-off server (to 1e-6 s); means within 4 SE."""
    d = LAW[engine][0]
    lam, keep = 0.5, 1.0
    res, r = _setup_run(tmp_path, lam, n, 67, keep, engine)
    services = r["output_tokens"].to_numpy() * d
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    load = _load_time(res, r)
    w_re, cold_re = _replay_setup(r["arrival_s"].to_numpy(), services, load, keep)
    assert np.abs(wait - w_re).max() < 1e-6
    assert np.array_equal(r["cold_start_wait_s"].to_numpy() > 0, cold_re)
    _check_means(res, r, lam, n, services, wait, load, keep)


@pytest.mark.parametrize("keep,tick", [(0.0, 0.5), (1.0, 2.0)])
def test_c_replicas_scaled_from_zero_match_the_documented_policy(tmp_path, keep, tick):
    """Three single-sequence replicas at most, scaled from zero, the autoscaler at target
    concurrency 1 with both windows and the tick ``tick`` s (at 2 s the window starts on a
    1 s bucket), 1.5 requests a second of 1 s (rho 0.5 a replica), L = 1.163 s, keep-alive 0
    or 1 s: not M/M/3/setup (module docstring), so the pool's mean wait, cold share and
    loads per request are compared with ``_autoscaled_pool`` run on its own 40,000 draws of
    the same laws; tolerance 4 x the root sum of both runs' squared batch-means SE. At
    keep-alive 0 and tick 0.5 s: 0.782 s, 0.209 and 0.274 against 0.766 s, 0.201 and 0.271
    (M/M/3 without setup would wait 0.158 s); at 1 s and 2 s, 0.771 s, 0.074 and 0.129
    against 0.764 s, 0.070 and 0.127 (0.846, 0.203, 0.467 and 0.836, 0.076, 0.167 before
    keep-alive left the replicas the autoscaler wants, December 2026). Fed the run's own arrivals and service times,
    the event simulation gives the run's waits (to 1e-6 s), cold flags and load start times
    exactly."""
    c, lam, n = 3, 1.5, 20_000
    res, r = _setup_run(tmp_path, lam, n, 71, keep, replicas=c, extra=[
        "serverless.autoscaler.target_concurrency=1", f"serverless.autoscaler.tick_s={tick}",
        f"serverless.autoscaler.stable_window_s={tick}", f"serverless.autoscaler.panic_window_s={tick}"])
    load = _load_time(res, r)
    arrivals = r["arrival_s"].to_numpy()
    sim_wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    sim_cold = r["cold_start_wait_s"].to_numpy() > 0
    sim_loads = np.sort(res.tables["replicas"]["start_s"].to_numpy())
    # fed the run's own arrivals and services, the event simulation is the run, request by request
    re_wait, re_cold, re_loads = _autoscaled_pool(arrivals, r["output_tokens"].to_numpy() * D, load, c, tick,
                                                   keep, iteration=D)
    assert np.abs(re_wait - sim_wait).max() < 1e-6 and np.array_equal(re_cold, sim_cold)
    assert np.abs(re_loads - sim_loads).max() < 1e-6

    rng = np.random.default_rng(73)
    m = 40_000
    t_arr = np.cumsum(rng.exponential(1 / lam, m))
    t_wait, t_cold, t_loads = _autoscaled_pool(t_arr, rng.geometric(1 / 1000, m) * D, load, c, tick, keep)

    def per_request(a, loads):  # loads started from each arrival to the next
        return np.diff(np.searchsorted(loads, np.append(a, np.inf), side="left")).astype(float)

    for name, x, y in [("wait", sim_wait, t_wait), ("cold", sim_cold.astype(float), t_cold.astype(float)),
                       ("loads", per_request(arrivals, sim_loads), per_request(t_arr, t_loads))]:
        (a, sa), (b, sb) = batch_means(x), batch_means(y)
        assert abs(a - b) < 4 * math.hypot(sa, sb), (name, a, sa, b, sb)


def test_littles_law_on_a_run_with_cold_starts(tmp_path):
    """Little's law L = lambda W on the scale-to-zero replica of the Welch test (rho 0.5,
    L 1.163 s, keep-alive 0.5 s): the time-average number of requests in the system, read
    on a grid of 200,000 instants over the horizon from the log's arrival and finish times,
    equals the arrival rate times the mean of ``e2e_s`` (the sojourn, cold wait included),
    equals the mean number an arrival finds (Poisson arrivals see time averages) and equals
    lambda (E[W] + E[S]) from the delayed-off formula; within 4 batch-means SE of each side.
    The first holds by construction up to the horizon's edge (both read the log's arrival
    and finish times); the other two are the informative checks. ``e2e_s`` is the wait plus
    the service exactly (1.394 present against 1.394, 1.401 found and 1.392 in theory)."""
    lam, n, keep = 0.5, 20_000, 0.5
    res, r = _setup_run(tmp_path, lam, n, 79, keep)
    horizon = n / lam
    a, f = r["arrival_s"].to_numpy(), np.sort(r["finish_s"].to_numpy())
    e2e = r["e2e_s"].to_numpy()
    services = r["output_tokens"].to_numpy() * D
    wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
    assert np.abs(e2e - (wait + services)).max() < 1e-6
    grid = np.linspace(0, horizon, 200_000, endpoint=False)
    present = np.searchsorted(a, grid, side="right") - np.searchsorted(f, grid, side="right")
    big_l, se_l = batch_means(present.astype(float))
    lam_hat = len(r) / horizon
    w, se_w = batch_means(e2e)
    assert abs(big_l - lam_hat * w) < 4 * math.hypot(se_l, lam_hat * se_w), (big_l, lam_hat * w)
    found, se_f = batch_means((np.arange(a.size) - np.searchsorted(f, a, side="right")).astype(float))
    assert abs(big_l - found) < 4 * math.hypot(se_l, se_f), (big_l, found)
    w_th = _setup_theory(lam_hat, services.mean(), (services ** 2).mean(), _load_time(res, r), keep)[0]
    theory = lam_hat * (w_th + services.mean())
    assert abs(big_l - theory) < 4 * se_l, (big_l, theory, se_l)
