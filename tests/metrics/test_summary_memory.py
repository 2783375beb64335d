"""The summary derives each request figure only for the requests a row selects, one figure
at a time (sim/metrics/rows.py ``RequestColumns``): its rows equal the statistics of the
per-request frame (built by separate code), and its memory peak stays below what the five
full-length derived columns it used to hold would take alone (TTFT, TPOT, E2E as float64,
input and output tokens as int64: 40 bytes a request)."""

import tracemalloc

import numpy as np
import pytest

from sim.config import compose
from sim.metrics.cost import attribute_cost
from sim.metrics.requests import requests_frame
from sim.metrics.summary import summarize
from sim.records import COMPLETED
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate_setups

RUN = ["setups=[dedicated]", "horizon_s=600", "tenants.chat.arrival.rate_rps=60",
       "output.plots=false", "output.report=false"]


@pytest.fixture(scope="module")
def one_run():
    cfg = compose(RUN)
    workload, runs, catalog = simulate_setups(cfg)
    run = runs[0]
    prices = model_prices(catalog, workload.served_models)
    return workload, run, prices, attribute_cost(workload, run, prices)


def test_rows_equal_the_per_request_frame(one_run):
    workload, run, prices, costs = one_run
    s = summarize(workload, run, prices, costs).set_index("tenant")
    df = requests_frame(workload, run)
    for tenant in workload.tenants:
        mine = df[df.tenant == tenant]
        done = mine[mine.outcome == "completed"]
        row = s.loc[tenant]
        assert row["requests"] == len(mine) and row["completed"] == len(done)
        for col, q in (("ttft_s", 50), ("ttft_s", 99), ("tpot_s", 50), ("e2e_s", 99)):
            x = done[col].to_numpy()
            x = x[~np.isnan(x)]
            assert row[f"{col[:-2]}_p{q}_s"] == float(np.percentile(x, q))
        assert row["ttft_mean_s"] == float(done["ttft_s"].to_numpy().mean())
        assert row["output_tokens"] == int(done.output_tokens.sum())
        assert row["input_tokens"] == int(done.input_tokens.sum())
        slo = workload.slo_ttft_s[tenant]
        assert row["slo_attainment"] == (done.ttft_s <= slo).sum() / len(mine)


def test_peak_memory_below_full_length_derived_columns(one_run):
    workload, run, prices, costs = one_run
    n = len(workload)
    assert n > 20_000  # enough requests for per-request bytes to dominate fixed costs
    assert np.count_nonzero(run.log.outcome == COMPLETED) > 0.9 * n
    summarize(workload, run, prices, costs)  # first call: imports and caches
    tracemalloc.start()
    try:
        summarize(workload, run, prices, costs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * n, f"{peak / n:.1f} bytes a request"
