"""Queueing networks and unreliable servers the other queueing tests do not build: a two-stage
compound pipeline as a tandem of FCFS queues (Burke, Jackson, Reich), reserved replicas that
fail and are repaired (alternating renewal, PASTA, preemptive-repeat service), and the
elastic pieces of the dedicated setup, burst replicas and spot reclaims, against small
independent simulations of their documented policies.

Built as ``test_queueing_more.py`` builds its settings (README, "Queueing theory: the
textbook settings"): a ``table`` perf model with a constant iteration time ``d``, one-token
prompts and single-sequence replicas make FCFS servers whose service time is
``output_tokens x d``. Theory comes from the run's realised arrival rate and service
moments; tolerances are 4 standard errors from 40 batch means of consecutive customers (or
of consecutive stretches of time, or of up/down cycles, which are independent by
construction), plus the reduction's stated model error. Where a simulation of a documented
policy stands in for a formula, it is plain Python written from the README (none of the
simulator's code), run on its own random draws, and compared on means with a tolerance
from both sample sizes.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from helpers.queueing import GEO, D, batch_means, run_table, write_table

LAW_2 = "{kind: geometric, mean: 800, max: 100000}"  # stage 2: ~Exp(0.8 s)


def _stage_model(model: str, table) -> list[str]:
    """Overrides giving ``model`` one single-sequence reserved replica timed by ``table``."""
    return [f"deployments.{model}={{gpu: H100, precision: fp8, tp: 1}}",
            f"deployments.{model}.perf.kind=table", f"deployments.{model}.perf.table_path={table}",
            f"deployments.{model}.perf.kv_capacity_tokens=100000000",
            f"deployments.{model}.max_num_seqs=1", f"dedicated.replicas.{model}=1"]


def _tandem(tmp_path, lam, n, seed, out1=GEO, out2=LAW_2, engine="fluid", d=D):
    """About ``n`` Poisson pipeline requests at ``lam`` through stage ``one`` (llama31-8b)
    then stage ``two`` (qwen3-32b), each model on one single-sequence replica. Returns the
    run, and the two stages' requests indexed by pipeline id."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    one = f"{{model: llama31-8b, input: {{kind: fixed, mean: 1}}, output: {out1}}}"
    two = f"{{model: qwen3-32b, after: [one], input: {{kind: fixed, mean: 1}}, output: {out2}}}"
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        *_stage_model("qwen3-32b", table), "tenants.chat.pipeline=tandem",
        f"pipelines.tandem={{stages: {{one: {one}, two: {two}}}}}",
        f"tenants.chat.arrival.rate_rps={lam!r}", f"horizon_s={n / lam!r}", f"seed={seed}",
        "output.plots=false", "output.report=false"], engine=engine)
    r = res.requests
    assert (r["outcome"] == "completed").all()
    s1 = r[r["stage"] == "one"].set_index("pipeline_id").sort_index()
    s2 = r[r["stage"] == "two"].set_index("pipeline_id").sort_index()
    assert s1.index.equals(s2.index)
    assert set(s1["model"].astype(str)) == {"llama31-8b"} and set(s2["model"].astype(str)) == {"qwen3-32b"}
    return res, s1, s2


def _fcfs_departures(arrivals, services):
    """Departure times of one FCFS server fed in this order (Lindley's recursion)."""
    dep = np.empty(len(arrivals))
    free = -math.inf
    for k, (a, s) in enumerate(zip(arrivals, services)):
        free = max(a, free) + s
        dep[k] = free
    return dep


def _present(t, starts, ends):
    """How many of the intervals [starts, ends) contain each time in ``t``."""
    return (np.searchsorted(np.sort(starts), t, side="right")
            - np.searchsorted(np.sort(ends), t, side="right"))


