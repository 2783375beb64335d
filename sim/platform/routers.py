"""Routers: plain policies (no simpy) that pick the replica of a pool a request joins.

``central`` routing needs none (one queue every replica pulls from, :mod:`.pool`).
"""

from __future__ import annotations


class JoinShortestQueue:
    """The replica with the fewest outstanding requests; the lowest id on a tie."""

    def choose(self, replicas, req) -> int:
        best, best_n = 0, None
        for i, r in enumerate(replicas):
            n = r.outstanding
            if best_n is None or n < best_n:
                best, best_n = i, n
        return best


class RoundRobin:
    def __init__(self):
        self.next = 0

    def choose(self, replicas, req) -> int:
        i = self.next % len(replicas)
        self.next = i + 1
        return i


ROUTERS = {"jsq": JoinShortestQueue, "round_robin": RoundRobin}
