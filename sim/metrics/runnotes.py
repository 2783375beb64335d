"""The notes every job gives on what it did not take as given: a workload with no request
(or none after the warm-up), trace rows not replayed as recorded, lengths changed to be
served, and each run's stability (sim/metrics/overload.py).

:func:`run_notes` is for a job whose runs are its setups; :func:`variant_notes` for a job
that runs one workload several ways (keep-alive policies, pre-warm, background levels): the
workload's notes once, each run's lines under its label. Until December 2026 those jobs
(``compound``, ``keepalive``, ``noisy_neighbour``) gave the workload's notes only: requests
their runs left unfinished, or turned away, were not said, and with a warm-up a pipeline's
or a closed loop's workload was said to have no request after it (its arrival times are
read from the runs, and none was passed).
"""

from __future__ import annotations

import numpy as np

from sim.metrics.overload_notes import stability_notes
from sim.metrics.unsent import warmup_rows


def _arrived_after(workload, runs, w: float) -> bool:
    """Whether any request arrived at or after ``w``: a closed loop's and a pipeline's
    requests get their times in the run (the workload holds placeholders), so theirs are read
    from the runs' logs (the note said no request arrived after the warm-up of a closed loop
    whose measured rows held 18 of its 24, December 2026)."""
    if not (workload.closed or workload.pipelines is not None):
        return bool((workload.arrival_s >= w).any())
    return any(bool(np.any(r.log.arrival_s >= w)) for r in runs)


def workload_notes(cfg, workload, runs, names=None) -> list[str]:
    """The workload's notes (``runs``: those it went through, whose logs hold a closed
    loop's or a pipeline's arrival times; ``names``: how the warm-up note names each, by
    default its setup)."""
    piped = len(workload.pipelines) if workload.pipelines is not None else 0
    empty = [] if len(workload) else [  # pipeline requests whose stages all drew "skip"
        f"no request arrived within the horizon ({float(workload.horizon_s):g} s): every figure "
        "of the run is empty" if not piped else f"{piped:,} pipeline request(s) arrived but "
        "none ran a model stage (each stage runs with its probability): every figure of the "
        "run is empty"]
    w = float(cfg.metrics.warmup_s)
    if len(workload) and w > 0 and not _arrived_after(workload, runs, w):
        sent = runs if workload.closed or piped else ()
        empty.append(f"no request arrived at or after metrics.warmup_s ({w:g} s, horizon_s "
                     f"{float(workload.horizon_s):g} s): the measured rows are empty and "
                     f"{warmup_rows(sent, len(workload), names if sent else None)}; lower "
                     "metrics.warmup_s or raise horizon_s to measure")
    return empty + workload.replay_notes + workload.length_notes(str(cfg.workload.overlength))


def _stability(cfg, workload, runs, folded=None) -> list[str]:
    # the ledger is walked for the swap line only when a deployment asks for swapping
    swaps = any(str(d.preemption) == "swap" and str(d.admission) == "paged"
                for d in cfg.deployments.values())
    return stability_notes(workload, runs, float(cfg.drain_s),
                           loss=int(cfg.dedicated.max_queue) == 0, folded=folded,
                           warmup_s=float(cfg.metrics.warmup_s)) + [
        n for r in runs for n in [swap_line(r) if swaps else None] if n]


def swap_line(run) -> str | None:
    """How many of ``run``'s preemptions under ``preemption: swap`` freed their sequence's
    KV and recomputed it all (as ``retract`` does; vLLM V0 aborts the engine instead when its
    swap space is full) instead of swapping it, per model (until December 2026 unsaid: with
    ``swap_gb: 0`` a swap run was a retract run), or None."""
    per: dict[str, list[int]] = {}
    for u in getattr(run, "ledger", None) or ():
        c = per.setdefault(u.model, [0, 0])
        c[0] += u.kv.swap_recomputes
        c[1] += u.kv.preemptions  # every replica's (until December 2026 only those that fell back)
    per = {m: c for m, c in per.items() if c[0]}
    if not per:
        return None
    parts = ", ".join(f"{m} {k:,} of {p:,}" for m, (k, p) in sorted(per.items()))
    return (f"{run.setup}: preemptions under preemption=swap that freed their sequence's KV "
            f"and recomputed it all, as retract does, instead of swapping it: {parts} (the swap space, deployments.<model>.swap_gb, was "
            "full, or the sequence was still in its prefill, with nothing decoded to keep)")


def run_notes(cfg, workload, runs, folded=None) -> list[str]:
    """Every job's notes on what it did not take as given: the workload's, and the setups'
    stability (``folded``: :func:`~sim.metrics.overload.stability_notes`'s)."""
    return workload_notes(cfg, workload, runs) + _stability(cfg, workload, runs, folded)


def run_lines(label: str, cfg, workload, run) -> list[str]:
    """One run's stability lines, under ``label`` when that is not its setup's name."""
    return [n if label == run.setup else f"{label}: {n}" for n in _stability(cfg, workload, [run])]


def variant_notes(cfg, workload, labelled) -> list[str]:
    """The notes of one workload run several ways, ``labelled``: ``(label, cfg, run)`` per
    run: the workload's once (``cfg``'s), then each run's stability lines (its own cfg's),
    under its label when that is not its setup's name; a line several runs give alike is
    said once, under their labels."""
    labelled = list(labelled)
    notes = workload_notes(cfg, workload, [r for _, _, r in labelled],
                           [label for label, _, _ in labelled])
    by: dict[str, list[str]] = {}  # line -> the labels that gave it, in order
    for label, c, r in labelled:
        for n in _stability(c, workload, [r]):
            by.setdefault(n, []).append(label if label != r.setup else "")
    for n, labels in by.items():
        named = ", ".join(x for x in labels if x)
        notes.append(f"{named}: {n}" if named else n)
    return notes
