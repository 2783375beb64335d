"""Per-model autoscaler: how many replicas a model should have, from its concurrency.

The rule is the concurrency-based one of request-driven serverless platforms (Knative's
pod autoscaler): the desired count is the in-flight requests averaged over a window,
divided by a target concurrency per replica, rounded up.

* stable mode averages over ``stable_window_s``;
* panic mode starts when the short ``panic_window_s`` average asks for at least
  ``panic_threshold`` times the ready replicas; while it lasts the desired count follows
  the panic window and never decreases; it ends one stable window after the last time the
  condition held;
* the result is clamped to ``[min_replicas, max_replicas]``.

The concurrency signal is integrated exactly (it is piecewise constant) into fixed-width
buckets, so a window average costs O(window / bucket) and each update O(1).

A warm-started pool (``serverless.start: warm``) is one that has been serving: ``seed(L)``
gives the signal the value ``L`` over every time before t=0, so while a window reaches back
before t=0 its average is ``(integral over (0, t] + L * (w - t)) / w`` and the first ticks do
not undo the warm start's sizing (over ``(0, t]`` alone, one request in flight at t=2 scaled a
pool sized for 1.6 in flight down at once, and the next request reloaded it).

Keep-alive (when the last replica goes away) is a separate policy
(:mod:`sim.platform.serverless.keepalive`); this class never asks for fewer replicas than
its clamp, and the platform never lets it remove the last one.
"""

from __future__ import annotations

import math


