"""The end-of-run notes on whether each setup kept up (sim/metrics/overload.py measures it):
which line a run gets, a loss system's, a closed loop's, a failure's, the requests its end
cut, the warning itself (its text: sim/metrics/stabline.py)."""

from __future__ import annotations

from sim.metrics.overload import RunNotesFold, over_bounds
from sim.metrics.rows import BLOCK, walk
from sim.metrics.stabline import (
    closed_line,
    failure_line,
    loss_line,
    outage_line,
    turned_below,
    warning_line,
)
from sim.metrics.unsent import (
    late_line,
    pipelines_cut_line,
    stranded_end,
    upstream_line,
)


def designed_losses(s: dict | None, loss: bool, setup: str) -> bool:
    """A loss system's figures (``dedicated.max_queue=0``, ``loss``): reserved replicas turned
    requests away (queue_full) as asked, and the run's end may have cut some."""
    rs = s["reasons"] if s is not None else {}
    return bool(rs.get("queue_full") and loss and setup != "serverless"
                and not s.get("queue_full_pool")  # a hybrid's pool turned them away: no loss asked
                and set(rs) <= {"queue_full", "unfinished_at_end"})


def overload_warning(workload, s: dict | None, loss: bool, setup: str,
                     run=None) -> str | None:
    """The stability warning the run's notes give these figures (:func:`stability`), or
    None: a loss system's own losses and the requests the run's end cut are not overload, so
    beside them only a batch queue, which no bound holds, can be (until December 2026 the
    losses alone called a light batch tier "unstable ... add capacity")."""
    if s is None or not s["unstable"]:
        return None
    if designed_losses(s, loss, setup):
        rs = s["reasons"]
        rest = s["turned_away"] - rs["queue_full"] - rs.get("unfinished_at_end", 0)
        if not (workload.deadlines and over_bounds(rest, s["backlog_at_horizon"], s["servable"])):
            return None
    if run is None:
        return warning_line(s, bool(workload.deadlines))
    return warning_line(s, bool(workload.deadlines), stranded_end(run))


