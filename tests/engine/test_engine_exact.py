"""Exact times on tiny scenarios, computed by hand from the performance model."""

import pytest
from helpers.engine import make_perf, run_requests

ENGINES = ["fluid", "step"]


def decode_time(perf, n_in, n_out, start_kv=None):
    """Sum of decode iterations for a lone sequence: iteration j reads n_in + j - 1 tokens."""
    t = 0.0
    for j in range(1, n_out):
        t += perf.step_time(1, 0, n_in + j - 1, n_in + j)
    return t


@pytest.mark.parametrize("kind", ENGINES)
def test_single_request_ttft_and_finish(catalog, kind):
    dep, perf = make_perf(catalog)
    out, _ = run_requests(kind, dep, perf, [(0, 0.0, 1000, 100)])
    prefill = perf.step_time(0, 1000, 0, 1000 * 1001 / 2)
    assert out[0][0] == pytest.approx(prefill, rel=1e-12)
    assert out[0][1] == pytest.approx(prefill + decode_time(perf, 1000, 100), rel=1e-12)


@pytest.mark.parametrize("kind", ENGINES)
def test_request_arriving_later_starts_at_its_arrival(catalog, kind):
    dep, perf = make_perf(catalog)
    out, _ = run_requests(kind, dep, perf, [(0, 5.0, 200, 2)])
    p = perf.step_time(0, 200, 0, 200 * 201 / 2)
    assert out[0][0] == pytest.approx(5.0 + p, rel=1e-12)
    assert out[0][1] == pytest.approx(5.0 + p + perf.step_time(1, 0, 200, 201), rel=1e-12)


@pytest.mark.parametrize("kind", ENGINES)
def test_chunked_prefill_of_a_long_prompt(catalog, kind):
    """A 20,000-token prompt with an 8,192-token budget takes chunks of 8192, 8192, 3616."""
    dep, perf = make_perf(catalog)
    out, _ = run_requests(kind, dep, perf, [(0, 0.0, 20000, 1)])
    c = 8192
    t = perf.step_time(0, c, 0, c * (0 + (c + 1) / 2))
    t += perf.step_time(0, c, c, c * (c + (c + 1) / 2))
    r = 20000 - 2 * c
    t += perf.step_time(0, r, 2 * c, r * (2 * c + (r + 1) / 2))
    # the fluid engine averages the two full chunks' KV reads: exact in the linear regime
    assert out[0][0] == pytest.approx(t, rel=1e-9)
    assert out[0][1] == out[0][0]  # one output token: done at the first token


@pytest.mark.parametrize("kind", ENGINES)
def test_second_request_joins_at_the_next_iteration_boundary(catalog, kind):
    """B arrives mid-way through A's first decode iteration; it starts when that ends."""
    dep, perf = make_perf(catalog)
    pa = perf.step_time(0, 500, 0, 500 * 501 / 2)
    d1 = perf.step_time(1, 0, 500, 501)
    tb = pa + 0.5 * d1
    out, _ = run_requests(kind, dep, perf, [(0, 0.0, 500, 3), (1, tb, 300, 2)])
    # The fluid engine had planned A's two decode iterations as one stretch; the boundary
    # inside it is the first iteration's own time (until December 2026 the stretch's
    # average, KV 500.5 instead of 500: a 1e-6 relative shift).
    rel = 1e-12
    # iteration 3 (from pa + d1): A decodes (kv 501) while B prefills 300 tokens
    it3 = perf.step_time(1, 300, 501, 502 + 300 * 301 / 2)
    assert out[1][0] == pytest.approx(pa + d1 + it3, rel=rel)
    assert out[0][1] == pytest.approx(pa + d1 + it3, rel=rel)  # A's 3rd token, same step
    # iteration 4: B decodes alone (its cache: 300 prompt tokens)
    assert out[1][1] == pytest.approx(pa + d1 + it3 + perf.step_time(1, 0, 300, 301), rel=rel)


