"""Event-skipping ("fluid") engine: the same iterations as the step engine, computed in jumps.

Between two state changes (a prompt finishing its prefill, a sequence emitting its last
token, a new request joining) the batch composition is constant: ``n`` decoding sequences
and ``p`` prefill tokens per iteration. The replica therefore computes how many iterations
``k`` remain until the next change and schedules one timer at

    t = k x step_time(n, p, kv_mid, pairs_mid),

where ``kv_mid`` and ``pairs_mid`` are the KV occupancy and attention pairs averaged over
those ``k`` iterations (both grow linearly, so the sum is exact wherever step time is
linear in them). Work per request is O(log batch), independent of its token count.

Iteration boundaries stay exact: a request that arrives during an iteration joins at the
next boundary, as in the step engine, so the two engines agree iteration for iteration
except for that averaging. Token counts, iteration counts and finish tags are integers.

The replica is driven by SimPy timeouts (one live timer, re-planned on every change; a stale
timer is recognised by its generation number) and by direct calls from the queue, with no
generator, because that halves the SimPy events per request, which the benchmark needs.
"""

from __future__ import annotations

import heapq
from collections import deque

from simpy.events import Timeout

from sim.engine.base import ReplicaBase

_INF = float("inf")


class FluidReplica(ReplicaBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._it = 0  # iterations completed (integer clock of the batch)
        self._heap: list = []  # (finish tag in iterations, seq, request) of decoding requests
        self._seq = 0
        self._pf: deque = deque()  # admitted requests whose prompt is not finished, FIFO
        self._pf_total = 0  # prompt tokens left over all of them
        self._n_dec = 0
        self._kv = 0  # tokens in the KV cache
        self._dec_ctx = 0  # cached tokens of decoding sequences
        # the current plan: from state time _t (a boundary), k iterations of _dt each
        self._t = 0.0
        self._k = 0  # 0 = idle, no plan
        self._dt = 0.0
        self._p = 0
        self._t_end = 0.0
        self._gen = 0
        self._timer_cb = self._on_timer
        self._step = self.perf.step_time

    # ------------------------------------------------------------------------ entry points
    def next_boundary(self) -> float:
        now = self.env.now
        t = self._t
        if self._k == 0 or now <= t:
            return now if now > t else t
        j = -int((t - now) // self._dt)  # ceil((now - t) / dt)
        return self._t_end if j >= self._k else t + j * self._dt

    def poke(self) -> None:
        """New work may be admissible: join it at the next iteration boundary."""
        q = self.queue.items
        if not q or not self.accepting:
            return
        head = q[0]
        if self.n_running >= self.max_seqs or self.kv_reserved + head.n_in + head.n_out > self.kv_cap:
            return
        now = self.env._now
        t = self._t
        if self._k == 0:  # idle: a new iteration starts now
            if t < now:
                self._t = now
        elif now > t:
            j = -int((t - now) // self._dt)  # ceil: the boundary that ends this iteration
            if j >= self._k:
                return  # that boundary is the planned event; its timer admits
            self._advance(j)
        self._admit()
        self._plan()

    def _on_timer(self, ev) -> None:
        if ev._value != self._gen or not self.alive:
            return  # re-planned since
        self._advance(self._k)
        now = self._t = self._t_end
        done = self._collect(now)
        if self.queue.items:
            self._admit()
        self._plan()
        if done:
            sink = self.sink
            for r in done:
                sink(r, now)
        if self.n_running == 0 and self.on_idle is not None:
            self.on_idle(self, now)

    # -------------------------------------------------------------------------- mechanics
    def _advance(self, j: int) -> None:
        """Apply ``j`` iterations of the current plan (no state change happens within)."""
        if j <= 0:
            return
        dt = j * self._dt
        self._it += j
        self._t += dt
        self.busy_s += dt
        n = self._n_dec
        if n:
            g = n * j
            self._kv += g
            self._dec_ctx += g
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

    def _collect(self, now: float) -> list:
        """Requests whose first or last token falls on the current boundary."""
        it = self._it
        done = []
        heap = self._heap
        if heap and heap[0][0] <= it:
            pop = heapq.heappop
            released = 0
            while heap and heap[0][0] <= it:
                r = pop(heap)[2]
                r.gen = it - r.gen + 1  # tokens emitted: from the first token's iteration on
                cached = r.n_in + r.n_out - 1
                self._kv -= cached
                self._dec_ctx -= cached
                r.t_done = now
                self.kv_reserved -= r.n_in + r.n_out
                self.tokens_out += r.n_out
                released += 1
                done.append(r)
            self._n_dec -= released
            self.n_running -= released
            self.completed += released
        pf = self._pf
        while pf and pf[0].pf_left == 0:
            r = pf.popleft()
            r.t_first = now
            if r.n_out <= 1:
                self._kv -= r.n_in
                r.gen = r.n_out
                r.t_done = now
                self._release(r)
                done.append(r)
            else:
                self._seq += 1
                r.tag = it + r.n_out - 1
                r.gen = it  # the iteration of the first token (see _collect)
                heapq.heappush(heap, (r.tag, self._seq, r))
                self._n_dec += 1
                self._dec_ctx += r.n_in
        return done

    def _admit(self) -> None:
        if not self.accepting:
            return
        q = self.queue.items
        now = self._t
        cap = self.kv_cap
        while q:
            r = q[0]
            need = r.n_in + r.n_out
            if self.n_running >= self.max_seqs or self.kv_reserved + need > cap:
                break
            q.popleft()
            self.kv_reserved += need
            self.n_running += 1
            r.t_admit = now
            r.replica = self.rid
            r.pf_left = r.n_in
            self._pf.append(r)
            self._pf_total += r.n_in

    def _plan(self) -> None:
        """Schedule the next state change from the boundary at ``self._t``."""
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
                        pairs += take * (r.n_in - take + (take + 1) * 0.5)
                else:
                    p = rest = c
                    for r in self._pf:
                        take = r.pf_left if r.pf_left < rest else rest
                        pairs += take * (r.n_in - r.pf_left + (take + 1) * 0.5)
                        rest -= take
                        if rest == 0:
                            break
            else:
                # full chunks of the head; the iteration that finishes it is planned apart
                p = c
                k = -(-left // c) - 1
                pairs = c * (head.n_in - left + c * (k - 1) * 0.5 + (c + 1) * 0.5)
        if n:
            kd = self._heap[0][0] - self._it
            if kd < k:
                k = kd
        elif p == 0:
            self._k = 0
            self._p = 0
            self._gen += 1  # invalidates any pending timer
            return
        half = (k - 1) * 0.5
        dt = self._step(n, p, self._kv + (n + p) * half, pairs + self._dec_ctx + n + n * half)
        self._k = k
        self._p = p
        self._dt = dt
        t_end = self._t_end = self._t + k * dt
        gen = self._gen = self._gen + 1
        env = self.env
        Timeout(env, t_end - env._now, gen).callbacks.append(self._timer_cb)

    # --------------------------------------------------------------------------- failures
    def abort(self) -> list:
        self.alive = False
        self._gen += 1
        out = list(self._pf) + [e[2] for e in sorted(self._heap)]
        for r in out:
            self.kv_reserved -= r.n_in + r.n_out
        self._pf.clear()
        self._heap = []
        self._pf_total = self._n_dec = self._kv = self._dec_ctx = 0
        self.n_running = 0
        self._k = 0
        self.stop_admitting()
        return out