# ------------------------------------------------------------------ 1. tandem pipeline
def test_two_stage_pipeline_is_a_tandem_of_m_m_1_queues(tmp_path):
    """Poisson pipeline requests (lambda 0.6/s) through two stages on two models, each one
    single-sequence replica, with service ~Exp(1 s) and ~Exp(0.8 s) (geometric outputs of
    mean 1,000 and 800 at 1 ms, CV^2 0.999; the stages' lengths come from their own
    streams, so a request's two service times are independent). Burke's theorem (1956):
    an M/M/1 queue's departures are Poisson, so stage two is M/M/1 too, and Jackson's
    product form (1957) makes the two numbers in system at a random instant independent
    geometrics: P(N1 = i, N2 = j) = (1 - r1) r1^i (1 - r2) r2^j. Reich (1957): a customer's
    sojourns at the two stages are independent, so the pipeline's mean end-to-end time is
    1 / (mu1 - lambda) + 1 / (mu2 - lambda) and the covariance of the two is 0
    (Kleinrock, Queueing Systems vol. 1, 1975, sec. 4.8).

    Request by request: stage two is sent at stage one's finish (the driver, README
    "Compound pipelines"), so both stages equal a replay of two FCFS servers fed the run's
    own arrivals and service times (Lindley's recursion, to 1e-6 s). Then, over 20,000
    pipelines: mean end-to-end time, each stage's mean sojourn, P(N1 = 0, N2 = 0) and
    E[N2] seen by arrivals (PASTA) within 4 batch-means SE plus 1 % (geometric against
    exponential service), and the covariance of the two sojourns within 4 SE of 0."""
    lam, n = 0.6, 20_000
    res, s1, s2 = _tandem(tmp_path, lam, n, 5)
    a = s1["arrival_s"].to_numpy()
    x1, x2 = s1["output_tokens"].to_numpy() * D, s2["output_tokens"].to_numpy() * D
    d1 = _fcfs_departures(a, x1)
    assert (np.diff(d1) >= 0).all()  # FCFS: stage two is fed in the same order
    d2 = _fcfs_departures(d1, x2)
    np.testing.assert_allclose(s2["arrival_s"].to_numpy(), s1["finish_s"].to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(s1["finish_s"].to_numpy(), d1, rtol=0, atol=1e-6)
    np.testing.assert_allclose(s2["finish_s"].to_numpy(), d2, rtol=0, atol=1e-6)
    pipes = res.tables["pipelines"].set_index("pipeline_id").sort_index()
    np.testing.assert_allclose(pipes["e2e_s"].to_numpy(), d2 - a, rtol=0, atol=1e-6)

    lam_r = len(a) / (n / lam)
    mu1, mu2 = 1 / x1.mean(), 1 / x2.mean()
    r1, r2 = lam_r / mu1, lam_r / mu2
    t1, t2 = s1["e2e_s"].to_numpy(), s2["e2e_s"].to_numpy()
    for got, th in [(pipes["e2e_s"].to_numpy(), 1 / (mu1 - lam_r) + 1 / (mu2 - lam_r)),
                    (t1, 1 / (mu1 - lam_r)), (t2, 1 / (mu2 - lam_r))]:
        m, se = batch_means(got)
        assert abs(m - th) < 4 * se + 0.01 * th, (m, th, se)
    cov, cov_se = batch_means((t1 - t1.mean()) * (t2 - t2.mean()))
    assert abs(cov) < 4 * cov_se, (cov, cov_se)
    n1 = _present(a, a, d1) - 1  # the arrival itself is in [a, d1): not counted
    n2 = _present(a, d1, d2)
    p00, se = batch_means(((n1 == 0) & (n2 == 0)).astype(float))
    assert abs(p00 - (1 - r1) * (1 - r2)) < 4 * se + 0.005, (p00, (1 - r1) * (1 - r2), se)
    m2, se = batch_means(n2.astype(float))
    assert abs(m2 - r2 / (1 - r2)) < 4 * se + 0.01 * r2 / (1 - r2), (m2, r2 / (1 - r2), se)


def test_deterministic_tandem_equals_its_replay_on_both_engines(tmp_path):
    """Deterministic stages (1 s then 0.8 s: the second never queues, a D/D/1 departure
    process of stage one feeds it) and geometric ones on the step engine (20 tokens of 50
    ms, 16 tokens of 50 ms): the stage requests equal the two-server FCFS replay fed the
    run's arrivals and service times, request by request (1e-6 s), and with fixed stages
    stage two's wait is exactly 0 (a departure gap of stage one is at least 1 s > 0.8 s)."""
    for engine, out1, out2, d in [("fluid", "{kind: fixed, mean: 1000}", "{kind: fixed, mean: 800}", D),
                                  ("step", "{kind: geometric, mean: 20, max: 100000}",
                                   "{kind: geometric, mean: 16, max: 100000}", 0.05)]:
        _, s1, s2 = _tandem(tmp_path, 0.7, 2_000, 9, out1, out2, engine, d)
        a = s1["arrival_s"].to_numpy()
        d1 = _fcfs_departures(a, s1["output_tokens"].to_numpy() * d)
        d2 = _fcfs_departures(d1, s2["output_tokens"].to_numpy() * d)
        np.testing.assert_allclose(s1["finish_s"].to_numpy(), d1, rtol=0, atol=1e-6)
        np.testing.assert_allclose(s2["finish_s"].to_numpy(), d2, rtol=0, atol=1e-6)
        if engine == "fluid":
            np.testing.assert_allclose(s2["admit_s"], s2["arrival_s"], rtol=0, atol=1e-9)


# ------------------------------------------------------------------- 2. failures
MTBF, MTTR = 200.0, 30.0  # s: accelerated, mtbf_gpu_hours = 200 / 3600 on one-GPU replicas


def _failing(tmp_path, replicas, lam, n, seed, mtbf=MTBF, mttr=MTTR, output=GEO, extra=()):
    """About ``n`` Poisson arrivals at ``lam`` to ``replicas`` single-sequence reserved
    replicas that fail at random (up ~Exp(mtbf), down ~Exp(mttr) + a reload of the weights
    from host memory at 1e9 GB/s, no container start, a 1 s engine init: R = 1 s). Returns the run, its
    requests by arrival and the down intervals per replica."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={replicas}",
        "dedicated.failures.mode=random", f"dedicated.failures.mtbf_gpu_hours={mtbf / 3600!r}",
        f"dedicated.failures.mttr_s={mttr}", "dedicated.failures.reload_tier=host_dram",
        "cold_start.container_start_s=0", "cold_start.engine_init_s=1.0",
        "cold_start.tiers.host_dram.optimized_gbps=1e9", "cold_start.tiers.host_dram.stock_gbps=1e9",
        f"tenants.chat.output={output}", f"tenants.chat.arrival.rate_rps={lam!r}",
        f"horizon_s={n / lam!r}", f"seed={seed}", "output.plots=false", "output.report=false",
        *extra])
    r = res.requests.sort_values("arrival_s", kind="stable")
    down = res.tables["dedicated_downtime"]
    ivs = [down[down["replica"] == i][["down_s", "up_s"]].to_numpy() for i in range(replicas)]
    return res, r, ivs


RELOAD = 1.0  # the engine init; the weights load from host memory at 1e9 GB/s (1e-8 s)


def test_replica_availability_is_mtbf_over_mtbf_plus_mttr(tmp_path):
    """Three reserved replicas, each an alternating renewal process: up ~Exp(MTBF = 200 s),
    then down for Exp(MTTR = 30 s) + the reload R. Its long-run availability is E[up] /
    (E[up] + E[down]) = MTBF / (MTBF + MTTR + R) (renewal-reward; Barlow and Proschan,
    Mathematical Theory of Reliability, 1965, ch. 7), 0.8658 here; the replicas fail on
    their own streams, so all three are up a fraction A^3 of the time and at least one
    1 - (1 - A)^3. Over 200,000 s (about 870 cycles a replica), each replica's up fraction
    from the downtime table against A, within 4 SE of the ratio estimator over its complete
    cycles (the delta method: sd(U - A (U + D)) / (sqrt(n) E[U + D])); the table's
    analytic column against the formula (1e-9), its capacity figure against the replicas'
    mean, and all-up and any-up against A^3 and 1 - (1 - A)^3 within 4 SE of 40 time
    windows; the mean up and repair times against MTBF and MTTR (4 SE of the exponential:
    mean / sqrt(n))."""
    lam, n, c = 0.05, 10_000, 3
    res, r, ivs = _failing(tmp_path, c, lam, n, 3)
    period = float(res.tables["dedicated_availability"]["period_s"].iloc[0])
    rl = RELOAD
    avail = MTBF / (MTBF + MTTR + rl)
    row = res.tables["dedicated_availability"].iloc[0]
    assert abs(row["analytic_capacity_availability"] - avail) < 1e-9
    for iv in ivs:
        assert (iv[:, 1] - iv[:, 0]).min() > RELOAD - 1e-9
    measured = []
    for iv in ivs:
        assert len(iv) > 700
        starts = np.r_[0.0, iv[:-1, 1]]  # each cycle: up from the last recovery, then down
        up, dn = iv[:, 0] - starts, iv[:, 1] - iv[:, 0]
        a_hat = 1 - (np.minimum(iv[:, 1], period) - iv[:, 0]).sum() / period
        measured.append(a_hat)
        se = (up - avail * (up + dn)).std(ddof=1) / math.sqrt(len(up)) / (up + dn).mean()
        assert abs(a_hat - avail) < 4 * se, (a_hat, avail, se)
        assert abs(up.mean() - MTBF) < 4 * MTBF / math.sqrt(len(up)), up.mean()
        assert abs((dn - rl).mean() - MTTR) < 4 * MTTR / math.sqrt(len(dn)), dn.mean()
    assert abs(row["capacity_availability"] - np.mean(measured)) < 1e-9
    assert res.tables["events"]["t_s"].max() <= period  # nothing after the period's end
    edges = np.linspace(0.0, period, 41)
    grid = np.union1d(edges, np.concatenate([iv.ravel() for iv in ivs]).clip(0, period))
    mid = (grid[:-1] + grid[1:]) / 2
    n_up = c - sum(_present(mid, iv[:, 0], iv[:, 1]) for iv in ivs)
    win = np.searchsorted(edges, mid, side="right") - 1
    for got, th, name in [(n_up == c, avail ** c, "all_up"), (n_up > 0, 1 - (1 - avail) ** c, "any_up")]:
        frac = np.bincount(win, got * np.diff(grid), 40) / np.diff(edges)
        se = frac.std(ddof=1) / math.sqrt(40)
        assert abs(row[f"{name}_availability"] - frac.mean()) < 1e-6, name
        assert abs(frac.mean() - th) < 4 * se, (name, frac.mean(), th, se)


def _replay_unreliable(arrivals, services, down, max_attempts):
    """One FCFS server that is down over the intervals ``down`` (sorted): a customer in
    service when it goes down starts again from scratch at the head of the queue when it is
    back (preemptive-repeat-identical), and after ``max_attempts`` interrupted tries leaves
    at the failure. Returns (finish times, NaN for those that left; interrupted tries)."""
    finish = np.full(len(arrivals), np.nan)
    tries = np.zeros(len(arrivals), int)
    free, j = 0.0, 0
    for k, (a, s) in enumerate(zip(arrivals, services)):
        t = max(a, free)
        while True:
            while j < len(down) and down[j][1] <= t:
                j += 1
            if j < len(down) and down[j][0] <= t:  # down now: wait for the repair
                t = down[j][1]
                continue
            fail = down[j][0] if j < len(down) else math.inf
            if t + s <= fail:
                finish[k] = free = t + s
                break
            tries[k] += 1
            if tries[k] >= max_attempts:
                free = fail
                break
            t = down[j][1]
    return finish, tries


def test_one_failing_replica_request_by_request_and_pasta(tmp_path):
    """One single-sequence replica failing at random (MTBF 20 s, MTTR 5 s, so A = 0.769
    with the reload). README ("Failures"): in-flight requests go back to the head of the
    queue, are served again from the start, and fail with reason ``replica_failure`` after
    ``max_attempts`` tries. Request by request the run equals a replay of one FCFS server
    down over the downtime table's intervals with preemptive-repeat service (finish times
    to 1e-6 s, interrupted tries and outcomes exactly; ``max_attempts=2``, so some requests
    fail). Under light load (lambda 0.05/s, 10,000 requests, MTBF 200 s): Poisson arrivals
    see time averages (Wolff 1982), so the share that arrive while the replica is down is
    1 - A, within 4 SE of 40 batch means."""
    res, r, (iv,) = _failing(tmp_path, 1, 0.4, 4_000, 7, mtbf=20.0, mttr=5.0,
                             extra=["dedicated.failures.max_attempts=2"])
    a = r["arrival_s"].to_numpy()
    fin, tries = _replay_unreliable(a, r["output_tokens"].to_numpy() * D, iv, 2)
    assert (tries >= 1).sum() > 100 and (tries == 2).sum() > 3
    np.testing.assert_array_equal(r["attempts"].to_numpy(), tries)
    left = np.isnan(fin)
    assert ((r["outcome"] == "failed").to_numpy() == left).all()
    assert (r["reason"][left] == "replica_failure").all()
    np.testing.assert_allclose(r["finish_s"].to_numpy()[~left], fin[~left], rtol=0, atol=1e-6)

    res, r, (iv,) = _failing(tmp_path, 1, 0.05, 10_000, 8)
    avail = MTBF / (MTBF + MTTR + RELOAD)
    a = r["arrival_s"].to_numpy()
    during = _present(a, iv[:, 0], iv[:, 1]) > 0
    p, se = batch_means(during.astype(float))
    assert abs(p - (1 - avail)) < 4 * se, (p, 1 - avail, se)


def test_failure_in_service_by_hand(tmp_path):
    """A tiny exact scenario: one replica, fixed 4 s services (4,000 tokens at 1 ms), a
    Poisson 0.01/s (seed 2: five requests, the fourth and fifth 0.38 s apart). A scripted
    failure 0.2 s into the fourth's service, down 7 s: the fourth starts again at the
    recovery and ends 4 s later (one interrupted try), the fifth, which arrived during the
    repair, is admitted when it ends; the others are untouched. With ``max_attempts=1`` the
    fourth fails at the failure with reason ``replica_failure`` and the fifth is admitted at
    the recovery."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)

    def run(extra):
        res = run_table(tmp_path, table, [
            "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
            "tenants.chat.output={kind: fixed, mean: 4000}", "tenants.chat.arrival.rate_rps=0.01",
            "horizon_s=300", "seed=2", "output.plots=false", "output.report=false", *extra])
        return res.requests.sort_values("arrival_s", kind="stable")

    r0 = run([])
    a = r0["arrival_s"].to_numpy()
    assert len(a) == 5 and a[4] - a[3] < 4.0 and np.diff(a)[:3].min() > 4.0
    at = float(a[3]) + 0.2
    for tries in (3, 1):
        r = run(["dedicated.failures.mode=script", f"dedicated.failures.script=[{{at_s: {at!r}, down_s: 7}}]",
                 f"dedicated.failures.max_attempts={tries}"])
        np.testing.assert_array_equal(r["arrival_s"].to_numpy(), a)
        fin = r["finish_s"].to_numpy()
        np.testing.assert_allclose(fin[:3], a[:3] + 4.0, rtol=0, atol=1e-9)
        if tries == 3:
            assert list(r["attempts"]) == [0, 0, 0, 1, 0]
            assert r["admit_s"].iloc[3] == np.float64(at + 7.0)
            np.testing.assert_allclose(fin[3:], [at + 11.0, at + 15.0], rtol=0, atol=1e-9)
            assert r["e2e_s"].iloc[3] == np.float64(at + 11.0 - a[3])
        else:
            assert r["outcome"].iloc[3] == "failed" and r["reason"].iloc[3] == "replica_failure"
            assert r["admit_s"].iloc[4] == np.float64(at + 7.0)
            np.testing.assert_allclose(fin[4], at + 11.0, rtol=0, atol=1e-9)


