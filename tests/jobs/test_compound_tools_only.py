"""``experiment=compound`` on a pipeline of tools only: the chain-of-LLMs scenario copies the
prompt and output lengths of the pipeline's last model stage, and with none the job ended in
an IndexError (exit 1, no tables) until December 2026. Now that scenario is skipped and a
note says why; the other scenarios run."""

import pytest

import sim

TOOLS = ["experiment=compound", "horizon_s=60", "drain_s=60",
         "pipelines.tl={stages: {a: {kind: tool, latency: {kind: fixed, mean_s: 0.5}}}}",
         "tenants.chat.pipeline=tl", "compound.pipeline=tl",
         "compound.bursty_setups=[serverless]", "output.progress=false"]


def test_a_pipeline_of_tools_skips_the_chain_of_llms_and_says_so():
    res = sim.run(TOOLS)
    chain = res.tables["chain"]
    assert not chain["scenario"].str.contains("LLMs in sequence").any()
    assert len(chain) == 3  # all serverless, pre-warm, mixed placement
    said = [n for n in res.notes if "chain-of-LLMs" in n]
    assert said == ["cold chain: no chain-of-LLMs scenario: pipeline tl has no model stage to "
                    "take the chain's prompt and output lengths from (compound.chain_models "
                    "llama31-8b, qwen3-32b, mixtral-8x7b not run)"]
    # by hand: one tool call of a fixed 0.5 s, no model to load, on every scenario
    assert (chain["outcome"] == "completed").all()
    assert chain["e2e_s"].tolist() == pytest.approx([0.5] * 3)
    assert (chain["cold_starts"] == 0).all()


def test_without_chain_models_the_note_is_the_empty_lists():
    res = sim.run([*TOOLS, "compound.chain_models=[]"])
    assert [n for n in res.notes if "chain-of-LLMs" in n] == [
        "cold chain: no chain-of-LLMs scenario (compound.chain_models is empty)"]
