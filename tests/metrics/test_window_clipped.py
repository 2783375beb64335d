"""With ``metrics.warmup_s``, a summary row's ``clipped`` counts the changed requests of its
own window. Until December 2026 both the measured and the warm-up row carried the whole
run's count: 67 changed requests in a measured row of 37 (seed 0, 20 s, warm-up 10 s)."""

from __future__ import annotations

import sim

WARMUP = 10.0


def test_clipped_counts_the_rows_window():
    res = sim.run(["horizon_s=20", "setups=[dedicated]", f"metrics.warmup_s={WARMUP}",
                   "tenants={cut: {model: llama31-8b, arrival: {rate_rps: 3}, "
                   "input: {kind: fixed, mean: 1024, max: 100}}, "
                   "kept: {model: llama31-8b, arrival: {rate_rps: 2}, input: {kind: fixed, mean: 50}}}"])
    req = res.requests
    early = req["arrival_s"] < WARMUP
    cut = req["tenant"] == "cut"  # every prompt of 1,024 tokens cut to 100: every one changed
    assert (req.loc[cut, "input_tokens"] == 100).all() and (req.loc[~cut, "input_tokens"] == 50).all()
    want = {"cut": int((cut & ~early).sum()), "cut@warmup": int((cut & early).sum()),
            "kept": 0, "kept@warmup": 0,
            "__all__": int((cut & ~early).sum()), "__all__@warmup": int((cut & early).sum())}
    assert min(want["cut"], want["cut@warmup"]) > 0
    got = res.summary.set_index("tenant")["clipped"]
    assert {t: int(got[t]) for t in want} == want
    # the two windows add up to the run's count, which the note gives
    assert f"tenant cut: {int(cut.sum()):,} requests' lengths were changed" in " ".join(res.notes)


def test_without_a_warmup_clipped_is_the_runs():
    res = sim.run(["horizon_s=20", "setups=[dedicated]",
                   "tenants={cut: {model: llama31-8b, arrival: {rate_rps: 3}, "
                   "input: {kind: fixed, mean: 1024, max: 100}}}"])
    assert res.summary.set_index("tenant").loc["cut", "clipped"] == len(res.requests)