# ------------------------------------------------------------------- 3. burst capacity
BURST = dict(threshold=2.0, window=30.0, check=1.0, up_every=5.0, idle=20.0, fill=0.75, most=2)


def _burst_policy(arrivals, services, load, t_end, threshold, window, check, up_every, idle, fill, most):
    """An independent event simulation of burst capacity as README ("Burst") documents it,
    for one reserved single-sequence replica and up to ``most`` burst ones behind one
    central queue. Every ``check`` s the wait is queued / (completions in the last
    ``window`` s over min(window, t)) (0 with an empty queue, infinite with no completion);
    above ``threshold`` one replica is provisioned per ``up_every`` s, serving ``load`` s
    later; the largest completions per serving replica seen at a finite wait above the
    threshold is a replica's capacity; once the wait stayed at or below the threshold for
    ``idle`` s and the recent rate fits in the other serving replicas at ``fill`` of that
    capacity, one burst replica drains (the idle before the busy, then the newest),
    finishing what it runs. An arrival takes the first idle replica in the order they came
    up. The controller runs until ``t_end`` (the billing period: README, the setup plays out
    the quiet tail after the last request). Returns (waits, burst-served flags, [provision, warm, drain, stop] per replica)."""
    n = len(arrivals)
    wait, on_burst = np.full(n, np.nan), np.zeros(n, bool)
    reps = [{"burst": False, "busy_until": None, "drain": False, "life": None}]
    queue, done, lives = deque(), deque(), []
    last_up, quiet, cap = -math.inf, None, 0.0

    def start(rep, i, t):
        wait[i], on_burst[i] = t - arrivals[i], rep["burst"]
        rep["busy_until"] = t + services[i]

    def stop(rep, t):
        rep["life"][3] = t
        reps.remove(rep)

    i, t_check, pending = 0, check, []  # pending: (warm time, life)
    while t_check < t_end or i < n or queue or any(r["busy_until"] is not None for r in reps):
        t_done = min((r["busy_until"] for r in reps if r["busy_until"] is not None), default=math.inf)
        t_arr = arrivals[i] if i < n else math.inf
        t_warm = pending[0][0] if pending else math.inf
        t = min(t_done, t_arr, t_warm, t_check if t_check < t_end else math.inf)
        if not math.isfinite(t):  # the period is over (a provision's warm-up may be left)
            break
        if t == t_done:
            rep = next(r for r in reps if r["busy_until"] == t)
            rep["busy_until"] = None
            done.append(t)
            if rep["drain"]:
                stop(rep, t)
            elif queue:
                start(rep, queue.popleft(), t)
        elif t == t_arr:
            free = [r for r in reps if r["busy_until"] is None and not r["drain"]]
            if free:
                start(free[0], i, t)
            else:
                queue.append(i)
            i += 1
        elif t == t_warm:
            _, life = pending.pop(0)
            life[1] = t
            rep = {"burst": True, "busy_until": None, "drain": False, "life": life}
            reps.append(rep)
            if queue:
                start(rep, queue.popleft(), t)
        else:
            t_check += check
            while done and done[0] <= t - window:
                done.popleft()
            rate = len(done) / min(window, t)
            est = 0.0 if not queue else (len(queue) / rate if rate > 0 else math.inf)
            serving = [r for r in reps if not r["drain"]]
            if est > threshold and math.isfinite(est):
                cap = max(cap, rate / len(serving))
            if est > threshold and t - last_up >= up_every and len(pending) + len(reps) - 1 < most:
                last_up = t
                lives.append([t, math.nan, math.nan, math.nan])
                pending.append((t + load, lives[-1]))
            if est > threshold:
                quiet = None
                continue
            quiet = t if quiet is None else quiet
            burst = [r for r in serving if r["burst"]]
            if t - quiet < idle or not burst or rate > fill * cap * (len(serving) - 1):
                continue
            quiet = t
            rep = min(burst, key=lambda r: (r["busy_until"] is not None, -r["life"][1]))
            rep["drain"], rep["life"][2] = True, t
            if rep["busy_until"] is None:
                stop(rep, t)
    return wait, on_burst, np.array(lives).reshape(-1, 4)


