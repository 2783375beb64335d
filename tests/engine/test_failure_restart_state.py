"""A request a failed fluid replica held starts afresh on the next: with paged admission a
replica preempts its newest sequence, and until December 2026 a restarted request kept the
failed replica's decode-heap mark, so a replica that took it back in prefill preempted it as
a decoding sequence (its output count read from the old replica) and later finished it from
its prefill: a KeyError, on every seed tried (shared system prompts, sessions, swap and host
cache alike)."""

import pytest

import sim


@pytest.mark.parametrize("engine", ["fluid", "step"])
@pytest.mark.parametrize("seed", [1, 2])
def test_paged_replicas_with_failures_end_every_request_once(engine, seed):
    r = sim.run([f"engine={engine}", "horizon_s=60", f"seed={seed}", "setups=[dedicated]",
                 "tenants.chat.arrival.rate_rps=45", "output.plots=false",
                 "tenants.chat.prefix={system_tokens: 500, sessions: {turns_mean: 3, think_s: 3}}",
                 "deployments.llama31-8b.admission=paged", "dedicated.replicas={llama31-8b: 2}",
                 "dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.05",
                 "dedicated.failures.mttr_s=15"]).requests
    assert r["request_id"].is_unique and (r["outcome"] == "completed").all()
    assert (r["attempts"] > 1).any() and r["preemptions"].sum() > 0  # both mechanisms at work
