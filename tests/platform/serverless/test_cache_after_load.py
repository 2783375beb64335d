"""A node's caches hold a model's weights once a load has read them, not from the moment a
replica is placed. Two requests at t=0 on an empty one-node pool, Qwen3-32B FP8 (33 GB) from
object storage, one request a replica: the first replica downloads alone for 2 s, then the
second shares the node's link with it (4 GB/s each, the README's figure), so by hand: the
first's weights end at 3 + 21 / 4 = 8.25 s, the second's at 8.25 + 12 / 6 = 10.25 s, each
warm 25 s of engine start later (33.25 and 35.25 s), both from object storage. Until
December 2026 the second read them "from host memory" at t=2 and was warm at 28.63 s, before
the only replica fetching them."""

import pytest

import sim


def test_a_replica_placed_during_a_download_loads_from_the_remote_tier(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,100,10\n0,100,10\n")
    res = sim.run(["job=cold_start", "setups=[serverless]", "horizon_s=100",
                   "tenants={a: {model: qwen3-32b, arrival: {kind: trace, trace: {path: " + str(trace)
                   + ", format: csv, duplicates: keep}}, input: {kind: trace}, output: {kind: trace}}}",
                   "deployments={qwen3-32b: {gpu: H100, precision: fp8, tp: 1}}",
                   "serverless.autoscaler.target_concurrency=1",
                   "serverless.pool={H100: {nodes: 1, gpus_per_node: 8}}"])
    loads = res.tables["cold_starts"].sort_values("replica")
    assert list(loads["tier"]) == ["object_storage", "object_storage"]
    assert loads["warm_s"].tolist() == pytest.approx([33.25, 35.25], abs=1e-9)
    r = res.requests
    assert (r["cold_start_tier"] == "object_storage").all()
    assert r["cold_start_wait_s"].tolist() == pytest.approx([33.25, 33.25], abs=1e-9)