def _burst_run(tmp_path, lam, n, seed, load, output=GEO, d=D, burst=BURST):
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        "dedicated.burst.enabled=true", f"dedicated.burst.max_replicas={burst['most']}",
        f"dedicated.burst.wait_threshold_s={burst['threshold']}",
        f"dedicated.burst.rate_window_s={burst['window']}",
        f"dedicated.burst.check_interval_s={burst['check']}",
        f"dedicated.burst.scale_up_interval_s={burst['up_every']}",
        f"dedicated.burst.idle_window_s={burst['idle']}", f"dedicated.burst.drain_fill={burst['fill']}",
        "dedicated.burst.need_node=false", "dedicated.burst.image_cached=true",
        "dedicated.burst.storage_tier=host_dram", "cold_start.container_start_s=0",
        f"cold_start.engine_init_s={load}", "cold_start.tiers.host_dram.optimized_gbps=1e9",
        "cold_start.tiers.host_dram.stock_gbps=1e9",
        f"tenants.chat.output={output}", f"tenants.chat.arrival.rate_rps={lam!r}",
        f"horizon_s={n / lam!r}", f"seed={seed}", "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    b = res.tables["dedicated_burst_replicas"].sort_values("provision_s", kind="stable")
    t_end = max(n / lam, float(r["finish_s"].max()))
    return r, b[["provision_s", "warm_s", "drain_s", "stop_s"]].to_numpy(), t_end


