"""The run's event loop: SimPy's ``Environment.run(until)``, with the arrival driver beside
the event heap instead of in it.

SimPy would keep the driver's next wake-up on its heap as one more event, popped and
dispatched through ``Environment.step``; here it is a key of its own, ``(time, priority,
event id)``, taken exactly when and as the event would have been scheduled (the same
time arithmetic, the next event id), and the loop runs whichever of it and the heap's head
comes first: SimPy's order, but for the wake-up's priority, :data:`ARRIVAL`, after any. A
:class:`~sim.engine.tick.Tick` (a fluid replica's timer) is dispatched in the loop itself;
every other event goes through ``Environment.step`` as before.
"""

from __future__ import annotations

from heapq import heappop, heappush

from simpy.events import NORMAL, URGENT

from sim.engine.tick import Tick, schedule

# An arrival's priority: after every other event of its instant (SimPy's NORMAL is 1), so a
# request arriving as another ends finds the freed slot whatever was scheduled first (until
# December 2026 arrivals kept SimPy's order of scheduling: one arriving at a departure's
# instant was turned away from a full single-slot replica or admitted, by that history)
ARRIVAL = NORMAL + 1


class _Stop(Tick):
    """Where ``run(until)`` stops (SimPy's until event, at the same place in the heap)."""

    __slots__ = ()


class EventLoop:
    """Runs ``env`` with ``arrivals``, a generator that yields the delay until it is to be
    resumed (as a SimPy process yielding a timeout would), started where a process would
    be started now."""

    def __init__(self, env, arrivals):
        self.env = env
        self.arrivals = arrivals
        self.wake = (env._now, URGENT, next(env._eid))  # a process's start event
        self._stop = None  # where the running ``run`` stops (None: not running)

    def run(self, until: float) -> None:
        """``env.run(until=until)`` with the arrivals resumed in their place."""
        env = self.env
        now = env._now
        if until <= now:
            raise ValueError(f"until ({until}) must be greater than the current simulation time")
        stop = _Stop()
        stop.callbacks, stop._value, stop._ok = [], None, True
        queue = env._queue
        heappush(queue, (now + (until - now), URGENT, next(env._eid), stop))
        self._stop = stop
        wake = self.wake
        arrivals = self.arrivals
        step = env.step
        try:
            while True:
                head = queue[0]
                if wake is not None and wake < head:
                    env._now = wake[0]
                    try:
                        delay = next(arrivals)
                    except StopIteration:
                        wake = None
                        schedule(env, 0.0)  # where a process's end event goes
                        continue
                    if delay < 0:
                        raise ValueError(f"negative delay {delay}")
                    wake = (env._now + delay, ARRIVAL, next(env._eid))
                    continue
                ev = head[3]
                if ev.__class__ is Tick:  # Environment.step, inlined (a Tick is always ok)
                    heappop(queue)
                    env._now = head[0]
                    callbacks, ev.callbacks = ev.callbacks, None
                    for callback in callbacks:
                        callback(ev)
                elif ev is stop:
                    heappop(queue)
                    env._now = head[0]
                    return
                else:
                    step()
        finally:
            self.wake = wake
            self._stop = None

    def halt(self) -> None:
        """Make the running ``run`` return at this instant, once the events already
        scheduled for it have run (nothing if it is not running; the rest stays in the heap)."""
        if self._stop is not None:
            env = self.env
            heappush(env._queue, (env._now, NORMAL, next(env._eid), self._stop))
            self._stop = None
