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
