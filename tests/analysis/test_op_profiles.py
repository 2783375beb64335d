"""The perf model's terms against per-operation times measured on H100s and A100s (Vidur's
published profiles, conf/op_profiles.yaml; no factor was fitted to them): the GEMM efficiency
the catalog assumes against the measured one, a decoder layer's linear time, the all-reduce,
what the measured operations add at TP4 against the saturated TP4 gap, and on the A100 what
they add against the NeMo sweep's TP8 gap (README, "Tensor parallelism")."""

from dataclasses import replace

import pytest

from sim.analysis.op_profiles import (
    allreduce_table,
    gemm_table,
    layer_shape,
    load_op_profiles,
    profiled_gpus,
    tp_excess,
)
from sim.analysis.tp_scaling import tp_table
from sim.errors import InputError
from sim.perf import allreduce_time


@pytest.fixture(scope="module")
def h100(catalog):
    return catalog.gpus["H100"]


@pytest.fixture(scope="module")
def a100(catalog):
    return catalog.gpus["A100"]


def test_a_layers_parameters_are_the_models():
    """The shapes give the published parameter counts: 80 layers of Llama-2-70B's four
    projections plus its embedding and LM head (32,000 x 8,192 each) and norms make 68.98 B;
    Llama-2-7B's 32 layers plus 2 x 32,000 x 4,096 make 6.74 B (the catalog's params_b)."""
    sp = load_op_profiles()
    p70, f70 = layer_shape(sp["models"]["llama2-70b"])
    assert f70 == 2 * p70
    assert (80 * p70 + 2 * 32000 * 8192) / 1e9 == pytest.approx(68.98, abs=0.01)
    p7, _ = layer_shape(sp["models"]["llama2-7b"])
    assert (32 * p7 + 2 * 32000 * 4096) / 1e9 == pytest.approx(6.74, abs=0.01)


def test_the_rows_cover_tp_1_to_8_at_every_token_count():
    sp = load_op_profiles()
    assert profiled_gpus(sp) == ["H100", "A100"]
    for key in profiled_gpus(sp):
        rows = sp["gpus"][key]
        pts = {(r["model"], r["tp"], r["tokens"]) for r in rows["gemm"]}
        assert len(pts) == len(rows["gemm"]) == 2 * 4 * 6
        assert {(r["gpus"], r["bytes"]) for r in rows["allreduce"]} == {
            (p, 2 ** k) for p in (2, 4, 8) for k in range(20, 27)}


def test_each_gpu_reads_its_own_rows(h100, a100, catalog):
    """The tables carry the GPU's key and its own rows (the A100's 70B TP1 layer at 4,096
    tokens takes 29.3 ms of projections, the H100's 10.1), and a GPU the file has no
    profiles for is an input error naming the file."""
    for gpu in (h100, a100):
        assert set(gemm_table(gpu)["gpu"]) == set(allreduce_table(gpu)["gpu"]) == {gpu.key}
    tp1 = [gemm_table(g).set_index(["model", "tp", "tokens"]).loc[("llama2-70b", 1, 4096)]
           for g in (h100, a100)]
    assert tp1[0]["measured_gemm_us"] == 10086.5 and tp1[1]["measured_gemm_us"] == 29253.0
    with pytest.raises(InputError, match="op_profiles.yaml.*'L40S'"):
        gemm_table(catalog.gpus["L40S"])


def test_the_compute_efficiency_is_the_measured_one(h100):
    """Issue 18 item 2: the catalog's BF16 compute efficiency on the H100 (0.66, fitted to
    TP1 throughput rows) lies within what the GEMMs reach where they are compute-bound
    (1,024 tokens and more: 0.64-0.75 of the dense peak, 70B, TP 1-8), so the factor is the
    physical one; and sharding does not lower it: the TP4 and TP8 rows' median is no lower
    than the TP1 rows' (a TP-sharded GEMM slowing at these sizes would have been a missing
    term of the TP4 gap)."""
    t = gemm_table(h100)
    big = t[(t["model"] == "llama2-70b") & (t["tokens"] >= 1024)]
    eff = big["measured_gemm_efficiency"]
    assert 0.6 < eff.min() and eff.max() < 0.8
    assert eff.min() <= big["catalog_compute_efficiency"].iloc[0] <= eff.max()
    by_tp = big.groupby("tp")["measured_gemm_efficiency"].median()
    assert by_tp[4] >= by_tp[1] - 0.01 and by_tp[8] >= by_tp[1] - 0.01


