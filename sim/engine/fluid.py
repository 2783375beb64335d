"""Event-skipping ("fluid") engine: the same iterations as the step engine, computed in jumps.

Between two state changes (a prompt finishing its prefill, a sequence emitting its last
token, a new request joining) the batch composition is constant: ``n`` decoding sequences
and ``p`` prefill tokens per iteration. The replica computes how many iterations ``k``
remain until the next change and schedules one timer at t = k x step_time(n, p, kv_mid,
pairs_mid), where ``kv_mid`` and ``pairs_mid`` are the KV occupancy and attention pairs averaged over
those ``k`` iterations (both grow linearly, so the sum is exact wherever step time is
linear in them). A stretch cut short (a request joining mid-plan) ends at the boundary of
its own iteration: iteration ``i`` takes the first iteration's time plus ``i`` times the
growth per iteration (:mod:`sim.engine.stretch`), so the cut is exact there too. Work per
request is O(log batch), independent of its token count.

KV memory is one more state change: with paged admission the iteration at which memory runs
out (room // n) is a planned boundary, where the newest sequence is preempted
(:mod:`sim.engine.base`). A request arriving mid-iteration joins at the next boundary, as in
the step engine, so the engines agree wherever step time is linear in KV and pairs along a
stretch. Counts are integers.

SimPy timer events (one live timer, re-planned on every change, a stale one known by its
generation: :mod:`sim.engine.tick`) and the queue's calls drive it, with no generator.
"""

from __future__ import annotations

import heapq
from collections import deque

from simpy.events import NORMAL

from sim.engine.base import ReplicaBase
from sim.engine.fluid_memory import FluidMemory
from sim.engine.fluid_views import FluidViews
from sim.engine.tick import Tick
from sim.kvstats import OCC_BINS, spread

_INF = float("inf")


