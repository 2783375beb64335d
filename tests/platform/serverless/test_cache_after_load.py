"""A node's caches hold a model's weights once a load has read them, not from the moment a
replica is placed, and a node downloads a model's weights once. Two requests at t=0 on an
empty one-node pool, Qwen3-32B FP8 (33 GB) from object storage, one request a replica: the
first replica downloads alone at the loader's 6 GB/s from its container's start (1 s), so its
weights end at 1 + 33 / 6 = 6.5 s and it is warm 25 s of engine start later, at 31.5 s; the
second, placed at the t=2 tick, reaches its weight stage at 3 s while the download runs,
waits for it and reads the weights from host memory: 6.5 + 33 / 52 + 25 = 32.13 s. Its cold
start waited on the remote download, so its tier is object storage.

Until December 2026 the second read them "from host memory" at t=2 and was warm at 28.63 s,
before the only replica fetching them; later that month it downloaded them a second time
beside the first, sharing the node's link (4 GB/s each): warm at 33.25 and 35.25 s."""

import pytest
from helpers.timing import DRAM, GB, OBJ, W8B

import sim

Q32 = 33.0 * GB  # Qwen3-32B FP8 weights (the catalog)


def _two_qwen(tmp_path, node: str):
    """Two Qwen3-32B FP8 requests at t=0 on one empty 8-GPU node (``node``: more of its
    keys), a replica each."""
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,100,10\n0,100,10\n")
    return sim.run(["job=cold_start", "setups=[serverless]", "horizon_s=100",
                    "tenants={a: {model: qwen3-32b, arrival: {kind: trace, trace: {path: " + str(trace)
                    + ", format: csv, duplicates: keep}}, input: {kind: trace}, output: {kind: trace}}}",
                    "deployments={qwen3-32b: {gpu: H100, precision: fp8, tp: 1}}",
                    "serverless.autoscaler.target_concurrency=1",
                    "serverless.pool={H100: {nodes: 1, gpus_per_node: 8" + node + "}}",
                    "output.plots=false", "output.report=false"], output_dir=tmp_path / "out")


def test_a_replica_placed_during_a_download_waits_for_it_not_downloads_again(tmp_path):
    res = _two_qwen(tmp_path, "")
    loads = res.tables["cold_starts"].sort_values("replica")
    assert list(loads["tier"]) == ["object_storage", "object_storage"]
    assert loads["warm_s"].tolist() == pytest.approx([1 + Q32 / OBJ + 25, 1 + Q32 / OBJ + Q32 / DRAM + 25],
                                                      abs=1e-9)
    r = res.requests
    assert (r["cold_start_tier"] == "object_storage").all()
    assert r["cold_start_wait_s"].tolist() == pytest.approx([31.5, 31.5], abs=1e-9)


def test_with_no_cache_to_keep_them_each_load_downloads_its_own(tmp_path):
    """The same two replicas on a node whose caches (1 GB each) cannot keep 33 GB: waiting
    for the first download would leave the second to download alone after it, so each
    downloads its own, sharing the node's link: the first alone at 6 GB/s from 1 s to 3 s
    (12 GB), then both at 4 GB/s, so the first's weights end at 3 + 21 / 4 = 8.25 s and the
    second's at 8.25 + 12 / 6 = 10.25 s, warm 25 s later (33.25 and 35.25 s). Until December
    2026 (a first version of the shared download) the second waited, then downloaded alone:
    with four replicas the last was warm at 48 s against 43 s."""
    res = _two_qwen(tmp_path, ", dram_cache_gb: 1, nvme_cache_gb: 1")
    loads = res.tables["cold_starts"].sort_values("replica")
    assert list(loads["tier"]) == ["object_storage", "object_storage"]
    assert loads["warm_s"].tolist() == pytest.approx(
        [3 + (Q32 - 2 * OBJ) / (4 * GB) + 25, 3 + (Q32 - 2 * OBJ) / (4 * GB) + 12 * GB / OBJ + 25],
        abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("n", [2, 4])
def test_the_tier_is_the_nodes_when_the_weight_stage_starts(tmp_path, engine, n):
    """``n`` requests at t=0 for llama31-8b FP8 (8.5 GB) on one node, a replica each: the
    first (placed at once) downloads alone, 1 + 8.5 / 6 = 2.42 s; the others are placed at
    the t=2 tick and start their weight stage at 3 s, when the node's page cache holds the
    weights: each reads them from host memory, warm at 2 + 1 + 8.5 / 52 + 25 = 28.16 s.
    Until December 2026 the tier was taken at placement (t=2, remote): 27.42 s for one,
    and three sharing the node's 8 GB/s link took 3.19 s each instead of 0.16 s."""
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n" + "0,100,10\n" * n)
    res = sim.run([f"engine={engine}", "job=cold_start", "setups=[serverless]", "horizon_s=100",
                   "tenants={a: {model: llama31-8b, arrival: {kind: trace, trace: {path: "
                   + str(trace) + ", format: csv, duplicates: keep}}, input: {kind: trace},"
                   " output: {kind: trace}}}",
                   "serverless.autoscaler.target_concurrency=1",
                   "serverless.pool={H100: {nodes: 1, gpus_per_node: 8}}"],
                  output_dir=tmp_path / "out")
    loads = res.tables["cold_starts"].sort_values("replica")
    assert list(loads["tier"]) == ["object_storage"] + ["host_dram"] * (n - 1)
    assert list(loads["start_s"]) == [0.0] + [2.0] * (n - 1)
    assert loads["warm_s"].tolist() == pytest.approx(
        [1 + W8B / OBJ + 25] + [2 + 1 + W8B / DRAM + 25] * (n - 1), abs=1e-9)
