"""A setup none of whose pipeline requests completed has no waterfall panel. Until December
2026 that went unsaid: alone, no waterfall and no note; beside a setup that completed one,
a figure with that setup's panel only. Now a note names the setup and why."""

from types import SimpleNamespace

import pandas as pd
import pytest

import sim
from sim.report.figures import waterfall_note


@pytest.mark.parametrize("setups", ["[serverless]", "[serverless,dedicated]"])
def test_a_setup_whose_pipeline_requests_all_failed_is_said(setups, tmp_path):
    trace = tmp_path / "one.csv"
    trace.write_text("timestamp\n1.0\n")  # one pipeline request
    out = tmp_path / "run"
    res = sim.run(["experiment=compound", "job=simulate", "horizon_s=20", f"setups={setups}",
                   "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace)
                   + ", format: csv, csv: {input: null, output: null}}}",
                   "pipelines.p={stages: {a: {model: llama31-8b}}}", "tenants.chat.pipeline=p",
                   # the 8B's cold start is 15 s (experiment=compound): a 3 s wait turns it away
                   "serverless.max_wait_s=3", "output.plots=true", "output.report=true",
                   "output.progress=false"], output_dir=out)
    pipes = res.tables["pipelines"].set_index("setup")
    assert pipes.loc["serverless", "outcome"] == "rejected"
    said = [n for n in res.notes if "waterfall" in n]
    drawn = (out / "plots" / "pipeline_waterfall.png").is_file()
    if setups == "[serverless]":
        assert not drawn
        assert said == ["no pipeline waterfall is drawn: none of the 1 pipeline request(s) "
                        "completed: 1 rejected (timeout_cold_start)"]
    else:
        assert pipes.loc["dedicated", "outcome"] == "completed" and drawn
        assert said == ["the pipeline waterfall has no panel for serverless: none of the 1 "
                        "pipeline request(s) completed: 1 rejected (timeout_cold_start)"]


def test_each_missing_setup_is_named_with_its_reason():
    pipes = pd.DataFrame({
        "setup": ["a", "a", "b", "c", "d"], "pipeline_id": [0, 1, 0, 0, 0],
        "outcome": ["failed", "failed", "completed", "completed", "completed"],
        "reason": ["x", "x", None, None, None], "e2e_s": [None, None, 0.0, 2.0, 3.0],
        "stage_requests": [1, 1, 0, 2, 2]})
    # c's two stage rows kept, d's not
    req = pd.DataFrame({"setup": ["c", "c"], "pipeline_id": [0, 0], "arrival_s": [0.0, 1.0],
                        "request_id": [5, 6]})
    res = SimpleNamespace(tables={"pipelines": pipes}, requests=req)
    assert waterfall_note(res) == (
        "the pipeline waterfall has no panel for a: none of the 2 pipeline request(s) completed: "
        "2 failed (x); b: none of the 1 completed pipeline request(s) ran a stage (every stage "
        "skipped by its probability); d: the stage rows of its slowest pipeline request are not "
        "all among the per-request rows kept (output.requests)")
    # every setup drawn: nothing to say
    full = SimpleNamespace(tables={"pipelines": pipes[pipes["setup"] == "c"]}, requests=req)
    assert waterfall_note(full) is None
