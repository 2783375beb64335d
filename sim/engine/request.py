"""The in-flight request record and the queue replicas admit from."""

from __future__ import annotations

from collections import deque

from sim.engine.tick import arriving


class Request:
    """One model call while it is in flight. Finished requests live on as log rows only."""

    __slots__ = ("id", "tenant", "model", "arrival", "n_in", "n_out", "pf_left", "t_admit",
                 "t_first", "t_done", "replica", "tag", "gen", "attempts", "ctx",
                 "pfx", "out_key", "pin", "done_out", "cached", "kv_node", "kv_depth", "kv_full",
                 "kv_priv", "kv_sync", "hseq", "preempts", "preempts_here", "preempt_s",
                 "t_preempt", "swapped", "seen_kv", "seen_version", "seen_node", "seen_tokens",
                 "seen_host", "seen_need", "seen_full", "pfx0")

    def __init__(self, rid: int, tenant: int, model: int, arrival: float, n_in: int, n_out: int,
                 ctx=None, pfx=None, out_key: int = -1):
        # the cache that last walked its segments (None: none), which then set seen_version,
        # seen_node, seen_tokens, seen_host, seen_need and seen_full (sim/engine/kv.py,
        # KvCache.walk)
        self.seen_kv = None
        self.id = rid
        self.tenant = tenant
        self.model = model
        self.arrival = arrival
        self.n_in = n_in
        self.n_out = n_out
        self.pf_left = n_in  # prompt tokens not yet prefilled
        self.t_admit = -1.0
        self.t_first = -1.0
        self.t_done = -1.0
        self.replica = -1
        self.tag = 0  # fluid engine: iteration count at which the last token is emitted
        self.gen = 0  # tokens emitted once done (fluid: the first token's iteration meanwhile)
        self.attempts = 0
        self.ctx = ctx  # owner's data (pipeline stage, cold-start record ...)
        # prefix cache (sim/engine/kv.py): the prompt's leading segments as (keys, lengths),
        # and the key its answer is cached under (-1: not cached)
        self.pfx = pfx
        self.pfx0 = None  # its own segments, once a preemption added one (KvCache._keep_preempted)
        self.out_key = out_key
        self.cached = 0  # prompt tokens its current attempt's first admission found cached
        self.kv_node = None  # the deepest trie node it pins
        self.kv_depth = 0
        self.kv_full = False  # its admission found every segment cached (nothing to insert)
        self.kv_priv = 0  # KV tokens it holds outside the trie
        self.kv_sync = 0  # fluid engine: the iteration its private decode growth was last counted
        self.hseq = -1  # fluid engine: the sequence number of its live entry in the decode heap
        # preemption: a request preempted with g tokens out resumes with a prompt of
        # n_in + g (recompute) or its KV back from host memory (swap, ``swapped`` tokens)
        self.pin = n_in  # the prompt of its current admission
        self.done_out = 0  # output tokens emitted before its current admission
        self.preempts = 0  # on every replica it tried
        self.preempts_here = 0  # since its current attempt began (restart() zeroes it)
        # time preemptions cost it: out of the batch (from the preemption, a swap-out's copy
        # included, to its readmission or its replica's failure), recomputing (to the end of
        # the recomputed prefill), copying a swapped sequence back in
        self.preempt_s = 0.0
        self.t_preempt = -1.0
        self.swapped = 0

    def restart(self, now: float) -> None:
        """Forget the progress made on a replica that failed at ``now``: the next one starts
        afresh. A preemption's time on the failed replica counts up to ``now``; what follows
        is the failure's (its wait for, and prefill on, the next replica are no recompute),
        and its hit is the next replica's (until December 2026 it kept the failed replica's
        hit, and its prefill on the next replica was counted as a recompute, the time it had
        waited preempted dropped)."""
        if self.t_preempt >= 0:
            self.preempt_s += now - self.t_preempt
        self.preempts_here = 0
        self.cached = 0
        self.pin = self.n_in
        if self.pfx0 is not None:  # a preemption's segment named KV on the failed replica
            self.pfx = self.pfx0 or None
            self.pfx0 = None
        self.seen_kv = None
        self.done_out = 0
        self.swapped = 0
        self.gen = 0
        self.kv_node = None
        self.kv_depth = 0
        self.kv_priv = 0
        self.t_preempt = -1.0
        # not decoding anywhere: the failed fluid replica's heap entry named it (until
        # December 2026 kept, so a paged replica taking it in prefill preempted it as a
        # decoding sequence and then finished it from its prefill: a KeyError)
        self.hseq = -1

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Request(id={self.id}, in={self.n_in}, out={self.n_out}, t={self.arrival:.3f})"


