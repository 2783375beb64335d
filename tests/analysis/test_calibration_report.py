"""The calibration report a reviewer reads: each figure predicted against published with its
error, which rows set the factors (``role: fitted``) and which were held out (``check``), the
median and largest error by GPU class and by workload shape, and a figure that draws the
held-out rows differently; report.md carries the table and the figure."""

import pandas as pd
import pytest

import sim
from sim.analysis.calibration import error_summary, load_rows, row_role, row_shape


def _cal3_shape(row) -> bool:
    """A TensorRT-LLM v1.0 row of one of the two shapes CAL §3 lists."""
    return (row["input"], row["output"]) in ((1000, 1000), (128, 2048))


def test_the_held_out_rows_are_the_server_rows_and_the_figures_added_after_the_fit():
    """experiments/calibration/fit.py fitted the offline and fixed-concurrency rows and held
    the server rows out (README "Calibration"); added after that fit, as checks: the MLPerf
    v4.1 H100 TP2 rows (a saturated tensor-parallel engine), the TensorRT-LLM v1.0 page's
    shapes other than CAL §3's two, and the NIM pages' points CAL §3 does not list (the
    fitted NIM rows are concurrency 1-100 of the 70B and 1, 100, 200 of the 8B, whose TTFT
    is a separate held-out row). The role field says so."""
    rows = load_rows()
    assert all("role" in r for r in rows)
    v41 = {r["id"] for r in rows if r["source"].startswith("MLPerf Inference v4.1")}
    trt = {r["id"] for r in rows if r["source"] == "TensorRT-LLM perf-overview v1.0" and not _cal3_shape(r)}
    fitted_nim = {("llama33-70b", c) for c in (1, 5, 25, 50, 100)} | {("llama31-8b", c) for c in (1, 100, 200)}
    nim = {r["id"] for r in rows if r["source"].startswith("NVIDIA NIM")
           and ((r["model"], r["concurrency"]) not in fitted_nim or r["id"].endswith("-ttft"))}
    assert (len(v41), len(trt), len(nim)) == (2, 40, 11)
    assert {r["id"] for r in rows if row_role(r) == "check"} == \
        {r["id"] for r in rows if r["scenario"] == "server"} | v41 | trt | nim
    assert sum(row_role(r) == "check" for r in rows) == 6 + 2 + 40 + 11


def test_a_row_with_an_unknown_role_is_refused():
    with pytest.raises(sim.InputError, match="role"):
        row_role({"id": "x", "role": "tuned"})


def test_shapes_name_fixed_and_distributed_lengths():
    assert row_shape({"input": 1000, "output": 1000}) == "1000/1000"
    assert row_shape({"input": {"kind": "lognormal", "mean": 300}, "output": 265}) == "~300/265"


def test_the_summary_is_the_median_and_largest_error_of_each_group():
    table = pd.DataFrame({
        "row": ["a", "b", "c", "d"], "metric": ["m"] * 4, "role": ["fitted", "fitted", "check", "check"],
        "gpu": ["H100", "H100", "H100", "B200"], "shape": ["1/1", "2/2", "1/1", "1/1"],
        "error_pct": [-4.0, 2.0, 10.0, -1.0]})
    s = error_summary(table).set_index(["by", "group"])
    # by hand: |errors| 4, 2, 10, 1
    assert s.loc[("all", "all"), "median_abs_error_pct"] == 3.0
    assert s.loc[("all", "all"), "max_abs_error_pct"] == 10.0
    assert s.loc[("role", "check"), "median_abs_error_pct"] == 5.5
    assert s.loc[("gpu", "H100"), "figures"] == 3
    assert s.loc[("gpu", "H100"), "median_abs_error_pct"] == 4.0
    assert s.loc[("gpu", "H100"), "worst"] == "c m"
    assert s.loc[("shape", "1/1"), "check"] == 2
    assert s.loc[("shape", "2/2"), "max_abs_error_pct"] == 2.0


def test_the_job_prints_and_writes_the_table_summary_and_figure(tmp_path):
    """One fitted row (fast): its table row, the summaries, the figure and report.md."""
    rid = "trt013-8b-l40s-fp8"
    res = sim.run(["experiment=calibration", f"calibration.rows=[{rid}]",
                   "output.progress=false"], output_dir=tmp_path)
    table = res.tables["calibration"]
    assert list(table["row"]) == [rid] and list(table["role"]) == ["fitted"]
    assert table["error_pct"].iloc[0] == pytest.approx(
        100 * (table["predicted"].iloc[0] / table["published"].iloc[0] - 1))
    summary = res.tables["calibration_summary"]
    assert set(summary["by"]) == {"all", "role", "gpu", "shape"}
    report = (tmp_path / "report.md").read_text()
    assert f"| {rid} | fitted |" in report  # the table, in full
    assert "## calibration_summary" in report
    assert "![plots/calibration.png](plots/calibration.png)" in report
    assert (tmp_path / "plots" / "calibration.png").stat().st_size > 0
    assert any("fitted (set the factors)" in n for n in res.notes)
    # the TP4 / TP1 batch latencies of conf/tp_latency.yaml ride along, one row per figure
    lat = res.tables["tp_latency"]
    assert set(lat["tp"]) == {1, 4} and (tmp_path / "tp_latency.csv").stat().st_size > 0
    assert any("(tp_latency.csv)" in n for n in res.notes)
    # and so do the saturated TP4 / TP1 throughputs of conf/tp_saturated.yaml
    sat = res.tables["tp_saturated"]
    assert set(sat["tp"]) == {1, 4} and (tmp_path / "tp_saturated.csv").stat().st_size > 0
    assert any("(tp_saturated.csv" in n for n in res.notes)
    # and the per-operation H100 and A100 checks of conf/op_profiles.yaml, one note each
    for name, rows in (("op_gemm", 48), ("op_allreduce", 21)):
        assert res.tables[name]["gpu"].value_counts().to_dict() == {"H100": rows, "A100": rows}
    assert (tmp_path / "op_gemm.csv").stat().st_size > 0
    op_notes = [n for n in res.notes if "(op_gemm.csv, op_allreduce.csv)" in n]
    assert [n.split()[0] for n in op_notes] == ["H100", "A100"]
