"""Cold-start stage arithmetic against the published loader figures (CAL §4)."""

import pytest

import sim
from sim.platform.coldstart import stages
from sim.simulation.build import build_catalog
from sim.simulation.build.models import check_deployment as deployment


def test_weight_load_matches_published_loader_times():
    cfg = sim.compose([])
    cat = build_catalog(cfg)
    qwen = deployment(cfg, cat, "qwen3-32b")
    # ServerlessLLM (CAL §4): qwen3-32b BF16 65.5 GB from local NVMe in 3.2 s optimized
    # (20-24 GB/s) and 20.6 s with stock safetensors (3.2-3.6 GB/s)
    from dataclasses import replace
    qwen = replace(qwen, precision="bf16")
    s = stages(cfg, qwen, "local_nvme")
    assert s.weights_s == pytest.approx(3.2, rel=0.15)
    cfg2 = sim.compose(["cold_start.loader=stock"])
    assert stages(cfg2, qwen, "local_nvme").weights_s == pytest.approx(20.6, rel=0.15)


def test_stages_add_up_and_snapshot_cuts_init():
    cfg = sim.compose([])
    cat = build_catalog(cfg)
    dep = deployment(cfg, cat, "llama31-8b")
    cold = stages(cfg, dep, "object_storage", need_node=True, image_cached=False)
    assert cold.total_s == pytest.approx(120 + 1 + 20 + 8.5 / 6.0 + 25)
    snap = stages(cfg, dep, "gpu_snapshot")
    assert snap.init_s == pytest.approx(2.5)
    assert snap.total_s < cold.total_s


def test_unknown_tier_names_the_key():
    with pytest.raises(sim.InputError, match="config key 'dedicated.failures.reload_tier': "
                                             "unknown storage tier 'floppy'"):
        sim.run(["horizon_s=5", "dedicated.failures.mode=random",
                 "dedicated.failures.reload_tier=floppy"])


# ----------------------------------------------------------- held-out published load times
# Each published figure against the stage the simulator computes for the same load, within
# the project's calibration tolerance (25 %). README, "Held-out figures".
TOL = 0.25


def _weights_s(overrides, model, precision, tier, gb=None):
    from dataclasses import replace
    cfg = sim.compose(overrides)
    cat = build_catalog(cfg)
    dep = replace(deployment(cfg, cat, "llama31-8b"), model=cat.models[model], precision=precision)
    if gb is not None:  # a model of another name and the same architecture
        dep = replace(dep, model=replace(dep.model, weights_gb={precision: gb}))
    return stages(cfg, dep, tier).weights_s


# ServerlessLLM benchmarks/results/h100_2025/README.md (8x H100 SXM, NVMe 29.4 GB/s, December
# 2025), mean load seconds: "random" loads 30 different copies (not in the page cache: the
# local NVMe tier), "cached" reloads one model (host page cache: the host DRAM tier); SLLM is
# the optimized loader, SafeTensors the stock one. DeepSeek-R1-Distill-Qwen-32B is not in the
# catalog: its Qwen2.5-32B base's 32.5 B parameters (model card), 65.0 GB in BF16 (assumption).
SLLM_H100_2025 = [
    ("qwen3-32b", None, "local_nvme", 3.216, 20.592),
    ("qwen3-32b", None, "host_dram", 1.253, 12.466),
    ("qwen3-32b", 65.0, "local_nvme", 3.220, 19.090),  # DeepSeek-R1-Distill-Qwen-32B
    ("qwen3-32b", 65.0, "host_dram", 1.184, 10.165),
    ("llama31-8b", None, "local_nvme", 0.678, 4.437),
]


@pytest.mark.parametrize("model,gb,tier,sllm_s,safetensors_s", SLLM_H100_2025)
def test_serverlessllm_h100_load_times(model, gb, tier, sllm_s, safetensors_s):
    fast = _weights_s([], model, "bf16", tier, gb)
    stock = _weights_s(["cold_start.loader=stock"], model, "bf16", tier, gb)
    assert fast == pytest.approx(sllm_s, rel=TOL)
    assert stock == pytest.approx(safetensors_s, rel=TOL)


def test_runai_streamer_block_storage_load_times():
    """Run:ai Model Streamer docs/src/benchmarks.md (0.6.0; AWS g5.12xlarge; Meta-Llama-3-8B
    BF16, one safetensors file, the architecture of the catalog's llama31-8b): 7.6 s from an
    io2 volume, 14.36 s from gp3. The block-storage tier's two rates are those two volumes
    with the streamer (its `stock` rate is gp3's, not a plain loader's)."""
    assert _weights_s([], "llama31-8b", "bf16", "block_storage") == pytest.approx(7.6, rel=TOL)
    assert _weights_s(["cold_start.loader=stock"], "llama31-8b", "bf16", "block_storage") == \
        pytest.approx(14.36, rel=TOL)


def test_runai_streamer_s3_load_time_is_bound_by_the_nodes_link():
    """Same page: 4.24 s from S3. One streamer load takes the object tier's 6 GB/s (2.7 s alone,
    37 % fast); a g5.12xlarge has a 40 Gbps network (AWS instance specification), so the
    node's link to storage, 5 GB/s, binds the load: 3.2 s, within 25 %."""
    from sim.platform.storage import FairShareBandwidth

    cfg = sim.compose([])
    w = build_catalog(cfg).models["llama31-8b"].weight_bytes("bf16")
    cap = cfg.cold_start.tiers["object_storage"].optimized_gbps * 1e9
    alone = FairShareBandwidth(cfg.cold_start.remote_backend_gbps * 1e9, cap)
    linked = FairShareBandwidth(cfg.cold_start.remote_backend_gbps * 1e9, cap, lambda _n: 40e9 / 8)
    for link in (alone, linked):
        link.start("load", "g5.12xlarge", w, 0.0)
    assert w / alone.rates["load"] < 0.75 * 4.24
    assert w / linked.rates["load"] == pytest.approx(4.24, rel=TOL)


def test_anyscale_llama2_70b_from_object_storage():
    """Anyscale blog (2023-10, CAL §4): Llama-2-70B from S3 in 4 min 25 s naive, 20 s with
    their optimized loader (the figures the object tier's two rates come from)."""
    assert _weights_s(["cold_start.loader=stock"], "llama2-70b", "bf16", "object_storage") == \
        pytest.approx(265.0, rel=TOL)
    assert _weights_s([], "llama2-70b", "bf16", "object_storage") == pytest.approx(20.0, rel=TOL)


def test_engine_init_default_against_the_vllm_logs_it_cites():
    """vLLM issue #20264 (a 3.4 GiB model, torch.compile cache reused): torch.compile 7.51 s and
    CUDA graph capture 17 s after the weights, the stages `engine_init_s` (25 s) stands for;
    the same log's whole 'init engine (profile, create kv cache, warmup model)' took 34.11 s,
    and the first response came 59 s after the pod started. Issue #19824 (Llama-70B FP8, TP8,
    nothing cached): 60 s P2P check, 15 s Dynamo, 70 s torch.compile and 60 s CUDA graphs
    besides the weights. The default matches the first and misses the others by more than the
    calibration tolerance: pinned here as a known gap (README, "Held-out figures"), so a
    change of the default shows."""
    cfg = sim.compose([])
    init = cfg.cold_start.engine_init_s
    assert init == pytest.approx(7.51 + 17.0, rel=TOL)
    assert 0.25 < 1 - init / 34.11 < 0.30  # the logged whole init: 27 % short
    assert 1 - init / (60 + 15 + 70 + 60) > 0.85  # a 70B at TP8, uncached: set it per model
