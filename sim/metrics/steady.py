"""Steady-state rates of a closed-loop run, without its ramp-up and drain.

A closed loop of C clients with R requests each keeps C requests in flight until clients
start running out of work; after that the batch thins and the tail would drag the average
down. The window between two quantiles of the completion times (10 % and 70 % by default)
sees the loop at full concurrency.
"""

from __future__ import annotations

import numpy as np


def steady_rates(finish_s: np.ndarray, output_tokens: np.ndarray, lo: float = 0.1,
                 hi: float = 0.7) -> tuple[float, float]:
    """(requests per second, output tokens per second) completed inside the window."""
    ok = ~np.isnan(finish_s)
    t, tok = finish_s[ok], output_tokens[ok]
    if t.size < 10:
        raise ValueError("too few completions to find a steady-state window")
    order = np.argsort(t, kind="stable")
    t, tok = t[order], tok[order]
    a, b = int(lo * t.size), int(hi * t.size)
    span = t[b] - t[a]
    if span <= 0:
        raise ValueError("steady-state window has zero length")
    return (b - a) / span, float(tok[a + 1: b + 1].sum()) / span
