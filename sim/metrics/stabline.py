"""The stability check's lines (:mod:`sim.metrics.overload` says which a run gets): a setup
that is unstable at its load, or whose run stopped too early to tell (:func:`warning_line`),
a loss system's designed losses, a closed loop's requests turned away."""

from __future__ import annotations

from sim.metrics.overload import over_bounds

# the serverless pool's turn-aways at ``serverless.max_wait_s``, with what each says
WAIT_BOUND = {
    "timeout_cold_start": "serverless.max_wait_s is shorter than its cold starts",
    "timeout_queued": "serverless.max_wait_s is shorter than a wait behind the requests in "
                      "service on its warm replicas (a burst, or long services)",
    "timeout_no_capacity": "no GPUs were free to place a replica within serverless.max_wait_s "
                           "(the pool's GPUs held by other replicas: serverless.eviction, "
                           "serverless.pool)",
}


def loss_line(setup: str, turned: int, offered: int) -> str:
    return (f"{setup}: {turned:,} of {offered:,} requests turned away (queue_full): "
            "dedicated.max_queue=0 leaves no waiting room, so a request finding no free sequence "
            "slot is turned away (a loss system)")


def closed_line(setup: str, turned: dict, offered: int, loss: bool) -> str:
    """A closed loop's requests turned away for capacity (``turned``: reason -> count): its
    clients regulate their own load, so it is never called unstable, and until December 2026
    nothing said them (367 of 400 turned away by a loss system, unsaid)."""
    n = sum(turned.values())
    rs = ", ".join(f"{r} {k:,}" for r, k in sorted(turned.items()))
    why = (": dedicated.max_queue=0 leaves no waiting room (a loss system)"
           if loss and set(turned) == {"queue_full"} else "")
    return (f"{setup}: {n:,} of {offered:,} requests turned away ({rs}){why}; closed-loop "
            "clients send their next request after each answer, so this is not judged as "
            "overload; each counts as missed in the SLO attainment (summary.csv)")


def failure_line(setup: str, failed: dict, offered: int) -> str:
    """Requests failed with their replica on their last try, by reason (``replica_failure``,
    ``spot_preemption``): failures, not load."""
    rs = ", ".join(f"{r} {k:,}" for r, k in sorted(failed.items()))
    return (f"{setup}: {sum(failed.values()):,} of {offered:,} requests failed with their "
            f"replica ({rs}): each was in flight on a replica that failed or was reclaimed, on "
            "its last try (dedicated.failures.max_attempts); failures, not load (the run's "
            "availability, downtime and replica tables)")


def outage_line(setup: str, away: dict, offered: int) -> str:
    """Requests a per-replica router found no replica up for, by reason (``no_replica``,
    ``retry_no_replica``): an outage, not load."""
    rs = ", ".join(f"{r} {k:,}" for r, k in sorted(away.items()))
    return (f"{setup}: {sum(away.values()):,} of {offered:,} requests found no replica of their "
            f"model up ({rs}): with a per-replica router (dedicated.router other than central) "
            "a request arriving while every replica that could hold it is down, or noticed or "
            "reclaimed if spot, is rejected (no_replica), and a try interrupted with none left "
            "to route it to fails (retry_no_replica), where the central queue holds both until a "
            "replica is back; an outage, not load (the availability and downtime tables say "
            "how long)")


def turned_below(s: dict) -> str | None:
    """Requests turned away for capacity (not cut by the run's end) by a setup the check does
    not flag, being under its 1 % (until December 2026 unsaid: 5 of 1,390 queue_full)."""
    rs = {r: k for r, k in s["reasons"].items() if r != "unfinished_at_end"}
    if not rs:
        return None
    parts = ", ".join(f"{r} {k:,}" for r, k in rs.items())
    return (f"{s['setup']}: {sum(rs.values()):,} of {_of(s)} turned away "
            f"({parts}): fewer than the overload check flags (1 %); summary.csv counts them "
            "(rejected, failed), requests.parquet gives each one's reason")