class RequestQueue:
    """FIFO of requests waiting for a replica, bounded by ``max_len``.

    A queue may feed one replica (join-shortest-queue, round-robin) or several (a central
    queue). When a push makes it non-empty it offers the head to the consumer with room
    whose next iteration boundary comes first (the one that would pull it first), the
    least loaded on a tie, or the one a ``chooser`` picks among those with room (cache-aware
    routing); every consumer also pulls at each of its own state changes.

    A consumer whose KV memory can never hold the head (a smaller GPU of a mixed fleet) is
    not blocked by it: it takes the first waiting request it can hold (FCFS among those),
    and is offered that one when the head stays; what it could hold once memory frees
    still waits in order (until December 2026 it waited behind the head, 31.8 s for a
    100-token request on an idle L40S behind a 40,010-token one only the H100 could hold).
    """

    __slots__ = ("items", "max_len", "consumers", "chooser", "least", "behind")

    def __init__(self, max_len: int = 1 << 62, chooser=None):
        self.items: deque[Request] = deque()
        self.max_len = max_len
        self.consumers: list = []
        # a router (``choose(replicas, req) -> index``) that picks among the consumers with
        # room instead of the earliest boundary (cache-aware routing on a central queue)
        self.chooser = chooser
        # the longest request (prompt + output tokens, ReplicaBase.longest) the smallest
        # consumer so far can ever hold: a head larger needs
        # _offer_rest (kept when that consumer leaves: a stale value only costs a look)
        self.least = 1 << 62
        # a replica took a request from behind the head (set by ReplicaBase._admit_waiting):
        # the others that can never hold the head may have a new first request
        self.behind = False

    def join(self, consumer) -> None:
        """``consumer`` (a replica) pulls from this queue from now on."""
        self.consumers.append(consumer)
        self.least = min(self.least, consumer.longest)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def push(self, req: Request) -> bool:
        # (inlined in ServerlessPlatform.submit: change both)
        items = self.items
        if len(items) >= self.max_len and (self.max_len or len(items) >= self.free_slots(req)):
            return False
        items.append(req)
        if len(items) == 1:
            self.notify()
        elif items[0].n_in + items[0].n_out > self.least:
            self._offer_rest(items[0])
        return True

    def free_slots(self, req: Request) -> int:
        """Sequences the consumers with room for ``req`` could still start: with no waiting
        room (``max_len`` 0, a loss system) a request enters only while it is below them
        (it passes through the queue on its way to the replica that takes it)."""
        return sum(c.max_seqs - c.n_running for c in self.consumers if c.has_room(req))

    def push_front(self, req: Request) -> None:
        """Put back a request that must keep its place (a retry after a failure)."""
        self.items.appendleft(req)
        self.notify()

    def first_for(self, cap: int) -> Request | None:
        """The first waiting request of at most ``cap`` prompt + output tokens (what a replica
        that can ever hold that many takes next), or None."""
        for r in self.items:
            if r.n_in + r.n_out <= cap:
                return r
        return None

    def offer_next(self, head: Request | None) -> None:
        """After an admission: if ``head`` was taken, offer the new head to the others; if a
        request behind it was, offer the others that can never hold it their first request
        (until December 2026 not: a small replica with room waited for its own next pull)."""
        items = self.items
        behind, self.behind = self.behind, False
        if items and items[0] is not head:
            self.notify()
        elif behind and items:
            self._offer_rest(head)

    def _offer_rest(self, head: Request) -> None:
        """Poke each consumer whose KV memory can never hold ``head`` that has room for the
        first request it can hold (in list order; each pulls it as for a head)."""
        need = head.n_in + head.n_out
        self.behind = True
        while self.behind:  # again while one took a request: an earlier one's first changed
            self.behind = False
            for c in self.consumers:
                if c.longest < need:
                    if c.paged:
                        c.catch_up()
                    r = self.first_for(c.longest)
                    if r is not None and c.has_room(r):
                        c.poke()

    def notify(self) -> None:
        """Offer the head to the consumer that would pull it first, then the others their
        own first request (see the class doc)."""
        if not self.items:
            return
        head = self.items[0]
        self._offer_head(head)
        if self.items and self.items[0] is head and head.n_in + head.n_out > self.least:
            self._offer_rest(head)

    def _offer_head(self, head: Request) -> None:
        cons = self.consumers
        if len(cons) == 1:
            cons[0].poke()
            return
        best = None
        if self.chooser is not None and head.pfx is not None:
            for c in cons:
                c.catch_up()
            room = [c for c in cons if c.has_room(head)]
            if room:
                best = room[self.chooser.choose(room, head)]
                best.poke()
                self.offer_next(head)
            return
        # the first idle consumer, else the earliest next boundary (then the least loaded,
        # then list order), among those with room
        if head.pfx is None:  # asking for room is cheap: ask everyone, in list order
            best_t = 0.0
            pin, rest, need = head.pin, head.n_out - head.done_out, head.n_in + head.n_out
            now = cons[0].env._now if cons else 0.0
            for c in cons:
                if c.paged:  # its memory of now (a fluid replica's grows between its events)
                    c.catch_up()
                kv = c.kv  # ReplicaBase.has_room, inlined (the hot path of every arrival)
                if (c.accepting and c.n_running < c.max_seqs and need <= c.longest and not c.waiting
                        and pin + (c.n_decoding if c.paged else rest) <= kv.cap - kv.cached + kv.unpinned - kv.private):
                    if c.n_running == 0:  # idle: it starts now; nobody is earlier or less loaded
                        best = c
                        break
                    if c.planned:  # FluidReplica.next_boundary, inlined
                        t = c._t
                        if now > t or (now == t and c._poked != now):
                            if c._k == 0:
                                t = now
                            elif c._s or c._j0:  # a growing or caught-up stretch
                                t = c.next_boundary()
                            else:  # stretch.iters_at, inlined: the first boundary after now,
                                dt = c._dt  # or at it for a request another event sent now
                                j = int((now - t) // dt) + 1
                                if j > 1 and t + (j - 1) * dt > now:
                                    j -= 1
                                elif t + j * dt <= now:
                                    j += 1
                                if (t + (j - 1) * dt == now and now != t
                                        and arriving(c.env) != now):
                                    j -= 1  # at now, for a request another event sent now
                                t = c._t_end if j >= c._k else t + j * dt
                    else:
                        t = c.next_boundary()
                    if best is None or t < best_t or (t == best_t and c.n_running < best.n_running):
                        best, best_t = c, t
        else:  # asking walks a prefix cache: ask in order of preference, stop at the first
            best = _first_with_room(cons, head)
        if best is not None:
            best.poke()
            self.offer_next(head)  # the head was taken: offer the next one

    def popleft(self) -> Request:
        return self.items.popleft()

    def drop_all(self) -> list[Request]:
        out = list(self.items)
        self.items.clear()
        return out


def _first_with_room(cons: list, head: Request):
    """The first of ``cons`` with room for ``head``, asking in order of preference: idle
    ones in list order, then the earliest next boundary, the fewest running, list order.
    Asking walks ``head``'s prefix in that consumer's cache, so the preferred one is asked
    first, and the next only if it has no room. (A boundary ``t`` is compared as ``1 + t``,
    the key that once ranked busy consumers after the idle ones' 0: kept, so that close
    boundaries round, and choices fall, as they always did.)"""
    refused = ()  # asked, without room
    while True:
        pick, pick_t = None, 0.0
        for c in cons:
            n = c.n_running
            if (not c.accepting or n >= c.max_seqs or c in refused  # has_room, cheap part
                    or head.n_in + head.n_out > c.longest or c.waiting):
                continue
            if n == 0:
                pick = c
                break
            t = 1.0 + c.next_boundary()
            if pick is None or t < pick_t or (t == pick_t and n < pick.n_running):
                pick, pick_t = c, t
        if pick is None or pick.shortfall(head, pick.n_decoding if pick.paged else 0) <= 0:
            return pick
        refused += (pick,)


class BatchQueue(RequestQueue):
    """The batch-tier requests of a pool (``tenants.<t>.priority: batch``), FIFO, unbounded
    (a backlog with a deadline of hours): a replica fills spare capacity from it.

    A replica admits its head at an iteration boundary only when the replica's interactive
    queue is empty and nothing it preempted waits, fewer than ``running_fraction`` x its own
    ``max_num_seqs`` sequences run (at least one), and the head's KV footprint fits with
    ``1 - kv_fraction`` of its own cache left free (:meth:`ReplicaBase.fill_from`,
    :meth:`ReplicaBase.batch_room`; until December 2026 both were worked out once from the
    pool's base deployment, so a smaller GPU of a mixed fleet never took batch work). Interactive requests therefore never wait behind a
    batch request for admission; a batch request already running is never preempted for
    them (with ``reserve`` admission nothing is), so the thresholds keep the slots and KV
    memory interactive arrivals need.
    """

    __slots__ = ("running_fraction", "kv_fraction")

    def __init__(self, running_fraction: float, kv_fraction: float):
        super().__init__()
        self.running_fraction = running_fraction  # of a replica's max_num_seqs (interactive + batch)
        self.kv_fraction = kv_fraction  # of a replica's KV cache that batch admissions may fill

    def notify(self) -> None:
        """Offer the head to the consumer with batch room that would pull it first (idle
        first, then the earliest next boundary, then the least loaded)."""
        if not self.items:
            return
        head = self.items[0]
        best = None
        best_t = 0.0
        for c in self.consumers:
            c.catch_up()  # paged: the memory of now
            if not c.batch_room(head):
                continue
            if c.n_running == 0:
                best = c
                break
            t = c.next_boundary()
            if best is None or t < best_t or (t == best_t and c.n_running < best.n_running):
                best, best_t = c, t
        if best is not None:
            best.poke()
            self.offer_next(head)  # the head was taken: offer the next one
