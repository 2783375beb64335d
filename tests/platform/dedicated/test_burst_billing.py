"""The burst table's ``billed_s`` is the seconds billed: the replica's life, at least
``dedicated.burst.min_billed_s`` (until December 2026 it was the life alone, 26.8 s beside
a cost of 60 s at the burst price)."""

import math

import pytest
from test_burst import BURST_PRICE

import sim
from sim.records import UsageRow


def _table(tmp_path, extra):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n" + "0,100,500\n" * 10)
    over = ["setups=[dedicated]", "horizon_s=5", "output.plots=false", "output.parquet=false",
            f"tenants.chat.arrival={{kind: trace, trace: {{path: {trace}, format: csv, "
            "duplicates: keep}}",
            "tenants.chat.input={kind: trace, max: null}",
            "tenants.chat.output={kind: trace, max: null}",
            "dedicated.burst.enabled=true", "dedicated.burst.max_replicas=1",
            "deployments.llama31-8b.max_num_seqs=1", *extra]
    return sim.run(over).tables["dedicated_burst_replicas"]


def test_billed_seconds_include_the_minimum(tmp_path):
    (row,) = _table(tmp_path, ["dedicated.burst.min_billed_s=60"]).itertuples()
    assert math.isnan(row.stop_s)  # still loading at the end (t < 30 s): up < 60 s
    assert row.billed_s == 60.0
    assert row.cost_usd == pytest.approx(60.0 * BURST_PRICE / 3600.0, rel=1e-12)


def test_without_a_minimum_billed_seconds_are_the_life(tmp_path):
    (row,) = _table(tmp_path, []).itertuples()
    assert 0 < row.billed_s < 60.0
    assert row.cost_usd == pytest.approx(row.billed_s * BURST_PRICE / 3600.0, rel=1e-12)


def test_billed_s_by_hand():
    row = UsageRow(model="m", gpu="H100", gpus=1, tier="burst", start_s=10.0, end_s=15.0,
                   busy_s=0.0, billing="gpu_second", usd_per_gpu_hour=1.0, min_increment_s=8.0)
    assert row.billed_s == 8.0
    row.end_s = 30.0
    assert row.billed_s == 20.0
    row.end_s = 10.0  # never up: nothing billed, whatever the minimum
    assert row.billed_s == 0.0 and row.cost_usd == 0.0
