"""What the fluid engine shows routers and pools between its planned state changes: its
next boundary, the iterations run by now, the load, the decoding sequences and the prompts
in progress as of now, and the KV memory brought up to now (:class:`sim.engine.fluid.FluidReplica` mixes it in; its state is that
class's)."""

from __future__ import annotations

from sim.engine.stretch import iters_at, stretch_iters, stretch_time
from sim.engine.tick import arriving


class FluidViews:
    """Mixed into :class:`sim.engine.fluid.FluidReplica` (before :class:`ReplicaBase`)."""

    def next_boundary(self) -> float:
        """The boundary a request offered now would join: now, idle or at a plan a poke made
        now; else the first after now, or at now for a request sent by another event of the
        instant (:func:`sim.engine.tick.arriving`). (Inlined in :meth:`RequestQueue.notify`:
        change both.)"""
        now = self.env._now
        t = self._t
        if self._k == 0 or now < t or (now == t and self._poked == now):
            return now if now > t else t
        j, b = self._next_iter(now)
        return self._t_end if j >= self._k else b

    def _next_iter(self, now: float) -> tuple[int, float]:
        """The boundary of the plan a request offered now joins: the first at or after
        ``now`` (in iterations from the plan's start, and its time), or the next if that one
        is at ``now`` and came first: at a plan its timer began now, or for a request
        arriving now (the step engine has then begun its next iteration, its boundary event
        coming before the instant's arrivals; until December 2026 the two engines took such
        a request at the boundary or the next by the order events had been scheduled in)."""
        t = self._t0
        if self._s:
            j = stretch_iters(self._dt, self._s, self._kf, now - t, True)
            b = t + self._time_at(j)
            if b < now and j < self._k:  # the boundary's own sum (the search's is relative)
                j += 1
                b = t + self._time_at(j)
        else:
            j = iters_at(t, self._dt, now, True, False)
            b = t + j * self._dt
        if b == now and (now == self._t or arriving(self.env) == now):
            j += 1
            b = t + self._time_at(j) if j <= self._k else b
        return j, b

    def _ran(self) -> int:
        """Iterations of the current plan already run by now (not yet applied)."""
        if not self._k or self._dt <= 0:
            return 0
        x = self.env._now - self._t0
        if self._s:
            if x <= 0:
                return 0
            j = stretch_iters(self._dt, self._s, self._kf, x, False)
        else:
            j = iters_at(self._t0, self._dt, self.env._now, False)
        j = (j if j < self._k else self._k) - self._j0  # from the plan's start: those not applied
        return j if j > 0 else 0

    def _time_at(self, j: int) -> float:
        """Time from the plan's start to the end of its ``j``-th iteration."""
        return j * self._dt if not self._s or j == self._kf else stretch_time(self._dt, self._s, self._kf, j)

    @property
    def n_decoding(self) -> int:
        return self._n_dec

    def load_now(self) -> tuple[float, int, float]:
        pf = self._pf_total - (self._p * self._ran() if self._p else 0)
        return (pf if pf > 0 else 0), self._n_dec, self._kv

    def prompts_left(self) -> list[tuple[int, int]]:
        """``(prompt tokens, tokens not yet prefilled)`` of each admitted prompt now: the
        tokens of the plan's iterations run by now (applied only at its boundary) taken head
        first, as :meth:`_advance` will take them."""
        work = self._p * self._ran() if self._p else 0
        out = []
        for r in self._pf:
            left = r.pf_left
            if work:
                take = left if left < work else work
                left, work = left - take, work - take
            out.append((r.pin, left))
        return out

    def decoding_left(self) -> list[tuple[int, int]]:
        it = self._it + self._ran()
        return [(tag - it, r.pin + r.n_out - r.done_out) for tag, seq, r in self._heap
                if seq == r.hseq]

    def prefilling(self):
        return self._pf

    def catch_up(self) -> None:
        """Paged, with sequences decoding: apply the iterations run by now (the KV memory
        they claimed, evicting cached prefixes as they go), the plan and its timer left as
        they are, so a router or a queue reads the memory of now (until December 2026 that
        of the stretch's start: least-expected-completion and cache-aware routing, and a
        central queue's offer, chose by stale room). The running iteration's own claims are
        not made yet (the step engine makes them at its start)."""
        if self.paged and self._n_dec and self._k and self.alive:
            j = self._ran()
            if j and self._j0 + j < self._k:  # at the timer's boundary its event applies them
                self._advance(j)
