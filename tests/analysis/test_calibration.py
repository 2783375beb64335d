"""The performance model reproduces the published figures of CALIBRATION.md §3 within
25 %, with one set of efficiency factors per GPU class and precision (the catalog's).

Each scenario is measured the way its benchmark reports (sim/calibration.py): trtllm-bench
rows as total output tokens over the total time of the benchmark's request count, MLPerf
offline and the NIM fixed-concurrency sweeps in steady state. A figure the model cannot
bring inside 25 % goes in KNOWN_DEVIATIONS below with what we understand of the cause,
held inside a looser bound and checked to be still outside 25 %, so the list only shrinks.
No fitted figure is on it since the December 2026 refit; ten held-out figures added after it
are (README, "Held-out figures").

The rows and their sources are in conf/calibration_set.yaml; the factors were fitted by
experiments/calibration/fit.py on the offline and fixed-concurrency rows, so the
server-scenario rows are predictions of rows the fit never saw.
"""

import pytest

from sim.analysis.calibration import (
    _load,
    calibration_table,
    concurrency,
    engine_speed,
    load_rows,
    offline,
)


@pytest.fixture(scope="module")
def table():
    return calibration_table(load_rows())


# (row, metric) -> (largest accepted |error| %, why the model misses it). Empty after the
# December 2026 refit; the held-out figures added after it (README, "Held-out figures")
# brought these in, none of them a fitted row.
_FP4_PREFILL = ("B200 FP4 prefill-heavy shape: the fitted FP4 compute fraction (0.544) is above "
                "the ~0.35 prefill utilisation CAL §1 reads from the same page; lowering it slows "
                "the MLPerf B200 row, already 13 % low (README, 'Physical factors')")
_NIM_CONVOY = ("identical clients started together stay in phase in the model (no per-request "
               "noise): each prefill waits for a batch of the others' (README, 'Fixed-concurrency "
               "TTFT depends on the clients' phases')")
_NIM_FRONT = ("the page's requests queue outside the engine from concurrency 150 (TTFT 120 -> 606 ms, "
              "throughput flat near 13,000 tok/s); the front end that queues them is not modelled")
KNOWN_DEVIATIONS: dict[tuple[str, str], tuple[float, str]] = {
    ("trt10-70b-b200-2048-128", "output_tok_s"): (40.0, _FP4_PREFILL),
    ("trt10-70b-b200-5000-500", "output_tok_s"): (40.0, _FP4_PREFILL),
    ("nim-8b-c1-ttft", "ttft_s"): (55.0, "a 200-token prefill is 5.6 ms in the model against the "
                                         "page's 10.3 ms; cause open: the NIM 70B page's c1 TTFTs at "
                                         "500 and 5,000 tokens leave no room for a fixed front-end "
                                         "time of that size (README, 'Per-request serving "
                                         "overhead')"),
    ("nim-8b-c25", "ttft_s"): (55.0, _NIM_CONVOY),
    ("nim-8b-c50", "ttft_s"): (60.0, _NIM_CONVOY),
    ("nim-8b-c100-ttft", "ttft_s"): (35.0, _NIM_CONVOY),
    ("nim-8b-c150", "ttft_s"): (60.0, _NIM_FRONT),
    ("nim-8b-c200-ttft", "ttft_s"): (70.0, _NIM_FRONT),
    ("nim-8b-c250", "ttft_s"): (75.0, _NIM_FRONT),
    ("nim-8b-c250", "output_tok_s"): (45.0, _NIM_FRONT),
}


def _rows():
    return {r["id"]: r for r in load_rows()}


def test_fixed_concurrency_steady_state_does_not_depend_on_the_turnaround_value():
    """Any client turnaround from 0.3 to 5 ms gives the same steady state within 4 %, so the
    benchmark's unknown client delay does not decide the prediction; exactly zero is a
    knife-edge (no client ever waits: the concurrency-1 TTFT at every concurrency)."""
    rows = _rows()
    c1 = concurrency(rows["nim-70b-h100tp2-c1"])["ttft_s"]
    for rid in ("nim-70b-h100tp2-c5", "nim-70b-h100tp2-c25"):
        runs = {s: concurrency(rows[rid], turnaround_s=s) for s in (3e-4, 1e-3, 5e-3)}
        ttft = [r["ttft_s"] for r in runs.values()]
        assert max(ttft) / min(ttft) < 1.04, (rid, ttft)
        zero = concurrency(rows[rid], turnaround_s=0)
        assert zero["ttft_s"] == pytest.approx(c1, rel=0.01)
        # the turnaround decides who waits, not how much work there is
        assert zero["output_tok_s"] == pytest.approx(runs[1e-3]["output_tok_s"], rel=0.03)


def test_mlperf_offline_runs_are_long_enough_for_steady_state():
    """Doubling the run (40 instead of 20 requests per client) moves the rate by < 1 %."""
    row = _rows()["mlperf50-70b-h200-offline"]
    assert offline(row, 40)["output_tok_s"] == pytest.approx(offline(row)["output_tok_s"], rel=0.01)


def test_every_published_figure_within_25_percent(table):
    known = table.apply(lambda r: (r["row"], r["metric"]) in KNOWN_DEVIATIONS, axis=1)
    bad = table[~table["within_tolerance"] & ~known]
    assert bad.empty, "\n" + bad[["row", "metric", "published", "predicted", "error_pct"]].to_string()


