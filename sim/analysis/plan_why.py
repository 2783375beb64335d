"""The lines ``job=plan`` writes to ``why.csv`` of a deployment's search
(:func:`sim.analysis.plan.plan_model`): where its count started, which counts fell behind,
what a priced run missed."""

from __future__ import annotations


def bound_text(cap: float, offered: float, lb: int, unit: str) -> str:
    """How the search's first count came from the capacity: offered / capacity rounded up, the
    counts below carrying less than the offered load (why.csv said "searched from 2 (rounded
    down ...); 2 meet the SLO and keep up" of two L40S at 2,142 for 4,932 offered); ``unit``
    that of both (output tok/s, requests/s of a prefill-only model)."""
    n = ",.0f" if unit == "output tok/s" else ",.1f"
    fewer = (f"; {lb - 1} carry {(lb - 1) * cap:{n}}, below the offered load, so fewer than "
             f"{lb} fall behind it whatever the horizon" if lb > 1 else "")
    return (f"{cap:{n}} {unit} per replica (closed loop); {offered:{n}} offered is "
            f"{offered / cap:,.2f} replicas' worth, searched from {lb} (rounded up, at least 1"
            f"{fewer}; a lower bound to start from, not a count that suffices: the runs decide)")


def behind_text(ev, g: str, p: str, tp: int) -> str:
    """The counts of a deployment that met the SLOs over the run but fell behind the load."""
    behind = sorted(k[4] for k in ev.seen_dedicated(g, p, tp)
                    if ev.dedicated(*k[1:])[1] >= ev.attainment and not ev.dedicated(*k[1:])[4])
    if not behind:
        return ""
    counts = ", ".join(str(k) for k in behind)
    return (f"; {counts} met the SLO over the run but fell behind the load (unstable at this "
            "load: the drain after the horizon worked the backlog off, a continuing workload "
            "would not)")


def outcome(att: float, keeps_up: bool, attainment: float) -> str:
    """What a priced run's why line adds: nothing when it meets the SLOs and keeps up."""
    miss = [w for w, bad in (("misses the SLO", att < attainment),
                             ("falls behind the load", not keeps_up)) if bad]
    return f" ({' and '.join(miss)})" if miss else ""
