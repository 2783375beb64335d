"""Tensor-parallel scaling: the all-reduce from message size, link rate and latency, and
the step time of a TP sweep against published figures no factor was fitted to
(conf/tp_sweeps.yaml: NeMo Framework Llama-2-7B, TP 1/2/4/8, batch 1-8, 128 in / 20 out)."""

from dataclasses import replace

import pytest

from sim.analysis.tp_scaling import batch_latency_s, load_sweeps, tp_table
from sim.perf import Deployment, RooflinePerf, allreduce_time, link_bandwidth
from sim.perf.collectives import nvls_chunk_bytes


def test_allreduce_time_by_hand(catalog):
    """A 4 MiB all-reduce over 4 H100s: 6 steps of 0.8 us after a fixed 6 us, and
    2 x 3/4 of the message at 0.82 x 450 GB/s."""
    g = replace(catalog.gpus["H100"], allreduce_latency_s=6e-6, allreduce_step_latency_s=0.8e-6,
                allreduce_efficiency=0.82, interconnect_gbps=450.0, interconnect_links=0,
                allreduce_ll_fraction=1.0)  # one protocol
    msg = 4 * 2**20
    expect = 6e-6 + 6 * 0.8e-6 + 1.5 * msg / (0.82 * 450e9)
    assert allreduce_time(g, 4, msg) == pytest.approx(expect, rel=1e-12)
    # 10.8 us of latency + 6,291,456 B at 369 GB/s (17.05 us), worked out on paper
    assert expect == pytest.approx(27.85e-6, rel=1e-3)
    assert allreduce_time(g, 1, msg) == 0.0
    # latency grows with the group, the transfer tends to twice the message
    assert allreduce_time(g, 8, 0) == pytest.approx(6e-6 + 14 * 0.8e-6)
    assert allreduce_time(g, 8, msg) - allreduce_time(g, 8, 0) == pytest.approx(
        1.75 * msg / (0.82 * 450e9))


def test_two_protocols_by_hand(catalog):
    """With a low-latency protocol at 0.43 of the rate and a bulk one at 8.4 us + 3.4 us a step
    (the H100's figures), a 1 MiB all-reduce over 4 GPUs takes the first and 16 MiB the second:
    10.8 us + 1,572,864 B at 158.7 GB/s (9.91 us) against 28.8 us + 4.26 us; 10.8 + 158.5 us
    against 28.8 + 68.2 us; worked out on paper."""
    g = replace(catalog.gpus["H100"], allreduce_latency_s=6e-6, allreduce_step_latency_s=0.8e-6,
                allreduce_efficiency=0.82, interconnect_gbps=450.0, interconnect_links=0,
                allreduce_ll_fraction=0.43, allreduce_simple_latency_s=8.4e-6,
                allreduce_simple_step_latency_s=3.4e-6)
    mib = 2**20
    assert allreduce_time(g, 4, mib) == pytest.approx(20.71e-6, rel=1e-3)
    assert allreduce_time(g, 4, mib, "simple") == pytest.approx(33.06e-6, rel=1e-3)
    assert allreduce_time(g, 4, 16 * mib) == pytest.approx(96.98e-6, rel=1e-3)
    assert allreduce_time(g, 4, 16 * mib, "ll") == pytest.approx(169.4e-6, rel=1e-3)
    # the faster of the two, at every size
    for size in (0, 1e3, 1e5, 1e6, 3e6, 1e7, 1e9):
        both = allreduce_time(g, 4, size, "ll"), allreduce_time(g, 4, size, "simple")
        assert allreduce_time(g, 4, size) == min(both)


def _h100_like(catalog, **kw):
    """The H100's all-reduce figures written out, so the hand calculations below do not move
    with the catalog."""
    return replace(catalog.gpus["H100"], allreduce_latency_s=6e-6, allreduce_step_latency_s=0.8e-6,
                   allreduce_efficiency=0.82, interconnect_gbps=450.0, interconnect_links=0,
                   allreduce_ll_fraction=0.43, allreduce_simple_latency_s=8.4e-6,
                   allreduce_simple_step_latency_s=3.4e-6, allreduce_nvls_min_gpus=5,
                   allreduce_nvls_latency_s=25e-6, allreduce_nvls_efficiency=0.85,
                   **{"allreduce_nvls_channels": 16, **kw})


