"""Timer events put on SimPy's event heap directly, for the hottest timers of a run (a fluid
replica's next state change; the run loop, :mod:`sim.simulation.loop`, dispatches them
itself and keeps the arrival driver's wake-up beside the heap, as the same kind of key).

A :class:`Tick` carries what SimPy's ``Environment.step`` reads of an event (its callbacks
and ``_ok``) and a value; :func:`schedule` pushes it as ``Timeout`` (or, with ``URGENT``,
a process's start) would: at ``now + delay``, with the same priority and the next event id,
so the order of events, ties included, is exactly SimPy's. What it saves is the Python
calls of ``Timeout`` and of a generator process's resumption.
"""

from __future__ import annotations

from heapq import heappush

from simpy.events import NORMAL


class Tick:
    __slots__ = ("callbacks", "_value", "_ok")


def schedule(env, delay: float, callback=None, value=None, priority: int = NORMAL) -> None:
    """Call ``callback(tick)`` after ``delay`` (none: the event only takes its place)."""
    if delay < 0:
        raise ValueError(f"negative delay {delay}")
    tick = Tick()
    tick.callbacks = [callback] if callback is not None else []
    tick._value = value
    tick._ok = True
    heappush(env._queue, (env._now + delay, priority, next(env._eid), tick))


NEVER = float("-inf")


def arriving(env) -> float:
    """The instant whose arrivals are being played (``env.arrival_instant``, set by the run's
    arrival driver and the pipelines' arrivals; -inf without one). A replica's boundary at
    that instant came first (an arrival is the last event of its instant,
    :data:`sim.simulation.loop.ARRIVAL`), so a request arriving then joins the next one; a
    request sent by another event of the instant (a finish's next turn, a queue's offer as
    another replica admits) may still join a boundary at it, as on the step engine."""
    return env.__dict__.get("arrival_instant", NEVER)
