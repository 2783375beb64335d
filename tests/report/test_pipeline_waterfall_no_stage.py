"""A run whose pipeline requests all skipped every stage (``probability`` 0): there is no
pipeline request to draw a waterfall of. Until December 2026 the figure code picked one with
no stage request as the "slowest", and the empty waterfall was a ValueError (exit 1, no
report.md nor requests.parquet); now no waterfall is drawn and a note says why."""

import pytest

import sim


@pytest.mark.parametrize("setups", ["[serverless]", "[serverless,dedicated]"])
def test_no_stage_run_means_no_waterfall_and_a_note(setups, tmp_path):
    trace = tmp_path / "two.csv"
    trace.write_text("timestamp\n1.0\n2.0\n")  # two pipeline requests
    out = tmp_path / "run"
    res = sim.run(["experiment=compound", "job=simulate", "horizon_s=20", f"setups={setups}",
                   "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace)
                   + ", format: csv, csv: {input: null, output: null}}}",
                   "pipelines.p={stages: {a: {model: llama31-8b, probability: 0.0}}}",
                   "tenants.chat.pipeline=p", "output.plots=true", "output.report=true",
                   "output.progress=false"], output_dir=out)
    n_setups = setups.count(",") + 1
    pipes = res.tables["pipelines"]
    assert len(pipes) == 2 * n_setups and (pipes["stage_requests"] == 0).all()
    assert (out / "report.md").is_file() and (out / "done.json").is_file()
    assert not (out / "plots" / "pipeline_waterfall.png").exists()
    said = [n for n in res.notes if "waterfall" in n]
    assert said == [f"no pipeline waterfall is drawn: none of the {2 * n_setups} completed "
                    "pipeline request(s) ran a stage (every stage skipped by its probability)"]


def test_the_slowest_pick_skips_a_request_that_ran_no_stage(tmp_path):
    """Of a setup's completed pipeline requests, only one that ran a stage is drawn."""
    import pandas as pd

    from sim.report.figures import pipeline_figures

    pipes = pd.DataFrame({"setup": ["s", "s"], "pipeline_id": [0, 1], "e2e_s": [0.0, 0.0],
                          "stage_requests": [0, 0], "outcome": ["completed", "completed"],
                          "window": ["all", "all"]})
    req = pd.DataFrame({"setup": pd.Series([], dtype=str), "pipeline_id": pd.Series([], dtype=int)})
    files = pipeline_figures(pipes, req, tmp_path)
    assert not [f for f in files if "waterfall" in str(f)]