class WindowedSignal:
    """Time average of a piecewise-constant signal over trailing windows.

    ``set(t, v)``: the signal is ``v`` from ``t`` on (``t`` never decreases).
    ``average(t, w)``: the mean over ``(t - w, t]`` (over ``(0, t]`` while ``t < w``, unless
    ``prior``, the value before t=0, is set: then over ``(t - w, t]`` with ``prior`` before
    0), with the window's start rounded down to a bucket boundary.

    The integral of the signal is kept at every bucket boundary of the last ``span_s`` (a
    ring that grows with the run, so a window longer than the run costs only the run's
    buckets), and an average is a difference of two integrals: O(1) whatever the window.

    The platform sets it twice a request, so ``set`` avoids what costs most in CPython: it
    compares bucket indices as floats (``t // b``) and converts one to an int only when
    ``t`` enters a new bucket, and keeps the value as given (an int concurrency times a
    float is the float product, so the integral is the same).
    """

    __slots__ = ("b", "n", "at", "t", "i", "q", "total", "value", "zero_i", "prior")

    def __init__(self, bucket_s: float, span_s: float):
        if not bucket_s > 0 or not span_s > 0:
            raise ValueError("bucket and span must be > 0")
        self.b = float(bucket_s)
        self.n = int(math.ceil(span_s / bucket_s)) + 2
        self.at = [0.0]  # at[k % n]: the integral up to the boundary k * b (grows up to n)
        self.t = 0.0
        self.i = 0  # bucket index of self.t
        self.q = 0.0  # the same as a float, t // b
        self.total = 0.0  # the integral up to self.t
        self.value = 0.0
        # the signal has been 0 since within bucket ``zero_i`` (-1: since the start): every
        # boundary after it holds ``total``, so a window starting after it averages to 0
        self.zero_i = -1
        self.prior = 0.0  # the signal's value before t=0 (a warm start's history)

    def _advance(self, t: float) -> None:
        # (inlined in Autoscaler.decide: change both)
        if t < self.t:
            raise ValueError(f"time went backwards: {t} < {self.t}")
        q = t // self.b
        if q != self.q:
            self._fill(q)
        self.total += self.value * (t - self.t)
        self.t = t

    def _fill(self, q: float) -> None:
        """Enter bucket ``q`` (``t // b`` of the new time): the integral at the boundaries
        after bucket ``self.i`` up to it, the signal having held ``self.value`` since
        ``self.t``."""
        i_now = int(q)
        b, n, at, v = self.b, self.n, self.at, self.value
        if len(at) < n and i_now >= len(at):
            at.extend([0.0] * (min(i_now + 1, n) - len(at)))
        base = self.total - v * self.t
        lo = self.i + 1
        if lo < i_now - n + 1:
            lo = i_now - n + 1
        if v:
            for k in range(lo, i_now + 1):
                at[k % n] = base + v * (k * b)
        elif lo <= i_now:  # the signal was 0: each of those boundaries holds the integral so far (base +
            # 0.0 is base), written as one or two slices (the ring may wrap)
            s, e = lo % n, i_now % n + 1
            if s < e:
                at[s:e] = [base] * (e - s)
            else:
                at[s:] = [base] * (n - s)
                at[:e] = [base] * e
        self.i = i_now
        self.q = q

    def set(self, t: float, value: float) -> None:
        # (inlined in ServerlessPlatform.submit and _done: change both)
        dt = t - self.t
        if dt:  # _advance, inlined
            if dt < 0:
                raise ValueError(f"time went backwards: {t} < {self.t}")
            q = t // self.b
            if q != self.q:
                self._fill(q)
            self.total += self.value * dt
            self.t = t
        if not value and self.value:
            self.zero_i = self.i
        self.value = value

    def average(self, t: float, window_s: float) -> float:
        if t != self.t:
            self._advance(t)
        if self.prior and t < window_s:  # the window reaches back before t=0
            return (self.total + self.prior * (window_s - t)) / window_s
        first = max(int((t - window_s) // self.b), 0, self.i - self.n + 1)
        start = first * self.b
        if t <= start:
            return float(self.value)
        return (self.total - self.at[first % self.n]) / (t - start)


class Autoscaler:
    """Desired replica count of one model. Plain policy: the caller feeds it concurrency
    (``observe``) and asks ``decide(now, ready)`` at each tick."""

    __slots__ = ("target", "stable_s", "panic_s", "panic_threshold", "min", "max", "signal",
                 "panic_until", "last")

    def __init__(self, target: float, stable_s: float = 60.0, panic_s: float = 6.0,
                 panic_threshold: float = 2.0, min_replicas: int = 0, max_replicas: int = 8,
                 bucket_s: float = 1.0):
        if not target > 0:
            raise ValueError("target concurrency must be > 0")
        if not 0 < panic_s <= stable_s:
            raise ValueError("need 0 < panic window <= stable window")
        if not 0 <= min_replicas <= max_replicas or max_replicas < 1:
            raise ValueError("need 0 <= min_replicas <= max_replicas and max_replicas >= 1")
        self.target = float(target)
        self.stable_s = float(stable_s)
        self.panic_s = float(panic_s)
        self.panic_threshold = float(panic_threshold)
        self.min = int(min_replicas)
        self.max = int(max_replicas)
        self.signal = WindowedSignal(min(bucket_s, panic_s), stable_s)
        self.panic_until = -math.inf
        self.last = self.min

    def seed(self, concurrency: float) -> None:
        """The pool has served ``concurrency`` in flight over every time before t=0 (a warm
        start): both windows average it in while they reach back before 0."""
        if not concurrency >= 0 or self.signal.t > 0:
            raise ValueError("seed a non-negative concurrency, before the run starts")
        self.signal.prior = float(concurrency)

    def observe(self, t: float, concurrency: float) -> None:
        self.signal.set(t, concurrency)

    @property
    def in_panic(self) -> bool:
        return self.panic_until > self.signal.t

    def decide(self, t: float, ready: int) -> int:
        """The count: ``ceil(average / target)`` over each window (0 for a non-positive
        average), the panic rule, the clamp. Written out (the averages of
        :meth:`WindowedSignal.average` inline, no ``max``/``min`` calls): the platform asks
        every active model at every tick."""
        s = self.signal
        b, n = s.b, s.n
        if t != s.t:  # s._advance(t), inlined
            if t < s.t:
                raise ValueError(f"time went backwards: {t} < {s.t}")
            q = t // b
            if q != s.q:
                s._fill(q)
            s.total += s.value * (t - s.t)
            s.t = t
        lo = s.i - n + 1
        if lo < 0:
            lo = 0
        first = int((t - self.stable_s) // b)
        if first < lo:
            first = lo
        last = self.last
        prior = s.prior if t < self.stable_s else 0.0  # a warm start's history in the window
        if not s.value and first > s.zero_i and not prior:
            # nothing in flight over the whole stable window (so over the panic one): both
            # averages are 0, no panic starts
            want = last if self.panic_until > t else 0
        else:
            if prior:  # the warm start's history: WindowedSignal.average's (s is at t)
                avg = s.average(t, self.stable_s)
            else:
                start = first * b
                avg = s.value if t <= start else (s.total - s.at[first % n]) / (t - start)
            stable = int(math.ceil(avg / self.target - 1e-9)) if avg > 0 else 0
            first = int((t - self.panic_s) // b)
            if first < lo:
                first = lo
            if prior and t < self.panic_s:
                avg = s.average(t, self.panic_s)
            else:
                start = first * b
                avg = s.value if t <= start else (s.total - s.at[first % n]) / (t - start)
            panic = int(math.ceil(avg / self.target - 1e-9)) if avg > 0 else 0
            if panic > ready and panic >= self.panic_threshold * (ready if ready > 1 else 1):
                self.panic_until = t + self.stable_s
            if self.panic_until > t:
                want = panic if panic > stable else stable
                if last > want:
                    want = last
            else:
                want = stable
        if want < self.min:
            want = self.min
        if want > self.max:
            want = self.max
        self.last = want
        return want
