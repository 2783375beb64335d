"""Exact times on tiny serverless scenarios, computed by hand from the stage model (CAL §4
bandwidths in conf) and the performance model."""

import pytest
from helpers.serverless import Harness, compose, like_8b, twin_model
from helpers.timing import DRAM, GB, NVME, OBJ, W8B, decode, prefill

ENGINES = ["fluid", "step"]


@pytest.mark.parametrize("engine", ENGINES)
def test_one_cold_start_stages_add_up(engine):
    cfg = compose([f"engine={engine}"])
    h = Harness(cfg, ["llama31-8b"]).run([(0.0, "llama31-8b", 1000, 100)], until=200)
    load = 1.0 + W8B / OBJ + 25.0  # container (image cached) + weights + engine init
    perf = h.perf("llama31-8b")
    req = h.reqs[0]
    assert req.t_first == pytest.approx(load + prefill(perf, 1000), rel=1e-12)
    assert req.t_done == pytest.approx(load + prefill(perf, 1000) + decode(perf, 1000, 100), rel=1e-12)
    assert h.log.cold_wait_s[0] == pytest.approx(load, rel=1e-12)
    assert h.log.cold_tiers.names[h.log.cold_tier[0]] == "object_storage"
    cs = h.platform.cold_starts().iloc[0]
    assert (cs.provision_s, cs.container_s, cs.init_s) == (0.0, 1.0, 25.0)
    assert cs.weights_s == pytest.approx(W8B / OBJ, rel=1e-12)
    assert cs.total_s == pytest.approx(cs.provision_s + cs.container_s + cs.weights_s + cs.init_s, rel=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_scale_to_zero_after_keepalive_then_reload_from_host_cache(engine):
    k = 30.0
    cfg = compose([f"engine={engine}", f"serverless.keepalive.idle_s={k}"])
    perf_req = (200, 2)
    h = Harness(cfg, ["llama31-8b"])
    perf = h.perf("llama31-8b")
    load1 = 1.0 + W8B / OBJ + 25.0
    t_done = load1 + prefill(perf, 200) + perf.step_time(1, 0, 200, 201)
    t2 = t_done + k + 5.0  # after the keep-alive ran out
    h.run([(0.0, "llama31-8b", *perf_req), (t2, "llama31-8b", *perf_req)], until=t2 + 100)
    assert h.reqs[0].t_done == pytest.approx(t_done, rel=1e-12)
    rows = h.close(t2 + 100)
    assert len(rows) == 2
    # the first replica stopped exactly K after its last request ended
    assert rows[0].end_s == pytest.approx(t_done + k, rel=1e-12)
    assert rows[0].loading_s == pytest.approx(load1, rel=1e-12)
    # the second request found the model cold; the weights were in the node's page cache
    load2 = 1.0 + W8B / DRAM + 25.0
    assert h.log.cold_wait_s[1] == pytest.approx(load2, rel=1e-12)
    assert h.log.cold_tiers.names[h.log.cold_tier[1]] == "host_dram"
    assert h.reqs[1].t_first == pytest.approx(t2 + load2 + prefill(perf, 200), rel=1e-12)
    # ... and the second replica scaled to zero K after its request too
    t_done2 = h.reqs[1].t_done
    assert rows[1].end_s == pytest.approx(t_done2 + k, rel=1e-12)
    assert h.platform.stats["keepalive_stops"] == 2


def test_request_within_keepalive_is_warm():
    cfg = compose(["serverless.keepalive.idle_s=30"])
    h = Harness(cfg, ["llama31-8b"])
    perf = h.perf("llama31-8b")
    t_done = 1.0 + W8B / OBJ + 25.0 + prefill(perf, 200) + perf.step_time(1, 0, 200, 201)
    t2 = t_done + 29.0
    h.run([(0.0, "llama31-8b", 200, 2), (t2, "llama31-8b", 200, 2)], until=t2 + 100)
    assert h.log.cold_wait_s[1] == 0.0
    assert h.reqs[1].t_first == pytest.approx(t2 + prefill(perf, 200), rel=1e-12)


# the backend alone binds: an unlimited node link and a backend of the per-load rate
BACKEND_ONLY = ["cold_start.remote_backend_gbps=6", "serverless.pool.H100.storage_link_gbps=inf"]


def test_shared_remote_bandwidth_two_equal_loads_take_twice_as_long():
    cfg = compose(BACKEND_ONLY, edit=twin_model)
    h = Harness(cfg, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.0, "Twin-8B", 100, 2)], until=200)
    cs = h.platform.cold_starts()
    alone = W8B / OBJ
    assert list(cs.weights_s) == pytest.approx([2 * alone, 2 * alone], rel=1e-9)
    assert list(cs.total_s) == pytest.approx([1.0 + 2 * alone + 25.0] * 2, rel=1e-9)


