"""Routers: plain policies (no simpy) that pick the replica of a pool a request joins.

``central`` routing needs none (one queue every replica pulls from, :mod:`.pool`).
"""

from __future__ import annotations

from sim.platform.predict import prompt_pairs


class JoinShortestQueue:
    """The replica with the fewest outstanding requests; the lowest id on a tie."""

    reads_state = False  # reads the replicas' KV or batch (then they catch up first)

    def choose(self, replicas, req) -> int:
        best, best_n = 0, None
        for i, r in enumerate(replicas):
            n = r.outstanding
            if best_n is None or n < best_n:
                best, best_n = i, n
        return best


class RoundRobin:
    reads_state = False

    def __init__(self):
        self.next = 0

    def choose(self, replicas, req) -> int:
        i = self.next % len(replicas)
        self.next = i + 1
        return i


class CacheAware:
    """sgl-router's ``cache_aware`` policy on the replicas' actual caches (as llm-d's
    precise prefix scorer reads vLLM's KV events, rather than sgl-router's approximate
    tree of what it sent): out of balance, the least loaded; else the longest cached prefix
    if it covers more than ``threshold`` of the prompt; else, a prompt naming no prefix too,
    the replica caching the least (the most room for a new prefix; sgl-router's smallest
    tree: until December 2026 such a prompt went to the least loaded replica). Ties: the
    lowest load, then the lowest position."""

    reads_state = True

    def __init__(self, threshold: float = 0.3, balance_abs: int = 64, balance_rel: float = 1.5):
        self.threshold = threshold
        self.balance_abs = balance_abs
        self.balance_rel = balance_rel

    def choose(self, replicas, req) -> int:
        loads = [r.outstanding for r in replicas]
        lo, hi = min(loads), max(loads)
        least = loads.index(lo)
        if hi - lo > self.balance_abs and hi > lo * self.balance_rel:
            return least
        if req.pfx is not None:  # a prompt naming no prefix matches nothing anywhere
            matched = [r.kv.matched(req) for r in replicas]
            best = max(range(len(replicas)), key=lambda i: (matched[i], -loads[i], -i))
            if req.n_in and matched[best] / req.n_in > self.threshold:
                return best
        return min(range(len(replicas)), key=lambda i: (replicas[i].kv.cached_now(), loads[i], i))


class LeastExpectedCompletion:
    """The replica that would finish the request first by the performance model (for fleets
    of several GPU classes, where the fewest outstanding requests is not the soonest): the
    wait for a slot and KV memory behind the requests the replica takes first
    (:meth:`~sim.engine.base.ReplicaBase.admit_eta`), its prefill behind the prompt tokens
    the replica holds unfinished and queues (:meth:`~sim.engine.base.ReplicaBase.prefill_eta`),
    then its decode beside the batch running there
    (:meth:`~sim.engine.base.ReplicaBase.decode_eta`). Greedy per request: it does not weigh
    the delay a long answer's KV causes later requests (README, "Heterogeneous fleets").
    Replicas that cannot hold the request are skipped; ties go to the lowest position."""

    reads_state = True

    def choose(self, replicas, req) -> int:
        best, best_t = 0, float("inf")
        for i, r in enumerate(replicas):
            if not r.fits(req):
                continue
            own = r.queue.items if len(r.queue.consumers) == 1 else ()
            ahead = list(r.waiting) + list(own)
            t = (r.admit_eta(req, ahead)
                 + r.prefill_eta(req.pin + sum(q.pin for q in ahead),
                                 prompt_pairs(req.pin) + sum(prompt_pairs(q.pin) for q in ahead))
                 + r.decode_eta(req.pin, req.n_out - req.done_out))
            if t < best_t:
                best, best_t = i, t
        return best


ROUTERS = {"jsq": JoinShortestQueue, "round_robin": RoundRobin, "cache_aware": CacheAware,
           "lect": LeastExpectedCompletion}