def stability_notes(workload, runs, drain_s: float, loss: bool = False,
                    block: int = BLOCK, folded=None, warmup_s: float = 0.0) -> list[str]:
    """One warning line per setup that could not keep up with the offered load (else one per
    setup that left requests unfinished at the drain limit: unfinished_line), one per
    setup that rejected requests for a reason no other line gives (rejection_line), and one
    per setup whose pool could not hold the replicas a warm start asked for. ``loss``:
    ``dedicated.max_queue`` is 0, so reserved replicas turning requests away (queue_full)
    is the loss system asked for, said as such, not as overload. ``block``: request ids read
    at a time; ``folded``: setup -> its :class:`RunNotesFold` (``stable=True``) already fed
    by a walk (sim/metrics/endrun.py), else each run's is walked here; ``warmup_s``:
    ``metrics.warmup_s``, which says where requests never sent count."""
    notes = []
    for r in runs:
        fold = (folded or {}).get(r.setup)
        if fold is None:
            fold = RunNotesFold(workload, r, stable=True)
            walk(r.log.n, [fold], block)
        s = fold.stable.finish() if fold.stable is not None else None
        said = False  # whether a line below counts the pipeline stages never sent
        stop = float(workload.horizon_s) + drain_s
        # the cut requests' line, unless warning_line counts them (until December 2026 a loss
        # system's line took its place, and the stages cut after the horizon went unsaid)
        cut = fold.unfinished_line(stop, warmup_s)
        if designed_losses(s, loss, r.setup):  # said however few
            notes.append(loss_line(r.setup, s["reasons"]["queue_full"], s["requests"]))
            warn = overload_warning(workload, s, loss, r.setup)  # the batch queue's
            if warn:
                notes.append(warn)
                cut = None
        elif s is not None and s["unstable"]:
            said = bool(s.get("cut_only") or s["turned_away"])  # warning_line counts them
            gone = ", ".join((r.extra or {}).get("stranded") or [])  # unfinished: counted too
            # a drain too short to tell ends with what a longer one would do (stranded_end:
            # until December 2026 "raise drain_s" of a model with no replica left, and the
            # sentence on it run on without a stop), else the model left without replicas
            more = (f" {gone} had no replica serving at the run's end (reclaimed, its "
                    "replacement still loading, or down)." if gone and not s.get("cut_only")
                    else "") + outage(r, float(workload.horizon_s))
            warn = overload_warning(workload, s, loss, r.setup, r)
            notes.append(warn + ("." if more and not warn.endswith(".") else "") + more)
            cut = None
        if cut:
            notes.append(cut)
        elif s is not None and s["unstable"]:  # the warning counts the open tenants' alone
            cut = fold.unfinished_line(stop, warmup_s, loops=True)
            if cut:
                notes.append(cut)
        if (s is not None and (not s["unstable"] or s.get("cut_only"))
                and not designed_losses(s, loss, r.setup)):
            below = turned_below(s)  # fewer than the check flags: said all the same (beside
            # a line on a drain too short to tell too, which names only the cut requests)
            if below:
                notes.append(below)
        if fold.turned:  # closed loops: never overload, their requests turned away said
            notes.append(closed_line(r.setup, fold.turned, fold.loop_offered,
                                     loss and r.setup != "serverless" and not fold.turned_pool))
        if fold.upstream and (warmup_s > 0 or not said):  # with a warm-up, in neither window
            notes.append(upstream_line(r.setup, fold.upstream, fold.offered, warmup_s))
        piped = pipelines_cut_line(r, stop)  # the pipeline requests cut
        if piped:
            notes.append(piped)
        if sum(fold.broken.values()):
            notes.append(failure_line(r.setup, +fold.broken, fold.offered))
        if sum(fold.away.values()):
            notes.append(outage_line(r.setup, +fold.away, fold.offered))
        rejected = fold.rejection_line()
        if rejected:
            notes.append(rejected)
        for what, (listed, unfired, late) in ((r.extra or {}).get("scripts_unfired") or {}).items():
            if unfired:
                notes.append(f"{r.setup}: {unfired:,} of the {listed:,} events listed in {what} "
                             f"never happened: the run ended at {r.t_end:,.1f} s first")
            if late:  # listed while its replica was away: it came when the replica was back
                notes.append(late_line(r.setup, what, listed, late))
        for m, gpu in ((r.extra or {}).get("no_overflow") or {}).items():
            notes.append(f"{r.setup}: {m} can neither spill nor be mirrored to the serverless pool "
                         f"(hybrid.spillover, hybrid.shadow_fraction): the pool has no {gpu} node "
                         f"that holds it (serverless.pool.{gpu}), so its reserved replicas serve "
                         "every request of it")
        short = (r.extra or {}).get("warm_start_short") or {}
        if short:
            # how many loaded later, counted (until December 2026 "the rest start cold", of
            # a pool of one GPU on which none ever did)
            parts = ", ".join(f"{m} {ready} of {want}, "
                              + (f"{later:,} loaded later in the run" if later
                                 else "none loaded later in the run")
                              for m, (ready, want, later) in sorted(short.items()))
            notes.append(f"{r.setup}: serverless.start=warm asked for more replicas at t=0 than "
                         f"the pool holds; ready at t=0: {parts} (the rest start cold when the "
                         "pool has GPUs free for them: serverless.pool, serverless.eviction)")
        cold = (r.extra or {}).get("warm_start_spill_cold")
        if cold:
            notes.append(f"{r.setup}: serverless.start=warm placed no pool replica at t=0 "
                         f"of {', '.join(cold)}, a spillover target (hybrid.spillover) the warm "
                         "start does not foresee: the first request spilled starts cold")
        tier, gaps = (r.extra or {}).get("preload_gaps") or ("", [])
        if gaps:
            notes.append(preload_line(r.setup, tier, gaps))
        full = (r.extra or {}).get("prewarm_no_room") or {}
        if full:
            parts = ", ".join(f"{m} {n:,}" for m, n in sorted(full.items()))
            started = int(((r.extra or {}).get("stats") or {}).get("pipeline_prewarms", 0))
            notes.append(f"{r.setup}: coordinated pre-warms (pipelines.<p>.prewarm) that found "
                         f"no room in the pool and started no replica: {parts} ({started:,} "
                         "started one): no free GPUs, no idle replica to evict, no node to "
                         "provision (serverless.pool); those stages load when their requests "
                         "reach them")
        unused = (r.extra or {}).get("warm_start_unused") or {}
        if unused:
            parts = ", ".join(f"{m} at {t:,.6g} s" for m, t in sorted(unused.items()))
            notes.append(f"{r.setup}: the warm start (serverless.start=warm) was undone before "
                         f"any request used it: the model's last replica placed at t=0 stopped "
                         f"unused, by keep-alive (serverless.keepalive), scale-in or eviction: "
                         f"{parts}; the model's next request found no replica")
    return notes


