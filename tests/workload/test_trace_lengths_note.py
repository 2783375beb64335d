"""A trace replayed with lengths drawn from the tenant's length configs, not the rows'
recorded ones, says so (the configs' defaults are fixed 1,024 / 256 tokens: a user replaying
a trace without ``input.kind: trace`` got those lengths, unsaid)."""

from __future__ import annotations

import sim


def _run(tmp_path, *extra):
    p = tmp_path / "t.jsonl"
    p.write_text("".join(f'{{"timestamp": {i * 500}, "input_length": {300 + i}, '
                         f'"output_length": {20 + i}}}\n' for i in range(6)))
    return sim.run(["horizon_s=10", "setups=[dedicated]",
                    "tenants={chat: {model: llama31-8b, arrival: {kind: trace, trace: "
                    f"{{path: {p}, format: mooncake}}}}}}}}", *extra])


def _notes(res):
    return [n for n in res.notes if "the trace gives the arrival times only" in n]


def test_default_lengths_are_said_with_what_they_are(tmp_path):
    res = _run(tmp_path)
    assert res.requests["input_tokens"].unique().tolist() == [1024]  # the config's, not the trace's
    assert _notes(res) == ["tenant chat: the trace gives the arrival times only; its requests' "
                           "lengths come from tenants.chat.input (fixed, mean 1024) and output "
                           "(fixed, mean 256), not the lengths the trace records (set "
                           "tenants.chat.input.kind=trace and output.kind=trace to replay those)"]


def test_one_side_drawn_names_that_side_only(tmp_path):
    res = _run(tmp_path, "tenants.chat.input={kind: trace}")
    assert sorted(res.requests["input_tokens"].tolist()) == [300, 301, 302, 303, 304, 305]
    (note,) = _notes(res)
    assert "tenants.chat.output (fixed, mean 256), not" in note and ".input (" not in note


def test_recorded_lengths_replayed_say_nothing(tmp_path):
    res = _run(tmp_path, "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}")
    assert sorted(res.requests["output_tokens"].tolist()) == [20, 21, 22, 23, 24, 25]
    assert _notes(res) == []
