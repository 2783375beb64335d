"""Arrival processes, generated as sorted arrays of times in [0, horizon).

Every synthetic kind takes ``rate_rps`` as its long-run mean rate, so a load sweep changes
one key whatever the shape:

* ``poisson``: a Poisson number of times placed uniformly over the horizon (the same law
  as exponential gaps);
* ``gamma``: renewal process with Gamma gaps of the given coefficient of variation,
  started in equilibrium (the first gap is a uniform fraction of a length-biased one);
* ``onoff``: two-state Markov-modulated Poisson process with exponential on and off
  periods, started in its stationary state;
* any of the three may be modulated by a rate curve (a sinusoid with a given
  peak-to-trough ratio, or a file) by time change: the process runs in "operational
  time" u = integral of the curve's shape, normalised to mean 1, and u maps back to t;
* ``trace``: replay of an Azure or Mooncake trace, time-scaled, rate-scaled (thinned, or
  superposed with copies shifted by independent random offsets and wrapped around the
  replayed span), optionally looped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.workload.traces import Trace


def poisson(rate: float, horizon: float, rng: np.random.Generator) -> np.ndarray:
    n = rng.poisson(rate * horizon)
    t = rng.uniform(0.0, horizon, n)
    t.sort()  # in place: no second copy of a large tenant's times
    return t


def gamma_renewal(rate: float, cv: float, horizon: float, rng: np.random.Generator,
                  chunk: int = 1 << 16) -> np.ndarray:
    """The renewal's times in [0, horizon). The gaps are drawn ``chunk`` at a time and each
    draw's times kept only up to the horizon: the same numbers as drawing a round of about
    1.1 times the expected count at once (each round's gaps summed in order from zero, added
    to the round's start), without that round's copies of every time (about five arrays the
    size of the output at a week's largest tenant)."""
    if rate <= 0:  # a tenant whose share of a total rate is zero (a steep Zipf law)
        return np.empty(0)
    shape = 1.0 / (cv * cv)
    scale = 1.0 / (rate * shape)
    first = rng.uniform() * rng.gamma(shape + 1.0, scale)  # forward recurrence time
    kept = [np.array([first])]
    start = first
    per_round = int(rate * horizon * 1.1) + 16
    while start < horizon:
        summed, left = 0.0, per_round  # a round: gaps summed from zero, added to its start
        while left > 0:
            n = min(chunk, left)
            left -= n
            # the running sum goes on from the last one, in the same order of additions
            s = np.cumsum(np.concatenate(([summed], rng.gamma(shape, scale, n))))[1:]
            summed = s[-1]
            c = start + s
            if c[-1] >= horizon:
                kept.append(c[c < horizon])
                return np.concatenate(kept)
            kept.append(c)
        start = c[-1]
    t = np.concatenate(kept)
    return t[t < horizon]


def onoff(rate: float, on_s: float, off_s: float, off_fraction: float, horizon: float,
          rng: np.random.Generator, chunk: int = 1 << 16) -> np.ndarray:
    """The on/off process's times in [0, horizon): the periods (alternating exponential on
    and off lengths from a stationary start), then each period's Poisson count placed
    uniformly in it. The periods are drawn as arrays (:func:`_periods`) and the counts
    ``chunk`` periods at a time, the same numbers as drawing one period at a time: until
    December 2026 the periods were Python lists, about 140 bytes a period (3.0 GB for
    on_s = off_s = 1 ms over 20,000 s), where the arrays hold 9."""
    on_rate = rate * (on_s + off_s) / (on_s + off_fraction * off_s)
    off_rate = on_rate * off_fraction
    state_on = rng.uniform() < on_s / (on_s + off_s)
    bounds, states = _periods(on_s, off_s, state_on, horizon, rng, chunk)
    out = []
    for c in range(0, states.size, chunk):
        a_s, b_s = bounds[c:c + chunk].tolist(), bounds[c + 1:c + chunk + 1].tolist()
        part = []
        for a, b, s in zip(a_s, b_s, states[c:c + chunk].tolist()):
            r = on_rate if s else off_rate
            if r > 0 and b > a:
                n = rng.poisson(r * (b - a))
                if n:  # an empty draw takes no numbers: left out, not kept as an empty array
                    part.append(rng.uniform(a, b, n))
        if part:
            out.append(np.concatenate(part))
    if not out:
        return np.empty(0)
    t = np.concatenate(out)
    t.sort()
    return t


def _periods(on_s: float, off_s: float, state_on: bool, horizon: float,
             rng: np.random.Generator, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The periods' bounds (from 0, the last cut at ``horizon``) and whether each is on: the
    numbers of drawing ``rng.exponential(on_s or off_s)`` one period at a time, summed in
    order, until the horizon. Drawn ``chunk`` at a time; the chunk that passes the horizon
    is drawn again up to its last period from the state before it, so the stream is left
    where one-at-a-time drawing leaves it."""
    ends, flags = [np.zeros(1)], []
    t, on = 0.0, state_on
    alt = np.arange(chunk) % 2 == 1
    while t < horizon:
        saved = rng.bit_generator.state
        s = alt != on  # this chunk's states, starting with ``on``
        d = np.where(s, on_s, off_s) * rng.standard_exponential(chunk)
        c = np.cumsum(np.concatenate(([t], d)))[1:]  # in order from t, as t + d repeated
        past = int(np.searchsorted(c, horizon))  # the first end at or past the horizon
        if past < chunk:
            rng.bit_generator.state = saved
            rng.standard_exponential(past + 1)
            c = c[:past + 1]
            c[-1] = horizon
            ends.append(c)
            flags.append(s[:past + 1])
            break
        ends.append(c)
        flags.append(s)
        t = float(c[-1])
        on = on if chunk % 2 == 0 else not on
    return np.concatenate(ends), np.concatenate(flags) if flags else np.empty(0, bool)


class RateCurve:
    """A non-negative shape s(t) with mean 1, and the time change u(t) = integral of s.

    A file's shape is linear between its points, and u is integrated and inverted exactly;
    the sinusoid is sampled at 2,048 points a period and runs each stretch at its mean rate
    (``steps``: u linear between points, within 1e-5 of a period of the exact time change)."""

    def __init__(self, t: np.ndarray, s: np.ndarray, steps: bool = False):
        self.t = t
        self.s = s
        self.steps = steps
        u = np.concatenate([[0.0], np.cumsum(np.diff(t) * (s[1:] + s[:-1]) / 2.0)])
        self.u = u

    @classmethod
    def sinusoid(cls, period_s: float, peak_to_trough: float, phase_s: float, horizon: float):
        a = (peak_to_trough - 1.0) / (peak_to_trough + 1.0)
        n = max(2048, int(horizon / period_s * 2048) + 1)
        t = np.linspace(0.0, horizon, n)
        s = 1.0 - a * np.cos(2 * np.pi * (t - phase_s) / period_s)  # trough at phase_s
        return cls(t, s, steps=True)

    @classmethod
    def from_points(cls, times: np.ndarray, rates: np.ndarray, horizon: float):
        """Piecewise-linear shape through (time, rate) points, repeated to fill the horizon
        and normalised to a time-weighted mean of 1 over one repetition. Every repetition
        holds every point, so a curve whose last rate is not its first steps at the joins
        (its last point was dropped: a ramp 1 -> 3 became flat at 1, half the rate asked)."""
        span = times[-1] - times[0]
        base = (times - times[0])
        mean = np.trapezoid(rates, base) / span
        reps = int(np.ceil(horizon / span)) + 1
        # whole arrays, not a list of one per repetition (a short span over a long horizon
        # was millions of them: 47 s for a 1 us curve over 20 s)
        t = (base[None, :] + np.arange(reps)[:, None] * span).ravel()
        s = np.tile(rates, reps) / mean
        return cls(t, s)

    def warp(self, u_times: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
        """Map operational times back to real times: the inverse of :meth:`u_at`. Between two
        points of a file's shape u is quadratic and is inverted as such (until December 2026
        it was interpolated linearly, which ran each stretch at its mean rate: a ramp from 1
        to 3 between two points arrived flat at 2). Each time is mapped on its own, so a
        long array goes ``chunk`` times at a time (the same numbers, without the inversion's
        half-dozen temporaries the size of the whole)."""
        if self.steps:
            return np.interp(u_times, self.u, self.t)
        x = np.asarray(u_times, float)
        if x.ndim != 1 or x.size <= chunk:
            return self._inverse(x)
        out = np.empty(x.size)
        for a in range(0, x.size, chunk):
            out[a:a + chunk] = self._inverse(x[a:a + chunk])
        return out

    def _inverse(self, x: np.ndarray) -> np.ndarray:
        t, s, u = self.t, self.s, self.u
        i = np.clip(np.searchsorted(u, x, side="right") - 1, 0, t.size - 2)
        dt = t[i + 1] - t[i]
        du = np.clip(x - u[i], 0.0, None)
        slope = np.divide(s[i + 1] - s[i], dt, out=np.zeros(x.shape), where=dt > 0)
        # s0 tau + slope tau^2 / 2 = du, in the form that keeps its precision as slope -> 0
        root = s[i] + np.sqrt(np.clip(s[i] ** 2 + 2.0 * slope * du, 0.0, None))
        tau = np.divide(2.0 * du, root, out=np.zeros(x.shape), where=root > 0)
        return np.minimum(t[i] + np.minimum(tau, dt), t[-1])

    def u_at(self, t: float) -> float:
        """The integral of the shape from the first point to ``t`` (exact: the shape is
        linear between points; with ``steps``, at each stretch's mean rate)."""
        ts = self.t
        if self.steps:
            return float(np.interp(t, ts, self.u))
        i = int(np.clip(np.searchsorted(ts, t, side="right") - 1, 0, ts.size - 2))
        dt = ts[i + 1] - ts[i]
        tau = min(max(t - ts[i], 0.0), dt)
        slope = (self.s[i + 1] - self.s[i]) / dt if dt > 0 else 0.0
        return float(self.u[i] + self.s[i] * tau + slope * tau * tau / 2.0)


def recorded_s(trace: Trace) -> np.ndarray:
    """Each row's time as the file records it (seconds from the first row): ``t_s`` before
    ``duplicates: spread`` moved a row of equal times towards the next recorded time (the
    first row of each run keeps its time)."""
    if not trace.spread or trace.ties is None:
        return trace.t_s
    first = np.maximum.accumulate(np.where(trace.ties, 0, np.arange(trace.t_s.size)))
    return trace.t_s[first]


def from_start(trace: Trace, start_s: float) -> np.ndarray:
    """True for the rows a replay from ``start_s`` takes: those recorded at or after it (a
    row recorded before it and spread past it is not one of them)."""
    return recorded_s(trace) >= start_s


def one_pass(trace: Trace, start_s: float, time_scale: float,
             loop: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """The rows replayed from ``start_s`` (their times from it, scaled, and their indices) and
    the span they fill: looped, the period, from ``start_s`` to the file's last row as
    recorded, plus 1 ns (a ``where``-filtered trace's too, so tenants splitting one log keep
    its timing), the last run of equal times spread at most up to the next pass's first row;
    else to the last row replayed, plus 1 ns. Until December 2026 a loop's period ran to a
    last row ``spread`` had moved past the file's last row (a filtered tenant's 2.5 s against
    the file's 2 s) and its note computed another."""
    keep = from_start(trace, start_s)
    idx = np.flatnonzero(keep)
    base = (trace.t_s[keep] - start_s) * time_scale
    period = (trace.duration_s - start_s) * time_scale + 1e-9
    if not loop:
        return base, idx, max(period, float(base[-1]) + 1e-9)
    if trace.spread and trace.ties is not None and trace.ties[idx[-1]]:
        run = int(np.flatnonzero(~trace.ties[idx])[-1])  # the last run's first row
        gap = period + base[0] - base[run]  # up to the next pass's first row
        if trace.slot_s * time_scale > gap:
            base[run:] = base[run] + gap * np.arange(base.size - run) / (base.size - run)
    return base, idx, period


def passes(first: float, period: float, horizon: float) -> int:
    """How many passes of a loop replay a request: those whose first row, ``first`` into the
    pass, arrives before the horizon."""
    return int(np.count_nonzero(first + np.arange(int(np.ceil(horizon / period))) * period
                                < horizon))


def replay(trace: Trace, horizon: float, time_scale: float, rate_scale: float, start_s: float,
           loop: bool, rng: np.random.Generator) -> np.ndarray:
    """Indices into the trace and arrival times: returns (times, indices). The build layer
    checks that requests remain after ``start_s``."""
    base, idx, span = one_pass(trace, start_s, time_scale, loop)
    if loop:
        reps = int(np.ceil(horizon / span))
        base = np.concatenate([base + k * span for k in range(reps)])
        idx = np.tile(idx, reps)
    # rate scaling: k whole copies, each but the first shifted by its own uniform offset and
    # wrapped around the replayed span (the first ``horizon`` of the timeline, or the whole
    # trace or its passes if shorter), plus a thinned copy for the fraction. Until December
    # 2026 the offsets ran over the whole trace, so a copy over a short horizon brought in a
    # random stretch of the trace at its average rate (rate_scale 4 on the conversation
    # trace over 60 s: 996 requests where 4 x 191 were asked)
    whole = int(np.floor(rate_scale))
    frac = rate_scale - whole
    length = span if not loop else max(span * int(np.ceil(horizon / span)), span)
    wrap = min(horizon, length)  # the replayed span
    m = int(np.searchsorted(base, wrap))  # its rows: a copy costs what it replays
    times, which = [], []
    # no row in the span: the copies replay nothing, so none is drawn (until December 2026
    # each was, 10^7 copies of nothing took 32 s and 3.7 GB, which the budget, counting the
    # rows replayed, did not foresee)
    copies = whole + (1 if frac > 0 else 0) if m else 1
    for c in range(copies):
        if c == 0:
            tc, ic = base, idx
        else:
            off = rng.uniform(0.0, wrap)
            tc, ic = np.mod(base[:m] + off, wrap), idx[:m]
        sel = tc < horizon if c < whole else (rng.uniform(size=tc.size) < frac)
        times.append(tc[sel])
        which.append(ic[sel])
    tt = np.concatenate(times)
    ii = np.concatenate(which)
    inside = tt < horizon
    tt, ii = tt[inside], ii[inside]
    order = np.lexsort((ii, tt))
    return tt[order], ii[order]


def replay_notes(tenant: str, trace: Trace, idx: np.ndarray, horizon: float, time_scale: float,
                 rate_scale: float, start_s: float, loop: bool) -> list[str]:
    """What a replay of ``trace`` (rows ``idx`` replayed) did not take as recorded, one line
    each: the rows recorded before ``start_s``, requests sharing the recorded time of the row
    before (spread, or kept as recorded), and (unless looped) the rows after
    ``start_s`` that fall at or after the horizon on the trace's own (scaled) timeline."""
    notes = []
    if trace.kept is not None:
        first = f"{trace.t_s[0]:.9g} s" if trace.t_s.size else "none"
        notes.append(f"tenant {tenant}: trace {Path(trace.path).name}: {trace.kept} "
                     "(arrival.trace.where; times count from the file's first row, the first "
                     f"kept row at {first})")
    before = int(np.count_nonzero(~from_start(trace, start_s)))
    if before:  # left out by start_s: said, as every other row not replayed is
        notes.append(f"tenant {tenant}: arrival.trace.start_s={start_s:g} s leaves out the "
                     f"{before:,} of the trace's {trace.t_s.size:,} rows recorded before it")
    tied = 0 if trace.ties is None else int(np.count_nonzero(trace.ties[idx]))
    if tied:
        how = ("were spread evenly up to the next recorded time (arrival.trace.duplicates: "
               "spread; `keep` replays them at equal times)" if trace.spread else
               "were replayed at that time (arrival.trace.duplicates: keep; `spread` spreads "
               "them up to the next recorded time)")
        notes.append(f"tenant {tenant}: {tied:,} of its {idx.size:,} replayed trace requests "
                     f"share their recorded time with the row before and {how}")
    once = replay(trace, horizon, time_scale, 1.0, start_s, loop, None)[0].size
    if loop:  # rows replayed more than once: said, with the count
        base, rows, period = one_pass(trace, start_s, time_scale, loop)
        n = passes(float(base[0]), period, horizon)
        notes.append(f"tenant {tenant}: arrival.trace.loop replays the trace's {rows.size:,} rows from "
                     f"start_s={start_s:g} s in {n:,} pass{'' if n == 1 else 'es'} of "
                     f"{period:.9g} s, the last cut at horizon_s={horizon:g} s: {once:,} requests"
                     + (" before rate_scale" if rate_scale != 1 else ""))
    if rate_scale != 1:  # rows thinned out or copied: said, as every other change is
        whole, frac = int(np.floor(rate_scale)), rate_scale - np.floor(rate_scale)
        how = [f"{whole} whole cop{'y' if whole == 1 else 'ies'}"] if whole else []
        how += [f"each row kept with probability {frac:g}" + (" in one more copy" if whole else "")
                ] if frac else []
        shift = ("; the copies after the first shifted by uniform offsets and wrapped around the "
                 "replayed span" if rate_scale > 1 else "")
        notes.append(f"tenant {tenant}: arrival.trace.rate_scale {rate_scale:.15g} replays "
                     f"{idx.size:,} requests where the trace gives {once:,} over the horizon "
                     f"({', '.join(how)}{shift})")
    if not loop:
        mine = from_start(trace, start_s)
        kept = trace.t_s[mine]
        past = (kept - start_s) * time_scale >= horizon
        late = int(np.count_nonzero(past))
        if late:
            copies = ("; counted on the trace's own timeline, rate_scale's shifted copies aside"
                      if rate_scale != 1 else "")
            moved = int(np.count_nonzero(past & ((recorded_s(trace)[mine] - start_s) * time_scale
                                                 < horizon)))
            if moved:  # the file has them before the horizon: said, not left for a recount
                copies += (f"; {moved:,} of them recorded before it and spread past it "
                           "(arrival.trace.duplicates: spread)")
            notes.append(f"tenant {tenant}: {late:,} of the trace's {kept.size:,} requests from "
                         f"start_s={start_s:g} s fall at or after horizon_s={horizon:g} s (time_scale "
                         f"{time_scale:g}: the trace lasts {(trace.duration_s - start_s) * time_scale:g} s"
                         f" from there) and are not replayed{copies}")
    return notes