class FluidReplica(FluidViews, FluidMemory, ReplicaBase):
    planned = True  # RequestQueue.notify reads next_boundary's fields itself

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._it = 0  # iterations completed (integer clock of the batch)
        self._heap: list = []  # (finish tag in iterations, seq, request) of decoding requests
        self._seq = 0
        self._pf: deque = deque()  # admitted requests whose prompt is not finished, FIFO
        self._pf_total = 0  # prompt tokens left over all of them
        self._n_dec = 0
        self._kv = 0  # tokens in the sequences' contexts (read by attention)
        self._dec_ctx = 0  # context tokens of decoding sequences
        # the current plan: from state time _t (a boundary), k iterations of _dt each
        self._t = 0.0
        self._k = 0  # 0 = idle, no plan; else iterations until the timer
        self._kf = 0  # iterations the plan's dt and _s were worked out over (>= _k)
        self._t0 = 0.0  # the plan's start (a boundary), and the iterations of it applied (catch_up)
        self._j0 = 0
        self._poked = -1.0  # when a poke last made the plan (its start; see _at_next_boundary)
        self._dt = 0.0
        self._s = 0.0  # growth of the iteration time per iteration (sim.engine.stretch)
        self._p = 0
        self._t_end = 0.0
        self._gen = 0
        self._b = 0.0  # bytes per GPU per iteration of the current plan, at its middle
        self._bg = 0.0  # their growth per iteration (the KV read grows with every token)
        self._half = 0.0  # the plan's middle iteration, (k - 1) / 2
        self._timer_cbs = [self._on_timer]  # every timer's callbacks (SimPy only reads them)
        self._spare = None  # a timer that has fired, to be scheduled again (no allocation)
        self._step = self.perf.step_time

    # ------------------------------------------------------------------------ entry points
    def poke(self) -> None:
        """New work may be admissible: join it at the next iteration boundary."""
        q = self.queue.items
        if not self.accepting or self.waiting:
            return
        reserve = 0
        if self.paged:
            reserve = self._n_dec
            self.catch_up()  # the room of now
        if q and (r := self.queue.first_for(self.longest)) is not None:  # its head, or the
            # first it can hold if never the head (RequestQueue); none: as if empty (batch fill)
            if self.n_running >= self.max_seqs or self.shortfall(r, reserve) > 0:
                return
        else:  # spare capacity for the batch queue's head?
            lane = self.batch
            if (lane is None or not lane.items or self.n_running >= self.batch_limit
                    or self.n_running >= self.max_seqs
                    or self.shortfall(lane.items[0], reserve + self.batch_keep) > 0):
                return
        self._at_next_boundary()

    def replan(self) -> None:  # from the next boundary (from the next change until Dec 2026)
        if self.alive and self._k:
            self._at_next_boundary()

    def _at_next_boundary(self) -> None:
        now = self.env._now
        t = self._t
        if self._k == 0:  # idle: a new iteration starts now
            if t < now:
                self._t = now
        elif now > t or (now == t and self._poked != now):  # running, or begun by a timer now
            j, b = self._next_iter(now)  # the end of this iteration
            if j < self._k:  # else that boundary is the planned event; its timer admits
                # the plan ends there: its timer admits what the queue then holds, as the
                # step engine does (until December 2026 the request was taken now, for that
                # boundary: a central queue's head went to a replica with room now rather
                # than the first one free, and counted as running meanwhile)
                self._k = j
                self._schedule(b)
            return
        self._poked = now  # a plan made now by a poke: the iteration has not begun (as an
        self._boundary()  # asleep step replica's, until its wake-up), so more may join now

    def _on_timer(self, ev) -> None:
        self._spare = ev
        if ev._value != self._gen or not self.alive:
            return  # re-planned since
        self._advance(self._k - self._j0)
        now = self._t = self._t_end
        self._poked = -1.0  # the next iteration begins now, before the instant's arrivals
        done = self._collect(now)
        head = q[0] if (q := self.queue.items) else None
        if not (self.paged and self._make_room()):  # self._boundary(), inlined
            if self.waiting or q or (self.batch is not None and self.batch.items):
                self._admit()
        self._plan()
        if self._offer_batch:
            self.offer_batch()
        self.queue.offer_next(head)  # the next head to the others (unoffered until Dec 2026)
        if done:
            sink = self.sink
            self._poked = now  # what the finished send now (a client's next turn, a pipeline's
            for r in done:  # next stage) joins now, as on the step engine, which admits again
                sink(r, now)
            self._poked = -1.0
        if self.n_running == 0 and not self.waiting and self.on_idle is not None:
            self.on_idle(self, now)

    def _boundary(self) -> None:
        """At the boundary ``self._t``: memory for the next iteration, admission, a plan."""
        if not (self.paged and self._make_room()):
            if self.waiting or self.queue.items or (self.batch is not None and self.batch.items):
                self._admit()
        self._plan()
        if self._offer_batch:
            self.offer_batch()

    # -------------------------------------------------------------------------- mechanics
    def _advance(self, j: int) -> None:
        """Apply ``j`` iterations of the current plan (no state change happens within)."""
        if j <= 0:
            return
        j0 = self._j0
        if j0:  # iterations applied before (catch_up): from the plan's start
            end = j0 + j
            dt = self._time_at(end) - self._time_at(self._j0)
            self._t = self._t0 + self._time_at(end)
        else:
            end = j
            dt = self._time_at(j)
            self._t += dt
        self._j0 = end
        self._it += j
        self.busy_s += dt
        kv = self.kv
        used = kv.cached - kv.unpinned + kv.private
        n = self._n_dec
        grown = 0
        if n:
            g = n * j
            self._kv += g
            self._dec_ctx += g
            if self.paged:
                kv.grow_all(g)  # per request: counted when it leaves (kv_sync)
                # each sequence claims its token before its iteration (as in the step
                # engine): iteration i holds used + n (i + 1); their mean (until December
                # 2026 used + g / 2, half a token a sequence low)
                grown = g - n
                used += n + grown * 0.5
        # ReplicaBase._load, inlined (hot path)
        st = kv.stats
        occ = used / kv.cap if kv.cap > 0 else 0.0
        st.occupancy_s += occ * dt
        if grown:  # the histogram over the levels the stretch passes (its mean's bin until Dec 2026)
            spread(st.occupancy_hist, (used - grown * 0.5) / kv.cap, (used + grown * 0.5) / kv.cap, dt)
        else:
            b = int(occ * OCC_BINS)
            st.occupancy_hist[b if b < OCC_BINS else OCC_BINS] += dt
        # iterations j0 .. end - 1 of the plan: their mean read is the plan's middle one's
        # shifted by their own middle (the whole plan's j * _b when the stretch runs out; a
        # stretch cut short was charged the whole plan's middle until December 2026)
        st.bytes_per_gpu += j * (self._b + self._bg * ((j0 + end - 1) * 0.5 - self._half))
        p = self._p
        if p:
            work = p * j
            self._kv += work
            self._pf_total -= work
            for r in self._pf:  # prompts are filled head first
                left = r.pf_left
                if left >= work:
                    r.pf_left = left - work
                    break
                r.pf_left = 0
                work -= left

    def _top(self):
        """The heap's first live entry (preempted requests leave stale ones)."""
        heap = self._heap
        while heap and heap[0][1] != heap[0][2].hseq:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def _collect(self, now: float) -> list:
        """Requests whose first or last token falls on the current boundary."""
        it = self._it
        done = []
        heap = self._heap
        top = heap[0] if heap else None
        if top is not None and top[1] != top[2].hseq:  # a preempted request's stale entry
            top = self._top()
        if top is not None and top[0] <= it:
            pop = heapq.heappop
            while heap and heap[0][0] <= it:
                tag, seq, r = pop(heap)
                if seq != r.hseq:
                    continue
                r.hseq = -1
                r.gen = it - r.gen + 1  # tokens emitted: from the first token's iteration on
                ctx = r.pin + r.n_out - r.done_out - 1
                self._kv -= ctx
                self._dec_ctx -= ctx
                self._n_dec -= 1
                r.t_done = now
                if self.paged:
                    self._sync(r)
                self._finish(r, now)
                done.append(r)
        pf = self._pf
        while pf and pf[0].pf_left == 0:
            r = pf.popleft()
            if r.t_first < 0:
                r.t_first = now
            if r.pfx is not None or r.t_preempt >= 0:  # else _prompt_done has nothing to do
                self._prompt_done(r, now)
            if r.n_out - r.done_out <= 1:
                self._kv -= r.pin
                r.gen = r.n_out
                r.t_done = now
                self._finish(r, now)
                done.append(r)
            else:  # self._decode(r, it, r.done_out + 1), inlined (integers: the same values)
                seq = self._seq = self._seq + 1
                r.hseq = seq
                r.tag = tag = it + r.n_out - r.done_out - 1
                r.gen = it - r.done_out
                r.kv_sync = it
                heapq.heappush(heap, (tag, seq, r))
                self._n_dec += 1
                self._dec_ctx += r.pin
        return done

    def _admit(self) -> None:
        now = self._t
        reserve = self._n_dec if self.paged else 0
        for r in self._admit_waiting(now, reserve):
            if r.pf_left == 0:  # back from host memory, decoding where it was
                self._kv += self._decode(r, self._it, r.gen)
            else:
                self._pf.append(r)
                self._pf_total += r.pf_left
                self._kv += r.pin - r.pf_left  # its cached prefix is in its context

    def _plan(self) -> None:
        """Schedule the next state change from the boundary at ``self._t``."""
        if self.stall:
            self._t += self.stall
            self.busy_s += self.stall
            kv = self.kv
            self._load(self.stall, kv.cached - kv.unpinned + kv.private, 0.0)
            self.stall = 0.0
        n = self._n_dec
        c = self.budget - n
        pf_total = self._pf_total
        p = 0
        k = 1 << 62
        pairs = 0.0
        if pf_total > 0 and c > 0:
            head = self._pf[0]
            left = head.pf_left
            if left <= c:
                # one iteration finishes the head and maybe more prompts (head first)
                k = 1
                if pf_total <= c:
                    p = pf_total
                    for r in self._pf:
                        take = r.pf_left
                        pairs += take * (r.pin - take + (take + 1) * 0.5)
                else:
                    p = rest = c
                    for r in self._pf:
                        take = r.pf_left if r.pf_left < rest else rest
                        pairs += take * (r.pin - r.pf_left + (take + 1) * 0.5)
                        rest -= take
                        if rest == 0:
                            break
            else:
                # full chunks of the head; the iteration that finishes it is planned apart
                p = c
                k = -(-left // c) - 1
                pairs = c * (head.pin - left + (c + 1) * 0.5)  # the first chunk's; c^2 more a step
        if n:
            top = self._heap[0]
            if top[1] != top[2].hseq:  # a preempted request's stale entry
                top = self._top()
            kd = top[0] - self._it
            if kd < k:
                k = kd
            if self.paged:
                km = self.kv.room() // n  # iterations until the memory runs out
                if km < k:
                    k = km
        elif p == 0:
            self._k = self._j0 = 0
            self._p = 0
            self._gen += 1  # invalidates any pending timer
            return
        half = (k - 1) * 0.5
        kv_mid = self._kv + (n + p) * half
        pairs += self._dec_ctx + n  # the first iteration's; n + p^2 more each (k > 1: p is a chunk)
        dt = self._step(n, p, kv_mid, pairs + (n + p * p) * half)
        if k > 1:  # the growth per iteration, for a stretch cut short
            s = (dt - self._step(n, p, self._kv, pairs)) / half
            self._s = s if s > 0.0 else 0.0
        else:
            self._s = 0.0
        self._b = self._bytes(n, p, kv_mid)  # HBM bytes per GPU per iteration of the plan
        self._bg = (n + p) * self._kv_bytes
        self._half = half
        self._k = self._kf = k
        self._p = p
        self._dt = dt
        self._t0 = self._t
        self._j0 = 0
        self._schedule(self._t + k * dt)

    def _schedule(self, t_end: float) -> None:
        """The plan's timer at ``t_end`` (any earlier one is stale by its generation)."""
        self._t_end = t_end
        gen = self._gen = self._gen + 1
        env = self.env
        delay = t_end - env._now
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        tick = self._spare  # sim.engine.tick.schedule, inlined, reusing a fired timer
        if tick is None:
            tick = Tick()
            tick._ok = True
        else:
            self._spare = None
        tick.callbacks, tick._value = self._timer_cbs, gen
        heapq.heappush(env._queue, (t_end, NORMAL, next(env._eid), tick))  # t_end itself, not
        # now + (t_end - now), which may differ in its last bit: the plan's boundaries are exact

    # --------------------------------------------------------------------------- failures
    def settle(self) -> None:
        """Apply the iterations of the current plan run by now (busy time, load), which no
        event did; the plan goes no further (only at the run's end or before an abort)."""
        j = self._ran()
        if j:
            self._advance(j)
            self._k = 0
            self._gen += 1

    def abort(self) -> list:
        self.alive = False
        self._gen += 1
        out = self._forget()
        self._pf.clear()
        self._heap = []
        self._pf_total = self._n_dec = self._kv = self._dec_ctx = 0
        self._k = 0
        self.stop_admitting()
        return out
