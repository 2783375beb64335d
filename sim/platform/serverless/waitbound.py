"""The pool's bounded wait (``serverless.max_wait_s``): one timer per model's queue, armed
for the head's deadline, ``max_wait_s`` after it joined the pool (its arrival, or its spill:
:meth:`~sim.platform.serverless.replicas.ReplicaLifecycle.waited`), so the deadlines are in
queue order; when it fires, every request queued ``max_wait_s`` is turned away
with its reason (``timeout_queued`` with a warm replica, else ``timeout_cold_start`` while a
replica loads or ``timeout_no_capacity``).

The timer fires after every other event of its instant (:data:`WAIT_BOUND`): the replicas'
(SimPy's NORMAL) and the arrivals' (``sim.simulation.loop.ARRIVAL``, NORMAL + 1). A request
whose slot frees or whose replica turns warm exactly at its deadline is served, on both
engines, however early the timer was set. Until December 2026 it was a plain timer and the
order of scheduling decided: the step engine turned away (``timeout_queued``) a request the
fluid one served at its deadline, and a cold start's first request was turned away
(``timeout_cold_start``) at the replica's ready instant while the one queued behind it took
the replica; and the wait counted from the arrival, read only at the head: a request spilled
at 10 s behind one that arrived at 5 s was turned away at the other's deadline, or the
instant it spilled (``max_wait_s`` 5 s, a cold wait of 0).
"""

from __future__ import annotations

from simpy.events import NORMAL

from sim.engine.tick import schedule
from sim.platform.serverless.state import LOADING

WAIT_BOUND = NORMAL + 2


def arm(pool, ms) -> None:
    """Set ``ms``'s timer for its queue head's deadline."""
    ms.wait_armed = True
    delay = pool.max_wait - pool.waited(ms.queue.items[0], pool.env.now)
    schedule(pool.env, max(delay, 0.0), lambda _ev: fire(pool, ms), priority=WAIT_BOUND)


def fire(pool, ms) -> None:
    """Turn away the requests of ``ms``'s queue whose wait is up; re-arm for the next."""
    ms.wait_armed = False
    now = pool.env.now
    q = ms.queue.items
    while q and pool.waited(q[0], now) >= pool.max_wait - 1e-9:
        r = q.popleft()
        if ms.ready > 0:
            reason = "timeout_queued"
        else:
            loading = [s for s in ms.slots if s.state == LOADING]
            reason = "timeout_cold_start" if loading else "timeout_no_capacity"
            pool.cold_cb(r, pool.waited(r, now), loading[0].tier if loading else "none")
        pool._settle(r, now)
        pool.reject_cb(r, reason)
    if q:
        arm(pool, ms)