@pytest.mark.parametrize("kind", ENGINES)
def test_kv_capacity_limits_admission(catalog, kind):
    """With room for 1,300 tokens, the second (410) waits for the first (1,010) for the first to finish."""
    dep, perf = make_perf(catalog)
    perf.kv_capacity_tokens = 1300
    out, _ = run_requests(kind, dep, perf, [(0, 0.0, 1000, 10), (1, 0.0, 400, 10)])
    assert out[1][0] > out[0][1] - 1e-12
    assert out[1][0] == pytest.approx(out[0][1] + perf.step_time(0, 400, 0, 400 * 401 / 2), rel=1e-12)


@pytest.mark.parametrize("kind", ENGINES)
def test_max_num_seqs_limits_the_batch(catalog, kind):
    dep, perf = make_perf(catalog, max_num_seqs=1)
    out, _ = run_requests(kind, dep, perf, [(0, 0.0, 100, 5), (1, 0.0, 100, 5)])
    assert out[1][0] == pytest.approx(out[0][1] + perf.step_time(0, 100, 0, 100 * 101 / 2), rel=1e-12)


def test_roofline_single_request_matches_published_concurrency_one(catalog):
    """Sanity against the NIM concurrency-1 figures (CAL §3): 70B FP8 TP2 on H100, ITL
    18.6 ms and TTFT 407 ms for 5,000 prompt tokens. (The 25 % calibration test covers all
    rows; this one pins the two simplest numbers.)"""
    dep, perf = make_perf(catalog, "llama33-70b", "H100", "fp8", 2)
    itl = perf.step_time(1, 0, 5250, 5251)
    assert itl == pytest.approx(0.0186, rel=0.25)


def test_pipeline_step_time_by_hand(catalog):
    """A pipeline replica (the MLPerf H100 Llama-2-70B engine is TP1 x PP2): each of the two
    GPUs holds half the layers; with two micro-batches in flight an iteration costs each GPU
    half the FLOPs and half the KV reads, its weights read twice (once per micro-batch) and
    one hand-off of the activations instead of two all-reduces per layer."""
    from sim.perf import Deployment, RooflinePerf

    m, g = catalog.models["llama2-70b"], catalog.gpus["H100"]
    dep = Deployment(m, g, "fp8", "fp8", 2, 1024, 1024, 0.95, pipeline=True)
    perf = RooflinePerf(dep)
    eff = g.efficiency_for("fp8")
    bw = g.bandwidth_tbps * 1e12 * eff.memory
    flops = g.peak_flops("fp8") * eff.compute
    d, p, kv, pairs = 300, 700, 200_000, 400_000
    weights = m.weight_bytes("fp8") / 2 * 2  # half per GPU, read by both micro-batches
    # the linear layers (weights vs GEMM FLOPs), then attention (KV reads vs its FLOPs)
    linear = max(weights / bw, (d + p) * 2 * m.active_params_b * 1e9 / 2 / flops)
    attention = max(kv * m.kv_bytes_per_token("fp8") / 2 / bw,
                    pairs * 4 * m.layers * m.attn_heads * m.head_dim / 2 / flops)
    fixed = g.step_overhead_s + m.layers * g.layer_overhead_s + g.seq_overhead_s * (d + 1)
    # two hand-offs (one per micro-batch), each at the link's achieved rate
    comm = 2 * g.allreduce_latency_s + (d + p) * m.hidden * 2 / (g.interconnect_gbps * 1e9
                                                                 * g.allreduce_efficiency)
    assert perf.step_time(d, p, kv, pairs) == pytest.approx(linear + attention + fixed + comm, rel=1e-12)
    # the same GPUs as tensor shards: the same FLOPs, half the weight reads, all-reduces
    tens = RooflinePerf(Deployment(m, g, "fp8", "fp8", 2, 1024, 1024, 0.95))
    assert tens.kv_capacity_tokens == perf.kv_capacity_tokens
    lone = 1, 0, 500, 501  # a lone decode is memory-bound: the pipeline reads all weights
    assert perf.step_time(*lone) > tens.step_time(*lone)
    big = 0, 1024, 0, 1024 * 1025 / 2  # a full prefill iteration is compute-bound: no all-reduce
    assert perf.step_time(*big) < tens.step_time(*big)