def test_burst_tiny_scenario_by_hand(tmp_path):
    """Fixed 10 s services (1,000 tokens at 10 ms), a Poisson 2/s for 3 s (seed 1: 6
    requests), loads of L = 10 s (engine init; weights from host memory at 1e9 GB/s). No
    request completes before 10 s, so at the first check (t = 1 s) the wait estimate is
    infinite: a burst replica is provisioned at 1 s and serves from 11 s, the next at 6 s
    (one per 5 s), serving from 16 s, and the cap of 2 stops a third. The requests then
    run as three FCFS servers free from 0, 11 and 16 s (hand: a central queue over those
    times); the run ends with its last request, before a quiet window, so neither drains
    (as the policy's simulation fed the same arrivals and services says)."""
    load = 10.0
    r, lives, t_end = _burst_run(tmp_path, 2.0, 6, 1, load, output="{kind: fixed, mean: 1000}", d=0.01)
    a = r["arrival_s"].to_numpy()
    s = r["output_tokens"].to_numpy() * 0.01
    assert len(a) >= 4 and a[0] < 1.0 and a[1] < 1.0
    np.testing.assert_allclose(lives[:, :2], [[1.0, 1.0 + load], [6.0, 6.0 + load]], rtol=0, atol=1e-6)
    free, start = [0.0, 1.0 + load, 6.0 + load], np.empty(len(a))
    for k in range(len(a)):
        j = int(np.argmin([max(f, a[k]) for f in free]))
        start[k] = max(free[j], a[k])
        free[j] = start[k] + s[k]
    np.testing.assert_allclose(r["admit_s"].to_numpy(), start, rtol=0, atol=1e-6)
    wait, on_burst, sim_lives = _burst_policy(a, s, load + 1e-8, t_end, **BURST)
    np.testing.assert_allclose(wait, start - a, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(on_burst, (r["tier"] == "burst").to_numpy())
    np.testing.assert_allclose(lives, sim_lives, rtol=0, atol=1e-6, equal_nan=True)


def _replications(runs) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over independent replications (rows: replications)."""
    x = np.asarray(runs, float)
    return x.mean(axis=0), x.std(axis=0, ddof=1) / math.sqrt(len(x))


def _burst_metrics(arrivals, waits, on_burst, lives, t_end):
    """Mean wait, share of requests served on burst replicas, burst replica-seconds per
    second of the period (provision to stop, or to the period's end)."""
    stop = np.where(np.isnan(lives[:, 3]), t_end, lives[:, 3])
    return [waits.mean(), on_burst.mean(), (stop - lives[:, 0]).sum() / t_end]


def test_burst_pool_against_an_independent_simulation(tmp_path):
    """One reserved single-sequence replica at rho = 0.75 (service ~Exp(1 s)) with up to two
    burst replicas (threshold 2 s, window 30 s, a check a second, one scale-up per 5 s,
    drain after 20 s quiet at 75 % fill, loads of 10 s). No formula covers the policy, so
    the run is compared with the documented policy's independent simulation
    (``_burst_policy``) on its own Poisson and exponential draws: mean wait, share of
    requests served by burst replicas and burst replica-seconds per second, over 5
    replications of 15,000 requests each side, within 4 SE combined from both sides'
    spread. (Replications, not batch means: the capacity the drain rule compares with is
    the largest rate seen so far, so a run's state drifts, and 40 batch means of one run
    underestimate the spread across seeds by half.) Fed the run's own arrivals and services,
    the simulation is the run: every wait (1e-6 s) and burst flag, and every replica's
    provision, warm, drain and stop time, all within the period (until December 2026 the
    run's loop went on past the last request to its step's end, and the drains and stops
    there were listed: 2 of 1,007 replicas on seed 4's 30,000 requests)."""
    lam, n, load = 0.75, 15_000, 10.0
    ours, theirs = [], []
    for k in range(5):
        r, lives, t_end = _burst_run(tmp_path, lam, n, 4 + k, load)
        a = r["arrival_s"].to_numpy()
        s = r["output_tokens"].to_numpy() * D
        wait = (r["admit_s"] - r["arrival_s"]).to_numpy()
        on_burst = (r["tier"] == "burst").to_numpy()
        if k == 0:
            w2, b2, l2 = _burst_policy(a, s, load + 1e-8, t_end, **BURST)
            np.testing.assert_allclose(wait, w2, rtol=0, atol=1e-6)
            np.testing.assert_array_equal(on_burst, b2)
            np.testing.assert_allclose(lives, l2, rtol=0, atol=1e-6, equal_nan=True)
            assert len(lives) > 100 and np.isfinite(lives[:-2, 3]).all()  # many cycles, drained
            assert np.nanmax(lives) <= t_end
        ours.append(_burst_metrics(a, wait, on_burst, lives, t_end))
        rng = np.random.default_rng(2026 + k)
        own_a = np.cumsum(rng.exponential(1 / lam, n + 500))
        own_a = own_a[own_a < n / lam]
        own_s = rng.exponential(1.0, own_a.size)
        w3, b3, l3 = _burst_policy(own_a, own_s, load, n / lam, **BURST)
        theirs.append(_burst_metrics(own_a, w3, b3, l3, n / lam))
    (m1, se1), (m2, se2) = _replications(ours), _replications(theirs)
    assert (abs(m1 - m2) < 4 * np.hypot(se1, se2)).all(), (m1, m2, se1, se2)


# ------------------------------------------------------------------- 3. spot reclaims
def _spot_policy(arrivals, services, ups, notice, cold, t_end, max_attempts=3):
    """An independent event simulation of one reserved and one spot single-sequence replica
    behind one central queue, as README ("Spot replicas") documents them: the spot replica
    serves from t=0; ``ups`` gives its successive up times, each counted from when it
    serves; at the end of one (the notice) it admits nothing, ``notice`` s later it is
    reclaimed, the request it still holds going back to the head of the queue (failing
    after ``max_attempts`` tries), and a replacement requested then serves ``cold`` s later.
    A request takes the first idle replica, the reserved one first. Returns (waits to the
    last admission, NaN for failed; served on spot; interrupted tries; notice times)."""
    n = len(arrivals)
    wait, on_spot, tries = np.full(n, np.nan), np.zeros(n, bool), np.zeros(n, int)
    busy = {"res": None, "spot": None}  # (request, finish time) or None
    queue, ups, notices = deque(), iter(ups), []
    spot_up, t_notice, t_reclaim, t_warm = True, next(ups), math.inf, math.inf

    def start(rep, i, t):
        wait[i], on_spot[i] = t - arrivals[i], rep == "spot"
        busy[rep] = (i, t + services[i])

    i = 0
    while True:
        t_fin = {k: v[1] for k, v in busy.items() if v is not None}
        t_next = min([arrivals[i] if i < n else math.inf, *t_fin.values()])
        t = min(t_next, t_notice, t_reclaim, t_warm)
        if t >= t_end and t_next == math.inf or not math.isfinite(t):
            break
        if t == t_notice:
            notices.append(t)
            spot_up, t_notice, t_reclaim = False, math.inf, t + notice
        elif t == t_reclaim:
            t_reclaim, t_warm = math.inf, t + cold
            if busy["spot"] is not None:
                k = busy["spot"][0]
                busy["spot"] = None
                tries[k] += 1
                on_spot[k] = False
                if tries[k] < max_attempts:
                    queue.appendleft(k)
                else:
                    wait[k] = np.nan
        elif t == t_warm:
            spot_up, t_warm, t_notice = True, math.inf, t + next(ups)
        elif i < n and t == arrivals[i]:
            queue.append(i)
            i += 1
        else:
            rep = next(k for k, v in t_fin.items() if v == t)
            busy[rep] = None
        for rep in ("res", "spot"):
            if queue and busy[rep] is None and (rep == "res" or spot_up):
                start(rep, queue.popleft(), t)
    return wait, on_spot, tries, np.array(notices)


SPOT = dict(notice=0.5, cold=10.0)


def _spot_run(tmp_path, lam, n, seed, per_hour=36.0):
    """One reserved and one spot replica (reclaims at ``per_hour`` a GPU-hour, notice 0.5 s,
    replacements serving 10 s after the reclaim: host-memory weights at 1e9 GB/s, no node,
    no container start, a 10 s engine init)."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=2",
        "dedicated.spot.replicas.llama31-8b=1", f"dedicated.spot.preemption.per_gpu_hour={per_hour}",
        f"dedicated.spot.preemption.notice_s={SPOT['notice']}", "dedicated.spot.need_node=false",
        "dedicated.spot.image_cached=true", "dedicated.spot.storage_tier=host_dram",
        "cold_start.container_start_s=0", f"cold_start.engine_init_s={SPOT['cold']}",
        "cold_start.tiers.host_dram.optimized_gbps=1e9", "cold_start.tiers.host_dram.stock_gbps=1e9",
        f"tenants.chat.output={GEO}", f"tenants.chat.arrival.rate_rps={lam!r}",
        f"horizon_s={n / lam!r}", f"seed={seed}", "output.plots=false", "output.report=false"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    spot = res.tables["dedicated_spot"].sort_values("instance")
    t_end = max(n / lam, float(r["finish_s"].max()))
    return r, spot, t_end


def test_spot_pool_against_an_independent_simulation(tmp_path):
    """One reserved and one spot replica at lambda 1.2/s, service ~Exp(1 s), reclaims at 36
    a GPU-hour (up ~Exp(100 s) from serving), a 0.5 s notice, replacements serving 10 s after
    the reclaim. Fed the run's arrivals, services and up times (each instance's notice
    minus its warm time, from the spot table), the documented policy's simulation is the
    run: every wait (1e-6 s), spot flag and interrupted try. On its own draws (5
    replications of 12,000 requests a side) it gives the same mean wait, share served on
    spot and interrupted tries per request, within 4 SE combined from both sides' spread;
    and the spot replica serves a fraction MTBF / (MTBF + notice + cold) = 0.905 of the
    time (alternating renewal), against the run's notices per second x MTBF within 4 SE
    of the replications."""
    lam, n = 1.2, 12_000
    ours, theirs = [], []
    up = 3600 / 36.0
    for k in range(5):
        r, spot, t_end = _spot_run(tmp_path, lam, n, 11 + k)
        a = r["arrival_s"].to_numpy()
        s = r["output_tokens"].to_numpy() * D
        done = (r["outcome"] == "completed").to_numpy()
        wait = np.where(done, (r["admit_s"] - r["arrival_s"]).to_numpy(), np.nan)
        on_spot = (r["tier"] == "spot").to_numpy()
        tries = r["attempts"].to_numpy()
        if k == 0:
            ups = (spot["notice_s"] - spot["warm_s"]).to_numpy()
            w2, b2, t2, n2 = _spot_policy(a, s, [*ups[~np.isnan(ups)], math.inf], **SPOT, t_end=t_end)
            np.testing.assert_allclose(wait, w2, rtol=0, atol=1e-6)
            np.testing.assert_array_equal(on_spot, b2)
            np.testing.assert_array_equal(tries, t2)
            assert tries.sum() > 10 and len(n2) > 50
            np.testing.assert_allclose(spot["notice_s"].dropna().to_numpy(), n2, rtol=0, atol=1e-6)
        notices = int(spot["notice_s"].notna().sum())
        ours.append([np.nanmean(wait), on_spot.mean(), tries.mean(), notices * up / t_end])
        rng = np.random.default_rng(7000 + k)
        own_a = np.cumsum(rng.exponential(1 / lam, n + 500))
        own_a = own_a[own_a < n / lam]
        own_s = rng.exponential(1.0, own_a.size)
        w3, b3, t3, n3 = _spot_policy(own_a, own_s, rng.exponential(up, 10_000), **SPOT, t_end=n / lam)
        theirs.append([np.nanmean(w3), b3.mean(), t3.mean(), len(n3) * up / (n / lam)])
    (m1, se1), (m2, se2) = _replications(ours), _replications(theirs)
    assert (abs(m1 - m2)[:3] < 4 * np.hypot(se1, se2)[:3]).all(), (m1, m2, se1, se2)
    serving = up / (up + SPOT["notice"] + SPOT["cold"])
    assert abs(m1[3] - serving) < 4 * se1[3], (m1[3], serving, se1[3])


def test_spot_reclaim_by_hand(tmp_path):
    """The five requests of ``test_failure_in_service_by_hand`` (fixed 4 s services; the
    fourth and fifth 0.38 s apart) on one reserved and one spot replica, a reclaim listed
    (its notice) 0.9 s after the fourth arrives, notice 0.5 s, replacements serving 10 s
    after the reclaim. The fourth takes the reserved replica (the first), the fifth the
    spot one; at the reclaim the fifth goes back to the queue (one interrupted try) and
    starts again when the reserved replica is free, 4 s after the fourth's arrival; the
    replacement's row starts at the reclaim and serves 10 s later."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: D)
    common = ["deployments.llama31-8b.max_num_seqs=1", "tenants.chat.output={kind: fixed, mean: 4000}",
              "tenants.chat.arrival.rate_rps=0.01", "horizon_s=300", "seed=2", "output.plots=false",
              "output.report=false"]
    a = run_table(tmp_path, table, common).requests.sort_values("arrival_s")["arrival_s"].to_numpy()
    notice = float(a[3]) + 0.9
    trace = tmp_path / "reclaims.csv"
    trace.write_text(f"time_s,model,replica\n{notice!r},llama31-8b,0\n")
    res = run_table(tmp_path, table, [
        *common, "dedicated.replicas.llama31-8b=2", "dedicated.spot.replicas.llama31-8b=1",
        "dedicated.spot.preemption.mode=trace", f"dedicated.spot.preemption.trace={trace}",
        "dedicated.spot.preemption.notice_s=0.5", "dedicated.spot.need_node=false",
        "dedicated.spot.image_cached=true", "dedicated.spot.storage_tier=host_dram",
        "cold_start.container_start_s=0", "cold_start.engine_init_s=10",
        "cold_start.tiers.host_dram.optimized_gbps=1e9", "cold_start.tiers.host_dram.stock_gbps=1e9"])
    r = res.requests.sort_values("arrival_s", kind="stable")
    assert (r["outcome"] == "completed").all()
    assert list(r["attempts"]) == [0, 0, 0, 0, 1]
    assert list(r["tier"].astype(str)) == ["dedicated"] * 5
    admit = [*a[:4], a[3] + 4.0]
    np.testing.assert_allclose(r["admit_s"].to_numpy(), admit, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r["finish_s"].to_numpy(), np.array(admit) + 4.0, rtol=0, atol=1e-9)
    spot = res.tables["dedicated_spot"].sort_values("instance")
    np.testing.assert_allclose(spot[["start_s", "warm_s", "notice_s", "reclaim_s"]].to_numpy(),
                               [[0.0, 0.0, notice, notice + 0.5],
                                [notice + 0.5, notice + 10.5, np.nan, np.nan]], rtol=0, atol=1e-6)
    assert list(spot["interrupted"]) == [1, 0] and list(spot["requests"]) == [0, 0]
