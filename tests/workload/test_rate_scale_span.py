"""``rate_scale`` above 1 scales the stretch of the trace the horizon replays: each whole
copy after the first is that stretch rotated by a uniform offset (shifted and wrapped around
it), so it replays exactly the unscaled count; the fraction is a thinned rotated copy.
Until December 2026 the offsets ran over the whole trace, so over a short horizon each copy
brought in a random stretch of the trace at its average rate (rate_scale 2 on the Azure
code trace over 120 s: 281 to 775 requests by seed where 2 x 63 were asked)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import TRACES

from sim.rng import stream
from sim.workload import arrivals as arr
from sim.workload.traces import Trace

CODE = str(TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv")


def trace(times):
    n = len(times)
    return Trace("span.csv", np.asarray(times, float), np.full(n, 10), np.full(n, 5))


# a dense first 10 s (a row a second) then a sparse tail to 1,000 s (a row every 100 s):
# a copy shifted across the whole trace lands about 10 x 20 / 1000 = 0.2 rows in [0, 10)
DENSE_THEN_SPARSE = list(range(10)) + list(range(100, 1001, 100))


@pytest.mark.parametrize("seed", range(5))
def test_whole_copies_replay_each_row_of_the_replayed_span_once_each(seed):
    """Horizon 10 s, rate_scale 3: rows 0..9 three times each (the first copy at their
    recorded times), no row of the tail, every time inside the horizon; each copy is a
    rotation, so the 30 times are the 10 recorded ones shifted mod 10 by two offsets."""
    t, i = arr.replay(trace(DENSE_THEN_SPARSE), 10.0, 1.0, 3.0, 0.0, False, stream(seed, "span"))
    assert np.bincount(i, minlength=20).tolist() == [3] * 10 + [0] * 10
    assert t.min() >= 0.0 and t.max() < 10.0 and np.all(np.diff(t) >= 0)
    assert set(range(10)) <= set(np.round(t, 12).tolist())  # the trace itself, unshifted
    # the other 20 times: two rotations of 0..9, each the same fractional part for all rows
    frac = np.round(np.mod(t, 1.0), 9)
    assert sorted(np.bincount(np.unique(frac, return_inverse=True)[1]).tolist()) == [10, 10, 10]


def test_start_s_time_scale_and_loop_set_the_replayed_span():
    """Rows at 0, 1 and 3 s from start_s 1 at time_scale 2 looped over 10 s: passes of 4 s
    (+1 ns) with rows at 0 and 4 s of each, so the replayed span holds 0, 4, 4, 8 (+ns), 8
    (+2 ns): 5 rows; rate_scale 2 gives exactly 10, each of rows 1 and 2 as often as twice
    their unscaled count. Without loop over 3 s the span is [0, 3): row 1 alone, twice."""
    once, io = arr.replay(trace([0.0, 1.0, 3.0]), 10.0, 2.0, 1.0, 1.0, True, stream(1, "r"))
    t, i = arr.replay(trace([0.0, 1.0, 3.0]), 10.0, 2.0, 2.0, 1.0, True, stream(1, "r"))
    assert once.size == 5 and t.size == 10 and t.max() < 10.0
    assert np.bincount(i).tolist() == (2 * np.bincount(io)).tolist()
    t, i = arr.replay(trace([0.0, 1.0, 3.0]), 3.0, 2.0, 2.0, 1.0, False, stream(1, "r"))
    assert i.tolist() == [1, 1] and t.max() < 3.0


def _code_seconds() -> np.ndarray:
    t = pd.to_datetime(pd.read_csv(CODE, usecols=["TIMESTAMP"])["TIMESTAMP"]).astype("int64").to_numpy()
    return (t - t[0]) / 1e9


def test_the_azure_code_trace_over_120_s_scaled_keeps_its_count_and_where_it_falls():
    """The code trace over 120 s holds n rows (63, counted here from the file with pandas).
    rate_scale 2: exactly 2n on every seed. rate_scale 2.5 over 40 seeds: 2n plus a
    Binomial(n, 0.5) thinned copy, so the mean count is 2.5 n with a standard error of
    sqrt(n / 4 / 40) (0.63 at n = 63); 4 of them allowed. Shape: the unscaled copy puts c_q
    rows in quarter q; a rotated copy by a uniform offset puts n / 4 there on average, so the
    mean count in quarter q is c_q + 1.5 n / 4, checked to four standard errors of the 40
    seeds' mean (their own spread). Before the fix the counts ran 281-775 (rate_scale 2)."""
    from sim.workload.traces import read_azure
    base = _code_seconds()
    h = 120.0
    n = int(np.count_nonzero(base < h))
    quarters = np.bincount((base[base < h] // (h / 4)).astype(int), minlength=4)
    tr = read_azure(CODE)
    for seed in range(6):
        t, _ = arr.replay(tr, h, 1.0, 2.0, 0.0, False, stream(seed, "arrivals/chat"))
        assert t.size == 2 * n, (seed, t.size, n)
    seeds = 40
    counts, parts = [], []
    for seed in range(seeds):
        t, _ = arr.replay(tr, h, 1.0, 2.5, 0.0, False, stream(seed, "arrivals/chat"))
        counts.append(t.size)
        parts.append(np.bincount((t // (h / 4)).astype(int), minlength=4))
    assert abs(np.mean(counts) - 2.5 * n) < 4 * math.sqrt(n * 0.25 / seeds), (np.mean(counts), n)
    parts = np.array(parts)
    want = quarters + 1.5 * n / 4
    se = parts.std(axis=0, ddof=1) / math.sqrt(seeds)
    assert np.all(np.abs(parts.mean(axis=0) - want) < 4 * se + 1e-9), (parts.mean(axis=0), want, se)


def test_the_budget_counts_the_rows_the_horizon_replays_not_the_traces_average(tmp_path):
    """1,000 rows in the first second, then 10 over 1,000 s: rate_scale 1,000 over 1 s
    replays 10^6 requests; the budget counted the trace's average rate over that second
    (1,010 rows / 1,000 s x 1 s x 1,000 = 1,010) and let 1,000 times more through."""
    import sim
    from sim.simulation.build import build_workload
    from sim.simulation.build.budget import estimate
    p = tmp_path / "dense.csv"
    times = [i / 1000 for i in range(1000)] + [100.0 * k for k in range(1, 11)]
    p.write_text("timestamp,input_tokens,output_tokens\n" + "".join(f"{t},10,5\n" for t in times))
    cfg = sim.compose([f"tenants.chat.arrival={{kind: trace, trace: {{path: {p}, format: csv, "
                       "rate_scale: 1000}}", "horizon_s=1"])
    est = estimate(cfg, ["dedicated"])
    assert len(build_workload(cfg)) == 1000 * 1000
    assert 1e6 <= est.requests < 1.01e6, est.requests


def test_copies_of_a_span_with_no_row_draw_nothing():
    # no row before the horizon (rows at 0 and 100 s, from 50 s over 30 s): the copies
    # replay nothing, so none is drawn (until December 2026 each was: 10^7 copies of nothing
    # took 32 s and 3.7 GB, unforeseen by the budget, which counts the rows replayed)
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    t, i = arr.replay(trace([0.0, 100.0]), 30.0, 1.0, 1e5 + 0.5, 50.0, False, rng)
    assert t.size == 0 and i.size == 0
    assert rng.bit_generator.state == before


def test_the_note_gives_the_rate_scale_as_set():
    # 1.0000001 read "rate_scale 1" (a :g format) until December 2026
    tr = trace([0.0, 1.0, 2.0])
    t, i = arr.replay(tr, 10.0, 1.0, 1.0000001, 0.0, False, np.random.default_rng(0))
    notes = arr.replay_notes("chat", tr, i, 10.0, 1.0, 1.0000001, 0.0, False)
    assert any("rate_scale 1.0000001 replays" in n for n in notes), notes
