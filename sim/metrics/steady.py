"""Steady-state rates of a closed-loop run, without its ramp-up and drain.

A closed loop of C clients with R requests each keeps C requests in flight until clients
start running out of work; after that the batch thins and the tail would drag the average
down. The window between two quantiles of the completion times (10 % and 70 % by default)
sees the loop at full concurrency.

Requests with identical lengths complete in waves (a batch admitted together finishes
together), so the window's ends usually fall on a wave. Completions are counted by time,
in (t_lo, t_hi]: every wave strictly after the first end up to and including the last is
counted once, and the span covers exactly the periods that produced them (counting by
index counted part of the first wave and dropped part of the last). A batch admitted over
a few iterations still completes in sub-waves, which leaves an error of up to one period
over the window: a run must span many periods. On the TensorRT-LLM Llama-3.3-70B H200
128/2048 row (periods of 67 s, factors before the December 2026 refit) 6 requests per
client read 10 % low, 20 read 3.5 % high, 40 read 1.7 % high; the calibration therefore measures that benchmark over its full
request count instead (sim/calibration.py).
"""

from __future__ import annotations

import numpy as np

from sim.metrics.rows import BLOCK, spans


def steady_rates(finish_s: np.ndarray, output_tokens: np.ndarray, lo: float = 0.1,
                 hi: float = 0.7, where=None, block: int = BLOCK) -> tuple[float, float]:
    """(requests per second, output tokens per second) completed inside the window, over
    the requests ``where`` selects (a mask, or a function of a block ``(a, b)`` giving its
    mask there; None: all), read in blocks of ``block`` request ids.

    The window's ends are order statistics (found by partially sorting a copy of the
    selected times, joined in id order, without sorting them all or carrying an index); the
    token counts are whole numbers, so their sum does not depend on the order they are added
    in (nor on the blocks)."""
    pick = where if callable(where) else (lambda a, b: None if where is None else where[a:b])

    def ok_in(a: int, b: int) -> np.ndarray:
        ok = ~np.isnan(finish_s[a:b])
        mask = pick(a, b)
        if mask is not None:
            ok &= mask
        return ok

    parts = [finish_s[a:b][ok_in(a, b)] for a, b in spans(finish_s.size, block)]
    t = (np.concatenate(parts) if len(parts) > 1 else parts[0] if parts  # the one copy,
         else np.empty(0))  # partly sorted in place
    del parts
    t_lo, t_hi, span = _window(t, lo, hi)
    del t
    count, tok = 0, 0
    for a, b in spans(finish_s.size, block):
        f = finish_s[a:b]
        inside = ok_in(a, b) & (f > t_lo) & (f <= t_hi)
        count += int(np.count_nonzero(inside))
        tok += output_tokens[a:b][inside].sum()
    return float(count) / span, float(tok) / span


def _window(t: np.ndarray, lo: float, hi: float) -> tuple[float, float, float]:
    """``(t_lo, t_hi, span)`` of the completion times ``t`` (partitioned in place)."""
    n = t.size
    if n < 10:
        raise ValueError("too few completions to find a steady-state window")
    k_lo, k_hi = int(lo * n), int(hi * n)
    t.partition((k_lo, k_hi))
    t_lo, t_hi = t[k_lo], t[k_hi]
    span = t_hi - t_lo
    if span <= 0:
        raise ValueError("steady-state window has zero length")
    return t_lo, t_hi, span


class SteadyFold:
    """:func:`steady_rates` as an accumulator of :func:`~sim.metrics.rows.walk`: the selected
    requests' completion times and output tokens kept block by block (``add(a, b)``), in id
    order; the window's counts made from them when the walk is over (:meth:`finish`, the
    same figures: an order statistic and whole-number sums). ``where``: a function of a
    block ``(a, b)`` giving its mask there."""

    def __init__(self, finish_s: np.ndarray, output_tokens: np.ndarray, where):
        self.finish_s, self.output_tokens, self.where = finish_s, output_tokens, where
        self.t: list[np.ndarray] = []
        self.tok: list[np.ndarray] = []

    def add(self, a: int, b: int) -> None:
        f = self.finish_s[a:b]
        ok = ~np.isnan(f)
        ok &= self.where(a, b)
        self.t.append(f[ok])
        self.tok.append(self.output_tokens[a:b][ok])

    def finish(self, lo: float = 0.1, hi: float = 0.7) -> tuple[float, float]:
        """(requests per second, output tokens per second), as :func:`steady_rates`."""
        f = np.concatenate(self.t) if self.t else np.empty(0)
        tok = np.concatenate(self.tok) if self.tok else np.empty(0, np.int64)
        self.t, self.tok = [], []
        t_lo, t_hi, span = _window(f.copy(), lo, hi)
        inside = (f > t_lo) & (f <= t_hi)
        return (float(np.count_nonzero(inside)) / span,
                float(tok[inside].sum(dtype=np.int64 if tok.dtype.kind in "iu" else None)) / span)


class BinnedSteadyFold:
    """:class:`SteadyFold` in memory that does not grow with the requests (a run folded while
    it goes, sim/simulation/streamed.py): the selected completion times counted in
    :data:`BINS` equal bins from 0 and their output tokens summed per bin. A bin starts
    2**-20 s wide and doubles (pairs of bins merged) whenever a time lies beyond the last, so
    the bins are those the whole set of times gives, in whatever order the blocks come. The
    window's ends are the upper edges of the bins that hold the two order statistics, its
    completions and tokens those of the bins between: within about a bin's completions, at
    each end, of the exact window's (a bin is the run's last completion time / 2**16 wide or
    less). Both ends in one bin count as a window of zero length."""

    BINS = 1 << 16

    def __init__(self, finish_s: np.ndarray, output_tokens: np.ndarray, where):
        self.finish_s, self.output_tokens, self.where = finish_s, output_tokens, where
        self.n = np.zeros(self.BINS, np.int64)
        self.tok = np.zeros(self.BINS, np.int64)
        self.width = 2.0 ** -20

    def add(self, a: int, b: int) -> None:
        f = self.finish_s[a:b]
        ok = ~np.isnan(f)
        ok &= self.where(a, b)
        t = np.maximum(f[ok], 0.0)
        if not t.size:
            return
        top = float(t.max())
        while top >= self.BINS * self.width:  # merge pairs: the bins of twice the width
            half = self.BINS // 2
            self.n = np.concatenate([self.n.reshape(half, 2).sum(axis=1), np.zeros(half, np.int64)])
            self.tok = np.concatenate([self.tok.reshape(half, 2).sum(axis=1),
                                       np.zeros(half, np.int64)])
            self.width *= 2.0
        i = (t / self.width).astype(np.int64)  # a power of two: exact scaling, then floor
        self.n += np.bincount(i, minlength=self.BINS)
        tok = self.output_tokens[a:b][ok].astype(np.int64)
        self.tok += np.bincount(i, weights=tok, minlength=self.BINS).round().astype(np.int64)

    def finish(self, lo: float = 0.1, hi: float = 0.7) -> tuple[float, float]:
        """(requests per second, output tokens per second) over the window's bins."""
        cum = np.cumsum(self.n)
        n = int(cum[-1])
        if n < 10:
            raise ValueError("too few completions to find a steady-state window")
        i_lo, i_hi = (int(np.searchsorted(cum, int(q * n), side="right")) for q in (lo, hi))
        if i_hi == i_lo:
            raise ValueError("steady-state window has zero length")
        span = (i_hi - i_lo) * self.width
        count = int(cum[i_hi] - cum[i_lo])
        return float(count) / span, float(self.tok[i_lo + 1:i_hi + 1].sum()) / span
