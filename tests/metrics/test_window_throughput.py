"""A windowed summary row's throughput is its requests' output tokens over the window's own
length, so it reads as the served rate, like the ``all`` row's tokens over the run's period."""

from __future__ import annotations

import math

import pytest
from helpers.queueing import run_table, write_table


@pytest.mark.parametrize("warmup", [1000.0, 18000.0])
def test_windowed_throughput_is_the_rate_served_in_the_window(tmp_path, warmup):
    """One FCFS server at rho = 0.5 (Poisson 0.5 req/s, fixed 1,000-token outputs, 1 ms a
    token), 20,000 s: in steady state every window serves lambda x 1,000 = 500 tokens/s.
    Each window's throughput must be that rate within 4 Poisson SE of its request count
    (plus the drain, under 0.1 %). Until December 2026 both rows divided by the whole
    run's period: after an 18,000 s warm-up the measured row read 50 tokens/s."""
    lam, out, horizon = 0.5, 1000, 20_000.0
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.001)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=1",
        f"tenants.chat.output={{kind: fixed, mean: {out}}}", f"tenants.chat.arrival.rate_rps={lam}",
        f"horizon_s={horizon}", f"metrics.warmup_s={warmup}", "seed=2",
        "output.plots=false", "output.report=false"])
    rows = res.summary.set_index("tenant")
    period = float(rows.loc["__all__", "period_s"])
    for label, length in (("chat", period - warmup), ("__all__", period - warmup),
                          ("chat@warmup", warmup), ("__all__@warmup", warmup)):
        row = rows.loc[label]
        assert row["throughput_tok_s"] == pytest.approx(row["output_tokens"] / length, rel=1e-12)
        expected = lam * out
        se = math.sqrt(lam * length) * out / length  # Poisson count over the window
        assert abs(row["throughput_tok_s"] - expected) < 4 * se + 0.001 * expected, (label, row)
