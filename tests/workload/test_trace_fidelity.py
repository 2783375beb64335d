"""Fidelity of real-trace replay: what the run serves is what the files hold, and whatever a
run leaves out or changes is counted.

Each check reads the shared trace files itself (csv/json/gzip) or compares against a
run that keeps everything, never against the project's own readers' output.
"""

from __future__ import annotations

import numpy as np
from helpers import TRACES

import sim
from sim.simulation.build import build_workload

SERVEGEN_MID = TRACES / "servegen" / "m-mid_client_windows.csv.gz"


def test_background_thinning_keeps_the_changed_flags_of_the_kept_requests():
    # prompts capped at 600 tokens: about a third of the lognormal draws are clipped
    bg = ["horizon_s=300", f"background.servegen.path={SERVEGEN_MID}",
          "background.servegen.clients=2", "background.servegen.rate_scale=0.05",
          "background.servegen.input={kind: lognormal, mean: 600, cv: 1, max: 600}"]
    full = build_workload(sim.compose(bg))
    half = build_workload(sim.compose(bg + ["background.scale=0.5"]))
    for w in (full, half):
        assert w.changed_req.size == len(w)

    def flags(w):
        bgm = ~w.user_mask()
        return {(w.tenants[t], a): c for t, a, c in zip(
            w.tenant[bgm].tolist(), w.arrival_s[bgm].tolist(), w.changed_req[bgm].tolist())}

    f_full, f_half = flags(full), flags(half)
    assert 0 < len(f_half) < len(f_full)
    # a kept request was changed exactly when it was changed at full scale
    assert all(f_full[k] == v for k, v in f_half.items())
    assert any(f_half.values())
    for name in half.tenants[half.n_user_tenants:]:
        assert half.changed[name] == sum(v for (t, _), v in f_half.items() if t == name)


AZURE_CODE = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
MOONCAKE = TRACES / "mooncake_fast25"


def _replay(path, fmt):
    return ["tenants.chat.arrival.kind=trace", f"tenants.chat.arrival.trace.path={path}",
            f"tenants.chat.arrival.trace.format={fmt}", "tenants.chat.input.kind=trace",
            "tenants.chat.output.kind=trace", "output.requests=full"]


def _azure_seconds(path) -> list[float]:
    """Seconds from the first row, from the CSV's text (whole seconds and the fraction apart)."""
    import csv
    from datetime import datetime
    out = []
    for r in csv.DictReader(open(path)):
        day, frac = r["TIMESTAMP"].split(".")
        out.append(datetime.strptime(day, "%Y-%m-%d %H:%M:%S").timestamp() + float("0." + frac))
    return [t - out[0] for t in out]


def test_rows_after_the_horizon_are_counted_in_a_note():
    t = _azure_seconds(AZURE_CODE)
    horizon, start = 300.0, 100.0
    res = sim.run(_replay(AZURE_CODE, "azure") + [f"horizon_s={horizon:g}",
                                                  f"tenants.chat.arrival.trace.start_s={start:g}"])
    inside = [x for x in t if start <= x < start + horizon]
    late = [x for x in t if x >= start + horizon]
    assert len(res.requests) == len(inside)
    assert any(f"{len(late):,} of the trace's {len(inside) + len(late):,} requests" in n
               and "not replayed" in n for n in res.notes), res.notes
    # a horizon past the trace's end leaves nothing out, and says nothing
    whole = sim.run(_replay(AZURE_CODE, "azure") + ["horizon_s=3600"])
    assert len(whole.requests) == len(t) and not any("not replayed" in n for n in whole.notes)


def test_spread_timestamps_are_counted_in_a_note():
    import json
    path = MOONCAKE / "conversation_trace.jsonl"
    ts = [json.loads(line)["timestamp"] for line in open(path)]
    same = sum(a == b for a, b in zip(ts, ts[1:]))  # rows sharing the time of the row before
    horizon = ts[-1] / 1000 + 10  # the whole trace (its last slot spreads over 3 s)
    wl = build_workload(sim.compose(_replay(path, "mooncake") + [f"horizon_s={horizon:g}"]))
    assert len(wl) == len(ts)
    assert [n for n in wl.replay_notes if "spread" in n] == [
        f"tenant chat: {same:,} of its {len(ts):,} replayed trace requests share their recorded "
        "time with the row before and were spread evenly up to the next recorded time "
        "(arrival.trace.duplicates: spread; `keep` replays them at equal times)"]
    kept = build_workload(sim.compose(_replay(path, "mooncake") + [
        f"horizon_s={horizon:g}", "tenants.chat.arrival.trace.duplicates=keep"]))
    assert kept.replay_notes == []
    assert np.array_equal(kept.arrival_s, (np.asarray(ts) - ts[0]) / 1000)
