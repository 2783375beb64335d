"""Reference engine: one SimPy event per continuous-batching iteration.

Simple enough to trust by reading. Each iteration:

1. with paged admission, claim one token of KV per decoding sequence, preempting the most
   recently admitted sequence while memory is short (:mod:`sim.engine.base`);
2. if nobody was preempted, admit (the preempted first, then the queue, FCFS) while a
   sequence slot and KV memory allow; a cached prefix is not computed again;
3. compose the batch: every decoding sequence contributes one token; the rest of the
   token budget goes to prompts in FIFO order (chunked prefill);
4. take ``perf.step_time(...)`` seconds, plus any host-link transfer it waits for (a run of
   equal iterations over the same batch ends at its start plus ``m`` such times, not at a
   running sum: 1,000 iterations of 1 ms end at 1.0, as the fluid engine's plans do, not at
   1.0000000000000007, which turned away a request arriving at 1.0);
5. at its end each decoding sequence has one more token; a prompt whose last chunk ran
   emits its next token now; a sequence with all its tokens finishes now.

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
        self._kv = 0  # tokens in the sequences' contexts (read by attention)
        self._wake = None
        self._iter_end = -1.0  # end of the running iteration (< now when asleep)
        self._same = False  # the batch unchanged by the last iteration's end
        self._run_t = self._run_dt = 0.0  # the current run of equal iterations: start, time,
        self._run_m = 0  # iterations
        self.env.process(self._run())

    @property
    def n_decoding(self) -> int:
        return len(self._decoding)

    def next_boundary(self) -> float:
        now = self.env.now
        return self._iter_end if self._iter_end > now else now

    def load_now(self) -> tuple[float, int, float]:
        return sum(r.pf_left for r in self._prefill), len(self._decoding), self._kv

    def prompts_left(self) -> list[tuple[int, int]]:
        return [(r.pin, r.pf_left) for r in self._prefill]

    def decoding_left(self) -> list[tuple[int, int]]:
        return [(r.n_out - r.gen, r.pin + r.n_out - r.done_out) for r in self._decoding]

    def prefilling(self):
        return self._prefill

    def poke(self) -> None:
        """New work may be admissible. Mid-iteration (no wake pending) it joins when the
        iteration ends. Asleep, the replica admits what fits now, as the fluid engine does,
        so a central queue offers its next request to another replica (until December 2026
        the head stayed queued until the wake-up, and a burst at one instant all went to the
        first replica poked), then wakes to run its iteration."""
        wake = self._wake
        if wake is None:
            return
        if self.alive:
            self._admit(self.env.now)
        if not wake.triggered:
            wake.succeed()

    @staticmethod
    def _context(r) -> int:
        """KV tokens of a decoding sequence: its prompt and every emitted token but the last."""
        return r.pin + r.gen - r.done_out - 1

    def _make_room(self, now: float) -> bool:
        """Paged: the decoding sequences' next tokens, preempting the newest while short."""
        preempted = False
        while self._decoding and self.kv.room() < len(self._decoding):
            r = self.newest()
            if r in self._decoding:
                ctx = self._context(r)
                self._decoding.remove(r)
                self._kv -= ctx
                self._preempt(r, now, ctx, r.gen, True)
            else:
                self._prefill.remove(r)
                self._kv -= r.pin - r.pf_left
                self._preempt(r, now, r.pin - r.pf_left, r.gen, False)
            preempted = True
        return preempted

    def _admit(self, now: float) -> None:
        reserve = len(self._decoding) if self.paged else 0
        for r in self._admit_waiting(now, reserve):
            if r.pf_left == 0:  # back from host memory, decoding where it was
                self._decoding.append(r)
                self._kv += self._context(r)
            else:
                self._prefill.append(r)
                self._kv += r.pin - r.pf_left  # its cached prefix is in its context

    def _run(self):
        env = self.env
        perf = self.perf
        done = []  # finished at the boundary: sent on after its admission
        while self.alive:
            now = env.now
            running = self.n_running
            head = q[0] if (q := self.queue.items) else None
            if not (self.paged and self._make_room(now)):
                self._admit(now)
                # the next head to the others, as on the fluid engine (until December 2026
                # not: an idle replica of a central queue waited for the head's next push)
                self.queue.offer_next(head)
                if done:  # what they send (a client's next turn, a pipeline's next stage)
                    self._send_on(done, now)  # joins now, after this boundary's admission
                    done = []
                    self._admit(now)
                if self._offer_batch:
                    self.offer_batch()
            if done:
                self._send_on(done, now)
                done = []
            if self.n_running != running:
                self._same = False
            if self.n_running == 0:
                # nothing admissible: sleep until a push (or a retry) pokes us
                self._notify_idle(now)
                self._wake = env.event()
                yield self._wake
                self._wake = None
                continue
            decoding = self._decoding
            n = len(decoding)
            if self.paged:
                for r in decoding:
                    self.kv.grow(r, 1)
            budget = self.budget - n
            chunks = []
            pairs = 0.0
            for r in decoding:  # each decode attends its cached tokens plus itself
                pairs += self._context(r) + 1
            if budget > 0:
                for r in self._prefill:
                    take = min(budget, r.pf_left)
                    done = r.pin - r.pf_left
                    pairs += take * (done + (take + 1) / 2.0)
                    chunks.append((r, take))
                    budget -= take
                    if budget == 0:
                        break
            p = sum(t for _, t in chunks)
            dt = perf.step_time(n, p, self._kv, pairs) + self.stall
            self.stall = 0.0
            t0 = env.now
            if self._same and dt == self._run_dt and t0 == self._iter_end:
                self._run_m += 1
            else:
                self._run_t, self._run_dt, self._run_m = t0, dt, 1
            self._same = True
            self._iter_end = end = self._run_t + self._run_m * dt
            kv = self.kv
            used = kv.cached - kv.unpinned + kv.private
            n_bytes = self._bytes(n, p, self._kv)
            # t0 + (end - t0) is end: the two are within a factor 2 when m > 1 (Sterbenz)
            yield env.timeout(dt if self._run_m == 1 else end - t0)
            if not self.alive:
                return
            now = env.now
            self.busy_s += now - t0
            self._load(now - t0, used, n_bytes)
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
                    if r.t_first < 0:
                        r.t_first = now
                    self._prompt_done(r, now)
                    r.gen = r.done_out + 1
                    if r.gen >= r.n_out:
                        r.gen = r.n_out
                        finished.append(r)
                    else:
                        still.append(r)
            self._decoding = still
            if finished or (chunks and not chunks[-1][0].pf_left):
                self._same = False  # a sequence left, or a prompt's last chunk ran
            for r in finished:
                # its prompt and every generated token but the last sit in the cache
                self._kv -= r.pin + max(r.n_out - r.done_out - 1, 0)
                r.t_done = now
                self._finish(r, now)
            done = finished

    def _send_on(self, done: list, now: float) -> None:
        """The finished requests' ends, after the boundary's admission, as on the fluid engine
        (until December 2026 before it: a queue still holding the request the replica was
        about to admit turned a closed-loop client's next turn away as full)."""
        for r in done:
            self.sink(r, now)

    def abort(self) -> list:
        self.alive = False
        out = self._forget()
        self._prefill.clear()
        self._decoding = []
        self._kv = 0
        self.stop_admitting()
        self.poke()
        return out
