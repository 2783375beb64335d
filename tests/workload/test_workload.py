"""Arrival processes, lengths, trace replay and named streams.

Statistical checks use fixed seeds; each tolerance is four standard errors of the
estimate, with the standard error stated next to it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TRACES

import sim
from sim.rng import stream
from sim.simulation.build import build_workload
from sim.workload import arrivals as arr
from sim.workload.traces import load_trace, read_azure, read_mooncake

AZURE_CODE = TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
MOONCAKE = TRACES / "mooncake_fast25" / "conversation_trace.jsonl"


def cv(x):
    d = np.diff(x)
    return d.std() / d.mean()


def test_poisson_count_and_cv():
    lam, h = 50.0, 2000.0
    t = arr.poisson(lam, h, stream(1, "t"))
    assert abs(t.size - lam * h) < 4 * math.sqrt(lam * h)  # Poisson count: sd sqrt(lam h)
    # sample CV of n exponential gaps has sd about 1/sqrt(n)
    assert abs(cv(t) - 1.0) < 4 / math.sqrt(t.size)
    assert np.all(np.diff(t) >= 0) and t.min() >= 0 and t.max() < h


@pytest.mark.parametrize("target", [0.5, 2.0, 4.0])
def test_gamma_renewal_rate_and_cv(target):
    lam, n = 10.0, 400_000
    t = arr.gamma_renewal(lam, target, n / lam, stream(2, "g"))
    # mean gap: sd = cv / lam / sqrt(n); rate relative error sd ~ cv / sqrt(n)
    assert abs(t.size / (n / lam) - lam) / lam < 4 * target / math.sqrt(n)
    # the sample CV of gamma gaps: its sd grows with the CV; 3 % covers > 4 sd at n = 400k
    assert cv(t) == pytest.approx(target, rel=0.03)


def test_onoff_mean_rate_and_burstiness():
    lam, on, off, h = 5.0, 20.0, 80.0, 200_000.0
    t = arr.onoff(lam, on, off, 0.0, h, stream(3, "o"))
    r_on = lam * (on + off) / on
    # variance of an on/off count over T: lam T + 2 r_on^2 (on off)^2 / (on + off)^3 T
    var = lam * h + 2 * r_on ** 2 * (on * off) ** 2 / (on + off) ** 3 * h
    assert abs(t.size - lam * h) < 4 * math.sqrt(var)
    assert cv(t) > 2.0  # bursty: far from Poisson's 1


def test_a_file_curve_repeats_its_points_over_the_horizon():
    # the ninth hostile-input sweep (December 2026): each repetition dropped the curve's
    # last point, so a curve whose last rate is not its first lost its mean (a ramp from 1 to
    # 3 ran flat at 1: half the rate asked, unsaid). Written out here copy by copy
    times, rates = np.array([10.0, 12.0, 15.0]), np.array([1.0, 3.0, 2.0])
    c = arr.RateCurve.from_points(times, rates, 11.0)  # span 5 s: ceil(11 / 5) + 1 = 4 copies
    mean = (2 * (1 + 3) / 2 + 3 * (3 + 2) / 2) / 5
    assert c.t.tolist() == [0, 2, 5, 5, 7, 10, 10, 12, 15, 15, 17, 20]
    assert np.allclose(c.s, np.array([1, 3, 2] * 4) / mean, rtol=0, atol=1e-15)
    # a mean of 1: operational time keeps pace with real time at every join
    assert [c.u_at(x) for x in (5.0, 10.0, 20.0)] == pytest.approx([5.0, 10.0, 20.0])


def test_a_file_curve_is_linear_between_its_points():
    """Rates 1, 3, 1 at 0, 10 and 30 s (mean 2 over the 30 s span): the rate climbs through
    each stretch, so the first 5 s of a cycle expect int_0^5 (1 + t / 5) / 2 dt = 3.75 of
    every 30 requests per unit rate and the next 5 s 6.25 (5 / 3 as many). Until December
    2026 operational time was inverted linearly between points, which ran each stretch at
    its mean rate: both halves of the ramp got 5 (ratio 1). Counts ~ 37,500 and 62,500 at
    rate 100 over 300 cycles: Poisson SE 0.5 % and 0.4 %."""
    times, rates = np.array([0.0, 10.0, 30.0]), np.array([1.0, 3.0, 1.0])
    horizon, lam = 9000.0, 100.0
    c = arr.RateCurve.from_points(times, rates, horizon)
    probe = np.array([0.0, 2.5, 7.0, 10.0, 17.5, 29.0, 30.0, 31.0, 8999.0])
    u = np.array([c.u_at(x) for x in probe])
    assert u[:3] == pytest.approx([0.0, (2.5 + 2.5 ** 2 / 10) / 2, (7 + 4.9) / 2], rel=1e-12)
    np.testing.assert_allclose(c.warp(u), probe, rtol=0, atol=1e-9)  # the exact inverse
    t = c.warp(arr.poisson(lam, c.u_at(horizon), stream(6, "f")))
    phase = np.mod(t, 30.0)
    first, second = (np.count_nonzero((phase >= a) & (phase < a + 5)) for a in (0.0, 5.0))
    cycles = horizon / 30.0
    assert first == pytest.approx(lam * 3.75 * cycles, rel=4 * 0.005)
    assert second == pytest.approx(lam * 6.25 * cycles, rel=4 * 0.004)


def test_a_file_curve_maps_a_long_array_a_chunk_at_a_time_to_the_same_times():
    """A file curve's inverse is taken a chunk of times at a time (memory): at chunks of 1,
    7 and 1,000 the 50,000 times are the same bytes as in one, and each chunk maps its own
    times (a chunk written to the wrong slice, or one left unmapped, fails), including
    stretches of zero rate, where u stands still."""
    times, rates = np.array([0.0, 4.0, 9.0, 20.0]), np.array([2.0, 0.0, 5.0, 1.0])
    c = arr.RateCurve.from_points(times, rates, 3000.0)
    u = arr.poisson(20.0, c.u_at(3000.0), stream(4, "w"))
    assert u.size > 40_000
    whole = c.warp(u, chunk=10 ** 9)
    assert (np.diff(whole) >= 0).all() and whole[-1] <= 3000.0
    for chunk in (1, 7, 1000):
        assert c.warp(u, chunk=chunk).tobytes() == whole.tobytes(), chunk


def test_sinusoid_curve_peak_to_trough():
    lam, period = 20.0, 1000.0
    curve = arr.RateCurve.sinusoid(period, 3.0, 0.0, 50 * period)
    u = arr.poisson(lam, curve.u_at(50 * period), stream(4, "d"))
    t = curve.warp(u)
    phase = np.mod(t, period)
    trough = np.count_nonzero((phase < 50) | (phase > period - 50))
    peak = np.count_nonzero(np.abs(phase - period / 2) < 50)
    # counts near 50 x 100 s x lam x (shape 0.5 or 1.5): ~50,000 and ~150,000; sd < 1 %
    assert peak / trough == pytest.approx(3.0, rel=0.03)
    assert t.size == pytest.approx(lam * 50 * period, rel=0.01)


def test_azure_trace_reads_and_replays():
    tr = read_azure(AZURE_CODE)
    assert tr.t_s.size == 8819  # CAL §7
    assert tr.duration_s == pytest.approx(3435.9, abs=1)
    rng = stream(5, "r")
    t, idx = arr.replay(tr, 4000.0, 1.0, 1.0, 0.0, False, rng)
    assert t.size == 8819 and np.array_equal(idx, np.arange(8819))
    t2, _ = arr.replay(tr, 3600.0, 2.0, 1.0, 0.0, False, rng)  # twice as slow
    assert t2.size == np.count_nonzero(tr.t_s * 2 < 3600)
    t3, _ = arr.replay(tr, 4000.0, 1.0, 0.5, 0.0, False, rng)  # thinned: binomial sd ~ 47
    assert abs(t3.size - 8819 / 2) < 4 * math.sqrt(8819 / 4)
    t4, _ = arr.replay(tr, 4000.0, 1.0, 2.0, 0.0, False, rng)  # two shifted copies
    assert t4.size == 2 * 8819
    t5, _ = arr.replay(tr, 10_000.0, 1.0, 1.0, 0.0, True, rng)  # looped to fill the horizon
    assert t5.size > 2 * 8819 and t5.max() < 10_000


def test_mooncake_slots_are_spread():
    tr = read_mooncake(MOONCAKE)
    assert tr.t_s.size == 12031  # CAL §7
    assert np.all(np.diff(tr.t_s) > 0)  # duplicates spread over their 3 s slot
    kept = read_mooncake(MOONCAKE, duplicates="keep")
    assert np.count_nonzero(np.diff(kept.t_s) == 0) > 10_000
    assert tr.input_tokens.mean() == pytest.approx(12035, rel=0.001)


@pytest.mark.parametrize("content,match", [
    ("TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.9799600,10\n", "missing column"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,5\n"
     "2023-11-16 18:17:04.0000000,abc,5\n", r":3: ContextTokens"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:05.0000000,10,5\n"
     "2023-11-16 18:17:04.0000000,10,5\n", r":3: timestamps go backwards"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:05.0000000,10,5\n"
     "2023-11-16 18:17:05.0000000,10,5\n", r":3: duplicate timestamp"),
    ("", "empty trace file"),
    ("TIMESTAMP,ContextTokens,GeneratedTokens\nyesterday,10,5\n", r":2: bad TIMESTAMP"),
])
def test_malformed_azure_traces_name_file_and_line(tmp_path, content, match):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    with pytest.raises(sim.InputError, match=match):
        read_azure(p, "error")  # equal times: refused only when asked (the default keeps them)


def test_wrong_encoding_names_the_line(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:05.0000000,10,5\n\xff\xfe,1,1\n")
    with pytest.raises(sim.InputError, match=r"latin.csv:3: not UTF-8"):
        read_azure(p)


def test_malformed_mooncake_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5}\n')
    with pytest.raises(sim.InputError, match=r"bad.jsonl:2: missing field 'output_length'"):
        read_mooncake(p)


def test_length_distributions():
    from omegaconf import OmegaConf

    from sim.config import LengthConfig
    from sim.workload.lengths import sample_lengths

    def draw(**kw):
        cfg = OmegaConf.merge(OmegaConf.structured(LengthConfig), kw)
        return sample_lengths(cfg, 200_000, stream(6, str(kw)))

    x = draw(kind="lognormal", mean=500, cv=1.0, max=10 ** 9)
    assert x.mean() == pytest.approx(500, rel=0.02)  # sd of the mean 500/sqrt(2e5) ~ 0.2 %
    assert x.std() / x.mean() == pytest.approx(1.0, rel=0.05)
    g = draw(kind="geometric", mean=40, max=10 ** 9)
    assert g.mean() == pytest.approx(40, rel=0.02) and g.min() >= 1
    assert set(draw(kind="fixed", mean=7).tolist()) == {7}
    pmf = TRACES / "servegen" / "m-large_output_tokens_pmf.csv"
    e = draw(kind="empirical", path=str(pmf), max=10 ** 9)
    import pandas as pd

    df = pd.read_csv(pmf)
    assert e.mean() == pytest.approx((df.iloc[:, 0] * df["probability"]).sum() / df["probability"].sum(), rel=0.03)


def test_named_streams_make_tenants_independent():
    base = ["tenants.chat.arrival.rate_rps=3", "horizon_s=200"]
    cfg1 = sim.compose(base)
    cfg2 = sim.compose(base + ["tenants.other={model: qwen3-32b, arrival: {rate_rps: 5}}"])
    w1, w2 = build_workload(cfg1), build_workload(cfg2)
    chat1 = w1.arrival_s[w1.tenant == w1.tenants.index("chat")]
    chat2 = w2.arrival_s[w2.tenant == w2.tenants.index("chat")]
    assert np.array_equal(chat1, chat2)
    assert np.array_equal(w1.input_tokens[w1.tenant == 0],
                          w2.input_tokens[w2.tenant == w2.tenants.index("chat")])


def test_trace_tenant_through_the_app():
    res = sim.run(["horizon_s=300", "tenants.chat.arrival.kind=trace",
                   f"tenants.chat.arrival.trace.path={AZURE_CODE}",
                   "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace"])
    tr = load_trace(str(AZURE_CODE), "azure")
    n = int(np.count_nonzero(tr.t_s < 300))
    assert len(res.requests) == n
    assert res.requests["input_tokens"].sum() == tr.input_tokens[:n].sum()


def test_bad_rate_names_the_key():
    with pytest.raises(sim.InputError, match="tenants.chat.arrival.rate_rps"):
        sim.run(["tenants.chat.arrival.rate_rps=0"])


def test_empirical_lengths_from_a_trace_column_with_synthetic_arrivals():
    res = sim.run(["horizon_s=200", "tenants.chat.arrival.rate_rps=20",
                   f"tenants.chat.input={{kind: empirical, path: '{AZURE_CODE}', column: input_tokens, max: 100000}}",
                   f"tenants.chat.output={{kind: empirical, path: '{AZURE_CODE}', column: output_tokens, max: 100000}}"])
    tr = load_trace(str(AZURE_CODE), "azure")
    got = res.requests["input_tokens"].to_numpy()
    assert set(got.tolist()) <= set(tr.input_tokens.tolist())
    # ~4,000 draws: the mean's sd is about std/sqrt(n) ~ 2 % of the trace mean
    assert got.mean() == pytest.approx(tr.input_tokens.mean(), rel=0.1)


def test_diurnal_background_follows_its_sinusoid():
    """background.synthetic.peak_to_trough: the arrivals of all synthetic tenants follow one
    sinusoid with its trough at t=0. Over one period (the horizon) split in quarters, the
    expected shares are the integrals of 1 - a cos(2 pi t / T) (a = (r-1)/(r+1)), computed
    here; with about 29,000 arrivals (Gamma CV 3, so a count's variance is about cv^2 times
    Poisson's: a quarter's share has a standard deviation near 0.009) each quarter's share
    is within 0.02 of it. peak_to_trough 1 is flat and byte-identical to leaving it out."""
    base = ["horizon_s=3600", "background.synthetic.tenants=40", "background.synthetic.rate_rps=8",
            "background.synthetic.models=[llama31-8b]"]
    r = 5.0
    wl = build_workload(sim.compose(base + [f"background.synthetic.peak_to_trough={r}",
                                            "background.synthetic.period_s=3600"]))
    t = wl.arrival_s[~wl.user_mask()]
    a = (r - 1) / (r + 1)
    edges = np.linspace(0, 3600, 5)
    # integral of 1 - a cos(2 pi t / T) over [t0, t1], over T
    want = [((t1 - t0) - a * 3600 / (2 * np.pi) * (np.sin(2 * np.pi * t1 / 3600)
                                                  - np.sin(2 * np.pi * t0 / 3600))) / 3600
            for t0, t1 in zip(edges[:-1], edges[1:])]
    got = np.histogram(t, edges)[0] / t.size
    assert t.size > 20_000
    assert np.allclose(got, want, atol=0.02), (got, want)
    assert got[1] + got[2] > 2 * (got[0] + got[3])  # the peak is mid-period
    flat = build_workload(sim.compose(base))
    same = build_workload(sim.compose(base + ["background.synthetic.peak_to_trough=1"]))
    assert np.array_equal(flat.arrival_s, same.arrival_s)


def test_a_mooncake_file_read_as_azure_says_which_format_to_set(tmp_path):
    """``arrival.trace.format`` defaults to ``azure``; a JSON-lines trace given without
    ``format: mooncake`` was refused as a CSV whose header lacks Azure's columns, quoting
    the JSON as column names. It is now named for what it is, with the key to set."""
    p = tmp_path / "trace.jsonl"
    p.write_text('{"timestamp": 0, "input_length": 40, "output_length": 6, "hash_ids": [0]}\n')
    with pytest.raises(sim.InputError, match=r"trace.jsonl:1: .*JSON.*format: mooncake"):
        read_azure(p)
