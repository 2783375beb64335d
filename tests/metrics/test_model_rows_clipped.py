"""A ``__model__:<m>`` row's ``clipped`` counts that model's requests whose lengths were
changed. Until December 2026 it was the count of the tenants whose first model it is, so a
pipeline tenant's changed answer-stage requests all sat on its embedder's row and the LLM's
read 0 (the windowed rows, counted per request, were right)."""

from __future__ import annotations

import pytest

import sim

PIPE = ("pipelines.p={stages: {embed: {model: bge-large-en, input: {kind: fixed, mean: 50}}, "
        "answer: {model: llama31-8b, after: [embed], input: {kind: fixed, mean: 1024, max: 100}, "
        "output: {kind: fixed, mean: 8}}}}")


RUN = ["experiment=compound", "job=simulate", "setups=[dedicated]", "horizon_s=20", "drain_s=60",
       PIPE, "tenants.chat.pipeline=p", "tenants.chat.arrival={kind: poisson, rate_rps: 1.0}",
       "tenants.solo={model: bge-large-en, arrival: {rate_rps: 1}, "
       "input: {kind: fixed, mean: 1024, max: 100}}", "output.progress=false"]


# the summary's walk; the end of the run in one walk (sim/metrics/endrun.py); that walk folded
# while the run goes (sim/simulation/streamed.py)
@pytest.mark.parametrize("kept, percentiles", [("full", "exact"), ("full", "sketch"),
                                               ("none", "sketch")])
def test_a_model_rows_clipped_counts_its_own_changed_requests(kept, percentiles):
    res = sim.run([*RUN, f"output.requests={kept}", f"output.percentiles={percentiles}"])
    full = res if kept == "full" else sim.run(RUN)
    req = full.requests
    # by the config: every answer-stage prompt (1,024 tokens, max 100) and every solo prompt
    # is cut; the embed stage's 50 tokens are not
    answer = (req["tenant"] == "chat") & (req["stage"] == "answer")
    solo = req["tenant"] == "solo"
    assert (req.loc[answer | solo, "input_tokens"] == 100).all()
    assert answer.sum() > 0 and solo.sum() > 0
    got = res.summary.set_index("tenant")["clipped"]
    assert int(got["__model__:llama31-8b"]) == int(answer.sum())
    assert int(got["__model__:bge-large-en"]) == int(solo.sum())  # the embed stage: none
    assert int(got["chat"]) == int(answer.sum()) and int(got["solo"]) == int(solo.sum())
    # the model rows partition the user requests: their counts add up to __all__'s
    models = got[got.index.str.startswith("__model__:")]
    assert int(models.sum()) == int(got["__all__"])
