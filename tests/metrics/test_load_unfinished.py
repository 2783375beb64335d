"""Load figures stay defined when some replica never served: a burst replica still loading
at the end (counted as idle capacity for its up time, as the loading time of a replica that
warmed), and a model of the setup none of whose requests finished (left out: its mix, so
its capacity, is unknown). Before, both made the tenant's and ``__all__``'s
``capacity_fraction`` and ``bandwidth_fraction`` NaN."""

import math

import pytest
from helpers.dedicated import MODEL, all_row, config, run, workload

from sim.metrics.events import ledger_frame
from sim.metrics.load import load


def test_a_burst_replica_loading_at_the_end_counts_as_idle_capacity():
    """One reserved replica of 1 slot and ten requests at t = 0: the queue scales up a
    burst replica at t = 1 s, which is still loading when the last request ends. Both
    replicas are the same deployment, so each figure over both is the reserved replica's
    weighted by its share of the up time."""
    cfg = config(["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=1",
                  "deployments.llama31-8b.max_num_seqs=1"])
    r, summary = run(cfg, workload([(0.0, 100, 500)] * 10, horizon_s=5.0))
    rows = ledger_frame([r])
    res, burst = rows[rows.tier == "dedicated"].iloc[0], rows[rows.tier == "burst"].iloc[0]
    assert burst.loading_s == pytest.approx(burst.end_s - burst.start_s)  # never warm
    share = (res.end_s - res.start_s) / ((res.end_s - res.start_s) + (burst.end_s - burst.start_s))
    s = all_row(summary)
    for c in ("capacity_fraction", "bandwidth_fraction"):
        assert math.isfinite(s[c]), c  # NaN before
        assert s[c] == pytest.approx(res[c] * share, rel=1e-9), c
        assert burst[c] == 0, c


def test_a_model_that_finished_nothing_is_left_out_of_capacity():
    """Two models, one replica each; only the 8B's request finishes (the other's is too
    long for the horizon): ``__all__``'s capacity is the 8B replica's, its bandwidth the
    bytes of both over the up time of both (the idle replica read nothing)."""
    cfg = config(dedicated={"replicas": {MODEL: 1, "qwen3-32b": 1}})
    wl = workload([(0.0, 100, 10)], horizon_s=20.0)
    wl.models.append("qwen3-32b")
    wl.model = wl.model.copy()
    r, summary = run(cfg, wl)
    rows = ledger_frame([r])
    done = rows[rows.model == MODEL].iloc[0]
    s = all_row(summary)
    assert s["capacity_fraction"] == pytest.approx(done["capacity_fraction"], rel=1e-12)
    assert math.isfinite(s["capacity_fraction"])


def test_rows_without_an_engine_are_left_out():
    from sim.records import UsageRow
    a = UsageRow(model=MODEL, gpu="H100", gpus=1, tier="serverless", start_s=0.0, end_s=10.0,
                 busy_s=0.0, billing="gpu_second", usd_per_gpu_hour=1.0)
    b = UsageRow(model=MODEL, gpu="H100", gpus=1, tier="serverless", start_s=0.0, end_s=30.0,
                 busy_s=0.0, billing="gpu_second", usd_per_gpu_hour=1.0)

    class Perf:
        peak_bandwidth = 100.0

        @staticmethod
        def saturated_tok_s(mean_in, mean_out, max_seqs):
            return 2.0

    a.kv.peak_bandwidth, a.kv.saturation = 100.0, (Perf, 1)
    a.kv.bytes_per_gpu, a.kv.served, a.kv.served_in, a.kv.served_out = 500.0, 1, 10, 5
    got = load([a, b])  # b never had an engine
    assert got["capacity_fraction"] == pytest.approx(5 / (2.0 * 10.0))
    assert got["bandwidth_fraction"] == pytest.approx(500.0 / (100.0 * 10.0))


def test_a_spot_replacement_loading_at_the_end_counts_as_idle_capacity(tmp_path):
    """A reserved and a spot replica; the spot one is reclaimed at t = 2 s (no notice) and
    its replacement is still loading at the end: every figure stays defined, and the
    replacement counts for its up time at the same deployment's capacity."""
    trace = tmp_path / "pre.csv"
    trace.write_text("time_s,model,replica\n2,llama31-8b,0\n")
    cfg = config(["dedicated.spot.preemption.mode=trace",
                  f"dedicated.spot.preemption.trace={trace}",
                  "dedicated.spot.preemption.notice_s=0"],
                 dedicated={"replicas": {MODEL: 2}, "spot": {"replicas": {MODEL: 1}}})
    r, summary = run(cfg, workload([(0.0, 100, 200), (0.1, 100, 200)], horizon_s=20.0))
    rows = ledger_frame([r])
    new = rows[(rows.tier == "spot") & (rows.start_s > 0)].iloc[0]
    assert new.loading_s == pytest.approx(new.end_s - new.start_s)  # never warm
    s = all_row(summary)
    for c in ("capacity_fraction", "bandwidth_fraction"):
        assert math.isfinite(s[c]), c  # NaN before
        assert new[c] == 0, c
    # the same deployment throughout: delivered over (capacity per second x total up time)
    up = (rows.end_s - rows.start_s).to_numpy()
    per_s = rows.output_tokens / rows.capacity_fraction / up  # of the rows that delivered
    rate = per_s[rows.output_tokens > 0].iloc[0]
    assert s["capacity_fraction"] == pytest.approx(rows.output_tokens.sum() / (rate * up.sum()),
                                                   rel=1e-9)
