"""The drawn lengths' note offers ``kind: trace`` for a side only when replaying that side
is accepted. Until December 2026 a CSV log whose length columns are there but empty got the
offer (``set tenants.chat.input.kind=trace and output.kind=trace to replay those``), and
taking it was refused (``empty.csv:2: prompt is empty``)."""

from __future__ import annotations

import re

import pytest

import sim
from sim.simulation.build import build_workload

T = "tenants.chat"
FILES = {  # prompt, completion per row: "" an empty field
    "empty": [("", "")] * 4,
    "holes": [("10", "3"), ("", "4"), ("12", "5"), ("13", "6")],
    "half": [("10", ""), ("11", ""), ("12", ""), ("13", "")],
    "full": [("10", "3"), ("11", "4"), ("12", "5"), ("13", "6")],
}


def _cfg(path, lengths=()):
    return sim.compose([f"{T}.arrival={{kind: trace, trace: {{path: {path}, format: csv, csv: "
                        "{time: t_us, input: prompt, output: completion, time_unit: us}}}",
                        "horizon_s=60", *lengths])


def _note(path) -> str:
    wl = build_workload(_cfg(path))
    return next(n for n in wl.replay_notes if "the trace gives the arrival times only" in n)


def _accepted(path, side) -> bool:
    try:
        build_workload(_cfg(path, [f"{T}.{side}.kind=trace"]))
        return True
    except sim.InputError:
        return False


@pytest.mark.parametrize("form", list(FILES))
def test_a_side_is_offered_as_kind_trace_exactly_when_its_replay_is_accepted(tmp_path, form):
    p = tmp_path / f"{form}.csv"
    p.write_text("t_us,prompt,completion\n" + "".join(
        f"{1_700_000_000_000_000 + 50_000 * i},{a},{b}\n" for i, (a, b) in enumerate(FILES[form])))
    note = _note(p)
    both = "set tenants.chat.input.kind=trace and output.kind=trace" in note
    for side in ("input", "output"):
        offered = both or f"set tenants.chat.{side}.kind=trace" in note
        assert offered == _accepted(p, side), (form, side, note)
    if form == "empty":  # why, with the file's line
        assert "its recorded lengths cannot be replayed (empty.csv:2: prompt is empty; " \
               "empty.csv:2: completion is empty)" in note
    if form == "holes":
        assert re.search(r"holes.csv:3: prompt is empty\).*set tenants.chat.output.kind=trace", note)
