"""The in-flight request record and the queue replicas admit from."""

from __future__ import annotations

from collections import deque


class Request:
    """One model call while it is in flight. Finished requests live on as log rows only."""

    __slots__ = ("id", "tenant", "model", "arrival", "n_in", "n_out", "pf_left", "t_admit",
                 "t_first", "t_done", "replica", "tag", "gen", "attempts", "ctx")

    def __init__(self, rid: int, tenant: int, model: int, arrival: float, n_in: int, n_out: int,
                 ctx=None):
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

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Request(id={self.id}, in={self.n_in}, out={self.n_out}, t={self.arrival:.3f})"


class RequestQueue:
    """FIFO of requests waiting for a replica, bounded by ``max_len``.

    A queue may feed one replica (join-shortest-queue, round-robin) or several (a central
    queue). When a push makes it non-empty it offers the head to the consumer with room
    whose next iteration boundary comes first (the one that would pull it first), the
    least loaded on a tie; every consumer also pulls at each of its own state changes.
    """

    __slots__ = ("items", "max_len", "consumers")

    def __init__(self, max_len: int = 1 << 62):
        self.items: deque[Request] = deque()
        self.max_len = max_len
        self.consumers: list = []

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def push(self, req: Request) -> bool:
        items = self.items
        if len(items) >= self.max_len:
            return False
        items.append(req)
        if len(items) == 1:
            self.notify()
        return True

    def push_front(self, req: Request) -> None:
        """Put back a request that must keep its place (a retry after a failure)."""
        self.items.appendleft(req)
        self.notify()

    def notify(self) -> None:
        """Offer the head to the consumer that would pull it first (see the class doc)."""
        if not self.items:
            return
        cons = self.consumers
        if len(cons) == 1:
            cons[0].poke()
            return
        head = self.items[0]
        need = head.n_in + head.n_out
        best = None
        best_t = 0.0
        for c in cons:
            if c.accepting and c.n_running < c.max_seqs and c.kv_reserved + need <= c.kv_cap:
                if c.n_running == 0:  # idle: it starts now; nobody is earlier or less loaded
                    best = c
                    break
                t = c.next_boundary()
                if best is None or t < best_t or (t == best_t and c.n_running < best.n_running):
                    best, best_t = c, t
        if best is not None:
            best.poke()
            if self.items and self.items[0] is not head:
                self.notify()  # the head was taken; offer the next one

    def popleft(self) -> Request:
        return self.items.popleft()

    def drop_all(self) -> list[Request]:
        out = list(self.items)
        self.items.clear()
        return out
