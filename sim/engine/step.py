"""Reference engine: one SimPy event per continuous-batching iteration.

Simple enough to trust by reading. Each iteration:

1. admit from the queue (FCFS) while a sequence slot and the KV reservation allow;
2. compose the batch: every decoding sequence contributes one token; the rest of the
   token budget goes to prompts in FIFO order (chunked prefill);
3. take ``perf.step_time(...)`` seconds;
4. at its end each decoding sequence has one more token; a prompt whose last chunk ran
   emits its first token now; a sequence with all its tokens finishes now.

A request that arrives during an iteration joins at the next one.
"""

from __future__ import annotations

from collections import deque

from sim.engine.base import ReplicaBase


class StepReplica(ReplicaBase):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._prefill: deque = deque()  # admitted, prompt not finished, FIFO
        self._decoding: list = []  # first token out, more to come
        self._kv = 0  # tokens held in the KV cache
        self._wake = None
        self._iter_end = -1.0  # end of the running iteration (< now when asleep)
        self.env.process(self._run())

    def next_boundary(self) -> float:
        now = self.env.now
        return self._iter_end if self._iter_end > now else now

    def poke(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _admit(self, now: float) -> None:
        q = self.queue
        while self.accepting and q.items and self.has_room(q.items[0]):
            r = q.popleft()
            self._reserve(r, now)
            self._prefill.append(r)

    def _run(self):
        env = self.env
        perf = self.perf
        while self.alive:
            self._admit(env.now)
            if self.n_running == 0:
                # nothing admissible: sleep until a push (or a retry) pokes us
                self._notify_idle(env.now)
                self._wake = env.event()
                yield self._wake
                self._wake = None
                continue
            decoding = self._decoding
            n = len(decoding)
            budget = self.budget - n
            chunks = []
            pairs = 0.0
            for r in decoding:  # each decode attends its cached tokens plus itself
                pairs += r.n_in + r.gen
            if budget > 0:
                for r in self._prefill:
                    take = min(budget, r.pf_left)
                    done = r.n_in - r.pf_left
                    pairs += take * (done + (take + 1) / 2.0)
                    chunks.append((r, take))
                    budget -= take
                    if budget == 0:
                        break
            p = sum(t for _, t in chunks)
            dt = perf.step_time(n, p, self._kv, pairs)
            t0 = env.now
            self._iter_end = t0 + dt
            yield env.timeout(dt)
            if not self.alive:
                return
            now = env.now
            self.busy_s += now - t0
            finished = []
            still = []
            for r in decoding:
                r.gen += 1
                if r.gen >= r.n_out:
                    finished.append(r)
                else:
                    still.append(r)
            self._kv += n
            for r, take in chunks:
                r.pf_left -= take
                self._kv += take
                if r.pf_left == 0:
                    self._prefill.popleft()
                    r.t_first = now
                    if r.n_out <= 1:
                        r.gen = r.n_out
                        finished.append(r)
                    else:
                        r.gen = 1
                        still.append(r)
            self._decoding = still
            for r in finished:
                # its prompt and every generated token but the last sit in the cache
                self._kv -= r.n_in + max(r.n_out - 1, 0)
                r.t_done = now
                self._release(r)
            for r in finished:
                self.sink(r, now)

    def abort(self) -> list:
        self.alive = False
        out = list(self._prefill) + list(self._decoding)
        self._prefill.clear()
        self._decoding = []
        for r in out:
            self.kv_reserved -= r.n_in + r.n_out
        self.n_running = 0
        self._kv = 0
        self.stop_admitting()
        self.poke()
        return out
