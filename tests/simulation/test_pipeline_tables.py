"""The pipeline tables' windows and final stage (sim/metrics/pipelines.py,
sim/simulation/pipeline.py), on scenarios small enough to check by hand.

- ``metrics.warmup_s``: a pipeline request is in the window of its arrival, as the summary
  counts requests; the pipeline summaries are over the measured ones (until December 2026
  over every one, the warm-up's cold pipeline included).
- The final stage: of the model end stages, the one that ended last, whatever the order the
  stages are declared in (until December 2026 the last end stage in topological order, so a
  tool declared after the answer made the tool's end the "final TTFT")."""

import numpy as np
import pytest
from helpers import later_wins

import sim
from sim.errors import InputError

F = "input: {kind: fixed, mean: 100}, output: {kind: fixed, mean: 10}"
QUIET = ["output.plots=false", "output.report=false", "output.progress=false"]


def trace_tenant(tmp_path, times) -> str:
    path = tmp_path / "t.csv"
    path.write_text("t\n" + "".join(f"{t}\n" for t in times))
    return ("tenants={u: {pipeline: p, arrival: {kind: trace, trace: {path: " + str(path)
            + ", format: csv, csv: {time: t, input: null, output: null}}}}}")


def base(tmp_path, times, stages, *more):
    return ["experiment=default", "setups=[serverless]", "drain_s=600",
            trace_tenant(tmp_path, times), "pipelines.p={stages: {" + stages + "}}",
            "serverless.pool={H100: {nodes: 1, gpus_per_node: 8}}", *QUIET, *more]


TWO = f"a: {{model: llama31-8b, {F}}}, b: {{model: llama31-8b, after: [a], {F}}}"


def test_the_pipeline_summary_counts_the_pipelines_arriving_after_the_warm_up(tmp_path):
    """Pipelines at 0 s and 100 s; warm-up 50 s: the
    summary's measured row holds the second one's two stage requests, and so must the
    pipeline tables (until December 2026: requests 2, e2e p50 the mean of both)."""
    res = sim.run(base(tmp_path, [0, 100], TWO, "horizon_s=150", "metrics.warmup_s=50"))
    pipes = res.tables["pipelines"]
    assert pipes["window"].tolist() == ["warmup", "measured"]
    late = pipes.iloc[1]
    assert pipes.iloc[0]["e2e_s"] != late["e2e_s"]  # a mean of both would show
    row = res.tables["pipeline_summary"].iloc[0]
    assert (int(row["requests"]), int(row["completed"])) == (1, 1)
    assert row["e2e_p50_s"] == late["e2e_s"]
    assert row["final_ttft_p50_s"] == late["final_ttft_s"]
    assert int(row["cold_starts"]) == int(late["cold_starts"])
    # the summary's measured row: the same pipeline's two stage requests
    s = res.summary.set_index("tenant")
    assert int(s.loc["u", "requests"]) == 2 and int(s.loc["u@warmup", "requests"]) == 2
    st = res.tables["pipeline_stages"]
    assert st["requests"].tolist() == [1, 1]
    assert [n for n in res.notes if "arrived before metrics.warmup_s" in n] == [
        "1 of 2 pipeline requests arrived before metrics.warmup_s=50 and are not in the "
        "pipeline summaries (pipelines.csv lists them with window=warmup)"]


def test_without_a_warm_up_every_pipeline_is_summarised(tmp_path):
    res = sim.run(base(tmp_path, [0, 100], TWO, "horizon_s=150"))
    assert res.tables["pipelines"]["window"].tolist() == ["all", "all"]
    assert int(res.tables["pipeline_summary"].iloc[0]["requests"]) == 2
    assert not any("arrived before metrics.warmup_s" in n for n in res.notes)


