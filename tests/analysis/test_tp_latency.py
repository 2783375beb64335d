"""Tensor parallelism at a small decode batch: published end-to-end latencies of one batch
(vLLM's performance benchmark, 32 in / 128 out, batch 8, BF16) of Llama-3-70B at TP4 and
Llama-3-8B at TP1 on the same GPU class and build (conf/tp_latency.yaml), simulated the way
the calibration job simulates a trtllm-bench row. No factor was fitted to them."""

import pytest

from sim.analysis.calibration import engine_speed, row_overrides
from sim.analysis.tp_latency import (
    latency_rows,
    latency_table,
    load_latency_set,
    predicted_latency_ms,
)
from sim.analysis.tp_scaling import batch_latency_s
from sim.config import compose
from sim.simulation.build import build_catalog, perf_factory


def test_each_gpu_pairs_a_tp4_70b_figure_with_a_tp1_8b_one():
    sp = load_latency_set()
    assert "buildkite.com/vllm/performance-benchmark" in sp["source"]
    rows = latency_rows(sp)
    assert len(rows) == 2 * len(sp["builds"])
    for b in sp["builds"]:
        mine = [r for r in rows if r["build"] == b["build"]]
        assert sorted((r["model"], r["tp"]) for r in mine) == [("llama31-8b", 1), ("llama33-70b", 4)]
        assert all(r["gpu"] == b["gpu"] for r in mine)


def test_a_static_batch_is_one_prefill_then_decodes_at_the_engines_speed():
    """Through the engine, a batch of 8 identical requests queued at once costs exactly one
    prefill of 8 x 32 tokens and 127 decode iterations of 8 sequences (summed by hand from
    the performance model's step times), divided by the serving engine's relative speed."""
    row = next(r for r in latency_rows() if r["model"] == "llama31-8b" and r["gpu"] == "H100")
    cfg = compose(row_overrides(row))
    _, perf_for = perf_factory(cfg, build_catalog(cfg))
    perf = perf_for(row["model"])
    by_hand = perf.step_time(0, 8 * 32, 0, 8 * 32 * 33 / 2)
    by_hand += sum(perf.step_time(8, 0, 8 * (32 + j - 1), 8 * (32 + j)) for j in range(1, 128))
    assert batch_latency_s(perf, 8, 32, 128) == pytest.approx(by_hand, rel=1e-12)
    assert predicted_latency_ms(row) == pytest.approx(1e3 * by_hand / engine_speed(row), rel=1e-6)


@pytest.fixture(scope="module")
def table():
    return latency_table()


# Stated tolerances (README, "Tensor parallelism"): the ratio of the TP4 70B latency to the
# TP1 8B latency on the same GPU within 10 % of published (it isolates the split of a step
# over four GPUs: 0.0 / -0.9 / -5.7 % on H200 / H100 / A100 when written), every latency
# within 25 % (the rows run at engines.vllm, the saturated-throughput gap between vLLM and
# the tuned runtime; this later vLLM at batch 8 is closer to the tuned runtime than that).
def test_the_tp4_to_tp1_latency_ratio_matches_the_published_one(table):
    assert table["ratio_error_pct"].abs().max() < 10, table.to_string()


def test_every_latency_within_25_percent(table):
    assert table["error_pct"].abs().max() < 25, table.to_string()


def test_the_tp4_row_errs_like_its_tp1_partner_on_nvlink4_gpus(table):
    """On the H100 and H200 (the GPU classes whose all-reduce figures the catalog cites) the
    TP4 row's error is within 2 points of the TP1 row's: whatever the model misses there is
    common to both (the serving stack), not the tensor-parallel split."""
    for gpu in ("H100", "H200"):
        t = table[table["gpu"] == gpu].set_index("tp")["error_pct"]
        assert abs(t[4] - t[1]) < 2, (gpu, t.to_dict())
