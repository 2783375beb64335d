"""What the cold-start columns count (README "Concepts" and "Serverless setup"): a request
queued when its model's first replica turns warm records its wait to that moment and that
replica's tier; a request that arrives while a replica is warm is never counted, even when
it then waits for a scale-up's load (that wait is in its TTFT alone)."""

from __future__ import annotations

import pytest
from helpers.timing import DRAM, OBJ, W8B

import sim


def _run(tmp_path, engine, rows):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n" + "".join(rows))
    return sim.run([f"engine={engine}", "setups=[serverless]", "horizon_s=60", "drain_s=100",
                    "output.plots=false", "serverless.autoscaler.target_concurrency=1",
                    "deployments.llama31-8b.max_num_seqs=1",
                    "tenants={chat: {model: llama31-8b, arrival: {kind: trace, trace: {path: "
                    + str(trace) + ", format: csv, duplicates: keep}}, input: {kind: trace},"
                    " output: {kind: trace, max: null}}}"], output_dir=tmp_path / "out")


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_a_wait_for_a_scale_up_behind_a_busy_replica_is_not_a_cold_start(tmp_path, engine):
    # request 0 at 0 (8,000 tokens) loads replica 0 from object storage, warm at
    # 1 + 8.5 / 6 + 25 = 27.42 s; request 1 at 28 s finds it warm and busy; the 30 s tick
    # (2 in flight, target 1) places replica 1, which reads the node's page cache: warm at
    # 30 + 1 + 8.5 / 52 + 25 = 56.16 s, when request 1 starts
    r = _run(tmp_path, engine, ["0.0,100,8000\n", "28.0,100,100\n"]).requests.sort_values("request_id")
    first = 1 + W8B / OBJ + 25
    assert r.cold_start_wait_s.tolist() == pytest.approx([first, 0.0], abs=1e-9)
    assert r.cold_start_tier.iloc[0] == "object_storage" and r.cold_start_tier.iloc[1] in ("", None)
    assert r.admit_s.iloc[1] == pytest.approx(30 + 1 + W8B / DRAM + 25, abs=1e-9)


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_queued_requests_record_the_wait_for_the_models_first_warm_replica(tmp_path, engine):
    # two requests at 0: both queued when replica 0 turns warm (27.42 s, object storage) and
    # both record that, though the second is served by replica 1 (placed at the 2 s tick,
    # weights from host memory: warm at 2 + 1 + 8.5 / 52 + 25 = 28.16 s)
    r = _run(tmp_path, engine, ["0.0,100,2000\n"] * 2).requests.sort_values("request_id")
    first = 1 + W8B / OBJ + 25
    assert r.cold_start_wait_s.tolist() == pytest.approx([first, first], abs=1e-9)
    assert r.cold_start_tier.tolist() == ["object_storage"] * 2
    assert r.admit_s.iloc[1] == pytest.approx(2 + 1 + W8B / DRAM + 25, abs=1e-9)