def _of(s: dict) -> str:
    """The requests a line's counts are of: those a replica could hold, which the check's
    shares are of (until December 2026 "30 of 90" of a check's share of 60)."""
    return (f"{s['servable']:,} requests a replica could hold" if s.get("too_large")
            else f"{s['requests']:,} requests")


def _late(s: dict) -> str:
    """The pipeline stages sent after the horizon and cut by the run's end: not among the
    requests offered by the horizon that the line counts, so named apart (until December
    2026 left out: a line said ``unfinished_at_end 2`` of a run that cut 3)."""
    k = s.get("late_cut", 0)
    return (f" ({k:,} more, pipeline stages sent after the horizon, were unfinished when the "
            "run stopped: unfinished_at_end)") if k else ""


def warning_line(s: dict, batch: bool = False,
                 end: str = "raise drain_s to let them finish") -> str:
    """The line of an unstable setup's stability figures ``s`` (:func:`~sim.metrics.overload.
    stability`); ``batch``: the workload has a batch tier. It counts every request cut (the
    pipeline stages sent after the horizon too) and the pipeline stages never sent; ``end``:
    the advice on requests only the run's end cut (:func:`~sim.metrics.unsent.stranded_end`)."""
    k = s.get("upstream_failed", 0)  # pipeline stages never sent: said, not called overload
    unsent = _late(s) + ((f" ({k:,} more, later stages of those pipelines, were never sent: "
                          "upstream_failed)") if k else "")
    if s.get("cut_only"):  # the run stopped before they could finish: say that, not overload
        k = s["reasons"]["unfinished_at_end"]
        than = ("shorter than the slowest served requests took" if s["completed"]
                else "before any request was served")
        return (f"{s['setup']}: {k:,} of {_of(s)} were unfinished when the run "
                f"stopped, {s['drain_used_s']:g} s after the horizon (drain_s, {than}), and are "
                f"counted failed (unfinished_at_end){unsent}; too short a drain to tell whether "
                f"the setup keeps up: {end}")
    rs = s["reasons"]
    cut = rs.get("unfinished_at_end", 0) if s.get("short_drain") else 0  # cut by a short drain
    timed = {r: k for r, k in rs.items() if r in WAIT_BOUND}
    # none served and every request turned away gave up waiting: the wait bound, the load
    # unmeasured (until December 2026 "unstable ... add capacity" of 3 requests in 15 s given
    # up at serverless.max_wait_s 10 s before a 27 s cold start ended)
    wait = (timed and set(rs) <= {*WAIT_BOUND, "unfinished_at_end"}
            and s["turned_away"] - sum(timed.values()) <= cut and s["backlog_at_horizon"] <= cut)
    if wait and not s.get("completed", 1):
        return _wait_bound_line(s, timed, cut, unsent)
    if s.get("never_placed"):  # a model no GPU was found for: not the load, nor the wait
        # bound (until December 2026 a model another's minimum replica kept off the only GPU
        # read "not overload but the wait bound ... raise serverless.max_wait_s")
        return _never_placed_line(s, timed, unsent)
    if wait and _faster(s):
        # requests that gave up waiting at a pool serving faster than offered: the wait bound
        # (or no room to place a replica), not the load (until December 2026 "unstable at this
        # load ... add capacity": so for a cold start's timeouts, and for timeout_queued and
        # timeout_no_capacity, "Queues are bounded by max_queue", which had no part in them)
        return _wait_bound_line(s, timed, cut, unsent)
    full = rs.get("queue_full", 0)
    if (full and not batch and set(rs) <= {"queue_full", "unfinished_at_end"}
            and s["turned_away"] - full <= cut and _faster(s)
            and not over_bounds(0, s["backlog_at_horizon"] - cut, s["servable"])):
        # a finite waiting room full now and then at a light load: its losses, not overload
        # (until December 2026 "unstable at this load": M/M/1/2 at rho 0.3, 6.5 % lost); a
        # few queued at the horizon are that room's, within the check's bound
        also = (f" ({cut:,} more were unfinished when the run stopped: unfinished_at_end, raise "
                "drain_s to let them finish)" if cut else "")
        return (f"{s['setup']}: {full:,} of {_of(s)} turned away "
                f"(queue_full){also}{unsent}, though it {_rate(s)}: not overload but a small "
                "waiting room (dedicated.max_queue, serverless.max_queue), full when a burst "
                "or long services met it; raise it to queue them instead")
    if not s["turned_away"] and s["offered_tok_s"] < s["sustainable_tok_s"]:
        # a backlog at the horizon though the setup serves faster than it was offered: cold
        # starts or a burst it had not worked off yet, not a queue that grows without bound
        return (f"{s['setup']}: {s['backlog_at_horizon']:,} of {_of(s)} were "
                f"still queued when arrivals stopped{_late(s)}, though it serves faster than "
                f"offered ({_tok(s['offered_tok_s'])} output tok/s offered against a sustainable "
                f"{_tok(s['sustainable_tok_s'])}, measured while serving): a backlog not yet "
                "worked off (cold starts, a burst); a longer horizon_s measures the steady state")
    why = []
    if s["turned_away"]:
        rs = ", ".join(f"{r} {k:,}" for r, k in s["reasons"].items())
        what = ("turned away or left unfinished" if "unfinished_at_end" in s["reasons"]
                else "turned away")  # requests still queued when the run stopped
        why.append(f"{s['turned_away']:,} of {_of(s)} {what} ({rs}){unsent}")
    if s["backlog_at_horizon"]:
        why.append(f"{s['backlog_at_horizon']:,} still queued when arrivals stopped"
                   + ("" if s["turned_away"] else _late(s)))  # else said with those turned away
    served = (f"a sustainable {_tok(s['sustainable_tok_s'])} tok/s (measured while serving)"
              if s.get("completed", 1) else "none served (no request completed, so no "
              "sustainable rate was measured)")
    cut = ""
    if s.get("short_drain") and ("unfinished_at_end" in s["reasons"] or s.get("late_cut")):
        than = ("shorter than the slowest served requests took" if s.get("completed")
                else "before any request was served")
        cut = (f" The run stopped {s['drain_used_s']:g} s after the horizon (drain_s, {than}): "
               "raise drain_s to tell a backlog (cold starts, a burst) from overload.")
    # of the requests a replica could hold, as the check's shares (job=plan's bound too)
    large = s.get("too_large") or {}
    over = (f" of the {_of(s)}; {sum(large.values()):,} more too large for one left out: "
            + ", ".join(f"{r} {k:,}" for r, k in large.items()) if large else "")
    return (f"{s['setup']} is unstable at this load: offered {_tok(s['offered_tok_s'])} output "
            f"tok/s ({s['offered_rps']:.3g} req/s{over}) against {served}; " + "; ".join(why)
            + (". Queues are bounded by max_queue, but for a batch tier's: dedicated.max_queue "
               "does not bound the batch queue (deadline work waits for spare capacity)"
               if batch else ". Queues are bounded by max_queue")
            + "; add capacity or lower the load." + cut)