def test_a_layers_linear_time_matches_the_measured_one(h100):
    """The roofline's projections plus the per-layer overhead against the measured
    projections plus elementwise kernels: within 15 % for the 70B at 512 tokens and more at
    every TP (largest 12.8 % when written; the per-layer overhead, fitted to whole-run
    throughput, covers the elementwise kernels and launch gaps). Small batches of the 7B
    split over many GPUs are where the roofline is furthest (TP8, 128 tokens: +58 %): there
    GEMM shapes of a few hundred columns reach 15-25 % of peak, which neither bound sees."""
    t = gemm_table(h100)
    sel = t[(t["model"] == "llama2-70b") & (t["tokens"] >= 512)]
    assert sel["layer_error_pct"].abs().max() < 15.0
    worst = t.loc[t["layer_error_pct"].abs().idxmax()]
    assert (worst["model"], worst["tp"], worst["tokens"]) == ("llama2-7b", 8, 128)


def test_the_allreduce_model_matches_the_measured_one_over_four_gpus(h100):
    """NCCL without CUDA graphs, timed as kernel durations, on a DGX H100 (not the source of
    the catalog's all-reduce figures, which come from another repository's measurements):
    over 4 GPUs from 4 MB up, where NCCL's Simple protocol carries the message, the model
    is within 10 % (2.4-5.2 % when written); from 8 MB up every group size is within 30 %
    (2 GPUs: 18-22 % below the measurement). Below 2 MB the measurements sit on a 34-43 us
    floor that a graphed all-reduce does not pay."""
    a = allreduce_table(h100)
    four = a[(a["gpus"] == 4) & (a["bytes"] >= 4 << 20)]
    assert four["error_pct"].abs().max() < 10.0
    assert a[a["bytes"] >= 8 << 20]["error_pct"].abs().max() < 30.0
    assert a[a["bytes"] < 2 << 20]["measured_us"].min() > 30.0


def test_nvls_turns_the_8_gpu_error_around(h100):
    """Over 8 GPUs from 2 MB, where NCCL uses NVLink SHARP on 8 H100s (nccl-tests issue
    #309), the rings alone were 3-29 % slower than measured (10-29 % from 4 MB); NVLS at
    NCCL's own fixed cost (25 us) and its peak rate (279 GB/s) alone was 17-26 % faster: the
    measured all-reduces reach that rate only from about 32 MB. With the fill of NVLS's
    three-stage pipeline over NCCL's size-dependent chunks (16-64 KiB at 2-64 MB) the model is
    within -11 to +16 % (+3 % at 2 MB, where LL is now the faster). Nothing was fitted to
    these rows."""
    def eight(gpu):
        a = allreduce_table(gpu)
        return a[(a["gpus"] == 8) & (a["bytes"] >= 2 << 20)]["error_pct"]
    rings = eight(replace(h100, allreduce_nvls_min_gpus=0))
    flat, now = eight(replace(h100, allreduce_nvls_channels=0)), eight(h100)
    assert rings.min() > 3.0 and rings.max() < 30.0
    assert flat.min() > -27.0 and flat.max() < -16.0
    assert now.min() > -12.0 and now.max() < 16.0 and now.abs().median() < 6.0
    # the rows over 2 and 4 GPUs do not move, nor 1 MB over 8 (LL 28.77 us)
    a, b = allreduce_table(h100), allreduce_table(replace(h100, allreduce_nvls_min_gpus=0))
    assert (a[a["gpus"] < 8]["modelled_us"] == b[b["gpus"] < 8]["modelled_us"]).all()
    small = (a["gpus"] == 8) & (a["bytes"] < 2 << 20)
    assert (a[small]["modelled_us"] - b[small]["modelled_us"]).abs().max() < 0.1


def test_the_measured_operations_do_not_close_the_saturated_tp4_gap(h100):
    """At the SGLang row's decode batch (963 sequences: 15.8 MB all-reduces) and at vLLM's 256
    sequences (4 MB), what the measured layers and all-reduces add at TP4 beyond the model,
    over what they add at TP1, is not positive (-10 and -6 us a token when written): they
    do not supply the 24 and 14 us a token the saturated TP4 rows of conf/tp_saturated.yaml
    are short of. The all-reduce part is within 1 us a token either way."""
    for tokens in (963, 256):
        ex = tp_excess(h100, "llama2-70b", 80, 4, tokens)
        assert ex["message_bytes"] == tokens * 8192 * 2
        assert ex["total_s_per_token"] < 1e-6
        assert abs(ex["allreduce_s_per_token"]) < 1e-6


