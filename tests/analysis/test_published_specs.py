"""The catalog's hardware, model and price figures against the calibration sheet they cite
(../shared/CALIBRATION.md sections 1, 2 and 5, "CAL §n"), typed here from the sheet, not
read from the catalog: a catalog edit that drifts from its source fails here. Prices are
point-in-time snapshots; a catalog price must be one the sheet lists for that GPU or model
(a user overrides them, the shipped defaults stay sourced)."""

import pytest

# CAL §1: memory GB, bandwidth TB/s, dense TFLOPS by precision (spec sheets, no sparsity)
CAL1 = {
    "A100": (80, 2.039, {"bf16": 312}),
    "H100": (80, 3.35, {"bf16": 989, "fp8": 1979}),
    "H200": (141, 4.8, {"bf16": 989, "fp8": 1979}),
    "B200": (180, 8.0, {"bf16": 2250, "fp8": 4500, "fp4": 9000}),
    "L40S": (48, 0.864, {"bf16": 362, "fp8": 733}),
    "MI300X": (192, 5.3, {"bf16": 1307, "fp8": 2615}),
}


@pytest.mark.parametrize("gpu", sorted(CAL1))
def test_gpu_specs_are_the_spec_sheets(catalog, gpu):
    mem, bw, tflops = CAL1[gpu]
    g = catalog.gpus[gpu]
    assert g.memory_gb == mem
    assert g.bandwidth_tbps == pytest.approx(bw)
    for prec, peak in tflops.items():
        assert g.peak_flops(prec) == pytest.approx(peak * 1e12), (gpu, prec)


# CAL §2: params (B), layers, KV heads, head dim, weights GB (BF16, FP8 or None), KV bytes per
# token at BF16 (2 x layers x kv_heads x head_dim x 2 bytes, from the models' config.json)
CAL2 = {
    "llama31-8b": (8.03, 32, 8, 128, 16.1, 8.5, 131_072),
    "llama33-70b": (70.6, 80, 8, 128, 141, 70.6, 327_680),
    "qwen3-32b": (32.8, 64, 8, 128, 65.5, 33, 262_144),
    "mixtral-8x7b": (46.7, 32, 8, 128, 93, None, 131_072),
}


@pytest.mark.parametrize("model", sorted(CAL2))
def test_model_figures_are_the_published_configs(catalog, model):
    params, layers, kv_heads, head_dim, bf16_gb, fp8_gb, kv_bytes = CAL2[model]
    m = catalog.models[model]
    assert (m.params_b, m.layers, m.kv_heads, m.head_dim) == (params, layers, kv_heads, head_dim)
    assert m.weight_bytes("bf16") == pytest.approx(bf16_gb * 1e9)
    if fp8_gb is not None:
        assert m.weight_bytes("fp8") == pytest.approx(fp8_gb * 1e9)
    assert m.kv_bytes_per_token("bf16") == kv_bytes
    assert m.kv_bytes_per_token("fp8") == kv_bytes / 2


def test_mixtral_runs_its_published_active_parameters(catalog):
    """CAL §2: 12.9 B of Mixtral-8x7B's 46.7 B parameters are active for a token (top-2 of 8)."""
    assert catalog.models["mixtral-8x7b"].active_params_b == 12.9


# CAL §5 on-demand $/GPU-hour, every price listed for each GPU (ranges as their two ends)
CAL5_ON_DEMAND = {
    "H100": {6.88, 6.155, 3.99, 2.69, 3.85, 4.50, 3.95, 2.00},
    "H200": {6.305, 4.44, 5.99, 5.40, 2.60},
    "B200": {8.60, 6.69},
    "A100": {3.43, 2.79, 1.39, 1.79, 2.50},
    "L40S": {1.95},
}
CAL5_SERVERLESS_S = {"H100": 0.00116, "H200": 0.00155, "B200": 0.00240, "A100": 0.00076, "L40S": 0.00053}


@pytest.mark.parametrize("gpu", sorted(CAL5_ON_DEMAND))
def test_gpu_prices_are_listed_snapshots(catalog, gpu):
    g = catalog.gpus[gpu]
    assert g.on_demand_usd_per_hour in CAL5_ON_DEMAND[gpu]
    assert g.serverless_usd_per_s == CAL5_SERVERLESS_S[gpu]  # RunPod flex, the one listed
    # reserved: CAL §5's 35-60 % below on-demand
    assert 0.40 <= g.reserved_usd_per_hour / g.on_demand_usd_per_hour <= 0.65 + 1e-9


# CAL §5 per-token $/M (input, output) by provider
CAL5_PER_TOKEN = {
    "llama31-8b": {(0.18, 0.18), (0.20, 0.20), (0.02, 0.04), (0.05, 0.08)},
    "llama33-70b": {(0.88, 0.88), (0.90, 0.90), (0.10, 0.32), (0.59, 0.79)},
    "qwen3-32b": {(0.10, 0.30), (0.29, 0.59)},
}


@pytest.mark.parametrize("model", sorted(CAL5_PER_TOKEN))
def test_per_token_prices_are_listed_snapshots(catalog, model):
    m = catalog.models[model]
    assert (m.price_in_usd_per_mtok, m.price_out_usd_per_mtok) in CAL5_PER_TOKEN[model]
