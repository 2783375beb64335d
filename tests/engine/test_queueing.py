"""Queueing theory: configurations of the engine that reduce to textbook queues.

Both use the ``table`` performance model so the iteration time is exactly what the
reduction needs, and run through the whole app (workload, dedicated setup, summary).
Tolerances come from the run itself: batch means over 40 consecutive batches of requests
give a standard error of the simulated mean that accounts for autocorrelation; the theory
must lie within 4 standard errors (plus the stated model error of the reduction).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.queueing import batch_means, erlang_c, run_table, write_table

import sim


def test_mmc_matches_erlang_c(tmp_path):
    """c = 4 replicas each holding one sequence (max_num_seqs = 1), constant 10 ms
    iterations, geometric output lengths with mean 100: service time = 10 ms x Geometric,
    whose CV^2 = 1 - 1/100 (within 0.5 % of exponential in the M/G/c mean wait)."""
    d, mean_out, c, rho = 0.01, 100, 4, 0.8
    mu = 1.0 / (d * mean_out)
    lam = rho * c * mu
    table = write_table(tmp_path / "const.csv", lambda n, p: d)
    n_req = 120_000
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        "dedicated.router=central",
        f"tenants.chat.output={{kind: geometric, mean: {mean_out}, max: 100000}}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={n_req / lam}", "seed=3"])
    r = res.requests
    assert (r["outcome"] == "completed").all()
    wait = (r["first_token_s"] - r["arrival_s"] - d).to_numpy()  # first token = start + 1 step
    wait = np.maximum(wait, 0.0)
    p_wait = (wait > 1e-9).astype(float)
    pw, pw_se = batch_means(p_wait)
    ew, ew_se = batch_means(wait)
    a = lam / mu
    pw_theory = erlang_c(c, a)
    ew_theory = pw_theory / (c * mu - lam)
    assert abs(pw - pw_theory) < 4 * pw_se + 0.005, (pw, pw_theory, pw_se)
    assert abs(ew - ew_theory) < 4 * ew_se + 0.01 * ew_theory, (ew, ew_theory, ew_se)


def test_mg1_processor_sharing_mean_sojourn(tmp_path):
    """One replica whose iteration time is 1 ms per token in the batch shares a rate of
    1,000 tokens/s equally among its sequences: M/G/1 processor sharing. One-token prompts,
    lognormal outputs (CV 1.5, so the service law is far from exponential); the mean
    sojourn must be E[S] / (1 - rho) for any service distribution."""
    d, rho = 0.001, 0.7
    table = write_table(tmp_path / "ps.csv", lambda n, p: d * (n + p))
    out_mean = 200
    n_req = 60_000
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=100000",
        "deployments.llama31-8b.max_batched_tokens=100000",
        "dedicated.replicas.llama31-8b=1",
        f"tenants.chat.output={{kind: lognormal, mean: {out_mean}, cv: 1.5, max: 1000000}}",
        f"tenants.chat.arrival.rate_rps={rho / (out_mean * d)}",
        f"horizon_s={n_req * out_mean * d / rho}", "seed=5"])
    r = res.requests
    assert (r["outcome"] == "completed").all()
    s = r["output_tokens"].to_numpy() * d  # service requirement in seconds
    lam = len(r) / (n_req * out_mean * d / rho)
    rho_real = lam * s.mean()
    t, t_se = batch_means(r["e2e_s"].to_numpy())
    theory = s.mean() / (1 - rho_real)
    # model error: arrivals join at the next iteration boundary (about half an iteration)
    assert abs(t - theory) < 4 * t_se + 0.01 * theory, (t, theory, t_se)


def test_table_perf_interpolates_and_validates(tmp_path):
    from sim.perf import TablePerf

    table = write_table(tmp_path / "t.csv", lambda n, p: 0.01 + 0.001 * n + 1e-5 * p)
    perf = TablePerf(table, kv_capacity_tokens=1000)
    assert perf.step_time(2, 100, 0, 0) == pytest.approx(0.01 + 0.002 + 0.001)
    bad = tmp_path / "bad.csv"
    bad.write_text("decode_seqs,prefill_tokens,step_time_s\n0,0,0.1\n1,x,0.2\n")
    with pytest.raises(sim.InputError, match=r"bad.csv:3"):
        TablePerf(bad, 10)
