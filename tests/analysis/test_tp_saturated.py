"""Tensor parallelism at saturation: published offline throughputs (SGLang's
benchmark/benchmark_vllm_060 README: SGLang v0.3.0 and vLLM v0.6.0, 5000 ShareGPT prompts at
once, BF16) of Llama-3.1-70B at TP4 on 4 H100s and Llama-3.1-8B at TP1 on one A100
(conf/tp_saturated.yaml), simulated the way the calibration job simulates a trtllm-bench row.
No factor was fitted to them; they test the TP4 over-prediction issue 18 reports on rows
outside the held-out TensorRT-LLM perf-overview pages."""

import pytest

from sim.analysis.calibration import engine_speed, load_rows
from sim.analysis.tp_saturated import (
    load_saturated_set,
    saturated_rows,
    saturated_table,
)


def test_each_stack_pairs_a_tp4_70b_row_with_a_tp1_8b_one():
    sp = load_saturated_set()
    assert "benchmark_vllm_060" in sp["source"]
    rows = saturated_rows(sp)
    assert len(rows) == 4
    for stack in sp["stacks"]:
        mine = sorted((r["model"], r["gpu"], r["tp"]) for r in rows if r["stack"] == stack)
        assert mine == [("llama31-8b", "A100", 1), ("llama33-70b", "H100", 4)]
    # no row of this source is (or was fitted as) a row of the calibration set
    assert not {r["id"] for r in rows} & {r["id"] for r in load_rows()}


def test_the_lengths_agree_with_the_published_request_rates():
    """Two sources, one sample: the token totals SGLang issue #1505 printed for the same
    bench_serving command give 194.32 output tokens a request; the README's output tokens/s
    over its requests/s gives the same for all four rows (within the rounding of requests/s
    to two decimals); the rows use the means rounded to whole tokens."""
    sp = load_saturated_set()
    per_req = sp["tokens_total"]["output"] / sp["requests"]
    assert per_req == pytest.approx(194.3226)
    for r in sp["rows"]:
        assert r["output_tok_s"] / r["req_s"] == pytest.approx(per_req, rel=5e-4), r
    assert sp["output"] == round(per_req)
    assert sp["input"] == round(sp["tokens_total"]["input"] / sp["requests"])


@pytest.fixture(scope="module")
def table():
    return saturated_table()


def test_a_row_runs_at_the_engines_speed(table):
    """Every iteration is divided by the engine's speed, so the tuned-runtime prediction is the
    row's own one over engines.vllm, whatever the batch (an offline run: no arrivals to shift)."""
    speed = engine_speed({"engine": load_saturated_set()["engine"]})
    for _, t in table.iterrows():
        assert t["predicted"] == pytest.approx(t["predicted_tuned"] * speed, rel=1e-6)


# Stated tolerances (README, "Tensor parallelism"). The TP1 partners: within 10 % (-1.1 and
# -1.3 % when written). The TP4 rows: over-predicted by 21.7 % (vLLM) and 32.6 % (SGLang),
# their ratios to the TP1 partners by 23 and 34 %; 15.1 and 30.0 % (ratios 16.5 and 31.5 %)
# with the measured two-protocol all-reduce (December 2026); the gap issue 18 reports (32-46 % on
# held-out perf-overview rows). The bounds pin that gap as it stands: a change that widens it
# beyond 40 % fails, and so does one that closes it below 10 % (then the README's account of
# the gap and these bounds are to be revised, not the gap hidden).
def test_the_tp1_partners_within_10_percent(table):
    assert table.loc[table["tp"] == 1, "error_pct"].abs().max() < 10, table.to_string()


def test_the_tp4_rows_are_over_predicted_as_issue_18_reports(table):
    tp4 = table[table["tp"] == 4]
    assert tp4["error_pct"].between(10, 40).all(), tp4.to_string()
    assert tp4["ratio_error_pct"].between(10, 40).all(), tp4.to_string()


def test_the_online_medians_within_the_calibration_tolerance():
    """The same README's online runs (held out): Poisson arrivals at 4 and 8 req/s against
    SGLang v0.3.0, the 8B at TP1 on one A100 and the 70B at TP4 on four H100s, where the
    offline TP4 row is 30 % high. Unsaturated, median TTFT and TPOT are within 25 % (when
    written: TTFT -19, -16, +0, -3 %; TPOT -4, -21, +6, -13 %), so the TP4 gap is one of
    large batches, not of the TP4 step at a few dozen sequences."""
    from sim.analysis.tp_saturated import online_table

    t = online_table()
    assert len(t) == 8 and set(t["metric"]) == {"ttft_ms", "tpot_ms"}
    assert t["error_pct"].abs().max() < 25, t.to_string()