def test_sharded_gemms_at_256_tokens_run_below_the_roofline(h100):
    """Where the model has no term: at 256 tokens the 70B's four-way-sharded projections
    take 22 % longer than the roofline (0.52 of peak), at TP1 7 % (0.62); at 1,024 tokens
    both are within 3 % (0.64 of peak). The difference at 256 tokens, about 35 us a layer
    beyond a quarter of TP1's, is what the README weighs against the vLLM row's gap."""
    t = gemm_table(h100).set_index(["model", "tp", "tokens"])
    tp4, tp1 = t.loc[("llama2-70b", 4, 256)], t.loc[("llama2-70b", 1, 256)]
    assert 15.0 < -tp4["gemm_error_pct"] < 30.0 and -tp1["gemm_error_pct"] < 10.0
    extra = ((tp4["measured_gemm_us"] - tp4["modelled_gemm_us"])
             - (tp1["measured_gemm_us"] - tp1["modelled_gemm_us"]) / 4)
    assert 25.0 < extra < 45.0
    for tp in (1, 4):
        assert abs(t.loc[("llama2-70b", tp, 1024)]["gemm_error_pct"]) < 3.0


def test_the_a100_compute_efficiency_is_within_the_measured_range(a100):
    """On the A100 the GEMMs reach 0.66-0.78 of the dense BF16 peak (312 TFLOP/s) at 1,024
    tokens and more (70B, TP 1-8; the 7B 0.63-0.76): the catalog's 0.66 lies 0.004 below the
    70B's lowest (0.664, TP4 at 1,024 tokens) and inside the 7B's, so the factor is physical
    but at the bottom of the measured range (the big GEMMs run faster). Unlike the H100
    sharding lowers it a little there: the median falls from 0.76 at TP1 to 0.73 at TP4 and
    0.71 at TP8. A 70B layer's modelled time is within 15 % at 512 tokens and more (-6.3 to
    +11.5 % when written: the roofline is 15-18 % slow for the 4,096-token GEMMs, which
    reach 0.77-0.78 of peak)."""
    t = gemm_table(a100)
    big = t[(t["model"] == "llama2-70b") & (t["tokens"] >= 1024)]
    eff = big["measured_gemm_efficiency"]
    assert 0.65 < eff.min() < 0.67 and 0.76 < eff.max() < 0.8
    cat_eff = big["catalog_compute_efficiency"].iloc[0]
    assert 0.0 < eff.min() - cat_eff < 0.01
    both = t.loc[t["tokens"] >= 1024, "measured_gemm_efficiency"]
    assert 0.6 < both.min() <= cat_eff <= both.max() < 0.8
    by_tp = big.groupby("tp")["measured_gemm_efficiency"].median()
    assert by_tp[1] - 0.07 < by_tp[8] < by_tp[4] < by_tp[1]
    sel = t[(t["model"] == "llama2-70b") & (t["tokens"] >= 512)]
    assert sel["layer_error_pct"].abs().max() < 15.0


def test_the_a100_allreduce_model_is_faster_than_measured_at_every_size(a100):
    """The catalog's A100 figures (nccl-tests for LL, 9 us + 0.57 us a ring step; NCCL's
    tuning model for the rest: LL capped at 87.7 of 240 GB/s bus bandwidth, Simple at 8.4 us
    + 3.4 us a step and 0.78 of 300 GB/s) against Vidur's un-graphed NCCL all-reduces on a
    DGX A100: the model is still faster at every row, 12-58 % (23-70 % with LL at the full
    rate). At 64 MB by 30 / 24 / 17 % over 2 / 4 / 8 GPUs; the measured slope from 32 to
    64 MB is a bus rate of 183 / 177 / 222 GB/s against the model's 234, and the line
    through those two points meets zero bytes at 64 / 35 / 147 us, above the model's fixed
    costs: both the rate and a fixed cost fall short. At 1 MB the measurements sit on a
    47-64 us floor (as the H100's 34-43 us: kernel durations that include waiting for the
    other ranks)."""
    a = allreduce_table(a100).set_index(["gpus", "bytes"])
    assert a["error_pct"].max() < -10.0 and a["error_pct"].min() > -60.0
    for p, lo, hi in ((2, -32.0, -28.0), (4, -26.0, -22.0), (8, -19.0, -15.0)):
        assert lo < a.loc[(p, 64 << 20), "error_pct"] < hi
        slope = a.loc[(p, 64 << 20), "measured_us"] - a.loc[(p, 32 << 20), "measured_us"]
        busbw = (32 << 20) / (slope * 1e-6) * 2 * (p - 1) / p
        assert 0.7 < busbw / (a100.interconnect_gbps * 1e9 * a100.allreduce_efficiency) < 0.96
        intercept = 2 * a.loc[(p, 32 << 20), "measured_us"] - a.loc[(p, 64 << 20), "measured_us"]
        assert intercept > 1e6 * allreduce_time(a100, p, 0.0, "simple")
    floor = a.xs(1 << 20, level="bytes")["measured_us"]
    assert floor.min() >= 47.0 and floor.max() <= 64.0