def test_nvls_by_hand(catalog):
    """NVLink SHARP over 8 GPUs: 25 us whatever the group, and the message at 369 GB/s x 0.85
    x 8/9 = 278.8 GB/s (each GPU's port carries the message and 1/8 of it more). Without the
    pipeline fill (allreduce_nvls_channels 0), 8 MiB: 25 + 8,388,608 B / 278.8 GB/s (30.09
    us) = 55.09 us; 0 B: 25 us; worked out on paper."""
    g = _h100_like(catalog, allreduce_nvls_channels=0)
    mib = 2**20
    assert allreduce_time(g, 8, 8 * mib, "nvls") == pytest.approx(55.09e-6, rel=1e-3)
    assert allreduce_time(g, 8, 0, "nvls") == pytest.approx(25e-6)
    assert allreduce_time(g, 2, 0, "nvls") == allreduce_time(g, 8, 0, "nvls")
    # the rate grows with the group as p / (p + 1): 4 GPUs 250.7 GB/s, 8 GPUs 278.8
    gb = 8 * 2**30
    assert gb / (allreduce_time(g, 4, gb, "nvls") - 25e-6) == pytest.approx(250.7e9, rel=1e-3)
    assert gb / (allreduce_time(g, 8, gb, "nvls") - 25e-6) == pytest.approx(278.8e9, rel=1e-3)


def test_nvls_chunks_and_pipeline_fill_by_hand(catalog):
    """Issue 18: NCCL cuts an NVLS all-reduce into 128 KiB chunks, halved to 64, 32 and 16 KiB
    below 64, 8 and 2 chunks for each of its 16 channels and each GPU (src/enqueue.cc): on 8
    GPUs (128 chunks a loop) below 1 GiB, 64 MiB and 8 MiB. Each channel is a three-stage
    pipeline (scatter, switch reduce and multicast, gather), so the first loop (128 chunks, or
    the whole message if smaller) crosses two stages more: 8 MiB (32 KiB chunks, a 4 MiB
    loop) = 25 + (8 + 2 x 4) MiB / 278.8 GB/s = 85.18 us; 2 MiB (16 KiB, a 2 MiB loop) = 25 +
    6 MiB / 278.8 = 47.57 us; 1 MiB (less than a loop) = 25 + 3 MiB / 278.8 = 36.28 us; 8 GiB
    (128 KiB, 16 MiB loop) 0.4 % above the line without the fill; worked out on paper."""
    g, mib = _h100_like(catalog), 2**20
    for size, chunk in ((2**30, 128 << 10), (2**30 - 1, 64 << 10), (64 * mib, 64 << 10),
                        (64 * mib - 1, 32 << 10), (8 * mib, 32 << 10), (8 * mib - 1, 16 << 10),
                        (1, 16 << 10)):
        assert nvls_chunk_bytes(g, 8, size) == chunk, size
    assert nvls_chunk_bytes(g, 4, 32 * mib - 1) == 32 << 10  # 64 chunks a loop on 4 GPUs
    for size, us in ((8 * mib, 85.18), (2 * mib, 47.57), (mib, 36.28)):
        assert allreduce_time(g, 8, size, "nvls") == pytest.approx(us * 1e-6, rel=1e-3), size
    gb = 8 * 2**30
    flat = replace(g, allreduce_nvls_channels=0)
    assert allreduce_time(g, 8, gb, "nvls") / allreduce_time(flat, 8, gb, "nvls") == pytest.approx(
        1 + 32 * mib / (gb + 25e-6 * 278.8e9), rel=1e-4)


