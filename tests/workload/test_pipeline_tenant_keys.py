"""A pipeline tenant's calls are its stages': a ``model``, ``input`` or ``output`` given for
the tenant itself is not read, and a note says so (until December 2026 `tenants.chat.input.max=100`
on the compound experiment's pipeline tenant ran unchanged, unsaid)."""

from __future__ import annotations

import sim

BASE = ["experiment=compound", "job=simulate", "setups=[dedicated]", "horizon_s=20", "seed=3",
        "tenants.chat.arrival={kind: poisson, rate_rps: 1}",
        "output.plots=false", "output.report=false"]


def _said(res):
    return [n for n in res.notes if "sends pipeline rag" in n]


def test_a_pipeline_tenants_own_lengths_and_model_are_said_unread():
    plain = sim.run(BASE)
    res = sim.run(BASE + ["tenants.chat.input.max=100", "tenants.chat.model=qwen3-32b"])
    # nothing the tenant itself was given changed a request: the stages' lengths and models
    cols = ["model", "input_tokens", "output_tokens"]
    assert len(res.requests) and res.requests[cols].equals(plain.requests[cols])
    assert (res.requests["input_tokens"] > 100).any()
    assert _said(res) == [
        f"not read by this run: tenants.chat.{k} (tenants.chat sends pipeline rag: each stage's "
        "model, input and output are read (pipelines.rag.stages))" for k in ("input.max", "model")]
    assert _said(plain) == []


def test_a_pipelines_changed_lengths_say_what_was_done_per_stage():
    # until December 2026 a pipeline tenant's note listed every change that could have been
    # made ("clipped to the length config's [min, max], raised to one token"), whatever was
    res = sim.run(BASE + ["pipelines.rag.stages.answer.output={kind: fixed, mean: 300, max: 100}"])
    answer = res.requests[res.requests["stage"] == "answer"]
    assert len(answer) and (answer["output_tokens"] == 100).all()
    n = len(answer)
    assert [x for x in res.notes if x.startswith("tenant chat:")] == [
        f"tenant chat: {n:,} requests' lengths were changed to be served: {n:,} outputs above "
        "output.max 100 cut to it (stage answer); column `clipped`"]
