"""``requests.parquet`` is written from the runs' columns a row group at a time
(sim/metrics/requests.py ``RequestRows``): the file is byte for byte the one the whole
per-request frame gives (built by the same rows, but whole, then cut), for one setup, for
several whose categorical columns differ (which the whole frame turns into strings), for a
sample and for pipelines; and the writer's memory peak is a few blocks' worth, well below
what the whole frame's derived columns alone take."""

import tracemalloc

import numpy as np
import pytest

from sim.config import compose
from sim.io import write_parquet, write_parquet_blocks
from sim.metrics.requests import RequestRows, kept_rows
from sim.simulation.simulate import simulate_setups

OUT = ["output.plots=false", "output.report=false"]


def _rows(overrides, sample=None):
    cfg = compose(overrides + OUT)
    workload, runs, _ = simulate_setups(cfg)
    ids = None if sample is None else kept_rows(len(workload), "sample", sample)
    return RequestRows([(workload, r, ids) for r in runs])


CASES = {
    "one setup": (["setups=[serverless]", "horizon_s=300", "tenants.chat.arrival.rate_rps=20"], None),
    "three setups": (["experiment=hybrid", "horizon_s=300"], None),
    "a sample of three": (["experiment=hybrid", "horizon_s=300"], 0.3),
    "pipelines": (["experiment=compound", "job=simulate", "horizon_s=1800",
                   "setups=[serverless,hybrid]"], None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_blocks_write_the_whole_frames_file(case, tmp_path):
    overrides, sample = CASES[case]
    rows = _rows(overrides, sample)
    whole = rows.frame()
    assert len(rows) == len(whole) > 100
    size = len(whole) // 3 + 7  # blocks that cut across runs, and a short last one
    write_parquet(whole, tmp_path / "whole.parquet", row_group=size)
    write_parquet_blocks(rows.empty(), rows.blocks(size), tmp_path / "blocks.parquet")
    assert (tmp_path / "blocks.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert list(rows.empty().dtypes) == list(whole.dtypes)
    if case == "three setups":  # categories differ between the runs: strings in the frame
        assert whole["setup"].dtype.name != "category"


def test_writing_in_blocks_holds_a_few_blocks_not_the_frame(tmp_path):
    rows = _rows(["setups=[dedicated]", "horizon_s=1200", "tenants.chat.arrival.rate_rps=60"])
    n = len(rows)
    assert n > 50_000  # per-request bytes dominate the writer's fixed costs
    size = n // 16
    write_parquet_blocks(rows.empty(), rows.blocks(size), tmp_path / "warm.parquet")  # imports
    tracemalloc.start()
    try:
        write_parquet_blocks(rows.empty(), rows.blocks(size), tmp_path / "r.parquet")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole frame's own columns: request id, TTFT, TPOT and E2E (8 bytes each) and six
    # categorical code columns (at least 1 byte each), 38 bytes a request before any copy;
    # a block also makes the columns the log keeps in no memory while they are zero (cached
    # tokens, preemptions and their time, retries, spills, reasons, cold-start waits and
    # tiers: 26 bytes a row), so the bound is a third of the frame's own columns, and three
    # blocks of the whole frame's width
    whole = 4 * 8 + 6
    assert peak < whole * n / 3, f"{peak / n:.1f} bytes a request"
    frame = rows.frame()
    assert peak < 3 * size * frame.memory_usage(index=False).sum() / n  # three blocks at most
    assert np.array_equal(frame["request_id"].to_numpy(), np.arange(n))