def test_the_protocol_nccl_would_pick(catalog):
    """Over 8 GPUs: LL for 512 KiB (17.2 + 5.8 us against NVLS's 25 + 5.6 with its fill) and
    for 2 MiB (17.2 + 23.1 us against NVLS's 25 + 22.6 and Simple's 56.0 + 9.9), NVLS for 4 MiB
    (25 + 30.1 us against LL's 17.2 + 46.3 and Simple's 56.0 + 19.9). Over 4 GPUs NVLS without
    its fill would be the faster on paper at 16 MiB (25 + 66.9 us against Simple's 28.8 +
    68.2), but NCCL's tuner picks Ring there (NVLS from 5 GPUs: the catalog's
    allreduce_nvls_min_gpus), so the group takes Simple; worked out on paper."""
    g = _h100_like(catalog)
    mib = 2**20
    at = {p: allreduce_time(g, 8, 512 * 1024, p) for p in ("ll", "simple", "nvls")}
    assert allreduce_time(g, 8, 512 * 1024) == at["ll"] == pytest.approx(23.0e-6, rel=1e-2)
    assert at["nvls"] == pytest.approx(30.64e-6, rel=1e-3)
    at = {p: allreduce_time(g, 8, 2 * mib, p) for p in ("ll", "simple", "nvls")}
    assert allreduce_time(g, 8, 2 * mib) == at["ll"] == pytest.approx(40.33e-6, rel=1e-3)
    assert at["nvls"] == pytest.approx(47.57e-6, rel=1e-3)
    assert at["simple"] == pytest.approx(65.95e-6, rel=1e-3)
    at = {p: allreduce_time(g, 8, 4 * mib, p) for p in ("ll", "simple", "nvls")}
    assert allreduce_time(g, 8, 4 * mib) == at["nvls"] == pytest.approx(55.09e-6, rel=1e-3)
    assert at["ll"] == pytest.approx(63.46e-6, rel=1e-3)
    flat = replace(g, allreduce_nvls_channels=0)
    four = allreduce_time(flat, 4, 16 * mib)
    assert four == allreduce_time(flat, 4, 16 * mib, "simple") == pytest.approx(96.98e-6, rel=1e-3)
    assert allreduce_time(flat, 4, 16 * mib, "nvls") < four
    assert allreduce_time(g, 5, 4 * mib) == allreduce_time(g, 5, 4 * mib, "nvls")
    # the fastest of the three from 5 GPUs, of LL and Simple below; none without the switch
    for size in (0, 1e3, 1e5, 1e6, 3e6, 1e7, 1e9):
        for p in (2, 4, 5, 8):
            ways = ("ll", "simple", "nvls") if p >= 5 else ("ll", "simple")
            assert allreduce_time(g, p, size) == min(allreduce_time(g, p, size, w) for w in ways)
        ring = replace(g, allreduce_nvls_min_gpus=0)
        assert allreduce_time(ring, 8, size) == min(allreduce_time(g, 8, size, w)
                                                    for w in ("ll", "simple"))


# NVLS-only all-reduce rates measured at 256 MB-8 GB (algbw, GB/s): NCCL_ALGO=NVLS on 2, 4 and
# 6 H100s (waynehacking8/nccl-collectives-bench results/scaling_attributed/report.md, NCCL
# 2.29.2) and NCCL's maintainer's figure for 8 (nccl-tests issue #212: algbw about 275, busbw
# about 480). No catalog figure was read from them (0.85 is NCCL's own nvlsEfficiency).
NVLS_ALGBW_H100 = {2: 207.0, 4: 251.0, 6: 266.0, 8: 275.0}


def test_nvls_rates_reproduce_the_measured_peaks(catalog):
    """Within 3 % of the NVLS-only peak rates measured on 2-8 H100s, and on 8 B200s within
    1 % of the 830 GB/s bus bandwidth NCCL issue #1807 reports (busbw = 2 (p - 1) / p x
    bytes / time); the A100, L40S and MI300X have no NVLS."""
    h, b = catalog.gpus["H100"], catalog.gpus["B200"]
    gb = 8 * 2**30
    for p, algbw in NVLS_ALGBW_H100.items():
        assert gb / allreduce_time(h, p, gb, "nvls") == pytest.approx(algbw * 1e9, rel=0.03), p
    assert 1.75 * gb / allreduce_time(b, 8, gb) == pytest.approx(830e9, rel=0.01)
    assert catalog.gpus["H200"].allreduce_nvls_min_gpus == h.allreduce_nvls_min_gpus == 5
    for key in ("A100", "L40S", "MI300X"):
        assert catalog.gpus[key].allreduce_nvls_min_gpus == 0, key


# NCCL_ALGO=NVLS all_reduce_perf out-of-place times (us) at 256 MiB-8 GiB on 2, 4 and 6 H100s
# of one HGX node, NCCL 2.29.2, one process (waynehacking8/nccl-collectives-bench
# results/scaling_attributed/g{2,4,6}_NVLS.log). No catalog figure was read from them.
NVLS_H100_US = {
    2: {256: 1346.13, 512: 2637.55, 1024: 5218.49, 2048: 10390.2, 4096: 20755.9, 8192: 41499.2},
    4: {256: 1147.23, 512: 2207.35, 1024: 4338.45, 2048: 8591.51, 4096: 17129.1, 8192: 34158.9},
    6: {256: 1112.35, 512: 2192.43, 1024: 4218.90, 2048: 8280.62, 4096: 16315.8, 8192: 32307.8},
}


