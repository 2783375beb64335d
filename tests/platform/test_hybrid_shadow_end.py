"""Hybrid shadow copies still waiting for the pool's first load at the run's end count as
cold starts, as real requests in that state do (README "Cold starts")."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.queueing import write_table

import sim

M8 = "llama31-8b"
ARRIVALS = [0.0, 0.1, 0.2, 0.7, 0.75, 1.5, 2.5]


def _run(tmp_path, setup, horizon, *extra):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n"
                     + "".join(f"{t},1,100\n" for t in ARRIVALS))
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)  # every step 10 ms
    return sim.run([
        f"setups=[{setup}]", f"horizon_s={horizon}", "output.plots=false",
        "tenants={chat: {model: " + M8 + ", arrival: {kind: trace, trace: {path: " + str(trace)
        + ", format: csv}}, input: {kind: trace}, output: {kind: trace}, slo_ttft_s: 1}}",
        f"deployments.{M8}.perf.kind=table", f"deployments.{M8}.perf.table_path={table}",
        f"deployments.{M8}.perf.kv_capacity_tokens=1000000", f"deployments.{M8}.max_num_seqs=1",
        f"hybrid.placement.{M8}=dedicated", f"dedicated.replicas.{M8}=1",
        "hybrid.spillover.enabled=false", "hybrid.shadow_fraction=1.0",
        "serverless.billing=gpu_second", *extra])


def test_copies_waiting_for_the_first_load_at_the_end_are_cold(tmp_path):
    # the real requests take 100 steps of 10 ms each, one at a time on the dedicated
    # replica: all end by 7.5 s, before the 10 s horizon, so none is unfinished; every copy
    # waits the pool's first 8B load (~26 s), still running at 10 s
    res = _run(tmp_path, "hybrid", 10)
    req = res.requests
    assert (req.outcome == "completed").all() and len(req) == len(ARRIVALS)
    sh = res.tables["hybrid_shadow"].set_index("tenant").loc["chat"]
    assert sh.shadows == sh.unfinished == len(ARRIVALS)
    assert sh.cold_starts == len(ARRIVALS)  # was 0
    # the same requests sent to the pool itself, real ones stopped at the horizon: each is
    # unfinished, and cold for its wait up to then
    real = _run(tmp_path, "serverless", 10, "drain_s=0").requests
    assert (real.reason == "unfinished_at_end").all()
    assert int((real.cold_start_wait_s > 0).sum()) == sh.cold_starts
    assert np.sort(real.cold_start_wait_s.to_numpy()) == pytest.approx(
        np.sort(10.0 - np.array(ARRIVALS)))


def test_copies_served_after_the_load_are_cold_alike(tmp_path):
    sh = _run(tmp_path, "hybrid", 60).tables["hybrid_shadow"].set_index("tenant").loc["chat"]
    assert sh.completed == sh.cold_starts == len(ARRIVALS)
