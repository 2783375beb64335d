"""The pool's nodes by GPU class: free GPUs, weight caches, and where a replica goes.

A plain object (no simpy): the platform asks :meth:`NodePool.choose` for a node (evicting
idle replicas of other models or provisioning a node if allowed) and records what it then
starts with :meth:`NodePool.occupy`; the build layer uses the same two calls to check that
the minimum replicas fit at t=0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sim.platform.serverless.eviction import TIER_RANK, IdleReplica, NodeView
from sim.platform.serverless.state import Node, Slot
from sim.platform.storage import NodeStorage

_REMOTE = len(TIER_RANK)  # choose_node's rank of a node holding the weights nowhere local


@dataclass(frozen=True)
class NodeClass:
    gpus_per_node: int
    max_nodes: int
    dram_cache_gb: float
    nvme_cache_gb: float
    storage_link_gbps: float | None = None  # the node's link to remote storage; None: unlimited


class NodePool:
    def __init__(self, classes: dict[str, NodeClass], eviction, snapshots: bool,
                 provision_s: float):
        self.classes = classes
        self.eviction = eviction
        self.snapshots = snapshots
        self.provision_s = provision_s
        self.nodes: list[Node] = []
        self.by_class: dict[str, list[Node]] = {c: [] for c in classes}

    @classmethod
    def from_config(cls, sc, cs, eviction) -> "NodePool":
        """The pool of ``serverless.pool`` with its nodes on hand at t=0."""
        classes = {g: NodeClass(int(pc.gpus_per_node),
                                int(pc.max_nodes) if pc.max_nodes is not None else int(pc.nodes),
                                float(pc.dram_cache_gb), float(pc.nvme_cache_gb),
                                None if pc.storage_link_gbps is None else float(pc.storage_link_gbps))
                   for g, pc in sc.pool.items()}
        pool = cls(classes, eviction, bool(cs.snapshots), float(cs.node_provision_s))
        for g, pc in sc.pool.items():
            for _ in range(int(pc.nodes)):
                pool.add_node(g, 0.0, bool(cs.image_cached_at_start))
        return pool

    def add_node(self, gpu: str, ready_at: float, image_cached: bool) -> Node:
        c = self.classes[gpu]
        node = Node(len(self.nodes), gpu, c.gpus_per_node, ready_at,
                    NodeStorage(c.dram_cache_gb * 1e9, c.nvme_cache_gb * 1e9, self.snapshots),
                    image_cached)
        self.nodes.append(node)
        self.by_class[gpu].append(node)
        return node

    def link_bps(self, node_id: int) -> float | None:
        """Bytes/s of node ``node_id``'s link to remote storage (None: unlimited)."""
        gbps = self.classes[self.nodes[node_id].gpu].storage_link_gbps
        return None if gbps is None else gbps * 1e9

    def preload(self, gpu: str, model: int, size: float, tier: str) -> None:
        for node in self.by_class[gpu]:
            node.storage.preload(model, size, tier)

    def preload_gaps(self, preloaded: list[tuple[str, int, float]], tier: str) -> list[tuple]:
        """Where the weights preloaded (``(gpu, model, size)`` in preload order) at ``tier``
        are not all held at t=0 (every node of a class alike): ``(gpu, model, size, held,
        missed)`` per model a cache of the tier lacks, ``held`` its best tier (None: remote),
        ``missed`` ``(cache, capacity in bytes, larger than it)`` per cache (``host_dram``,
        ``local_nvme``) that was too small for it or gave it up to a model preloaded after it."""
        out = []
        for gpu, model, size in preloaded:
            if not self.by_class[gpu]:
                continue
            st = self.by_class[gpu][0].storage
            caches = ([("host_dram", st.dram)] if tier == "host_dram" else []) + [("local_nvme", st.nvme)]
            missed = [(name, c.capacity, size > c.capacity) for name, c in caches if model not in c]
            if missed:
                out.append((gpu, model, size, st.best_tier(model), missed))
        return out

    def choose(self, model: int, gpu: str, tp: int, now: float,
               evictable: Callable[[Slot], bool] | None = None,
               may_provision: bool = False) -> tuple[Node | None, list[int], bool]:
        """``(node, victim slot ids, provisioned)`` for a replica of ``model`` on ``tp`` GPUs
        of class ``gpu``: a node with room (:func:`choose_node`), else one freed by evicting
        idle replicas ``evictable`` allows, else a new node if ``may_provision`` and the class
        may grow (it is ready ``provision_s`` later); ``(None, [], False)`` if none."""
        nodes = self.by_class[gpu]
        # choose_node over the nodes themselves (no views, a cache asked only where there is
        # room: the same keys, so the same node); the views only if eviction needs them
        nid, best_key = None, None
        for n in nodes:
            if n.free < tp:
                continue
            k = (TIER_RANK.get(n.storage.best_tier(model), _REMOTE), not n.ready_at <= now, n.free, n.id)
            if best_key is None or k < best_key:
                nid, best_key = n.id, k
        victims: list[int] = []
        if nid is None and evictable is not None:
            views = [NodeView(n.id, n.free, n.ready_at <= now, n.storage.best_tier(model))
                     for n in nodes]
            idle = [IdleReplica(s.id, n.id, s.gpus, s.idle_since)
                    for n in nodes for s in n.slots if evictable(s)]
            got = self.eviction.choose(views, tp, idle)
            if got is not None:
                nid, victims = got
        if nid is None and may_provision and len(nodes) < self.classes[gpu].max_nodes:
            return self.add_node(gpu, now + self.provision_s, False), [], True
        return (self.nodes[nid] if nid is not None else None), victims, False

    @staticmethod
    def occupy(node: Node, slot: Slot, size: float, local: str | None, loaded: bool = True) -> None:
        """Put ``slot`` on ``node``; ``loaded``: its weights are there already (a replica warm
        from the start), so they enter the node's caches as loaded from ``local`` (None:
        remote storage) now. A replica that loads them enters them when its weights stage
        ends (:class:`~sim.platform.serverless.loading.Loader`): until December 2026 they were
        entered at placement, so a second replica placed while the first was still
        downloading read them "from host memory" and was warm before it."""
        if loaded:
            node.storage.record_load(slot.model, size, local)
        node.free -= slot.gpus
        node.slots.append(slot)

    @staticmethod
    def vacate(node: Node, slot: Slot) -> None:
        node.free += slot.gpus
        node.slots.remove(slot)
