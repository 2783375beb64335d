"""The requests a break-even point's run left unfinished or fell behind on, and the notes that
say them.

A point's cost per output token is over the tokens its run delivered: requests still
running or queued when it stopped (``horizon_s + drain_s``; failed, ``unfinished_at_end``)
are in its ``requests`` but in neither ``completed`` nor ``rejected``, and their tokens in
no bill, so two curves at one load may be priced over different token sets. Until December
2026 the sweep left them out unsaid (a batch fill at 5x the capacity: 2,072 of 7,003
requests of a ``dedicated+fill`` point), where a plain simulate run says them.
"""

from __future__ import annotations

import numpy as np

from sim.analysis.plan_judge import falls_behind
from sim.records import FAILED


def cut_count(workload, run, warmup_s: float) -> int:
    """The measured user requests (arrived at or after ``warmup_s``: the point's window)
    still unfinished when ``run`` stopped (failed, ``unfinished_at_end``; the failures job's
    count too)."""
    log = run.log
    if "unfinished_at_end" not in log.reasons.names:
        return 0
    code = log.reasons.names.index("unfinished_at_end")
    mine = workload.user_mask() & ~(log.arrival_s < warmup_s)
    return int(np.count_nonzero(mine & (log.outcome == FAILED) & (log.reason == code)))


def cut_notes(cuts: list[tuple[float, str, int, int]]) -> list[str]:
    """One note over the points ``(load fraction, curve, unfinished, requests)`` with
    requests unfinished at the run's end; none without any."""
    if not cuts:
        return []
    where = "; ".join(f"load fraction {f:g} {label}: {k:,} of {n:,}" for f, label, k, n in cuts)
    return [f"requests unfinished when the run stopped (counted failed, unfinished_at_end): "
            f"{where}; their tokens are in no point's cost per output token, so those points "
            "are priced over fewer tokens than were offered and the crossovers compare "
            "different token sets: raise drain_s to let them finish"]


def overload_note(cfg, workload, run, fraction: float) -> str | None:
    """The stability line a plain simulate run prints when the point's setup is unstable at
    this load (:func:`sim.analysis.plan_judge.falls_behind`), named by its load fraction, or
    None. Its cost per output token is then that of a backlog the drain worked off: until
    December 2026 unsaid, a dedicated fleet at 3x its capacity (TTFT p50 272 s, billed 943 s of
    a 300 s horizon) read "dedicated is cheaper throughout"."""
    line = falls_behind(cfg, workload, run)
    return (f"load fraction {fraction:g}: {line.rstrip('.')}; its cost per output token is of "
            "a run that fell behind the load") if line else None