def test_known_deviations_are_bounded_and_still_outside(table):
    for (row, metric), (bound, _why) in KNOWN_DEVIATIONS.items():
        hit = table[(table["row"] == row) & (table["metric"] == metric)]
        assert len(hit) == 1, (row, metric)
        err = abs(float(hit["error_pct"].iloc[0]))
        assert 25 < err <= bound, f"{row} {metric}: {err:.1f} % (remove it from the list if <= 25)"


# NIM benchmark pages (docs.nvidia.com/nim/benchmarking/llm, NIM 1.8.0): concurrency,
# mean TTFT ms, mean ITL ms, output tokens/s. The 70B table states 5000/500 tokens; the 8B
# table's lengths are the guide's 200/200 use case (conf/calibration_set.yaml).
_NIM_PAGES = {
    "llama33-70b": [(1, 406.77, 18.58, 51.67), (5, 546.7, 21.83, 218.48), (25, 688.69, 38.75, 623.4),
                    (50, 834.51, 59.73, 814.37), (100, 7996.25, 92.91, 917.26),
                    (150, 34794.22, 92.86, 920.9), (200, 61680.22, 93.06, 920.54),
                    (250, 88605.32, 93.2, 920.12)],
    "llama31-8b": [(1, 10.26, 4.63, 214.56), (5, 16.81, 4.58, 1076.88), (25, 36.34, 5.19, 4678.88),
                   (50, 67.41, 5.91, 8018.23), (100, 119.97, 7.57, 12214.97),
                   (150, 346.53, 9.81, 12988.89), (200, 465.18, 12.65, 13348.4),
                   (250, 605.6, 16.14, 12964.72)],
}


def test_nim_rows_use_the_output_length_the_published_figures_imply():
    """A closed loop of c clients, each receiving OSL tokens per request, delivers
    c * OSL / (TTFT + (OSL - 1) * ITL) output tokens/s. With the configured OSL this must
    reproduce every published throughput of the page (all 16, not only the rows we run):
    it checks the lengths independently of the performance model."""
    for row in (r for r in load_rows() if r["id"].startswith("nim-")):
        osl = int(row["output"])
        for c, ttft_ms, itl_ms, tok_s in _NIM_PAGES[row["model"]]:
            implied = c * osl / (ttft_ms / 1e3 + (osl - 1) * itl_ms / 1e3)
            assert implied == pytest.approx(tok_s, rel=0.012), (row["id"], c, implied, tok_s)
        page = {c: dict(zip(("ttft_s", "itl_s", "output_tok_s"), (t / 1e3, i / 1e3, x)))
                for c, t, i, x in _NIM_PAGES[row["model"]]}
        for metric, value in row["metrics"].items():  # every figure a row carries is the page's
            # CAL §3 rounds throughputs to whole tokens/s and latencies to 3-4 digits
            tol = 1.0 if metric == "output_tok_s" else 0.0
            assert value == pytest.approx(page[row["concurrency"]][metric], rel=2e-3, abs=tol), \
                (row["id"], metric)


def test_calibration_covers_the_whole_table(table):
    # CAL §3: 10 TensorRT-LLM v1.0 + 5 v0.13 + 12 MLPerf + 15 NIM 70B + 6 NIM 8B figures,
    # and the held-out figures added after the fit: two MLPerf v4.1 H100 TP2 ones, the
    # TensorRT-LLM v1.0 page's other eight shapes in its five columns, and the NIM pages'
    # points CAL §3 does not list (70B: 3 concurrencies x 3 metrics; 8B: 5 x 3, and the TTFT
    # at the three fitted concurrencies)
    v41 = table["row"].str.startswith("mlperf41-")
    cal3 = table[(table["role"] == "fitted") | ((table["scenario"] == "server") & ~v41)]
    assert len(cal3) == 10 + 5 + 12 + 15 + 6
    added = table[~table.index.isin(cal3.index)]
    assert (added["role"] == "check").all()
    assert len(added) == 2 + 8 * 5 + 3 * 3 + 5 * 3 + 3
    assert set(added["row"].str.split("-").str[0]) == {"mlperf41", "trt10", "nim"}
    assert set(table["gpu"]) == {"H100", "H200", "B200", "A100", "L40S", "MI300X"}


def test_the_factors_are_shared_not_per_row():
    """Rows carry deployment facts (GPU, precision, batch limits) but no efficiency factor."""
    for row in load_rows():
        assert not any(k in row for k in ("efficiency", "memory", "compute", "runtime_speedup"))


def test_engine_speed_is_one_value_per_engine_from_the_published_software_gap():
    """vLLM rows run at the like-for-like software gap of CAL §3 (TensorRT-LLM v0.13 against
    v1.0, same H100 FP8 Llama-3.1-8B 1000/1000 run), not at a value fitted to any row."""
    rows = {r["id"]: r for r in load_rows()}
    gap = (rows["trt013-8b-h100-fp8"]["metrics"]["output_tok_s"]
           / rows["trt10-8b-h100-1k1k"]["metrics"]["output_tok_s"])
    assert _load()["engines"]["vllm"] == pytest.approx(gap, abs=5e-4)
    assert _load()["engines"]["tensorrt-llm"] == 1.0
    vllm = {r["id"] for r in rows.values() if r.get("engine") == "vllm"}
    assert len(vllm) == 6  # AMD MI300X and the Red Hat Llama-3.1-8B runs, offline and server
    assert all(engine_speed(r) in (1.0, _load()["engines"]["vllm"]) for r in rows.values())
