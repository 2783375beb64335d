"""A neighbour warming up beside a replica mid-decode slows it from the next iteration on, in
both engines. One 100-token prompt with 1,000 output tokens for the 8B, and one request for
the 32B on the same node: the 32B is warm at 32.208 s while the 8B decodes; with
``per_neighbour: 0.5`` the 8B's remaining 1.489 s of work takes 1.5 x longer, so it ends at
about 34.44 s (33.697 s alone). Until December 2026 the fluid engine took the new factor only
at its next state change, so this steady batch finished at 33.697 s as if alone."""

import pytest

import sim


def _finish(tmp_path, engine: str, alpha: float) -> float:
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens,svc\n0,100,1000,a\n0,100,10,b\n")
    arrival = "{kind: trace, trace: {path: " + str(trace) + ", format: csv, where: {svc: %s}}}"
    r = sim.run(["setups=[serverless]", f"engine={engine}", "horizon_s=100", "output.plots=false",
                 "tenants={a: {model: llama31-8b, arrival: " + arrival % "a" + ", input: {kind: trace}, "
                 "output: {kind: trace}}, b: {model: qwen3-32b, arrival: " + arrival % "b"
                 + ", input: {kind: trace}, output: {kind: trace}}}",
                 "deployments.qwen3-32b={gpu: H100, precision: fp8, tp: 1}",
                 "serverless.pool={H100: {nodes: 1, gpus_per_node: 8}}",
                 f"serverless.interference.per_neighbour={alpha}"]).requests
    return float(r.loc[r["tenant"] == "a", "finish_s"].iloc[0])


def test_a_neighbour_slows_a_decoding_replica_in_both_engines(tmp_path):
    alone = _finish(tmp_path, "fluid", 0.0)
    step, fluid = _finish(tmp_path, "step", 0.5), _finish(tmp_path, "fluid", 0.5)
    assert step - alone > 0.7  # 1.489 s of work at 1.5 x: about 0.74 s more
    assert fluid == pytest.approx(step, abs=0.02)  # the fluid engine's averaging within a stretch