def test_the_a100_ll_protocol_is_capped_as_nccls_tuning_model_caps_it(a100):
    """Issue 18: NCCL's tuning model (src/graph/tuning.cc, llMaxBws for Ampere on one node)
    caps Ring/LL at 87.7 GB/s of bus bandwidth, against Ring/Simple's 12 channels of 20 GB/s
    (240); until December 2026 the A100 ran LL at the full rate. With the cap, Simple (NCCL's
    8.4 us + 3.4 us a step) carries the message from 1-4 MB up, and every one of Vidur's
    DGX A100 rows is closer to its measurement: over 8 GPUs -61 to -23 % became -40 to -12 %,
    over 4 -70 to -27 % -> -52 to -20 %, over 2 -69 to -31 % -> -58 to -30 %."""
    assert a100.allreduce_ll_fraction == pytest.approx(87.7 / 240, abs=1e-3)
    ll_only = replace(a100, allreduce_ll_fraction=1.0)
    now, before = allreduce_table(a100), allreduce_table(ll_only)
    assert (now["modelled_us"] > before["modelled_us"]).all()
    assert (now["modelled_us"] < now["measured_us"]).all()
    for p, lo, hi in ((2, -59.0, -29.0), (4, -53.0, -19.0), (8, -41.0, -11.0)):
        err = now[now["gpus"] == p]["error_pct"]
        assert lo < err.min() and err.max() < hi
    # LL at 1 MB over 4 and 8 GPUs (over 2 Simple's fixed cost is already the lower), Simple
    # from 4 MB over every group
    for p in (4, 8):
        assert allreduce_time(a100, p, 1 << 20) == allreduce_time(a100, p, 1 << 20, "ll")
    for p in (2, 4, 8):
        assert allreduce_time(a100, p, 4 << 20) == allreduce_time(a100, p, 4 << 20, "simple")


def test_the_a100_operations_bracket_but_do_not_pin_the_nemo_tp8_gap(catalog, a100):
    """The NeMo sweep (conf/tp_sweeps.yaml: Llama-2-7B, 128 in / 20 out, batch 1-8) on the
    A100: the model's TP8 latency would need 20-34 ms more (batch 1-8) to give the published
    speed-up over its own TP1. The measured operations at the sweep's shapes:

    * the prefill (128-1,024 tokens: GEMM rows and 1-8 MB all-reduces both profiled) adds
      -0.6 to +1.4 ms at TP8 beyond the model, over what it adds at TP1 (under a quarter of
      the gap; +0.3 to +3.9 ms before LL was capped): the GEMMs and elementwise kernels -2.3
      to +0.7 ms, the all-reduces +0.6 to +2.3 ms;
    * the decode's 19 x 64 all-reduces carry 8-64 KB, below the profiled sizes: priced at
      the profiles' 1 MB floor (64 us over 8 GPUs against the model's 17) they would add
      57 ms, more than the gap at every batch, and at TP2 and TP4 too (45 and 62 ms against
      5-15 and 15-30 missing); the decode GEMMs (1-8 tokens) are not profiled.

    So the sweep's gap fits all-reduces dearer than the model's (33-44 us each at TP8, spread
    over all 1,280) and cheaper than the un-graphed 1 MB floor; the profiles bracket it but
    do not measure the decode's size, and nothing here pins it down."""
    t = tp_table(catalog)
    t = t[t["gpu"] == "A100"].set_index(["batch", "tp"])
    for b in (1, 2, 4, 8):
        tokens = 128 * b
        for tp in (2, 4, 8):
            missing = (t.loc[(b, 1), "predicted_ms"] / t.loc[(b, tp), "speedup_published"]
                       - t.loc[(b, tp), "predicted_ms"])
            ex = tp_excess(a100, "llama2-7b", 32, tp, tokens)
            prefill_ms = ex["total_s_per_token"] * tokens * 1e3
            floor = allreduce_table(a100).set_index(["gpus", "bytes"]).loc[(tp, 1 << 20), "measured_us"]
            decode_ms = 19 * 64 * (floor - 1e6 * allreduce_time(a100, tp, b * 4096 * 2)) / 1e3
            assert decode_ms > missing > 0.0
            if tp == 8:
                assert 20.0 < missing < 35.0 and abs(prefill_ms) < 0.25 * missing
                assert abs(ex["linear_s_per_token"] * tokens * 1e3) < 2.5