def test_the_compound_jobs_tables_are_over_the_measured_window():
    res = sim.run(["experiment=compound", "horizon_s=300", "metrics.warmup_s=200",
                   "compound.bursty_setups=[serverless]", "compound.chain_models=[llama31-8b]",
                   *QUIET])
    pipes = res.tables["pipelines"]
    for setup, g in pipes.groupby("setup", sort=False):
        late = g[g["arrival_s"] >= 200]
        assert 0 < len(late) < len(g)
        row = res.tables["bursty"].set_index("setup").loc[setup]
        assert int(row["requests"]) == len(late)
        assert row["e2e_p99_s"] == pytest.approx(np.percentile(late["e2e_s"], 99), rel=1e-12)
        stages = res.tables["bursty_stages"].set_index(["setup", "stage"])
        assert int(stages.loc[(setup, "answer"), "requests"]) == len(late)
        said = [n for n in res.notes if n.startswith(f"bursty, {setup}:")]
        assert f"over {len(late)} pipelines" in said[0]
        # the bill is the whole run's (as the summary's), over the run's pipelines
        assert row["cost_per_1k_pipelines_usd"] == pytest.approx(
            row["cost_usd"] / (g["outcome"] == "completed").sum() * 1e3, rel=1e-12)
        assert "per 1k of the run's pipelines, warm-up included" in said[0]


@pytest.mark.parametrize("order", ["answer first", "log first"])
def test_the_final_ttft_is_the_model_end_stages_whatever_the_declaration_order(tmp_path, order):
    """a -> answer (LLM) and a -> log (a 5 s tool): the final TTFT is the answer's first
    token (in the requests table) in both orders; the tool's end was taken when log came
    last (32.472 s against 27.478 s)."""
    a = f"a: {{model: llama31-8b, {F}}}"
    answer = f"answer: {{model: llama31-8b, after: [a], {F}}}"
    log = "log: {kind: tool, after: [a], latency: {kind: fixed, mean_s: 5}}"
    stages = ", ".join([a, answer, log] if order == "answer first" else [a, log, answer])
    res = sim.run(base(tmp_path, [0], stages, "horizon_s=10"))
    req = res.requests.set_index("stage")
    p = res.tables["pipelines"].iloc[0]
    assert p["final_stage"] == "answer"
    assert p["final_ttft_s"] == req.loc["answer", "first_token_s"] - p["arrival_s"]
    assert req.loc["log", "finish_s"] > req.loc["answer", "first_token_s"]  # a real choice


def test_of_several_model_end_stages_the_last_to_end_gives_the_final_ttft(tmp_path):
    """a -> short (10 output tokens) and a -> long (200): long ends last whichever order."""
    a = f"a: {{model: llama31-8b, {F}}}"
    long = ("long: {model: llama31-8b, after: [a], input: {kind: fixed, mean: 100}, "
            "output: {kind: fixed, mean: 200}}")
    short = f"short: {{model: llama31-8b, after: [a], {F}}}"
    for stages in ([a, long, short], [a, short, long]):
        res = sim.run(base(tmp_path, [0], ", ".join(stages), "horizon_s=10"))
        req = res.requests.set_index("stage")
        assert req.loc["long", "finish_s"] > req.loc["short", "finish_s"]
        p = res.tables["pipelines"].iloc[0]
        assert p["final_stage"] == "long"
        assert p["final_ttft_s"] == req.loc["long", "first_token_s"] - p["arrival_s"]


def test_a_completed_pipeline_whose_end_stage_was_skipped_is_counted_and_said(tmp_path):
    """answer runs with probability 0: each pipeline completes (a, then the skipped answer)
    with no final TTFT; the summary counts them and a note says so."""
    stages = (f"a: {{model: llama31-8b, {F}}}, "
              f"answer: {{model: llama31-8b, after: [a], probability: 0, {F}}}")
    res = sim.run(base(tmp_path, [0, 1, 2], stages, "horizon_s=10"))
    pipes = res.tables["pipelines"]
    assert (pipes["outcome"] == "completed").all() and pipes["final_ttft_s"].isna().all()
    assert int(res.tables["pipeline_summary"].iloc[0]["final_stage_skipped"]) == 3
    assert any("3 of 3 completed pipeline requests ran none of the end stages" in n
               for n in res.notes), res.notes


# ------------------------------------------------------------------------- the cold chain
def test_a_chain_model_that_is_not_an_llm_is_refused():
    """The chain scenario is a chain of LLMs; an embedding model was run, rejected, and said
    as "nan s of cold start ... end-to-end nan s"."""
    with pytest.raises(InputError) as e:
        sim.run(["experiment=compound", "compound.chain_models=[llama31-8b,bge-large-en]", *QUIET])
    assert e.value.key == "compound.chain_models" and "bge-large-en" in str(e.value)


