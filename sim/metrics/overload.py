"""Is a setup keeping up with the offered load? The end-of-run stability check.

Queues are bounded (``dedicated.max_queue``, ``serverless.max_queue``; a batch tier's queue
by its workload): beyond the bound a request is rejected with ``queue_full``.
It is then unstable at this load, and :func:`stability` says so with numbers from the run:

* offered output tokens per second (the requests that arrived within the horizon and a
  replica could hold: those rejected ``exceeds_*`` are said, not counted);
* the sustainable throughput: output tokens per second completed between the 10 % and 70 %
  quantiles of the completion times (:func:`sim.metrics.steady.steady_rates`), which is
  the replicas' saturated throughput when they are overloaded (and the served load when
  they are not);
* the requests turned away for capacity (rejected or failed, except rate limits and
  requests too large for any replica), by reason;
* the backlog when arrivals stopped: requests that had arrived by the horizon and were
  still waiting for a replica.
* what the GPUs carry when busy (:func:`sim.metrics.seen.capacity_seen`), so whether a
  setup whose requests gave up waiting serves faster than offered, and the models of which
  no replica was ever placed (:meth:`StabilityFold.never_placed`).

A setup is flagged when more than 1 % of its offered requests were turned away for
capacity, or when more than 5 % (and more than 10 requests) were still waiting at the
horizon (the queue grew faster than it drained). Closed loops regulate themselves and are
never flagged.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from sim.metrics.invariants import offered_mask
from sim.metrics.rows import BLOCK, ExactValues, walk
from sim.metrics.seen import capacity_seen, placed_models
from sim.metrics.sketch import SketchValues
from sim.metrics.steady import BinnedSteadyFold, SteadyFold
from sim.metrics.unsent import (
    NEVER_SENT,
    UPSTREAM_FAILED,
    cut_line,
    stranded_end,
)
from sim.records import COMPLETED, FAILED, REJECTED

TURNED_AWAY_SHARE = 0.01
BACKLOG_SHARE = 0.05
BACKLOG_MIN = 10
# not overload; a pipeline's stage requests never sent because an earlier stage ended
# (upstream_failed) are not evidence of their own: that stage's end is counted (until
# December 2026 they were, and drain_s=0 on a pipeline was called "unstable at this load").
# They have no arrival time (they never arrived), so they are not among the offered
# requests either; StabilityFold counts them apart (until December 2026 those ended by the
# horizon were offered requests, at the time their pipeline failed, and those ended after
# it were not counted at all). Requests that failed with their replica (a failure or a spot
# reclaim, after dedicated.failures.max_attempts tries) are failures, not load: a line of
# their own says them (until December 2026 four at 11 % load read "unstable ... add capacity")
FAILURE = ("replica_failure", "spot_preemption")
# Requests a per-replica router found no replica up for (every one of their model that could
# hold them failed, noticed or reclaimed): an outage, not load; a line of their own says them
# (until December 2026 three at 0.15 req/s read "unstable at this load ... add capacity")
OUTAGE = ("no_replica", "retry_no_replica")
NOT_CAPACITY = ("rate_limit", "exceeds_kv_capacity", "exceeds_batch_kv_share", "exceeds_context",
                UPSTREAM_FAILED) + FAILURE + OUTAGE
CUT = ("unfinished_at_end", NEVER_SENT)  # ended by the run's end: the cut line says them


def stability(workload, run, block: int = BLOCK) -> dict | None:
    """The numbers above for one setup's run, with ``unstable`` set, over its open tenants'
    requests (None when every tenant is a closed loop). The log is read in one walk over
    blocks of ``block`` request ids (counts and integer sums, exact: :class:`StabilityFold`)."""
    fold = StabilityFold(workload, run)
    walk(run.log.n, [fold], block)
    return fold.finish()


class StabilityFold:
    """:func:`stability` as an accumulator of :func:`~sim.metrics.rows.walk` (``add(a, b)``;
    :meth:`finish` when the walk is over). Closed loops' requests are left out: they regulate
    themselves (until December 2026 one closed-loop tenant left the open ones beside it
    unjudged: 500 requests queued at the horizon, unsaid, and a plan bought 4 replicas that
    fell behind)."""

    def __init__(self, workload, run, bounded: bool = False):
        self.workload, self.run = workload, run
        self.h = float(workload.horizon_s)
        self.reasons: Counter = Counter()
        self.n = self.backlog = self.completed = self.offered_tok = 0
        self.done_tok = 0  # the served requests' output tokens
        # the completed requests' end-to-end times, and the steady window's: kept whole, or
        # (``bounded``, a run folded while it goes) a sketch and bins (sim/metrics/steady.py)
        self.took = SketchValues() if bounded else ExactValues()
        self.steady = (BinnedSteadyFold if bounded else SteadyFold)(
            run.log.finish_s, workload.output_tokens, self.done_in)
        self.last, self.first = -np.inf, np.inf  # the served: last finish, first admission
        self.unsent = 0  # pipeline stage requests never sent (upstream_failed)
        self.late_cut = 0  # pipeline stage requests sent after the horizon, then cut
        self.closed = np.array(sorted(workload.closed), dtype=np.int64)  # closed tenants
        self.pool_full = 0  # queue_full turned away by a serverless pool (a hybrid's too)
        # per model code: offered, turned away for capacity, waiting at the horizon
        self.by_model = {k: np.zeros(len(workload.models), dtype=np.int64)
                         for k in ("n", "turned", "waiting", "tok")}

    def open_in(self, a: int, b: int) -> np.ndarray:
        mine = offered_mask(self.workload, self.run, a, b)
        if self.closed.size:
            mine &= ~np.isin(self.workload.tenant[a:b], self.closed)
        return mine

    def arrived_in(self, a: int, b: int) -> np.ndarray:
        arrived = self.open_in(a, b)
        arrived &= self.run.log.arrival_s[a:b] <= self.h
        return arrived

    def done_in(self, a: int, b: int) -> np.ndarray:
        return self.arrived_in(a, b) & (self.run.log.outcome[a:b] == COMPLETED)

    def add(self, a: int, b: int) -> None:
        log, out, h = self.run.log, self.workload.output_tokens, self.h
        arrived, oc, reason = self.arrived_in(a, b), log.outcome[a:b], log.reason[a:b]
        self.n += int(np.count_nonzero(arrived))
        names = log.reasons.names
        # a replica could hold them: 1,000 of 1,010 offered tok/s too large for the KV cache
        # read "unstable ... add capacity" until December 2026
        fits = arrived & ~np.isin(reason, [i for i, r in enumerate(names) if r.startswith("exceeds_")])
        self.offered_tok += int(out[a:b][fits].sum())
        self.reasons.update(names[c] for c in
                            reason[arrived & ((oc == REJECTED) | (oc == FAILED))].tolist())
        mine = self.open_in(a, b)
        self.unsent += _count(log, mine, UPSTREAM_FAILED, oc, reason)
        self.late_cut += _count(log, mine & (log.arrival_s[a:b] > h), "unfinished_at_end", oc,
                                reason)  # not offered by the horizon: counted apart
        admit = log.admit_s[a:b]
        tier = log.tier[a:b]
        self.pool_full += int(np.count_nonzero(
            arrived & (oc == REJECTED) & (reason == _code(log, "queue_full"))
            & (tier == _tier(log, "serverless"))))
        with np.errstate(invalid="ignore"):
            # waiting for a replica: a pipeline's tool call cut in flight is not (it read as
            # queued: "26 still queued ... add capacity" of a light load stopped at drain_s=0)
            # not admitted by the horizon (a request cut in service has its admission logged:
            # until December 2026 it had none and read as queued, "22 still queued ... add
            # capacity" of four H100s at 12 % load stopped at drain_s=0)
            waiting = arrived & (tier != _tier(log, "tool")) & ~(admit <= h) & (
                (oc == COMPLETED) | ((oc == FAILED) & (reason == _code(log, "unfinished_at_end"))))
            self.backlog += int(np.count_nonzero(waiting))
        names = log.reasons.names
        other = [i for i, r in enumerate(names) if r.startswith(NOT_CAPACITY)]
        turned = arrived & ((oc == REJECTED) | (oc == FAILED)) & ~np.isin(reason, other)
        model = self.workload.model[a:b]
        for k, where in (("n", arrived), ("turned", turned), ("waiting", waiting)):
            self.by_model[k] += np.bincount(model[where], minlength=len(self.by_model[k]))
        self.by_model["tok"] += np.bincount(model[fits], weights=out[a:b][fits],
                                            minlength=len(self.by_model["tok"])).astype(np.int64)
        done = arrived & (oc == COMPLETED)
        self.completed += int(np.count_nonzero(done))
        self.took.add(log.finish_s[a:b][done] - log.arrival_s[a:b][done])
        self.done_tok += int(out[a:b][done].sum())
        self.steady.add(a, b)
        finished, admitted = done & ~np.isnan(log.finish_s[a:b]), done & ~np.isnan(admit)
        self.last = max(self.last, float(np.max(log.finish_s[a:b], where=finished,
                                                initial=-np.inf)))
        self.first = min(self.first, float(np.min(admit, where=admitted, initial=np.inf)))

    def finish(self) -> dict | None:
        run, h, n, reasons = self.run, self.h, self.n, self.reasons
        if n == 0:
            return None
        capacity = {r: k for r, k in reasons.items() if not r.startswith(NOT_CAPACITY)}
        turned = sum(capacity.values())
        try:
            _, sustainable = self.steady.finish()
        except ValueError:  # too few completions, or all at one instant: their tokens over
            # the time they were served, from the first admission to the last finish (until
            # December 2026 over the whole period, so a batch of 1-token requests served at
            # once after a 27 s cold start read `a sustainable 0 tok/s` and was called unstable)
            served_s = 0.0
            if self.completed:  # NaN when either end has none, as np.nanmax - np.nanmin
                ok = np.isfinite(self.last) and np.isfinite(self.first)
                served_s = self.last - self.first if ok else float("nan")
            sustainable = float(self.done_tok) / (served_s if served_s > 0
                                                  else max(run.period_s, h))
        unfinished = capacity.get("unfinished_at_end", 0)
        # shares of the requests a replica could hold (those too large for any counted until
        # December 2026: 113 of 277 over the context let the backlog reach 5 % of 277)
        too_large = {r: k for r, k in sorted(reasons.items()) if r.startswith("exceeds_")}
        servable = n - sum(too_large.values())
        unstable = over_bounds(turned, self.backlog, servable)
        # requests the run's end cut are not evidence of overload on their own when the drain
        # was shorter than a served request took (drain_s=0 at a light load cuts those in
        # flight): is the setup behind without them, counting those still queued for a slot
        # at the horizon?
        drain = max(0.0, float(run.t_end) - h)
        slowest = self.took.stats([99])[0] if self.took.count() else h  # p99, when served
        short = drain < slowest
        # with none served a queue at the horizon says nothing either (requests waiting for a
        # first cold start at drain_s=0 read "unstable ... add capacity" until December 2026)
        backlog = self.backlog if self.completed else 0
        cut_only = (unstable and unfinished > 0 and short
                    and not over_bounds(turned - unfinished, backlog, servable))
        return {"setup": run.setup, "requests": n, "servable": servable, "offered_rps": servable / h,
                "offered_tok_s": float(self.offered_tok) / h, "sustainable_tok_s": sustainable,
                "turned_away": turned, "reasons": dict(sorted(capacity.items())), "too_large": too_large,
                "backlog_at_horizon": self.backlog, "unstable": bool(unstable),
                "completed": self.completed, "cut_only": bool(cut_only), "drain_used_s": drain,
                "short_drain": bool(short),
                "upstream_failed": self.unsent, "late_cut": self.late_cut,
                "queue_full_pool": self.pool_full,
                "capacity": capacity_seen(getattr(run, "ledger", None) or [],
                                          float(run.period_s)),
                "capacity_short": self.capacity_short(),
                "never_placed": self.never_placed(turned, servable)}

    def capacity_short(self) -> list[str]:
        """The models offered more output tokens a second than their own replicas carry when
        busy (:func:`~sim.metrics.seen.capacity_seen` over each model's ledger rows; none busy:
        short): a setup's totals hid one overloaded model among idle others (one Qwen3-32B
        replica busy 100 % at rho 3 beside three idle 8B replicas read "busy 28 % ... not
        overload", December 2026)."""
        rows: dict = {}
        for r in getattr(self.run, "ledger", None) or []:
            rows.setdefault(r.model, []).append(r)
        period, h = float(self.run.period_s), self.h
        out = []
        for m, name in enumerate(self.workload.models):
            tok = int(self.by_model["tok"][m])
            if not tok:
                continue
            cap = capacity_seen(rows.get(name, []), period)
            if cap is None or tok / h >= cap["capacity_tok_s"]:
                out.append(name)
        return out

    def never_placed(self, turned: int, n: int) -> dict:
        """The models offered requests of which no replica was ever placed, each with its requests
        (offered, turned away for capacity, waiting at the horizon), when the rest of the setup
        is within the check's bounds without them (then it is not the load: until December 2026
        a background model two other models' minimum replicas left no GPU for read "unstable at
        this load: offered 4 output tok/s ... against a sustainable 189"), else {}."""
        placed = placed_models(getattr(self.run, "ledger", None) or [])
        if placed is None:
            return {}
        by, names = self.by_model, self.workload.models
        out = {names[m]: (int(by["n"][m]), int(by["turned"][m]), int(by["waiting"][m]))
               for m in range(len(names))
               if names[m] not in placed and by["turned"][m] + by["waiting"][m]}
        if not out:
            return {}
        rest = [sum(v[i] for v in out.values()) for i in range(3)]
        if over_bounds(turned - rest[1], self.backlog - rest[2], n - rest[0]):
            return {}
        return dict(sorted(out.items()))