CACHE_KEY = {"host_dram": "dram_cache_gb", "local_nvme": "nvme_cache_gb"}


def preload_line(setup: str, tier: str, gaps: list) -> str:
    """The models cold_start.preloaded_tier did not put where it says at t=0, with where
    their first load reads them instead and why (until December 2026 unsaid: with
    ``dram_cache_gb=0 nvme_cache_gb=0`` every load of a run "preloaded in host DRAM" read
    object storage; a 70B over the page cache loaded from NVMe, and pushed an 8B out of it)."""
    parts = []
    for model, gpu, size, held, missed in gaps:
        why = " nor ".join(f"{c} (serverless.pool.{gpu}.{CACHE_KEY[c]}={cap / 1e9:g}: "
                           f"{'smaller than the weights' if big else 'given up to a model preloaded after it'})"
                           for c, cap, big in missed)
        parts.append(f"{model} ({size / 1e9:.1f} GB) on {gpu} nodes: not in {why}; its first "
                     f"load on a node reads {held}")
    return (f"{setup}: cold_start.preloaded_tier={tier} puts the weights on every node at t=0 "
            f"only where the node's caches hold them: {'; '.join(parts)}")


def outage(run, horizon_s: float) -> str:
    """What a warning adds when replicas failed, were reclaimed or got a spot notice (from
    which they admit nothing new) by the horizon: a backlog built while they were away is
    the outage's, and the sustainable rate is measured over completions with the outage
    among them (until December 2026 unsaid: one H100 down 45 s of 60 at 15 % load read
    "unstable ... add capacity" and nothing more; a notice whose reclaim came after the
    horizon went unsaid until a later December 2026 fix)."""
    ev = (run.extra or {}).get("events")
    if ev is None or not len(ev.t_s):
        return ""
    counts = {"fail": 0, "spot_reclaim": 0, "spot_notice": 0}
    for t, kind in zip(ev.t_s, ev.kind):
        if kind in counts and t <= horizon_s:
            counts[kind] += 1
    noticed = counts["spot_notice"] - counts["spot_reclaim"]  # reclaimed after the horizon
    if not (counts["fail"] + counts["spot_reclaim"] + noticed):
        return ""
    what = " and ".join(f"{k:,} {name}{'s' if k != 1 else ''}" for name, k in (
        ("replica failure", counts["fail"]), ("spot reclaim", counts["spot_reclaim"]),
        ("spot notice", noticed)) if k)
    after = ("; a noticed spot replica admits nothing new, its reclaim came after the horizon"
             if noticed else "")
    return (f" Replicas were away during the run ({what} by the horizon{after}): a backlog "
            "built while they were down is the outage's, not necessarily the load's, and the "
            "sustainable rate is measured over completions with the outage among them (the "
            "availability and downtime tables say how long).")