def test_shared_remote_bandwidth_staggered_and_unequal_loads():
    """Processor sharing, re-planned at each start and end: 8B (8.5 GB) starts at 1 s,
    qwen3-32b (33 GB) 2 s later; both share 6 GB/s until the 8B finishes."""
    cfg = compose(BACKEND_ONLY, edit=lambda c: like_8b(c, "qwen3-32b"))
    h = Harness(cfg, ["llama31-8b", "qwen3-32b"])
    h.run([(0.0, "llama31-8b", 100, 2), (2.0, "qwen3-32b", 100, 2)], until=300)
    cs = h.platform.cold_starts().set_index("model")
    # 8B alone over [1, 3): 12 GB > 8.5 GB, so it finishes before Qwen starts loading at 3 s
    assert cs.loc["llama31-8b", "weights_s"] == pytest.approx(W8B / OBJ, rel=1e-12)
    # start the 32B at 0.5 s instead: overlap. 8B alone [1, 1.5): 3 GB; then shared at 3 GB/s
    h = Harness(cfg, ["llama31-8b", "qwen3-32b"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.5, "qwen3-32b", 100, 2)], until=300)
    cs = h.platform.cold_starts().set_index("model")
    w32 = 33.0 * GB
    t8 = 1.5 + (W8B - 3.0 * GB) / (OBJ / 2)  # 8B done
    moved32 = (t8 - 1.5) * OBJ / 2
    t32 = t8 + (w32 - moved32) / OBJ
    assert 1.0 + cs.loc["llama31-8b", "weights_s"] == pytest.approx(t8, rel=1e-9)
    assert 1.5 + cs.loc["qwen3-32b", "weights_s"] == pytest.approx(t32, rel=1e-9)


def test_node_links_two_loads_on_two_nodes_run_at_full_rate_on_one_node_halve():
    """Default links: 8 GB/s per node, backend 100 GB/s, each load at most OBJ (6 GB/s).
    One-GPU nodes: the two loads land on two nodes and each streams at 6 (min(8, 100/2, 6));
    on one two-GPU node they share its 8 GB/s link, 4 each."""
    two = compose(["serverless.pool.H100.nodes=2", "serverless.pool.H100.gpus_per_node=1"],
                  edit=twin_model)
    h = Harness(two, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.0, "Twin-8B", 100, 2)], until=200)
    cs = h.platform.cold_starts()
    assert sorted(cs.node) == [0, 1]
    assert list(cs.weights_s) == pytest.approx([W8B / OBJ] * 2, rel=1e-12)
    one = compose(["serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=2"],
                  edit=twin_model)
    h = Harness(one, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.0, "Twin-8B", 100, 2)], until=200)
    cs = h.platform.cold_starts()
    assert list(cs.node) == [0, 0]
    assert list(cs.weights_s) == pytest.approx([W8B / (4.0 * GB)] * 2, rel=1e-12)
    # the backend binds across nodes: backend 6 GB/s, two nodes -> 3 each
    tight = compose(["serverless.pool.H100.nodes=2", "serverless.pool.H100.gpus_per_node=1",
                     "cold_start.remote_backend_gbps=6"], edit=twin_model)
    h = Harness(tight, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.0, "Twin-8B", 100, 2)], until=200)
    assert list(h.platform.cold_starts().weights_s) == pytest.approx([W8B / (3.0 * GB)] * 2, rel=1e-12)