def over_bounds(turned: int, backlog: int, n: int) -> bool:
    return turned > TURNED_AWAY_SHARE * n or backlog > max(BACKLOG_MIN, BACKLOG_SHARE * n)


def _code(log, name: str) -> int:
    return log.reasons.names.index(name) if name in log.reasons.names else -1


def _tier(log, name: str) -> int:
    return log.tiers.names.index(name) if name in log.tiers.names else -1


def _count(log, mine: np.ndarray, name: str, oc: np.ndarray, reason: np.ndarray) -> int:
    """How many of ``mine`` failed with reason ``name``."""
    code = _code(log, name)
    return int(np.count_nonzero(mine & (oc == FAILED) & (reason == code))) if code >= 0 else 0


# rejections no other note counts: not overload (see NOT_CAPACITY) and not lengths beyond the
# context, which the workload's length notes count per tenant
SAID_HERE = ("rate_limit", "exceeds_kv_capacity", "exceeds_batch_kv_share")
WHY = {"exceeds_kv_capacity": "prompt + output (less its last token under paged admission) larger than "
                              "a replica's KV cache holds (deployments.<model>.perf.kv_capacity_tokens, or the GPU's memory)",
       "exceeds_batch_kv_share": "a batch-tier request's prompt + output (less its last token under paged "
                                 "admission) larger than the batch share of a replica's KV cache (dedicated.batch.kv_fraction)",
       "rate_limit_tpm_oversize": "prompt + output more tokens than the tenant's tpm bucket holds, so never "
                                  "admitted (serverless.rate_limits.<tenant>.tpm or default_rate_limit.tpm)"}


