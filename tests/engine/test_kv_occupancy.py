"""KV occupancy over up time on a hand-computed case, on both engines."""

import pytest
from helpers.queueing import write_table

import sim


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_one_growing_sequence_mean_and_p99_by_hand(tmp_path, engine):
    """One request, 100-token prompt and 200 output tokens, paged on 1,000 tokens of KV,
    10 ms iterations: its prefill iteration holds 100 tokens and decode iteration i
    (1..199) 100 + i (each sequence claims its token before its iteration), so the mean is
    (100 + sum(100 + i)) / 200 / 1000 = 0.1995 and 1 % of the time is spent at 29.8 % or
    more (p99 in the 29 % bin). Until December 2026 the fluid engine put each stretch's
    time in its mean's bin (p99 0.19) and its mean half a token a sequence low (0.199)."""
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    s = sim.run([f"engine={engine}", "horizon_s=1", "setups=[dedicated]", "output.plots=false",
                 "deployments.llama31-8b.admission=paged", "deployments.llama31-8b.perf.kind=table",
                 f"deployments.llama31-8b.perf.table_path={table}",
                 "deployments.llama31-8b.perf.kv_capacity_tokens=1000",
                 "tenants.chat.input={kind: fixed, mean: 100}", "tenants.chat.output={kind: fixed, mean: 200}",
                 "tenants.chat.arrival={kind: closed, concurrency: 1, requests_per_client: 1}"]).summary
    row = s.iloc[0]
    assert row["kv_occupancy_mean"] == pytest.approx(0.1995, abs=1e-9)
    assert row["kv_occupancy_p99"] == pytest.approx(0.29, abs=1e-9)


def test_spread_puts_the_seconds_over_the_bins_passed():
    from sim.kvstats import OCC_BINS, spread

    hist = [0.0] * (OCC_BINS + 1)
    spread(hist, 0.105, 0.135, 3.0)  # 3 % wide: 0.5, 1, 1, 0.5 % in bins 10..13
    assert hist[10:14] == pytest.approx([0.5, 1.0, 1.0, 0.5])
    assert sum(hist) == pytest.approx(3.0)
    hist = [0.0] * (OCC_BINS + 1)
    spread(hist, 0.995, 1.015, 2.0)  # the part at or over capacity goes to the last bin
    assert hist[99] == pytest.approx(0.5) and hist[OCC_BINS] == pytest.approx(1.5)
