"""Workload pins from a hand mutation audit (README, Reliability): arrival processes, trace
replay and lengths, each checked against arithmetic done here. Tiny cases get exact values;
distributions get fixed seeds and tolerances of four standard errors of the estimate, each
standard error worked out next to its check. Background tenants, sessions, documents and
pipeline latencies: ``test_workload_pins_tenants.py``."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim.rng import stream
from sim.workload import arrivals as arr
from sim.workload import tenant_arrivals
from sim.workload.lengths import draw_lengths, fit_context, request_lengths
from sim.workload.trace_filter import where_spec
from sim.workload.traces import Trace, csv_format, read_csv_trace, read_mooncake

# ---- Gamma renewal -----------------------------------------------------------------------


def test_a_gamma_renewal_starts_in_equilibrium():
    """The first arrival is the forward recurrence time of Gamma gaps (shape k = 1 / cv^2,
    scale 1 / (rate k)): mean E[X^2] / (2 E[X]) = (1 + cv^2) / (2 rate) = 2.5 s at rate 1,
    cv 2; E[R^2] = E[X^3] / (3 E[X]) = (k + 1)(k + 2) scale^2 / 3 = 15, so sd 2.96 and the
    mean of 4,000 starts has SE 0.047. An ordinary gap as first (0.5 s as a uniform fraction
    of one) or a whole length-biased gap (5 s) are far out."""
    rng = stream(11, "first")
    first = np.array([arr.gamma_renewal(1.0, 2.0, 100.0, rng)[0] for _ in range(4000)])
    assert abs(first.mean() - 2.5) < 4 * math.sqrt(15 - 2.5 ** 2) / math.sqrt(4000)


def test_a_gamma_renewal_at_rate_zero_sends_nothing():
    assert arr.gamma_renewal(0.0, 3.0, 100.0, stream(1, "z")).size == 0


def test_a_gamma_renewal_drawn_in_chunks_is_the_same_numbers_as_one_draw():
    """The gaps drawn a chunk at a time (to keep the largest tenant's copies small) give the
    same bytes as a round drawn at once: the running sum goes on across chunks in the same
    order of additions. Restarting the sum at each chunk (start + cumsum of the chunk) moves
    the last bits of later times; the cases include rounds that fall short of the horizon
    (CV 10) and rates whose whole draw is one chunk."""
    for rate, cv, horizon in [(0.01, 10.0, 20000.0), (3.0, 0.3, 500.0), (40.0, 3.0, 300.0),
                              (7.0, 1.0, 2000.0)]:
        for seed in range(3):
            whole = arr.gamma_renewal(rate, cv, horizon, stream(seed, "g"), chunk=1 << 40)
            assert whole.size > 0 and (np.diff(whole) >= 0).all() and whole[-1] < horizon
            for chunk in (1, 7, 4096):
                parts = arr.gamma_renewal(rate, cv, horizon, stream(seed, "g"), chunk=chunk)
                assert parts.tobytes() == whole.tobytes(), (rate, cv, chunk, seed)


# ---- on-off --------------------------------------------------------------------------------


def test_onoff_keeps_its_mean_rate_with_an_off_rate():
    """rate 5, on 20 s, off 80 s, off at half the on rate: on 8.33/s, off 4.17/s, mean 5/s.
    A count over T has variance lam T + 2 (r_on - r_off)^2 (on off)^2 / (on + off)^3 T."""
    lam, on, off, f, h = 5.0, 20.0, 80.0, 0.5, 200_000.0
    t = arr.onoff(lam, on, off, f, h, stream(3, "of"))
    r_on = lam * (on + off) / (on + f * off)
    assert r_on == pytest.approx(100 / 12)
    var = lam * h + 2 * (r_on * (1 - f)) ** 2 * (on * off) ** 2 / (on + off) ** 3 * h
    assert abs(t.size - lam * h) < 4 * math.sqrt(var)


def test_onoff_starts_in_its_stationary_state():
    """On 20 s of every 100 at 25/s, off silent: a 1 s run expects 5 arrivals from t=0 only
    if it starts on with probability 0.2 (0.8 would give 20). A run's count: 0 with prob
    ~0.8, else ~Poisson(25), so variance ~ 0.2 x 650 - 25 = 105; 4,000 runs: SE 0.16."""
    rng = stream(12, "start")
    n = np.array([arr.onoff(5.0, 20.0, 80.0, 0.0, 1.0, rng).size for _ in range(4000)])
    assert abs(n.mean() - 5.0) < 4 * math.sqrt(105 / 4000)


# ---- rate curves ---------------------------------------------------------------------------


def u_sinusoid(t, period, ratio, phase):
    """The integral of 1 - a cos(2 pi (t - phase) / period) from 0 to t."""
    a = (ratio - 1) / (ratio + 1)
    w = 2 * np.pi / period
    return t - a / w * (np.sin(w * (t - phase)) - np.sin(-w * phase))


@pytest.mark.parametrize("horizon", [200.0, 5000.0])
def test_a_sinusoid_has_its_trough_at_phase_s(horizon):
    """Period 100 s, peak/trough 3 (a = 0.5), trough at 25 s: operational time is the
    integral above, within 1e-5 of a period (the sampling's promise) over 2 and 50 periods;
    the rate is 0.5 at 25 s and 1.5 at 75 s."""
    c = arr.RateCurve.sinusoid(100.0, 3.0, 25.0, horizon)
    for t in (10.0, 25.0, 60.0, 75.0, 137.0, horizon):
        assert c.u_at(t) == pytest.approx(u_sinusoid(t, 100.0, 3.0, 25.0), abs=1e-5 * 100)
    assert np.interp([25.0, 75.0], c.t, c.s) == pytest.approx([0.5, 1.5], abs=1e-4)


def test_a_curved_tenant_gets_its_integral_over_the_horizon():
    """A quarter period at 50/s with the trough at 0 (a = 0.5): u(25) = 25 - 0.5 x 100 / (2
    pi) = 17.04 s of operational time, so Poisson(852) arrivals, all before the horizon
    (running the process over the horizon's 25 s would give 1,250, the extra ones warped
    onto t = 25)."""
    cfg = sim.compose(["horizon_s=25", "tenants.chat.arrival.rate_rps=50",
                       "tenants.chat.arrival.curve=sinusoid", "tenants.chat.arrival.period_s=100",
                       "tenants.chat.arrival.peak_to_trough=3", "tenants.chat.arrival.phase_s=0"])
    t, _ = tenant_arrivals("chat", cfg.tenants.chat, 25.0, 5)
    want = 50 * u_sinusoid(25.0, 100.0, 3.0, 0.0)
    assert want == pytest.approx(852.1, abs=0.1)
    assert abs(t.size - want) < 4 * math.sqrt(want)
    assert t.max() < 25.0


# ---- trace replay --------------------------------------------------------------------------


def trace(times, ins=None, **kw):
    n = len(times)
    return Trace("pins.csv", np.asarray(times, float), np.asarray(ins or [10] * n),
                 np.full(n, 5), **kw)


def test_a_replay_from_start_s_scaled_and_looped():
    """Rows at 0, 1 and 3 s replayed from start_s 1 at time_scale 2: rows 1 and 2 (the one at
    exactly start_s included) at 0 and 4 s; a pass lasts (3 - 1) x 2 = 4 s, stretched by 1e-9
    s so that the last row of one pass is not at the first of the next. Over 10 s: 3 passes,
    the third cut at the horizon."""
    t, i = arr.replay(trace([0.0, 1.0, 3.0]), 10.0, 2.0, 1.0, 1.0, True, stream(1, "r"))
    p = 4.0 + 1e-9
    np.testing.assert_allclose(t, [0.0, 4.0, p, p + 4.0, 2 * p], rtol=0, atol=1e-12)
    assert i.tolist() == [1, 2, 1, 2, 1]
    once, _ = arr.replay(trace([0.0, 1.0, 3.0]), 10.0, 2.0, 1.0, 1.0, False, stream(1, "r"))
    assert once.tolist() == [0.0, 4.0]


def test_rate_scale_thins_and_copies():
    """1,000 rows one a second over a 1,000 s horizon: rate_scale 0.25 keeps Binomial(1000,
    0.25) rows (sd 13.7); 2.5 gives two whole copies and Binomial(1000, 0.5) more (sd
    15.8), every row at most three times, all before the horizon."""
    tr = trace(np.arange(1000.0))
    t, i = arr.replay(tr, 1000.0, 1.0, 0.25, 0.0, False, stream(2, "thin"))
    assert abs(t.size - 250) < 4 * 13.7
    t, i = arr.replay(tr, 1000.0, 1.0, 2.5, 0.0, False, stream(2, "copy"))
    assert abs(t.size - 2500) < 4 * 15.8
    counts = np.bincount(i, minlength=1000)
    assert counts.min() >= 2 and counts.max() <= 3 and t.max() < 1000.0
    assert np.all(np.diff(t) >= 0)


def test_spread_ties_and_start_s_count_recorded_times(tmp_path):
    """Mooncake rows at 0, 1, 1, 1 and 4 s: the run of three at 1 s is spread evenly up to
    the next recorded time, 1, 2, 3 s; a last run of two at 6 s over the 3 s slot: 6, 7.5.
    A replay from start_s 2 takes the rows *recorded* at or after 2 s: the two at 4 s and
    later, not the rows recorded at 1 s and spread past 2."""
    p = tmp_path / "m.jsonl"
    p.write_text("".join(f'{{"timestamp": {ms}, "input_length": 5, "output_length": 1}}\n'
                         for ms in (0, 1000, 1000, 1000, 4000, 6000, 6000)))
    tr = read_mooncake(p)
    assert tr.t_s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.5]
    assert arr.recorded_s(tr).tolist() == [0.0, 1.0, 1.0, 1.0, 4.0, 6.0, 6.0]
    assert arr.from_start(tr, 2.0).tolist() == [False] * 4 + [True] * 3
    t, i = arr.replay(tr, 100.0, 1.0, 1.0, 2.0, False, None)
    assert t.tolist() == [2.0, 4.0, 5.5] and i.tolist() == [4, 5, 6]


def test_a_where_filter_compares_stripped_text(tmp_path):
    """``where`` values are text with surrounding spaces stripped, each kept once, a single
    value a list of one; the file's fields are stripped too: ' b ' in the config keeps the
    rows whose field reads 'b ' or 'b'."""
    assert where_spec({"m": [" b ", "b", 3], "k": "x"}) == (("m", ("b", "3")), ("k", ("x",)))
    p = tmp_path / "t.csv"
    p.write_text("t,i,o,m\n0,5,1,a\n1,6,1,b \n2,7,1,b\n3,8,1,c\n")
    tr = read_csv_trace(p, "error", csv_format("t", "i", "o", "s"), where_spec({"m": " b "}))
    # times from the file's first row (t = 0), not from the first kept one
    assert tr.input_tokens.tolist() == [6, 7] and tr.t_s.tolist() == [1.0, 2.0]
    assert tr.kept == "kept 2 of 4 rows where m is b"


# ---- lengths -------------------------------------------------------------------------------


def length(kind="fixed", mean=512.0, cv=1.0, lo=1, hi=None):
    return SimpleNamespace(kind=kind, mean=mean, cv=cv, min=lo, max=hi, path=None, column=None)


MODEL = SimpleNamespace(max_context=100, prefill_only=False)


def test_lognormal_lengths_follow_the_configured_law():
    """Mean 200, cv 2: ln X ~ N(ln 200 - s2 / 2, s2) with s2 = ln(1 + cv^2) = ln 5. A length
    k is a draw rounded to the nearest integer, so P(L <= k) = Phi((ln(k + 0.5) - mu) /
    sigma); each is checked at six points within 4 SE = 4 sqrt(p (1 - p) / n), n = 100,000
    (a CV taken as the variance, s2 = ln 3, is off by 0.02 to 0.04 there)."""
    n = 100_000
    ins, _, _, _ = draw_lengths(length("lognormal", 200.0, 2.0), length(), n,
                                stream(3, "ln"), stream(3, "out"), SimpleNamespace(
                                    max_context=10 ** 9, prefill_only=False))
    s2 = math.log(5.0)
    mu = math.log(200.0) - s2 / 2
    for k in (20, 50, 100, 200, 500, 2000):
        p = 0.5 * (1 + math.erf((math.log(k + 0.5) - mu) / math.sqrt(2 * s2)))
        assert abs(np.mean(ins <= k) - p) < 4 * math.sqrt(p * (1 - p) / n), k


def test_lengths_round_to_the_nearest_token_and_count_each_change():
    """A fixed 7.6-token prompt is 8 tokens and a 3.4-token answer 3: neither is a change. A
    prompt exactly at its max is not cut; an answer drawn as 0 with min 0 is raised to one
    token and counted under those words."""
    r = stream(1, "x")
    ins, outs, changed, how = draw_lengths(length(mean=7.6), length(mean=3.4), 4, r, r, MODEL)
    assert ins.tolist() == [8] * 4 and outs.tolist() == [3] * 4
    assert not changed.any() and how == {}
    ins, outs, changed, how = draw_lengths(length(mean=40.0, hi=40), length(mean=0.3, lo=0), 3,
                                           r, r, MODEL)
    assert ins.tolist() == [40] * 3 and outs.tolist() == [1] * 3
    assert changed.tolist() == [True] * 3
    assert how == {"outputs of 0 tokens raised to one": 3}


def test_the_context_policy_at_and_over_the_context():
    """Context 100: 60 + 40 fits exactly (not over); 90 + 30 over is cut (clip) to the
    output, then the prompt to the 70 left; 10 + 150 to an output of 99 and a prompt of 1."""
    ins, outs = np.array([60, 90, 10]), np.array([40, 30, 150])
    kept = fit_context(ins, outs, np.zeros(3, bool), MODEL, "reject")
    assert kept.over.tolist() == [False, True, True] and kept.changed == 0
    cut = fit_context(ins, outs, np.zeros(3, bool), MODEL, "clip")
    assert cut.ins.tolist() == [60, 70, 1] and cut.outs.tolist() == [40, 30, 99]
    assert cut.changed == 2 and cut.how == {"requests cut to the context 100": 2}


def test_lengths_fitted_in_chunks_are_the_same_as_in_one():
    """request_lengths bounds and fits a large tenant a chunk at a time: every column, the
    changed count and the note's counts, in the order the checks make them, equal one chunk.
    Chunk sizes of 1 and 7 put each kind of change first in a different chunk (prompts cut
    in one, raised in another), so counts entered only when nonzero would come out in
    another order, and a count set per chunk instead of added would come out small."""
    recorded = np.random.default_rng(5).integers(0, 3000, 600).astype(float)
    cases = [(length("lognormal", 300.0, 2.0, lo=5, hi=900), length("lognormal", 300.0, 2.0,
                                                                    lo=0, hi=400), "clip"),
             (length("geometric", 80.0, hi=150), length("trace", lo=3), "reject"),
             (length("empirical", hi=2500), length("trace"), "clip")]
    for ins_cfg, outs_cfg, policy in cases:
        for pre in (False, True):
            model = SimpleNamespace(max_context=1000, prefill_only=pre)
            col = recorded if ins_cfg.kind == "empirical" else None
            out_col = recorded[::-1].copy() if outs_cfg.kind == "trace" else None
            one = request_lengths(ins_cfg, outs_cfg, 600, stream(2, "i"), stream(2, "o"), model,
                                  policy, col, out_col, chunk=600)
            assert one.changed > 0 and len(one.how) >= 2
            for chunk in (1, 7, 128):
                part = request_lengths(ins_cfg, outs_cfg, 600, stream(2, "i"), stream(2, "o"),
                                       model, policy, col, out_col, chunk=chunk)
                for a, b in ((one.ins, part.ins), (one.outs, part.outs), (one.over, part.over),
                             (one.changed_mask, part.changed_mask)):
                    assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
                assert part.changed == one.changed
                assert list(part.how.items()) == list(one.how.items()), (chunk, pre)