def test_node_link_staggered_loads_exact_times():
    """One two-GPU node (link 8 GB/s, each load at most 6): the 8B's weights start at 1 s
    (after the container), the twin's at 1.5 s. [1, 1.5): 8B alone at 6 -> 3 GB moved;
    then both at 4 (the link halves): the 8B's last 5.5 GB take 1.375 s, done at 2.875;
    the twin moved 5.5 GB by then, its last 3 GB alone at 6 take 0.5 s, done at 3.375."""
    cfg = compose(["serverless.pool.H100.nodes=1", "serverless.pool.H100.gpus_per_node=2"],
                  edit=twin_model)
    h = Harness(cfg, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.5, "Twin-8B", 100, 2)], until=200)
    cs = h.platform.cold_starts().set_index("model")
    assert 1.0 + cs.loc["llama31-8b", "weights_s"] == pytest.approx(2.875, rel=1e-9)
    assert 1.5 + cs.loc["Twin-8B", "weights_s"] == pytest.approx(3.375, rel=1e-9)


def test_local_tiers_are_not_shared_and_preloaded_nvme_is_used():
    cfg = compose(["cold_start.preloaded_tier=local_nvme"], edit=twin_model)
    h = Harness(cfg, ["llama31-8b", "Twin-8B"])
    h.run([(0.0, "llama31-8b", 100, 2), (0.0, "Twin-8B", 100, 2)], until=200)
    cs = h.platform.cold_starts()
    assert list(cs.tier) == ["local_nvme", "local_nvme"]
    assert list(cs.weights_s) == pytest.approx([W8B / NVME] * 2, rel=1e-12)


def test_node_provisioning_and_image_pull_stages():
    """An empty pool that may grow: the first replica waits for a node and pulls the image."""
    cfg = compose(["serverless.pool.H100.nodes=0", "serverless.pool.H100.max_nodes=1"])
    h = Harness(cfg, ["llama31-8b"]).run([(0.0, "llama31-8b", 100, 2)], until=400)
    cs = h.platform.cold_starts().iloc[0]
    assert (cs.provision_s, cs.container_s) == (120.0, 1.0 + 20.0)
    assert h.log.cold_wait_s[0] == pytest.approx(120 + 21 + W8B / OBJ + 25, rel=1e-12)
    assert h.platform.stats["nodes_provisioned"] == 1


def test_gpu_snapshot_tier_cuts_init():
    k = 10.0
    cfg = compose(["cold_start.snapshots=true", f"serverless.keepalive.idle_s={k}"])
    h = Harness(cfg, ["llama31-8b"])
    h.run([(0.0, "llama31-8b", 100, 2), (200.0, "llama31-8b", 100, 2)], until=400)
    cs = h.platform.cold_starts()
    assert list(cs.tier) == ["object_storage", "gpu_snapshot"]
    assert cs.init_s.iloc[1] == pytest.approx(25.0 / 10.0)
    assert cs.weights_s.iloc[1] == pytest.approx(W8B / DRAM, rel=1e-12)


def test_hybrid_policy_prewarms_a_periodic_model_just_in_time():
    """A request every 600 s. Until 10 idle times are known the hybrid policy falls back to
    the fixed 60 s (every request is cold); then all idle times sit in the 540-600 s bin:
    pre-warm = 540 x 0.9 = 486 s, keep-alive = 600 x 1.1 - 486 = 174 s. The model is unloaded
    as soon as it idles and re-loaded so that it is warm 486 s later: no more cold starts,
    and the GPU is held ~140 s per 600 s cycle instead of 600 s."""
    cfg = compose(["serverless.keepalive.kind=hybrid", "serverless.keepalive.idle_s=60"])
    h = Harness(cfg, ["llama31-8b"])
    h.run([(600.0 * k, "llama31-8b", 100, 2) for k in range(16)], until=16 * 600.0)
    cold = h.log.cold_wait_s[:16]
    assert (cold[:11] > 0).all() and (cold[11:] == 0).all()
    assert h.platform.keepalive.windows(0) == (pytest.approx(486.0), pytest.approx(174.0))
    rows = h.close(16 * 600.0)
    dram_load = 1.0 + W8B / DRAM + 25.0  # the lead time: the last load's duration
    for k in range(11, 16):
        row = rows[k]
        t_idle = h.reqs[k - 1].t_done
        assert row.start_s == pytest.approx(t_idle + 486.0 - dram_load, rel=1e-12)
        assert row.loading_s == pytest.approx(dram_load, rel=1e-12)
        assert row.end_s == pytest.approx(h.reqs[k].t_done, rel=1e-12)  # unloaded at once
    assert h.platform.stats["prewarms"] >= 5


