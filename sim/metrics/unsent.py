"""Closed-loop requests the run's end left unsent: how they are logged and said.

A closed-loop client sends its next request only when its previous one has ended (and its
think time has passed). A run stopped at ``horizon_s + drain_s`` with such a client still
waiting leaves its remaining requests never sent: they end ``failed``, reason
:data:`NEVER_SENT`, in tier ``none``, with no arrival time (NaN). They count in the summary's
``requests`` and ``failed`` of a run without a warm-up (every request ends exactly once),
but in neither window of ``metrics.warmup_s`` (which splits requests by arrival: they never
arrived), nor as requests turned away or cut in flight: the run's notes say how many. Until
December 2026 they were logged ``unfinished_at_end``, counted in the measured window and in
the cut line's count, and the warm-up note said every request was in the warm-up rows.
"""

from __future__ import annotations

import numpy as np

NEVER_SENT = "never_sent"  # reason of a closed-loop request its client never got to send


def never_sent(run) -> int:
    """How many of ``run``'s requests were never sent (its log read whole: a closed loop's
    run keeps its log, sim/simulation/streamed.py ``unstreamed``)."""
    names = run.log.reasons.names
    if NEVER_SENT not in names:
        return 0
    return int(np.count_nonzero(run.log.reason == names.index(NEVER_SENT)))


def _where(warmup_s: float) -> str:
    """Where the summary counts requests never sent."""
    if warmup_s > 0:
        return ("in neither the measured nor the warm-up rows (metrics.warmup_s splits "
                "requests by arrival)")
    return "in summary.csv's failed"


def cut_line(setup: str, cut: int, unsent: int, offered: int, stop_s: float, warmup_s: float,
             end: str) -> str:
    """The line of a run stopped at ``stop_s`` with ``cut`` requests unfinished and
    ``unsent`` never sent, of ``offered``; ``end``: what to do about it."""
    at = f"when the run stopped at {stop_s:,.6g} s (horizon_s + drain_s)"
    why = "their closed-loop client was still waiting on an earlier request or thinking"
    said = f"they end failed, reason {NEVER_SENT} (not turned away), and count {_where(warmup_s)}"
    if not cut:
        return (f"{setup}: {unsent:,} of {offered:,} requests were never sent {at}: {why}; "
                f"{said}; {end}")
    more = f"; {unsent:,} more were never sent ({why}): {said}" if unsent else ""
    return (f"{setup}: {cut:,} of {offered:,} requests were unfinished {at}: they end failed, "
            f"reason unfinished_at_end, and are not in the latency figures{more}; {end}")


def warmup_rows(runs, total: int) -> str:
    """Which requests the warm-up rows hold when none arrived after the warm-up: every one
    of the ``total``, or (closed-loop requests never sent) the sent ones, per setup."""
    unsent = {r.setup: never_sent(r) for r in runs}
    if not any(unsent.values()):
        return f"every request ({total:,}) is in the <tenant>@warmup rows"
    per = ", ".join(f"{s} {total - k:,}" for s, k in unsent.items())
    return (f"every request sent is in the <tenant>@warmup rows ({per} of {total:,}); the rest "
            f"were never sent (reason {NEVER_SENT}) and are in neither window")