def _wait_bound_line(s: dict, timed: dict, cut: int, unsent: str) -> str:
    """Requests turned away by the pool's wait bound (``timed``: reason -> count) though it
    serves faster than offered, and ``cut`` more cut by a short drain."""
    also = (f" ({cut:,} more were unfinished when the run stopped {s['drain_used_s']:g} s "
            "after the horizon: unfinished_at_end, raise drain_s to let them finish)"
            if cut else "")
    rate = (f", though it {_rate(s)}" if s.get("completed", 1) else
            ", none served (none waited long enough for a replica, so no rate was measured)")
    if set(timed) == {"timeout_cold_start"}:
        return (f"{s['setup']}: {timed['timeout_cold_start']:,} of {_of(s)} "
                f"timed out waiting for a cold start (timeout_cold_start){also}{unsent}{rate}: "
                "serverless.max_wait_s is shorter than its cold starts; raise it, or "
                "keep replicas warm (serverless.autoscaler.min_replicas, serverless.keepalive)")
    rs = ", ".join(f"{r} {k:,}" for r, k in sorted(timed.items()))
    whys = "; ".join(f"{r}: {WAIT_BOUND[r]}" for r in sorted(timed))
    room = ", give the pool more GPUs" if "timeout_no_capacity" in timed else ""
    return (f"{s['setup']}: {sum(timed.values()):,} of {_of(s)} gave up "
            f"waiting ({rs}){also}{unsent}{rate}: not overload but the wait bound: "
            f"{whys}; raise serverless.max_wait_s{room}, or keep replicas warm "
            "(serverless.autoscaler.min_replicas, serverless.keepalive)")