def test_long_prompt_cut_by_arrivals_fluid_equals_step(catalog):
    """A 60,000-token prompt chunked 2,048 at a time beside a decoding request, with short
    prompts arriving mid-stretch: each arrival cuts the fluid engine's planned stretch. The
    iterations before the cut take their own times (attention pairs grow by a chunk squared
    each), so every first token and finish equals the step engine's. Until December 2026 the
    cut iterations were charged the stretch's average and the chunked prompt's attention
    pairs were averaged over the prompt's whole stretch even when a decode ended it sooner:
    first tokens up to 26 % late."""
    dep, perf = make_perf(catalog, max_batched_tokens=2048)
    reqs = [(0, 0.0, 500, 40), (1, 0.02, 60000, 3)] + [(i, 0.25 * i + 0.013, 200, 20) for i in range(2, 9)]
    fluid, _ = run_requests("fluid", dep, perf, reqs)
    step, _ = run_requests("step", dep, perf, reqs)
    assert fluid.keys() == step.keys() == set(range(9))
    for rid, (first, done) in step.items():
        assert fluid[rid][0] == pytest.approx(first, rel=1e-9), rid
        assert fluid[rid][1] == pytest.approx(done, rel=1e-9), rid
    assert step[1][0] > 1.0  # the long prompt's prefill spans the arrivals


@pytest.mark.parametrize("admission", ["reserve", "paged"])
@pytest.mark.parametrize("kind", ENGINES)
def test_an_arrival_at_a_busy_replicas_boundary_joins_the_next(kind, admission, tmp_path):
    # a constant table, 0.01 s an iteration plus 1e-4 s a prefill token: a 1,100-token prompt
    # at 0 takes 0.12 s, then its decode iterations end at 0.13, ..., 0.2, ...; the replica's
    # events of an instant come before its arrivals (the iteration ending at 0.2 has begun
    # the next), so a request arriving at 0.2 joins at 0.21 (first token 0.21 + 0.12), on
    # either engine and admission; at 0.205 too. Until December 2026 it joined at 0.2 or 0.21
    # by the order the events had been scheduled in and a quotient's rounding
    import sim

    table = tmp_path / "t.csv"
    table.write_text("decode_seqs,prefill_tokens,step_time_s\n"
                     + "".join(f"{d},{p},{0.01 + 1e-4 * p:.4f}\n" for d in (0, 4096) for p in (0, 8192)))
    for at in ("0.2", "0.205"):
        trace = tmp_path / "a.csv"
        trace.write_text(f"timestamp,input_tokens,output_tokens\n0,1100,100\n{at},1100,100\n")
        dep = "deployments.llama31-8b"
        res = sim.run(["setups=[dedicated]", f"engine={kind}", "horizon_s=10",
                       f"{dep}.perf={{kind: table, table_path: {table}, kv_capacity_tokens: 100000}}",
                       f"{dep}.admission={admission}", f"{dep}.prefix_caching=false",
                       "tenants={chat: {model: llama31-8b, arrival: {kind: trace, trace: {path: %s, "
                       "format: csv}}, input: {kind: trace}, output: {kind: trace}}}" % trace])
        r = res.requests.sort_values("arrival_s")
        assert r["first_token_s"].iloc[0] == pytest.approx(0.12, abs=1e-12)
        assert r["admit_s"].iloc[1] == pytest.approx(0.21, abs=1e-12), at
        assert r["first_token_s"].iloc[1] == pytest.approx(0.33, abs=1e-12), at
