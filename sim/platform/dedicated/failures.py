"""Replica failures and recoveries, retries, and availability arithmetic.

* :class:`FailurePlan` (plain): when each reserved replica fails and how long it stays
  down. ``random``: exponential up times with mean ``MTBF_gpu / gpus`` (a replica is down
  when any of its GPUs is) and down times ``Exp(mttr_s) + reload_s`` (repair, then the
  weights are loaded again); one named random stream per replica. ``script``: the listed
  failures (tests, reproducible experiments).
* :class:`RetryPolicy` (plain): a request interrupted by a failure goes back to the head of
  its pool's queue until it has been tried ``max_attempts`` times, then fails with reason
  ``replica_failure``.
  Under a per-replica router (``jsq``, ``round_robin``, ...) each retry is routed again as
  an arrival is, in their original order, and :func:`put_ahead` puts it at the head of the
  chosen replica's queue, behind the retries put there before it.
* :func:`availability` (plain): from each replica's down intervals, the fraction of
  replica-time up, of time with every replica up, and of time with at least one up.
* :class:`FailureDriver`: one SimPy process per replica that calls the setup's
  ``fail(slot)`` and ``recover(slot)``; with a ``warn`` callback (spot replicas), it calls
  ``warn(slot)`` ``notice_s`` before each ``fail``; an infinite down time ends the slot.
  Before calling ``fail`` it sets the plan's ``back_s``, when that failure ends.
"""

from __future__ import annotations

import math

from sim.rng import stream


class FailurePlan:
    def __init__(self, mode: str, *, seed: int = 0, name: str = "", mtbf_s: float = math.inf,
                 mttr_s: float = 0.0, reload_s: float = 0.0,
                 script: list[tuple[float, float]] | None = None):
        self.mode = mode
        self.mtbf_s = mtbf_s
        self.mttr_s = mttr_s
        self.reload_s = reload_s
        self._rng = stream(seed, f"failures/{name}") if mode == "random" else None
        self._script = sorted(script or [])
        self.scripted = len(self._script)  # listed failures, and how many happened (fired)
        self.fired = 0
        self.late: list[tuple[float, float]] = []  # (listed, happened) of those listed while down
        self.back_s = math.inf  # when its last failure ends, repair and reload done (inf: never)

    def next(self, now: float) -> tuple[float, float] | None:
        """(time of the next failure, down time) for a replica up since ``now``, or None."""
        if self.mode == "random":
            up = float(self._rng.exponential(self.mtbf_s)) if math.isfinite(self.mtbf_s) else math.inf
            if not math.isfinite(up):
                return None
            repair = float(self._rng.exponential(self.mttr_s)) if self.mttr_s > 0 else 0.0
            return now + up, repair + self.reload_s
        if self.mode == "script" and self._script:
            at, down = self._script.pop(0)
            if at < now:  # listed while down: it happens on recovery (counted, said)
                self.late.append((at, now))
            return max(at, now), down
        return None


class RetryPolicy:
    def __init__(self, max_attempts: int):
        self.max_attempts = max_attempts

    def retry(self, attempts_so_far: int) -> bool:
        """After ``attempts_so_far`` interrupted tries, is another allowed?"""
        return attempts_so_far < self.max_attempts


def put_ahead(pool, reqs: list, route) -> None:
    """Route each of ``reqs`` (``route(req)``: whether it went to the back of a replica's own
    queue) in their order and move it ahead of what that queue held before, behind the
    retries put there before it (until December 2026 they stayed at the back, in reverse
    order)."""
    ahead: dict[int, int] = {}  # replica id -> retries put at the head of its queue
    for req in reqs:
        if not route(req):
            continue
        for rep in pool.replicas:
            q = rep.queue.items
            if q and q[-1] is req:
                k = ahead.get(rep.rid, 0)
                ahead[rep.rid] = k + 1
                if k < len(q) - 1:
                    q.pop()
                    q.insert(k, req)
                    rep.queue.notify()
                break


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def availability(down: list[list[tuple[float, float]]], period_s: float) -> dict[str, float]:
    """``down[i]`` holds replica i's down intervals (clipped to [0, period_s] here)."""
    n = len(down)
    clipped = [[(max(a, 0.0), min(b, period_s)) for a, b in d if min(b, period_s) > max(a, 0.0)]
               for d in down]
    down_s = sum(b - a for d in clipped for a, b in d)
    if n == 0 or period_s <= 0:
        return {"capacity": math.nan, "all_up": math.nan, "any_up": math.nan, "down_s": down_s}
    # time with every replica down: sweep the interval ends
    events = sorted([(a, 1) for d in clipped for a, _ in d] + [(b, -1) for d in clipped for _, b in d],
                    key=lambda e: (e[0], e[1]))
    all_down, k, last = 0.0, 0, 0.0
    for t, step in events:
        if k == n:
            all_down += t - last
        k += step
        last = t
    return {
        "capacity": 1.0 - down_s / (n * period_s),
        "all_up": 1.0 - _union_length([iv for d in clipped for iv in d]) / period_s,
        "any_up": 1.0 - all_down / period_s,
        "down_s": down_s,
    }


class FailureDriver:
    """Runs a :class:`FailurePlan` per slot against the setup's ``fail``/``recover``."""

    def __init__(self, env, plans: list, fail, recover, warn=None, notice_s: float = 0.0):
        self.env = env
        self.fail = fail
        self.recover = recover
        self.warn = warn
        self.notice_s = notice_s
        for slot, plan in plans:
            env.process(self._life(slot, plan))

    def _life(self, slot, plan: FailurePlan):
        env = self.env
        while True:
            nxt = plan.next(env.now)
            if nxt is None:
                return
            at, down_s = nxt
            if at > env.now:
                yield env.timeout(at - env.now)
            if self.warn is not None:
                self.warn(slot, env.now)
                if self.notice_s > 0:
                    yield env.timeout(self.notice_s)
            plan.back_s = env.now + down_s
            self.fail(slot, env.now)
            plan.fired += 1
            if not math.isfinite(down_s):
                return
            yield env.timeout(down_s)
            self.recover(slot, env.now)
