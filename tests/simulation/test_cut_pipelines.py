"""Pipeline requests the run's end cuts: every stage request and every pipeline request it
leaves unfinished is counted in the notes, and a tool call cut in flight fails in tier
``tool``. Until December 2026 a stage sent after the horizon and cut was left out of the
stability line's count (it counts arrivals by the horizon), a loss system's note
(``dedicated.max_queue=0``) took the place of the cut line, no note named the pipeline
requests cut, and a tool call cut in flight was logged in tier ``none``.

Hand-checkable scenario: pipeline ``p`` is a model stage ``a`` (llama31-8b, 500 prompt
tokens, 200 output tokens: about 1.1 s alone on its replica) then a 5 s tool ``b``, on one
dedicated replica serving one sequence at a time (``max_num_seqs=1``). A pipeline request
whose ``a`` starts at 9.5 s ends ``a`` after the 10 s horizon, so its ``b`` is sent after
the horizon and is still running when the run stops (5 s later than that is past the stop)."""

import numpy as np

import sim

P = ("pipelines={p: {stages: {a: {model: llama31-8b, input: {kind: fixed, mean: 500}, "
     "output: {kind: fixed, mean: 200}}, b: {kind: tool, after: [a], "
     "latency: {kind: fixed, mean_s: 5.0}}}}}")


def run(tmp_path, times, *overrides):
    (tmp_path / "t.csv").write_text("timestamp\n" + "".join(f"{t}\n" for t in times))
    return sim.run(["tenants.chat.pipeline=p", P, "setups=[dedicated]", "horizon_s=10",
                    "tenants.chat.arrival={kind: trace, trace: {path: " + str(tmp_path / "t.csv")
                    + ", format: csv, duplicates: keep, csv: {input: null, output: null}}}",
                    "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas={llama31-8b: 1}",
                    "output.plots=false", "output.report=false", "output.progress=false",
                    *overrides], output_dir=tmp_path / "out")


def col(res, name):
    return res.requests[name].astype(str).tolist()


def test_a_tool_call_cut_in_flight_fails_in_the_tool_tier(tmp_path):
    # the third pipeline request's ``b``, sent at about 10.6 s, runs when the run stops at
    # 12 s: it fails there, in the tier that held it (until December 2026: none, as a stage
    # never sent); the ``b`` never sent (its ``a`` turned away) reached no tier
    res = run(tmp_path, [0, 0, 9.5], "drain_s=2", "dedicated.max_queue=0")
    assert col(res, "reason")[3:] == ["upstream_failed", "", "unfinished_at_end"]
    assert col(res, "tier") == ["dedicated", "tool", "dedicated", "none", "dedicated", "tool"]
    assert np.isnan(res.requests["arrival_s"].iloc[3])
    assert 10 < res.requests["arrival_s"].iloc[5] < 11


def test_no_pipeline_cut_no_pipeline_line(tmp_path):
    # a drain long enough: every pipeline request ends, no cut line of either kind
    res = run(tmp_path, [0, 0, 9.5], "drain_s=10", "dedicated.max_queue=0")
    assert "unfinished_at_end" not in col(res, "reason")
    assert not [n for n in res.notes if "unfinished" in n], res.notes
