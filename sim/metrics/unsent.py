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

A pipeline's stage requests never sent because an earlier stage of their pipeline request
was turned away or failed, or the run ended first (reason :data:`UPSTREAM_FAILED`,
sim/simulation/pipeline.py), are alike: no arrival time, in neither window, counted apart
(:func:`upstream_line`); their pipeline request counts as failed or rejected in the
pipelines table. Until December 2026 they took the failure time as their arrival, so a
failure after the warm-up put them in the measured rows.
"""

from __future__ import annotations

import numpy as np

from sim.records import FAILED

NEVER_SENT = "never_sent"  # reason of a closed-loop request its client never got to send
UPSTREAM_FAILED = "upstream_failed"  # reason of a pipeline stage request never sent
UNSENT = (NEVER_SENT, UPSTREAM_FAILED)


def never_sent(run, reason: str = NEVER_SENT) -> int:
    """How many of ``run``'s requests were never sent for ``reason`` (its log read whole: a
    closed loop's or a pipeline's run keeps its log, sim/simulation/streamed.py
    ``unstreamed``)."""
    names = run.log.reasons.names
    if reason not in names:
        return 0
    return int(np.count_nonzero(run.log.reason == names.index(reason)))


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


def warmup_rows(runs, total: int, names=None) -> str:
    """Which requests the warm-up rows hold when none arrived after the warm-up: every one
    of the ``total``, or (closed-loop requests or pipeline stages never sent) the sent ones,
    per run (named ``names``, by default its setup)."""
    names = [r.setup for r in runs] if names is None else names
    by = {s: {why: never_sent(r, why) for why in UNSENT} for s, r in zip(names, runs)}
    unsent = {s: sum(k.values()) for s, k in by.items()}
    if not any(unsent.values()):
        return f"every request ({total:,}) is in the <tenant>@warmup rows"
    per = ", ".join(f"{s} {total - k:,}" for s, k in unsent.items())
    why = " or ".join(w for w in UNSENT if any(k[w] for k in by.values()))
    return (f"every request sent is in the <tenant>@warmup rows ({per} of {total:,}); the rest "
            f"were never sent (reason {why}) and are in neither window")


def stranded_end(run) -> str:
    """How a cut note ends: raise the drain, unless a model had no replica serving at the end
    (reclaimed, a replacement still loading, or down), when a longer drain finishes them only
    once one is back (until December 2026 it said none would, of a replacement loading)."""
    gone = (run.extra or {}).get("stranded") or []
    if not gone:
        return "raise drain_s to let them finish"
    return (f"{', '.join(gone)} had no replica serving when the run stopped (every one reclaimed, "
            "its replacement still loading, or down), so a longer drain_s finishes them only "
            "once a replica is back (dedicated.spot.replacement, the failure's down time)")


def upstream_line(setup: str, unsent: int, offered: int, warmup_s: float = 0.0) -> str:
    """The line of a run whose pipelines left ``unsent`` of ``offered`` stage requests never
    sent (with a warm-up they are in neither window; without one they count in ``failed``,
    and until December 2026 no line said so unless the stability line counted them)."""
    return (f"{setup}: {unsent:,} of {offered:,} requests were pipeline stages never sent (an "
            f"earlier stage of their pipeline request, or a copy of their own stage sent before "
            f"them, was turned away or failed, or the run ended first): they end failed, reason {UPSTREAM_FAILED}, with no arrival time, and "
            f"count {_where(warmup_s)}; their pipeline requests count in the pipelines table as "
            "turned away or failed")


def pipelines_cut_line(run, stop_s: float) -> str | None:
    """The line of a run whose end at ``stop_s`` cut pipeline requests (``failed``,
    ``unfinished_at_end`` in the pipelines table; until December 2026 no line said them), or
    None (none cut, or no pipeline)."""
    drv = run.pipelines
    names = drv.reasons.names if drv is not None else ()
    if "unfinished_at_end" not in names:
        return None
    k = int(np.count_nonzero((drv.outcome == FAILED)
                             & (drv.reason == names.index("unfinished_at_end"))))
    if not k:
        return None
    return (f"{run.setup}: {k:,} of {drv.outcome.size:,} pipeline requests were cut when the run "
            f"stopped at {stop_s:,.6g} s (horizon_s + drain_s), a stage of each still running or "
            "waiting: they end failed, reason unfinished_at_end, in the pipelines table, and are "
            "not in its latency figures")


def late_line(setup: str, what: str, listed: int, late: list) -> str:
    """The line of a run in which ``late`` (``(listed, happened)`` times) of the ``listed``
    events of ``what`` came later than listed: their replica was away then (noticed or
    reclaimed and not yet replaced, or down), and an event is given to a replica that is up
    (until December 2026 unsaid)."""
    shown = ", ".join(f"listed at {a:,.6g} s, given at {b:,.6g} s" for a, b in late[:3])
    more = f" and {len(late) - 3:,} more" if len(late) > 3 else ""
    return (f"{setup}: {len(late):,} of the {listed:,} events listed in {what} came later than "
            f"listed, when their replica was back: it was away (noticed or reclaimed and not "
            f"yet replaced, or down) at the listed time ({shown}{more})")

