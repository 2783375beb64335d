"""The rows a replay from ``arrival.trace.start_s`` leaves out (recorded before it) are
counted in a note (until December 2026 unsaid: the Mooncake synthetic trace from
``start_s: 1000.5`` replayed its last 87 of 3,993 rows and no note said the first 3,906 were
left out)."""

from __future__ import annotations

import numpy as np

import sim
from sim.workload.arrivals import replay, replay_notes
from sim.workload.trace_mooncake import Trace

T = np.array([0.0, 1.0, 1.0, 2.5, 4.0, 7.0])  # six rows; 1.0 twice


def _notes(start_s: float, spread: bool = False, loop: bool = False):
    ties = np.array([False, False, True, False, False, False])
    t = T.copy()
    if spread:  # the second row at 1.0 spread halfway to 2.5, as duplicates: spread moves it
        t[2] = 1.75
    tr = Trace("x.csv", t, None, None, ties=ties, spread=spread)
    _, idx = replay(tr, 100.0, 1.0, 1.0, start_s, loop, None)
    return idx, [n for n in replay_notes("chat", tr, idx, 100.0, 1.0, 1.0, start_s, loop)
                 if "start_s=" in n and "leaves out" in n]


def test_rows_before_start_s_are_counted():
    idx, notes = _notes(2.0)
    assert idx.tolist() == [3, 4, 5]
    assert notes == ["tenant chat: arrival.trace.start_s=2 s leaves out the 3 of the trace's 6 "
                     "rows recorded before it"]
    assert _notes(0.0)[1] == [] and _notes(0.0, loop=True)[1] == []  # nothing left out: unsaid
    # a row at a time equal to start_s is replayed; one recorded before it but spread past
    # it is not (it counts among those left out)
    idx, notes = _notes(1.5, spread=True)
    assert idx.tolist() == [3, 4, 5] and "leaves out the 3 of" in notes[0]
    idx, notes = _notes(2.5, loop=True)
    assert set(idx.tolist()) == {3, 4, 5} and "leaves out the 3 of" in notes[0]


def test_the_note_reaches_the_run(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(
        f"2023-11-16 18:17:{s:02d}.0000000,10,2\n" for s in (0, 1, 3, 6, 10)))
    res = sim.run(["horizon_s=20", "setups=[dedicated]", "output.plots=false",
                   f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, start_s: 3}}}}"])
    assert res.requests["arrival_s"].sort_values().tolist() == [0.0, 3.0, 7.0]
    assert ("tenant chat: arrival.trace.start_s=3 s leaves out the 2 of the trace's 5 rows "
            "recorded before it") in res.notes


def test_the_loop_note_counts_the_passes_that_replay_a_request():
    """Rows at 2.5, 4 and 7 s from start_s 2 at time_scale 2: 1, 4 and 10 s into passes of
    10 s + 1 ns. Over 20.5 s the third pass's first row would come at 21 s, so two passes
    replay 6 requests (the note said 3 passes, from ceil(20.5 / period), the gap before the
    first kept row left out)."""
    tr = Trace("x.csv", T.copy(), None, None)
    t, idx = replay(tr, 20.5, 2.0, 1.0, 2.0, True, None)
    assert t.tolist() == [1.0, 4.0, 10.0, 11 + 1e-9, 14 + 1e-9, 20 + 1e-9]
    said = [n for n in replay_notes("chat", tr, idx, 20.5, 2.0, 1.0, 2.0, True)
            if "arrival.trace.loop" in n]
    assert said == ["tenant chat: arrival.trace.loop replays the trace's 3 rows from start_s=2 s "
                    "in 2 passes of 10 s, the last cut at horizon_s=20.5 s: 6 requests"]
    # a horizon the third pass's first row falls within: three passes
    assert " in 3 passes " in replay_notes("chat", tr, idx, 21.5, 2.0, 1.0, 2.0, True)[-1]
