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
