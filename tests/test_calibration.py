"""The performance model reproduces the published figures of CALIBRATION.md §3 within
25 %, with one set of efficiency factors per GPU class and precision (the catalog's).

Two figures are outside 25 % with the current model. They are listed below with what we
understand of the cause, held inside a looser bound, and checked to be still outside 25 %
so the list shrinks when the model improves (issue 2 stays open until it is empty).

The rows and their sources are in conf/calibration_set.yaml; the factors were fitted by
experiments/calibration/fit.py on the offline and fixed-concurrency rows, so the
server-scenario rows are predictions of rows the fit never saw.
"""

import pytest

from sim.calibration import _load, calibration_table, engine_speed, load_rows


@pytest.fixture(scope="module")
def table():
    return calibration_table(load_rows())


# (row, metric) -> (largest accepted |error| %, why the model misses it)
KNOWN_DEVIATIONS = {
    ("nim-70b-h100tp2-c5", "ttft_s"): (35, "five closed-loop clients with identical lengths "
        "phase-lock in the simulation so prefills never collide (TTFT equals concurrency 1); "
        "the published 0.547 s implies collisions or per-request overhead the model lacks"),
    ("nim-8b-c200", "output_tok_s"): (35, "batch 200 decode: step time grows faster with "
        "batch than KV-read bytes predict (attention kernel efficiency below the streaming "
        "read efficiency); the GPU behind this figure is also an assumption"),
}


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


def test_calibration_covers_the_whole_table(table):
    # CAL §3: 10 TensorRT-LLM v1.0 + 5 v0.13 + 12 MLPerf + 15 NIM 70B + 6 NIM 8B figures
    assert len(table) == 10 + 5 + 12 + 15 + 6
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
