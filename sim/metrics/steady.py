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


def steady_rates(finish_s: np.ndarray, output_tokens: np.ndarray, lo: float = 0.1,
                 hi: float = 0.7, where: np.ndarray | None = None) -> tuple[float, float]:
    """(requests per second, output tokens per second) completed inside the window, over
    the requests ``where`` selects (a mask; None: all).

    The window's ends are order statistics (found by partially sorting a copy of the
    selected times, without sorting them all or carrying an index); the token counts are
    whole numbers, so their sum does not depend on the order they are added in."""
    ok = ~np.isnan(finish_s)
    if where is not None:
        ok &= where
    n = int(np.count_nonzero(ok))
    if n < 10:
        raise ValueError("too few completions to find a steady-state window")
    k_lo, k_hi = int(lo * n), int(hi * n)
    t = finish_s[ok]  # the one copy, partly sorted in place
    t.partition((k_lo, k_hi))
    t_lo, t_hi = t[k_lo], t[k_hi]
    del t
    span = t_hi - t_lo
    if span <= 0:
        raise ValueError("steady-state window has zero length")
    inside = ok & (finish_s > t_lo) & (finish_s <= t_hi)
    return float(np.count_nonzero(inside)) / span, float(output_tokens[inside].sum()) / span