def test_the_nvls_pipeline_fill_reproduces_nvls_runs_on_2_4_6_gpus(catalog):
    """With the fill of NVLS's pipeline (NCCL's chunks: 64 KiB below 256 / 512 / 768 MiB on 2
    / 4 / 6 GPUs, 128 KiB above) every run is within 6 % (-5.6 to +1.1 % when written);
    without it the 6-GPU runs at 256 MiB-1 GiB were 4.7-8.0 % fast."""
    h = catalog.gpus["H100"]
    flat = replace(h, allreduce_nvls_channels=0)
    worst_flat = 0.0
    for p, rows in NVLS_H100_US.items():
        for mib, us in rows.items():
            size = mib * 2**20
            assert abs(1e6 * allreduce_time(h, p, size, "nvls") / us - 1) < 0.06, (p, mib)
            worst_flat = max(worst_flat, abs(1e6 * allreduce_time(flat, p, size, "nvls") / us - 1))
    assert worst_flat > 0.07


# nccl-tests all_reduce_perf on 4 H100 SXM of an HGX node behind NVSwitch, NCCL 2.29.2
# (waynehacking8/nccl-collectives-bench: results/all_reduce.txt, one process driving the four
# GPUs, no CUDA graph; results/symmetric/all_reduce_reg0_graph1.txt, CUDA graph), out-of-place
# times in us by message size in MiB. No catalog figure was read from them.
H100_X4_EAGER = {2: 31.27, 4: 43.41, 8: 62.88, 16: 102.10, 32: 176.20, 64: 325.86, 128: 617.77}
H100_X4_GRAPH = {4: 47.78, 8: 67.73, 16: 105.81}


def test_h100_allreduce_reproduces_the_published_4_gpu_measurements(catalog):
    """At the sizes a saturated TP4 decode batch sends (about 250-1,000 tokens of a 70B
    model: 4-16 MiB) the all-reduce is within 10 % of what nccl-tests measured on four H100s,
    eager and under a CUDA graph, and so up to 128 MiB (a prefill chunk); the single ring of
    the LL protocol, as the model had it before, was 36 % short at 4 MiB and 23 % at 16."""
    h = catalog.gpus["H100"]
    for runs in (H100_X4_EAGER, H100_X4_GRAPH):
        for mib, us in runs.items():
            assert allreduce_time(h, 4, mib * 2**20) * 1e6 == pytest.approx(us, rel=0.10), mib
    ll_only = replace(h, allreduce_ll_fraction=1.0)
    assert allreduce_time(ll_only, 4, 4 * 2**20) * 1e6 < 0.7 * H100_X4_EAGER[4]
    # small messages keep the LL figures (the latency sources in the catalog)
    assert allreduce_time(h, 4, 0) == allreduce_time(ll_only, 4, 0)


def test_a100_allreduce_reproduces_the_published_nccl_tests(catalog):
    """The A100's catalog figures against the all_reduce_perf measurements they were read
    from or checked on (sources in conf/catalog/default.yaml): 10.14 us for 32 B over 2 GPUs
    (NCCL issue #583), 16.96 us for 1 KB over 8 (MSCCL++ NDmv4 page), and a bus bandwidth of
    231.45 GB/s for 1 GB over 8 (same page; busbw = 2 (p - 1) / p x bytes / time)."""
    a = catalog.gpus["A100"]
    assert allreduce_time(a, 2, 32) == pytest.approx(10.14e-6, rel=0.03)
    assert allreduce_time(a, 8, 1024) == pytest.approx(16.96e-6, rel=0.03)
    busbw = 1.75 * 1e9 / allreduce_time(a, 8, 1e9)
    assert busbw == pytest.approx(231.45e9, rel=0.03)
    # the latency grows with the group: the 4-GPU figure lies between the two measured ones
    assert allreduce_time(a, 2, 32) < allreduce_time(a, 4, 32) < allreduce_time(a, 8, 32)


def test_nvlink_rates_follow_nccls_own_model(catalog):
    """The achieved NVLink rate of each NVSwitch GPU class is the bus bandwidth NCCL's tuning
    model assumes for it (src/graph/topo.h and tuning.cc, cited in the catalog): 370 GB/s on
    Hopper, 235 on Ampere, 18 links x 40.1 = 721.8 on Blackwell."""
    for gpu, nccl_busbw in (("H100", 370e9), ("A100", 235e9), ("B200", 721.8e9)):
        assert link_bandwidth(catalog.gpus[gpu], 8) == pytest.approx(nccl_busbw, rel=0.01), gpu


def test_a_mesh_uses_only_the_links_to_its_peers(catalog):
    """MI300X: 7 Infinity Fabric links of 64 GB/s each way, no switch: two GPUs share one
    link, eight use all seven; an NVSwitch GPU has its full rate at any group size."""
    mi = catalog.gpus["MI300X"]
    assert mi.interconnect_links == 7
    per_link = mi.interconnect_gbps * 1e9 * mi.allreduce_efficiency / 7
    assert link_bandwidth(mi, 2) == pytest.approx(per_link)
    assert link_bandwidth(mi, 4) == pytest.approx(3 * per_link)
    assert link_bandwidth(mi, 8) == pytest.approx(7 * per_link)
    h = catalog.gpus["H100"]
    assert link_bandwidth(h, 2) == link_bandwidth(h, 8) == pytest.approx(450e9 * h.allreduce_efficiency)


