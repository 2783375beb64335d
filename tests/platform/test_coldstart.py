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
