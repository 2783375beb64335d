"""Placement of a new replica on the shared pool, and eviction of idle replicas.

Plain policies over light views of the pool (no simpy):

* :func:`choose_node`: among nodes with ``tp`` free GPUs, the one whose caches hold the
  model's weights in the fastest tier, then ready before still-provisioning nodes, then
  the fewest free GPUs (best fit keeps large holes for tensor-parallel replicas), then the
  lowest node id.
* eviction, when no node has room: :class:`LruEviction` frees GPUs by stopping idle
  replicas of other models, least recently used first: for each node it takes that
  node's idle replicas oldest-idle first until ``tp`` GPUs are free, and picks the node
  whose most recently used victim is the oldest (fewest victims, then lowest id, on a
  tie). :class:`NoEviction` never evicts: the scale-up waits for GPUs to free up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.platform.storage import TIER_ORDER

TIER_RANK = {t: i for i, t in enumerate(TIER_ORDER)}  # choose_node's first key (remote: len)


@dataclass
class NodeView:
    id: int
    free: int  # free GPUs
    ready: bool  # False while the node is still being provisioned
    tier: str | None  # fastest local tier holding the model's weights (None: remote)


@dataclass
class IdleReplica:
    key: object  # whatever the caller uses to find the replica again
    node: int
    gpus: int
    idle_since: float


def choose_node(nodes: list[NodeView], tp: int) -> int | None:
    best, best_key = None, None
    for n in nodes:
        if n.free < tp:
            continue
        k = (TIER_RANK.get(n.tier, len(TIER_RANK)), not n.ready, n.free, n.id)
        if best_key is None or k < best_key:
            best, best_key = n.id, k
    return best


class LruEviction:
    name = "lru"

    def choose(self, nodes: list[NodeView], tp: int, idle: list[IdleReplica]):
        """``(node id, [victim keys])`` freeing ``tp`` GPUs on one node, or None."""
        by_node: dict[int, list[IdleReplica]] = {}
        for r in idle:
            by_node.setdefault(r.node, []).append(r)
        best, best_key = None, None
        for n in nodes:
            cands = sorted(by_node.get(n.id, []), key=lambda r: (r.idle_since, r.node, str(r.key)))
            free = n.free
            taken = []
            for r in cands:
                if free >= tp:
                    break
                taken.append(r)
                free += r.gpus
            if free < tp or not taken:
                continue
            k = (max(r.idle_since for r in taken), len(taken), n.id)
            if best_key is None or k < best_key:
                best, best_key = (n.id, [r.key for r in taken]), k
        return best


class NoEviction:
    name = "none"

    def choose(self, nodes, tp, idle):
        return None


EVICTIONS = {"lru": LruEviction, "none": NoEviction}