def test_a_chain_turned_away_says_so_with_its_reason_and_an_empty_chain_is_said():
    """``serverless.max_wait_s=3`` against the 8B's ~15 s load: the all-serverless chain's
    answer stage is rejected (timeout_cold_start); the note says it, not "nan s"."""
    res = sim.run(["experiment=compound", "horizon_s=60", "serverless.max_wait_s=3",
                   "compound.bursty_setups=[serverless]", "compound.chain_models=[]", *QUIET])
    chain = res.tables["chain"].set_index("scenario")
    assert chain.loc["all serverless", "outcome"] == "rejected"
    assert chain.loc["all serverless", "reason"] == "timeout_cold_start"
    said = [n for n in res.notes if n.startswith("cold chain, all serverless:")]
    assert said and "rejected (timeout_cold_start)" in said[0] and "nan" not in said[0]
    assert not any("nan s" in n for n in res.notes), res.notes
    assert "cold chain: no chain-of-LLMs scenario (compound.chain_models is empty)" in res.notes


# ------------------------------------------------------------------- keys a stage ignores
@pytest.mark.parametrize("stages, key, why", [
    ("a: {model: llama31-8b}, b: {kind: tool, after: [a], input: {kind: fixed, mean: 5}}",
     "pipelines.p.stages.b.input.mean", "pipelines.p.stages.b.kind is tool"),
    ("a: {model: llama31-8b, latency: {kind: fixed, mean_s: 1}}",
     "pipelines.p.stages.a.latency.mean_s", "pipelines.p.stages.a.kind is model"),
    ("a: {model: llama31-8b, input: {kind: fixed, mean: 100, cv: 2}}",
     "pipelines.p.stages.a.input.cv", "pipelines.p.stages.a.input.kind is fixed"),
    ("a: {kind: tool, latency: {kind: fixed, mean_s: 1, cv: 3}}",
     "pipelines.p.stages.a.latency.cv", "pipelines.p.stages.a.latency.kind is fixed"),
])
def test_a_stage_key_the_run_does_not_read_is_said(tmp_path, stages, key, why):
    """As ``tenants.chat.input.cv`` with ``kind: fixed`` is (each was accepted unsaid)."""
    res = sim.run(base(tmp_path, [0], stages, "horizon_s=10"))
    said = [n for n in res.notes if n.startswith(f"not read by this run: {key} (")]
    assert len(said) == 1 and why in said[0], res.notes


def test_the_keys_a_stage_reads_are_not_said(tmp_path):
    stages = ("a: {model: llama31-8b, input: {kind: lognormal, mean: 100, cv: 2}}, "
              "b: {kind: tool, after: [a], latency: {kind: lognormal, mean_s: 1, cv: 3}}")
    res = sim.run(base(tmp_path, [0], stages, "horizon_s=10"))
    assert not [n for n in res.notes if "pipelines.p.stages" in n and "not read" in n], res.notes


def test_the_trace_note_speaks_of_recorded_lengths_only_when_the_trace_has_them(tmp_path):
    """A pipeline tenant's trace: its stages' lengths are drawn; "not the lengths the trace
    records" only when it records some (the columns said null: it records none)."""
    res = sim.run(later_wins(base(tmp_path, [0], "a: {model: llama31-8b}", "horizon_s=10")))
    said = [n for n in res.notes if "the trace gives its pipeline's arrival times" in n]
    assert len(said) == 1 and "not the lengths the trace records" not in said[0]
    path = tmp_path / "lengths.csv"
    path.write_text("t,i,o\n0,10,5\n")
    tenant = ("tenants={u: {pipeline: p, arrival: {kind: trace, trace: {path: " + str(path)
              + ", format: csv, csv: {time: t, input: i, output: o}}}}}")
    res = sim.run(later_wins(base(tmp_path, [0], "a: {model: llama31-8b}", "horizon_s=10", tenant)))
    said = [n for n in res.notes if "the trace gives its pipeline's arrival times" in n]
    assert len(said) == 1 and said[0].endswith(", not the lengths the trace records")
