"""Load figures (sim/metrics/load.py) against values computed by hand for one request alone
on one dedicated replica (reserve admission: it holds prompt + output tokens from admission
to its last token; prefill in one iteration, then one decode per further token)."""

import math

import pytest
from helpers.dedicated import MODEL, all_row, config, run, workload
from helpers.engine import make_perf

N_IN, N_OUT, HORIZON = 8000, 2000, 100.0


@pytest.fixture(scope="module")
def catalog():
    from sim.simulation.build import build_catalog
    return build_catalog(config())


@pytest.mark.parametrize("engine,down", [("fluid", 0.0), ("step", 0.0), ("fluid", 20.0)])
def test_one_request_alone(catalog, engine, down):
    """``down``: a scripted failure at 50 s, after the request, for that long: its down time is
    billed but is not up time (until December 2026 it was: busy_fraction and every load
    figure were taken over the whole 100 s)."""
    fail = ["dedicated.failures.mode=script",
            f"dedicated.failures.script=[{{at_s: 50, down_s: {down}}}]"] if down else []
    cfg = config([f"engine={engine}"] + fail)
    r, summary = run(cfg, workload([(1.0, N_IN, N_OUT)], horizon_s=HORIZON))
    s = all_row(summary)
    dep, perf = make_perf(catalog)
    cap = perf.kv_capacity_tokens
    assert r.period_s == HORIZON
    assert s["gpu_hours"] == pytest.approx(HORIZON / 3600, rel=1e-12)  # billed while down
    assert s["down_gpu_hours"] == pytest.approx(down / 3600, rel=1e-12)
    up = HORIZON - down
    busy = perf.step_time(0, N_IN, 0, N_IN * (N_IN + 1) / 2) + sum(
        perf.step_time(1, 0, N_IN + j - 1, N_IN + j) for j in range(1, N_OUT))
    assert s["busy_fraction"] == pytest.approx(busy / up, rel=1e-9)
    # KV: prompt + output reserved for the whole busy time, nothing while idle
    held = (N_IN + N_OUT) / cap
    assert s["kv_occupancy_mean"] == pytest.approx(held * busy / up, rel=1e-9)
    assert busy / up > 0.01  # so the 99th percentile falls in the busy stretch
    assert s["kv_occupancy_p99"] == math.floor(100 * held) / 100 and s["kv_occupancy_p99"] > 0
    # bytes: the weights once per iteration (2,000 of them), the context's KV per decode
    m, g = catalog.models[MODEL], catalog.gpus["H100"]
    weights = m.weight_bytes("fp8")
    kv_read = sum(N_IN + j - 1 for j in range(1, N_OUT)) * dep.kv_bytes_per_token_per_gpu()
    moved = N_OUT * weights + kv_read
    assert s["bandwidth_fraction"] == pytest.approx(moved / (g.bandwidth_tbps * 1e12 * up),
                                                    rel=1e-9)
    # capacity: decode-only at the batch that fits this shape, each at the mean context
    b = min(256, cap // (N_IN + N_OUT))
    ctx = N_IN + N_OUT / 2
    flat_out = b / perf.step_time(b, 0, b * ctx, b * (ctx + 1))
    assert s["capacity_fraction"] == pytest.approx(N_OUT / (flat_out * up), rel=1e-9)
    rep = r  # the same figures per replica in replicas.csv
    from sim.metrics.events import ledger_frame
    row = ledger_frame([rep]).iloc[0]
    for c in ("kv_occupancy_mean", "kv_occupancy_p99", "bandwidth_fraction", "capacity_fraction"):
        assert row[c] == pytest.approx(s[c], rel=1e-12), c
    assert row["output_tokens"] == N_OUT


def test_an_idle_replica_has_no_load_and_unknown_capacity(catalog):
    cfg = config(dedicated={"replicas": {MODEL: 2}})
    r, summary = run(cfg, workload([(1.0, 100, 10)], horizon_s=HORIZON))
    from sim.metrics.events import ledger_frame
    rows = ledger_frame([r])
    idle = rows[rows["output_tokens"] == 0].iloc[0]
    assert idle["kv_occupancy_mean"] == 0 and idle["kv_occupancy_p99"] == 0
    assert idle["bandwidth_fraction"] == 0
    # its capacity counts (the model's mix is known from the other replica) and is unused
    assert idle["capacity_fraction"] == 0
    s = all_row(summary)
    busy = rows[rows["output_tokens"] > 0].iloc[0]
    assert s["capacity_fraction"] == pytest.approx(busy["capacity_fraction"] / 2, rel=1e-12)
