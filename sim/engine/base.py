"""What both engines share: KV memory and admission, preemption, accounting, hooks.

Admission (``Deployment.admission``):

* ``reserve``: a request joins the batch when its whole KV footprint (prompt + every
  output token, less its cached prefix) fits, so no sequence is ever preempted
  (TensorRT-LLM's default GUARANTEED_NO_EVICT scheduler; the calibration rows were fitted
  with it);
* ``paged``: it joins when its prompt fits (vLLM, SGLang); each decode iteration then
  claims one more token per decoding sequence, and when memory runs out the most recently
  admitted sequence is preempted (vLLM V1: ``running.pop()``) and put at the head of the
  replica's own waiting line. ``preemption: recompute`` recomputes its prompt and the tokens
  it had emitted when it is admitted again, hitting what is left of its cached KV (vLLM V1's
  default; ``retract`` frees that KV first, as SGLang does);
  ``swap`` copies its KV to host memory over the host link (the replica waits for the copy,
  as vLLM V0 does) and back when it is admitted again, if the swap space holds it, else it
  is recomputed.

At each iteration boundary, as vLLM V1's scheduler does: the decoding sequences get their
next token's memory first (preempting if needed), and waiting requests are admitted only if
nobody was preempted, first the preempted ones (also while draining), then the queue, in
order, stopping at the first that does not fit. A replica with a batch queue
(``ReplicaBase.batch``, :class:`~sim.engine.request.BatchQueue`) then goes on with the batch
queue's requests if the interactive queue is empty, while fewer than its own
``batch_limit`` sequences run and each leaves its own ``batch_keep`` KV tokens free: batch requests fill spare
capacity at iteration boundaries and never delay an interactive admission.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

from sim.engine.eta import RoutingEstimates
from sim.engine.kv import KvCache
from sim.engine.request import BatchQueue, Request, RequestQueue
from sim.kvstats import OCC_BINS, KvStats
from sim.perf import Deployment, PerfModel


class ReplicaBase(RoutingEstimates):
    """One model on ``tp`` GPUs running continuous batching; the engines subclass it."""

    # whether the replica runs a plan of iterations (``_t``, ``_k``, ``_dt``, ``_s``, ``_t_end``:
    # the fluid engine), whose next boundary the queues then work out inline (the hot path)
    planned = False

    def __init__(self, env, rid: int, perf: PerfModel, dep: Deployment, queue: RequestQueue,
                 sink: Callable[[Request, float], None]):
        self.env = env
        self.rid = rid
        self.perf = perf
        self.deployment = dep
        self.gpus = dep.tp
        self.queue = queue
        self.sink = sink  # called once per request when its last token is out
        self.max_seqs = dep.max_num_seqs
        self.budget = dep.max_batched_tokens  # tokens per iteration (chunked prefill)
        per_token = dep.kv_bytes_per_token_per_gpu()
        self._kv_bytes = per_token  # HBM bytes one more cached token adds to an iteration's read
        whole = dep.model.kv_bytes_per_token(dep.kv_dtype)
        host_tokens = int(dep.host_cache_gb * 1e9 / whole) if whole else 0
        self.kv = KvCache(perf.kv_capacity_tokens, dep.block_size,
                          dep.prefix_caching and not dep.model.prefill_only, host_tokens)
        self.paged = dep.admission == "paged"
        self.longest = dep.longest_request(self.kv.cap)  # prompt + output it can ever hold
        self.swap_cap = (int(dep.swap_gb * 1e9 / per_token)
                         if self.paged and dep.preemption == "swap" and per_token else 0)
        self.swap_used = 0
        self.swapping = self.paged and dep.preemption == "swap"
        self.keep_preempted = dep.preemption == "recompute"  # else its KV is freed (retract)
        # seconds to move one token's KV over the host link (each GPU moves its shard)
        self.link_s = per_token / (dep.gpu.host_link_gbps * 1e9) if dep.gpu.host_link_gbps else 0.0
        self.stall = 0.0  # transfer time the next iteration waits for
        self.waiting: deque[Request] = deque()  # preempted, admitted before the queue
        self.running: dict[int, Request] = {}  # in admission order: the newest is the victim
        self.n_running = 0
        self.accepting = True
        self.alive = True
        self.busy_s = 0.0  # time with at least one sequence in the batch
        self.completed = 0
        self.preemptions = 0
        self.on_idle: Callable[[ReplicaBase, float], None] | None = None
        # batch-tier requests this replica fills spare capacity from (None: it takes none)
        self.batch: BatchQueue | None = None
        self.batch_limit = 0  # fill_from: running sequences below which batch work is admitted
        self.batch_keep = 0  # fill_from: KV tokens a batch admission leaves free
        self._offer_batch = False  # its admission emptied the interactive queue: offer batch work
        self._bytes = perf.bytes_per_gpu
        self.attach(self.kv.stats)
        queue.join(self)

    def attach(self, stats: KvStats) -> None:
        """Count this replica's cache and load statistics into ``stats`` (a ledger row's,
        shared by the replicas the row stands for)."""
        self.kv.sync()
        self.kv.stats = stats
        stats.peak_bandwidth = self.perf.peak_bandwidth
        stats.saturation = (self.perf, self.max_seqs)

    def _load(self, dt: float, used: float, n_bytes: float) -> None:
        """``dt`` busy seconds at ``used`` KV tokens held by sequences (the mean over the
        stretch) with ``n_bytes`` read by each GPU: the occupancy integral, its 1 %
        histogram and the bytes (O(1) per planned stretch)."""
        st = self.kv.stats
        cap = self.kv.cap
        occ = used / cap if cap > 0 else 0.0
        st.occupancy_s += occ * dt
        st.occupancy_hist[min(int(occ * OCC_BINS), OCC_BINS)] += dt
        st.bytes_per_gpu += n_bytes

    # -------------------------------------------------------------- for routers and pools
    def fits(self, req: Request) -> bool:
        """Could this replica ever hold ``req`` (its whole KV footprint when empty)?"""
        return req.n_in + req.n_out <= self.longest

    def shortfall(self, req: Request, reserve: int = 0) -> int:
        """KV tokens ``req`` lacks to be admitted now beside ``reserve`` (<= 0: it fits; when
        it fits without its cached prefix, that shortfall, not the smaller one with it);
        :meth:`KvCache.need`, inlined for a prompt without cacheable segments and for a
        remembered match (the hot path)."""
        kv = self.kv
        extra = 0 if self.paged else req.n_out - req.done_out  # reserved beyond the prompt
        room = kv.cap - kv.cached + kv.unpinned - kv.private
        short = req.pin + extra + reserve - room
        if short <= 0 or req.pfx is None or not kv.caching:
            # fits without the cache's help (a hit never needs more), or no cache to ask:
            # callers use the sign only, and admission walks the cache anyway
            return short
        if req.seen_kv is not kv or req.seen_version != kv.version:
            kv.walk(req)
        return req.seen_need + extra + reserve - room

    @property
    def n_decoding(self) -> int:  # pragma: no cover - overridden
        """Sequences decoding now: with paged admission each claims a token of KV memory at
        the next iteration, which an admission must leave free (the reserve)."""
        raise NotImplementedError

    def has_room(self, req: Request) -> bool:
        """Could ``req`` be admitted at the next boundary: a slot, nothing preempted waiting (it
        re-admits that first), its KV memory beside the decoding sequences' next tokens when
        paged (until December 2026 without these two: a queue offered its head to it alone)?"""
        return (self.accepting and self.n_running < self.max_seqs and self.fits(req) and not self.waiting
                and self.shortfall(req, self.n_decoding if self.paged else 0) <= 0)

    def fill_from(self, lane: BatchQueue) -> None:
        """Take batch-tier requests from ``lane`` when there is spare capacity: below
        ``running_fraction`` x this replica's ``max_num_seqs`` sequences (at least one), with
        ``1 - kv_fraction`` of this replica's KV cache left free."""
        self.batch = lane
        self.batch_limit = max(1, int(lane.running_fraction * self.max_seqs))
        cap = int(self.kv.cap)
        self.batch_keep = cap - int(lane.kv_fraction * cap)
        lane.consumers.append(self)

    def batch_room(self, req: Request) -> bool:
        """Could it admit the batch request ``req`` at its next boundary: nothing queued it can
        ever hold (until Dec 2026 nothing queued), nothing preempted waiting, fewer than the
        lane's ``batch_limit`` sequences, ``req``'s footprint fitting with ``batch_keep`` free?"""
        lane = self.batch
        return (lane is not None and self.accepting and not self.waiting
                and self.n_running < self.batch_limit and self.n_running < self.max_seqs
                and self.queue.first_for(self.longest) is None
                and self.shortfall(req, self.batch_keep + (self.n_decoding if self.paged else 0)) <= 0)

    def replan(self) -> None:
        """Its step time changed; an engine that plans ahead plans again (the step engine
        reads the performance model at every iteration)."""

    def offer_batch(self) -> None:
        """After an admission that emptied the interactive queue: other replicas of the pool
        may now take batch work (a replica mid-stretch learns of it only through a poke)."""
        if self._offer_batch:
            self._offer_batch = False
            lane = self.batch
            if lane is not None and lane.items and not self.queue.items:
                lane.notify()

    def decoding_left(self) -> list[tuple[int, int]]:  # pragma: no cover - overridden
        """``(tokens still to emit, KV tokens it frees when it finishes)`` of each decoding
        sequence now."""
        raise NotImplementedError

    def prefilling(self):  # pragma: no cover - overridden
        """The admitted requests whose prompt is not finished."""
        raise NotImplementedError

    def prompts_left(self) -> list[tuple[int, int]]:  # pragma: no cover - overridden
        """``(prompt tokens, tokens not yet prefilled)`` of each admitted prompt now."""
        raise NotImplementedError

    def load_now(self) -> tuple[float, int, float]:  # pragma: no cover - overridden
        """``(prompt tokens admitted and not yet prefilled, decoding sequences, KV tokens in
        the sequences' contexts)`` now."""
        raise NotImplementedError

    @property
    def outstanding(self) -> int:
        """Requests this replica holds or has been promised (for join-shortest-queue)."""
        own = len(self.queue) if len(self.queue.consumers) == 1 else 0
        return self.n_running + own + len(self.waiting)

    def stop_admitting(self) -> None:
        """Drain: finish what is running (and what it preempted), admit nothing new. A
        shared queue's head, which may have been offered to this replica, is offered again
        to the others (until December 2026 it waited for one of them to pull it at its next
        own state change: a fluid replica's came seconds later than the step engine's)."""
        self.accepting = False
        for q in (self.queue, self.batch):
            if q is not None and self in q.consumers:
                q.consumers.remove(self)
                if q.items and q.consumers:
                    q.notify()

    def next_boundary(self) -> float:  # pragma: no cover - overridden
        """When this replica could next admit a request: now if idle, else its next
        iteration boundary."""
        raise NotImplementedError

    def poke(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def catch_up(self) -> None:
        """Bring what a router reads (KV memory, prompt progress) up to now: an engine that
        plans ahead applies the iterations run since its last state change."""

    def abort(self) -> list[Request]:  # pragma: no cover - overridden
        """Stop now (a failure): return the requests that were in the batch or waiting."""
        raise NotImplementedError

    def settle(self) -> None:
        """Before the busy time is read at the run's end or a failure: count the iterations
        already run. The step engine counts each when it ends, so it has nothing to add."""

    # ----------------------------------------------------------------- admission
    def _admit_waiting(self, now: float, reserve: int = 0) -> list[Request]:
        """Admit the preempted, then the queue, in order, while each fits beside ``reserve``
        tokens kept for the running sequences' next iteration. Returns them."""
        kv = self.kv
        kv.clock = now
        out = []
        q = self.queue.items
        lane = self.batch
        had_q = bool(q)
        while self.n_running < self.max_seqs:
            keep = 0
            if self.waiting:
                r, src = self.waiting[0], self.waiting
            elif self.accepting and q and ((r := q[0]).n_in + r.n_out <= self.longest  # its head,
                    or (r := self.queue.first_for(self.longest)) is not None):  # or its first
                src = q
            elif (lane is not None and self.accepting and lane.items
                  and self.n_running < self.batch_limit):
                # spare capacity: nothing queued it can hold (batch_room's conditions)
                r, src, keep = lane.items[0], lane.items, self.batch_keep
            else:
                break
            if r.swapped:
                if r.swapped - kv.room() + reserve + keep > 0:
                    break
            elif r.pfx is None or not kv.caching:  # self.shortfall(r, reserve + keep), inlined
                if (r.pin + (0 if self.paged else r.n_out - r.done_out) + (reserve + keep)
                        - (kv.cap - kv.cached + kv.unpinned - kv.private) > 0):
                    break
            elif self.shortfall(r, reserve + keep) > 0:
                break
            if src[0] is r:
                src.popleft()
            else:
                src.remove(r)
                self.queue.behind = True  # RequestQueue.offer_next tells the others
            self._start(r, now)
            out.append(r)
        if lane is not None and had_q and not q and lane.items:
            self._offer_batch = True
        return out

    def _start(self, r: Request, now: float) -> None:
        self.n_running += 1
        self.running[r.id] = r
        r.replica = self.rid
        if r.t_admit < 0:
            r.t_admit = now
        if r.t_preempt >= 0:
            r.preempt_s += now - r.t_preempt
            r.t_preempt = -1.0
        if r.swapped:  # its KV comes back from host memory: it resumes where it was
            self.kv.admit_private(r, r.swapped)
            move = r.swapped * self.link_s
            self.stall += move
            r.preempt_s += move
            self.swap_used -= r.swapped
            r.swapped = 0
            r.pf_left = 0  # the engine puts it back among the decoding sequences
            return
        kv = self.kv
        if r.pfx is None or not kv.caching:  # KvCache.admit without a prefix, inlined
            kv.stats.prompt_tokens += r.pin
            r.kv_node = None
            r.kv_priv = r.pin + (0 if self.paged else r.n_out - r.done_out)
            kv.private += r.kv_priv
            kv.inflow += r.kv_priv  # KvCache.hold's count
            over = kv.cached + kv.private - kv.cap
            if over > 0:
                a = kv._anon  # most often one anonymous entry covers it: _evict_anon, inlined
                if len(a) == 1 and a[0][1] > over and not kv._lru and not kv.host_cap:
                    a[0][1] -= over
                    kv.cached, kv.unpinned, kv.anon = kv.cached - over, kv.unpinned - over, kv.anon - over
                    kv.stats.evicted_tokens += over
                else:
                    kv._evict(over)
            r.pf_left = r.pin
        elif kv.host_cap:
            before = kv.stats.loaded_tokens
            hit = kv.admit(r, 0 if self.paged else r.n_out - r.done_out)
            loaded = kv.stats.loaded_tokens - before
            if loaded:  # from the host tier
                self.stall += loaded * self.link_s
            r.pf_left = r.pin - hit
        else:  # nothing to load
            r.pf_left = r.pin - kv.admit(r, 0 if self.paged else r.n_out - r.done_out)
        if r.preempts_here:
            r.t_preempt = now  # recomputing: the time until its context is back counts too

    def _prompt_done(self, r: Request, now: float) -> None:
        if r.pfx is not None and not r.kv_full:  # else nothing joins the trie
            self.kv.clock = now
            self.kv.prompt_done(r)
        if r.t_preempt >= 0:
            r.preempt_s += now - r.t_preempt
            r.t_preempt = -1.0

    def _finish(self, r: Request, now: float) -> None:
        kv = self.kv
        if r.kv_node is None and r.out_key < 0:  # KvCache.release of private tokens, inlined
            kv.private -= r.kv_priv
            t = r.kv_priv
            if kv.keeps and t > 0:  # they stay cached, anonymous (else held implicitly)
                kv.clock = now
                (kv.keep if kv._lru or kv.host_cap else kv.hold)(t)  # hold's first test inlined
            r.kv_priv = 0
        else:
            kv.clock = now
            kv.release(r, r.out_key, r.n_out - 1, finished=True)
        del self.running[r.id]
        self.n_running -= 1
        self.completed += 1
        st = kv.stats
        st.served += 1
        st.served_in += r.n_in
        st.served_out += r.n_out

    # ----------------------------------------------------------------- preemption
    def _preempt(self, r: Request, now: float, context: int, emitted: int, decoding: bool) -> None:
        """Take ``r`` out of the batch (``context``: its KV tokens, ``emitted``: its output
        tokens so far) and put it at the head of the waiting line."""
        self.kv.clock = now
        del self.running[r.id]
        self.n_running -= 1
        self.preemptions += 1
        self.kv.stats.preemptions += 1
        r.preempts += 1
        r.preempts_here += 1
        r.t_preempt = now  # the clock runs from here: a swap-out's copy below falls inside
        if decoding and self.swap_cap and self.swap_used + context <= self.swap_cap:
            r.swapped = context
            self.swap_used += context
            self.stall += context * self.link_s  # (in preempt_s through t_preempt, not added
            # to it as well: until December 2026 counted twice)
            self.kv.release(r)
            r.gen = emitted  # it resumes decoding where it was (pf_left 0 on its return)
        else:  # its computed KV stays cached for the recompute (KvCache._keep_preempted)
            if self.swapping:  # swap asked for, but the space is full or it was in prefill
                self.kv.stats.swap_recomputes += 1
            self.kv.release(r, computed=context if self.keep_preempted else 0)
            if decoding:  # recompute the prompt and the tokens emitted so far
                r.done_out = emitted
                r.pin = r.n_in + emitted
        self.waiting.appendleft(r)

    def newest(self) -> Request:
        return self.running[next(reversed(self.running))]

    def _notify_idle(self, now: float) -> None:
        if self.n_running == 0 and not self.waiting and self.on_idle is not None:
            self.on_idle(self, now)

    def _forget(self) -> list[Request]:
        """A failure: everything held or waiting, restarted for another replica."""
        now = self.env.now
        out = list(self.running.values()) + list(self.waiting)
        self.running.clear()
        self.waiting.clear()
        self.n_running = 0
        self.swap_used = 0
        self.stall = 0.0
        for r in out:
            r.restart(now)
        return out
