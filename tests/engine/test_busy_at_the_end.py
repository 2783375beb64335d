"""The busy time of a replica still serving when the run ends (``horizon_s + drain_s``) counts
up to the end on both engines: the fluid engine's current plan is applied there, as the
step engine counts each iteration when it ends."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers.queueing import run_table, write_table


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_busy_time_runs_to_the_end_when_requests_are_cut(tmp_path, engine):
    """Two single-sequence FCFS replicas overloaded (rho = 1.3) with a 10 s drain: at the end
    the queue still holds requests, so each replica served without a gap from its last
    completion to the end. Its busy time is then the completed requests' service times plus,
    per replica, the whole iterations (d each) between its last completion and the end.
    Until December 2026 the fluid engine left out the plan running at the end (here 2.06 s
    of 783.48: busy 0.99010 instead of the step engine's 0.99271)."""
    d, m, c = 0.01, 100, 2
    lam = 1.3 * c / (m * d)
    horizon = 1000 / lam
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", f"dedicated.replicas.llama31-8b={c}",
        f"tenants.chat.output={{kind: geometric, mean: {m}, max: 100000}}",
        f"tenants.chat.arrival.rate_rps={lam}", f"horizon_s={horizon}", "seed=5",
        "output.plots=false", "output.report=false"] + ["drain_s=10"], engine=engine)
    r = res.requests
    end = horizon + 10
    assert set(r.loc[r.outcome == "failed", "reason"]) == {"unfinished_at_end"}
    assert (r.outcome == "failed").sum() > 10 * c  # the queue is far from empty at the end
    row = res.summary.set_index("tenant").loc["__all__"]
    assert float(row["period_s"]) == pytest.approx(end, rel=1e-12)
    done = r[r.outcome == "completed"]
    tail = sum(math.floor((end - f) / d + 1e-9) * d for f in done.groupby("replica").finish_s.max())
    expected = (done.output_tokens * d).sum() + tail
    busy = float(row["busy_fraction"]) * c * end
    assert busy == pytest.approx(expected, abs=1e-6), (busy, expected)
    assert np.isclose(float(row["busy_fraction"]), expected / (c * end), atol=1e-9)


def test_busy_time_before_a_failure_counts_on_both_engines(tmp_path):
    """A scripted failure at 30.555 s interrupts a 1 s request (100 iterations of 10 ms) after
    eight iterations; it is retried and completes. The replica's busy time is the completed
    services plus those eight iterations, on both engines (until December 2026 the fluid
    engine dropped the interrupted plan: 49.01 s against the step engine's 49.08 s)."""
    d = 0.01
    table = write_table(tmp_path / "const.csv", lambda n_, p_: d)
    busy = {}
    for engine in ("fluid", "step"):
        res = run_table(tmp_path, table, [
            "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
            "tenants.chat.output={kind: fixed, mean: 100}", "tenants.chat.arrival.rate_rps=0.9",
            "horizon_s=60", "seed=5", "dedicated.failures.mode=script",
            "dedicated.failures.script=[{at_s: 30.555, down_s: 5}]",
            "output.plots=false", "output.report=false"], engine=engine)
        r = res.requests
        assert (r.outcome == "completed").all() and r.attempts.sum() == 1
        row = res.summary.set_index("tenant").loc["__all__"]
        busy[engine] = float(row["busy_gpu_hours"]) * 3600.0
        assert busy[engine] == pytest.approx(len(r) * 100 * d + 8 * d, abs=1e-6), engine