def _faster(s: dict) -> bool:
    """Whether the setup serves faster than it was offered: its sustainable rate, or what its
    GPUs carry when busy (the sustainable rate of a steady run with losses is the carried
    rate, below the offered one, so until December 2026 a pool one-quarter busy, its requests
    given up at serverless.max_wait_s, read "unstable at this load ... add capacity")."""
    cap = s.get("capacity")
    return s["offered_tok_s"] < s["sustainable_tok_s"] or bool(
        cap and s["offered_tok_s"] < cap["capacity_tok_s"] and not s.get("capacity_short"))


def _tok(x: float) -> str:
    """A rate in tok/s: whole numbers from 10, three significant figures below (rounded to whole
    numbers, until December 2026 0.2 offered against 0.29 read "0 ... against a sustainable 0")."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.3g}"


def _rate(s: dict) -> str:
    if s["offered_tok_s"] < s["sustainable_tok_s"]:
        return (f"serves faster than offered ({_tok(s['offered_tok_s'])} output tok/s offered "
                f"against a sustainable {_tok(s['sustainable_tok_s'])}, measured while serving)")
    cap = s["capacity"]
    return (f"serves faster than offered ({_tok(s['offered_tok_s'])} output tok/s offered; its "
            f"replicas carried {_tok(cap['carried_tok_s'])}, busy {cap['busy_fraction']:.0%} of "
            f"their warm time, so about {_tok(cap['capacity_tok_s'])} when busy all the time)")


def _never_placed_line(s: dict, timed: dict, unsent: str) -> str:
    """Models no replica of which was ever placed on a GPU (``s['never_placed']``: model -> offered, turned
    away, waiting at the horizon): the pool found them no GPU, it did not fall behind; ``timed``:
    the setup's requests given up at the wait bound (reason -> count)."""
    parts = "; ".join(f"{m}: {t:,} of {n:,} requests turned away or left unfinished"
                      + (f", {w:,} still queued when arrivals stopped" if w else "")
                      for m, (n, t, w) in s["never_placed"].items())
    rs = ", ".join(f"{r} {k:,}" for r, k in sorted(timed.items()))
    gave = (f"; requests that gave up waiting ({rs}) would be placed with a longer "
            "serverless.max_wait_s only if other replicas free a GPU (serverless.keepalive, "
            "serverless.eviction), never while other models' min_replicas hold them all"
            if timed else "")
    return (f"{s['setup']}: no replica of {', '.join(s['never_placed'])} was ever placed on a GPU ({parts})"
            f"{unsent}: "
            "not overload (the other models kept up) but no GPU for it: the pool's GPUs were "
            "held by other models' replicas (serverless.autoscaler.min_replicas, "
            "serverless.eviction) or too few (serverless.pool); give the pool more GPUs or "
            f"lower the other models' min_replicas{gave}")