def rejection_line(workload, run, block: int = BLOCK) -> str | None:
    """How many of a setup's offered requests were rejected for a reason no other note gives
    (a request no replica can hold, a rate limit), per reason and model; None if none."""
    fold = RunNotesFold(workload, run)
    walk(run.log.n, [fold], block)
    return fold.rejection_line()


def unfinished_line(workload, run, stop_s: float, block: int = BLOCK,
                    warmup_s: float = 0.0) -> str | None:
    """How many of a setup's offered requests were still running or waiting when the run
    stopped at ``stop_s``, ``horizon_s + drain_s`` (ended ``failed``, ``unfinished_at_end``),
    and how many a closed loop never sent (``never_sent``, sim/metrics/unsent.py), or None.
    A closed loop is never flagged unstable, so without this line a loop cut short by the
    drain limit said nothing about it."""
    fold = RunNotesFold(workload, run)
    walk(run.log.n, [fold], block)
    return fold.unfinished_line(stop_s, warmup_s)


class RunNotesFold:
    """What :func:`stability_notes` reads of one run's log, as an accumulator of
    :func:`~sim.metrics.rows.walk` (``add(a, b)``): the offered requests, those rejected for a
    reason of :data:`SAID_HERE` by model, those unfinished at the end, and
    :class:`StabilityFold` (``stable=True``, not for a closed loop; ``bounded``: its)."""

    def __init__(self, workload, run, stable: bool = False, bounded: bool = False):
        self.workload, self.run = workload, run
        # requests rejected, by reason code and model (the reasons read at each block: the
        # fold may be fed while the run goes, before a reason's first use gives it a code)
        self.per: dict[int, Counter] = {}
        self.offered = self.unfinished = self.unsent = 0  # unsent: a closed loop's never_sent
        self.upstream = 0  # pipeline stage requests never sent (upstream_failed)
        self.broken: Counter = Counter()  # requests failed with their replica, by reason (FAILURE)
        self.away: Counter = Counter()  # requests that found no replica up, by reason (OUTAGE)
        self.stable = StabilityFold(workload, run, bounded) if stable else None
        # closed loops' requests turned away for capacity, by reason (StabilityFold's for the
        # open tenants), and of them queue_full by a serverless pool: the requests the run's
        # end cut and those never sent have lines of their own
        self.closed = np.array(sorted(workload.closed), dtype=np.int64)
        self.turned: Counter = Counter()
        self.turned_pool = 0
        # the closed loops' own offered, cut and never-sent requests (said beside a warning,
        # which counts the open tenants only)
        self.loop_offered = self.loop_cut = self.loop_unsent = 0

    def add(self, a: int, b: int) -> None:
        log, wl = self.run.log, self.workload
        mine = offered_mask(wl, self.run, a, b)
        self.offered += int(np.count_nonzero(mine))
        oc, reason = log.outcome[a:b], log.reason[a:b]
        rej = mine & (oc == REJECTED)
        for code in self.codes:
            where = rej & (reason == code)
            self.per.setdefault(code, Counter()).update(
                wl.models[m] for m in wl.model[a:b][where].tolist())
        gone = self.gone
        if gone >= 0:
            self.unfinished += int(np.count_nonzero(mine & (oc == FAILED) & (reason == gone)))
        self.unsent += _count(log, mine, NEVER_SENT, oc, reason)
        self.upstream += _count(log, mine, UPSTREAM_FAILED, oc, reason)
        for why in FAILURE:
            self.broken[why] += _count(log, mine, why, oc, reason)
        for why in OUTAGE:
            code = _code(log, why)
            if code >= 0:
                self.away[why] += int(np.count_nonzero(mine & (oc != COMPLETED) & (reason == code)))
        if self.closed.size:
            names = log.reasons.names
            loop = mine & np.isin(wl.tenant[a:b], self.closed)
            self.loop_offered += int(np.count_nonzero(loop))
            if gone >= 0:
                self.loop_cut += int(np.count_nonzero(loop & (oc == FAILED) & (reason == gone)))
            self.loop_unsent += _count(log, loop, NEVER_SENT, oc, reason)
            self.turned.update(n for n in (names[c] for c in reason[loop & ((oc == REJECTED)
                                                                         | (oc == FAILED))].tolist())
                               if not n.startswith(NOT_CAPACITY + CUT))
            self.turned_pool += int(np.count_nonzero(
                loop & (oc == REJECTED) & (reason == _code(log, "queue_full"))
                & (log.tier[a:b] == _tier(log, "serverless"))))
        if self.stable is not None:
            self.stable.add(a, b)

    @property
    def codes(self) -> list[int]:
        """The codes of the reasons :data:`SAID_HERE` (so far)."""
        return [i for i, r in enumerate(self.run.log.reasons.names) if r.startswith(SAID_HERE)]

    @property
    def gone(self) -> int:
        return _code(self.run.log, "unfinished_at_end")

    def rejection_line(self) -> str | None:
        per, names = self.per, self.run.log.reasons.names
        n = sum(k for c in per.values() for k in c.values())
        if not n:
            return None
        parts = []
        for code in self.codes:
            if per.get(code):
                models = ", ".join(f"{m} {k:,}" for m, k in sorted(per[code].items()))
                why = f": {WHY[names[code]]}" if names[code] in WHY else ""
                parts.append(f"{names[code]} {sum(per[code].values()):,} ({models}){why}")
        return (f"{self.run.setup}: {n:,} of {self.offered:,} requests rejected unserved "
                "(summary.csv column rejected; each one's reason in requests.parquet): "
                + "; ".join(parts))

    def unfinished_line(self, stop_s: float, warmup_s: float = 0.0,
                        loops: bool = False) -> str | None:
        """The cut line of every request, or (``loops``) of the closed loops' alone."""
        cut, unsent, offered = ((self.loop_cut, self.loop_unsent, self.loop_offered) if loops
                                else (self.unfinished, self.unsent, self.offered))
        if not (cut or unsent):
            return None
        who = f"{self.run.setup}'s closed-loop tenants" if loops else self.run.setup
        return cut_line(who, cut, unsent, offered, stop_s, warmup_s, stranded_end(self.run))