def test_platform_serves_a_subset_of_models_with_its_own_callbacks():
    """What a hybrid setup embeds: the platform for model index 1 only, ending requests
    through the embedder's callbacks (each exactly once)."""
    import simpy

    from sim.engine import Request
    from sim.errors import InvariantError
    from sim.platform.base import RunContext
    from sim.platform.serverless import ServerlessPlatform
    from sim.records import RequestLog
    from sim.simulation.build import build

    built = build(compose(["serverless.max_wait_s=5"]), workload=False)
    env = simpy.Environment()
    ctx = RunContext(env=env, log=RequestLog(8), engine="fluid", perf_for=built.perf_for,
                     deployment_for=built.deployment_for)
    ended = []
    p = ServerlessPlatform(ctx, built.cfg, built.catalog, {1: "llama31-8b"}, tier="serverless",
                           finish=lambda r, now: ended.append((r.id, "done", now)),
                           reject=lambda r, why: ended.append((r.id, why, env.now)))
    p.submit(Request(0, 0, 1, 0.0, 100, 2))  # waits for a cold start longer than 5 s
    with pytest.raises(InvariantError):
        p.submit(Request(1, 0, 0, 0.0, 100, 2))  # model 0 is served elsewhere
    env.run(until=50)
    assert ended == [(0, "timeout_cold_start", 5.0)]
    # the load went on without demand: warm at 27.4 s, kept 60 s by the keep-alive
    p.submit(Request(2, 0, 1, 50.0, 100, 2))
    env.run(until=200)
    assert [e[:2] for e in ended] == [(0, "timeout_cold_start"), (2, "done")]
    assert ctx.log.cold_wait_s[0] == pytest.approx(5.0) and ctx.log.cold_wait_s[2] == 0.0


def test_preload_gaps_name_the_cache_too_small_and_the_one_given_up():
    """Host DRAM 10 GB, NVMe 20 GB; A (8 GB) then B (15 GB) preloaded at host_dram: B is over
    the page cache (held on NVMe only), and B pushed A out of the NVMe cache (8 + 15 > 20), so
    A is in DRAM only. Until December 2026 both went unsaid."""
    from sim.platform.serverless.eviction import LruEviction
    from sim.platform.serverless.nodes import NodeClass, NodePool

    pool = NodePool({"H100": NodeClass(8, 2, 10.0, 20.0)}, LruEviction(), False, 0.0)
    pool.add_node("H100", 0.0, True)
    pool.add_node("H100", 0.0, True)
    for m, size in ((0, 8e9), (1, 15e9)):
        pool.preload("H100", m, size, "host_dram")
    gaps = pool.preload_gaps([("H100", 0, 8e9), ("H100", 1, 15e9)], "host_dram")
    assert gaps == [("H100", 0, 8e9, "host_dram", [("local_nvme", 20e9, False)]),
                    ("H100", 1, 15e9, "local_nvme", [("host_dram", 10e9, True)])]
    assert pool.preload_gaps([("H100", 0, 8e9)], "local_nvme") == \
        [("H100", 0, 8e9, "host_dram", [("local_nvme", 20e9, False)])]


def test_a_preload_no_cache_holds_is_said_with_where_the_load_reads():
    """``preloaded_tier=host_dram`` with both caches 0 GB: every load reads object storage,
    which the run now says (it was silent, README: "every node holds the weights at t=0")."""
    import sim

    res = sim.run(["setups=[serverless]", "horizon_s=5", "cold_start.preloaded_tier=host_dram",
                   "serverless.pool.H100.dram_cache_gb=0", "serverless.pool.H100.nvme_cache_gb=0",
                   "output.progress=false"])
    lines = [n for n in res.notes if "cold_start.preloaded_tier=host_dram" in n]
    assert len(lines) == 1, res.notes
    assert "llama31-8b" in lines[0] and "dram_cache_gb=0" in lines[0] and "nvme_cache_gb=0" in lines[0]
    assert lines[0].endswith("reads object_storage"), lines[0]