# GPUs of one interconnect domain, typed from the platforms' own pages (not the catalog):
# HGX/DGX H100, H200, A100 and B200 boards of 8; the MI300X platform of 8 (7 links each,
# one to every other); L40S hosts of 8 on PCIe (AWS g6e.48xlarge)
DOMAINS = {"H100": 8, "H200": 8, "B200": 8, "A100": 8, "L40S": 8, "MI300X": 8}


@pytest.mark.parametrize("gpu", sorted(DOMAINS))
def test_each_gpu_class_has_its_platforms_interconnect_domain(catalog, gpu):
    g = catalog.gpus[gpu]
    assert g.domain_gpus == DOMAINS[gpu]
    assert "domain" in g.sources
    if g.interconnect_links:  # a direct mesh: every GPU of the domain one link from the others
        assert g.domain_gpus == g.interconnect_links + 1


def test_step_time_carries_two_allreduces_per_layer(catalog):
    m, g = catalog.models["llama33-70b"], catalog.gpus["H100"]
    args = (300, 700, 200_000, 400_000)
    for tp in (2, 4, 8):
        p = RooflinePerf(Deployment(m, g, "fp8", "fp8", tp))
        free = replace(g, allreduce_latency_s=0.0, allreduce_step_latency_s=0.0, interconnect_gbps=1e12)
        q = RooflinePerf(Deployment(m, free, "fp8", "fp8", tp))
        comm = 2 * m.layers * allreduce_time(g, tp, 1000 * m.hidden * 2.0)
        assert p.step_time(*args) - q.step_time(*args) == pytest.approx(comm, rel=1e-6, abs=1e-6)


def test_batch_latency_is_a_prefill_then_decodes(catalog):
    m, g = catalog.models["llama2-7b"], catalog.gpus["H100"]
    perf = RooflinePerf(Deployment(m, g, "bf16", "bf16", 2))
    t = perf.step_time(0, 256, 0, 2 * 128 * 129 / 2)
    t += sum(perf.step_time(2, 0, 2 * (127 + j), 2 * (128 + j)) for j in range(1, 20))
    assert batch_latency_s(perf, 2, 128, 20) == pytest.approx(t, rel=1e-12)


@pytest.fixture(scope="module")
def table(catalog):
    return tp_table(catalog)


def test_the_sweep_covers_tp_1_to_8_on_one_model(table):
    sw = load_sweeps()
    assert sw["tp"] == [1, 2, 4, 8] and sw["model"] == "llama2-7b"
    assert len(table) == 2 * 4 * 4
    assert "nemo-framework" in sw["source"]


# Stated tolerances (README, "Tensor parallelism"): on the H100 (the GPU class the
# all-reduce figures were measured on) the predicted speed-up over TP1 within 15 % and every
# latency within 30 % (the sweep's 2023 software stack is slower per sequence than the
# tuned runtime the factors describe: its batch-8 rows cost 45 ms more than batch 1 at TP1,
# the model 24 ms). The A100 (all-reduce figures from A100 micro-benchmarks, which do not
# explain the sweep) is held to 50 %: its published speed-ups stop growing sooner than the
# model's (TP8 1.71-1.81x, model 2.1-2.4x).
def test_h100_tp_speedups_match_the_published_sweep(table):
    h = table[table["gpu"] == "H100"]
    assert h["speedup_error_pct"].abs().max() < 15, h.to_string()
    assert h["error_pct"].abs().max() < 30, h.to_string()


def test_a100_tp_speedups_within_the_looser_bound(table):
    a = table[table["gpu"] == "A100"]
    assert a["speedup_error_pct"].abs().max() < 50, a.to_string()


def test_more_gpus_never_predicted_slower_than_published_scaling_allows(table):
    """The published latency falls with every doubling of TP; so does the model's, and by
    less than the weights' share (the overheads and all-reduces do not shard)."""
    for (_gpu, _b), grp in table.groupby(["gpu", "batch"]):
        pred = grp.sort_values("tp")["predicted_ms"].to_numpy()
        pub = grp.sort_values("tp")["published_ms"].to_numpy()
        assert (pub[1:] < pub[:-1]).all() and (pred[1:] < pred[:-1]).all()
        assert pred[0] / pred[-1] < 8 / 2
