"""Where model weights sit before a cold start, and the links to remote storage.

* :class:`LruCache`: a byte-capacity cache with least-recently-used eviction (a node's
  host-DRAM page cache, or its local NVMe cache).
* :class:`NodeStorage`: one node's caches. ``best_tier(model)`` is the fastest tier that
  holds the weights (GPU snapshot, host DRAM, local NVMe, else remote); ``record_load``
  puts the weights where a load leaves them (a load from remote storage goes through the
  NVMe cache and the page cache; a load from NVMe through the page cache), so a model's
  next cold start on that node depends on what ran there since.
* :class:`FairShareBandwidth`: concurrent loads from remote storage share each node's link
  and the backend's total throughput max-min fairly (progressive filling), each at most a
  per-load cap; the rates are re-planned whenever a load starts or ends.

All three are plain classes (no simpy): the platform drives them with the clock.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable

TIER_ORDER = ("gpu_snapshot", "host_dram", "local_nvme")  # fastest first; else remote


class LruCache:
    def __init__(self, capacity_bytes: float):
        if capacity_bytes < 0:
            raise ValueError("capacity must be >= 0")
        self.capacity = float(capacity_bytes)
        self.used = 0.0
        self._items: OrderedDict = OrderedDict()  # key -> size, least recent first

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list:
        """Least recently used first."""
        return list(self._items)

    def touch(self, key) -> bool:
        if key in self._items:
            self._items.move_to_end(key)
            return True
        return False

    def put(self, key, size: float) -> list:
        """Insert (or refresh) ``key``; returns the keys evicted to make room. An item larger
        than the whole cache is not stored."""
        if key in self._items:
            self._items.move_to_end(key)
            return []
        if size > self.capacity:
            return []
        evicted = []
        while self.used + size > self.capacity and self._items:
            k, s = self._items.popitem(last=False)
            self.used -= s
            evicted.append(k)
        self._items[key] = size
        self.used += size
        return evicted

    def remove(self, key) -> None:
        s = self._items.pop(key, None)
        if s is not None:
            self.used -= s


class NodeStorage:
    """The weight caches of one node. ``snapshots``: a replica that ran on the node leaves a
    GPU-memory snapshot beside its weights in host memory (evicted with them)."""

    def __init__(self, dram_bytes: float, nvme_bytes: float, snapshots: bool = False):
        self.dram = LruCache(dram_bytes)
        self.nvme = LruCache(nvme_bytes)
        self.snapshots = snapshots
        self._snap: set = set()  # membership only; never iterated

    def best_tier(self, model) -> str | None:
        """The fastest local tier holding ``model``'s weights, or None (remote)."""
        if model in self.dram:
            return "gpu_snapshot" if model in self._snap else "host_dram"
        if model in self.nvme:
            return "local_nvme"
        return None

    def can_hold(self, size: float) -> bool:
        """Whether a load of ``size`` bytes stays in a cache of this node (host memory or NVMe)."""
        return size <= self.dram.capacity or size <= self.nvme.capacity

    def record_load(self, model, size: float, tier: str | None) -> None:
        """A load from ``tier`` (None = remote) leaves the weights in the page cache and,
        when it came from remote storage, in the NVMe cache."""
        if tier is None:
            self.nvme.put(model, size)
        else:
            self.nvme.touch(model)
        for k in self.dram.put(model, size):
            self._snap.discard(k)

    def record_snapshot(self, model) -> None:
        if self.snapshots and model in self.dram:
            self._snap.add(model)

    def preload(self, model, size: float, tier: str) -> None:
        """Weights present before the run: ``local_nvme`` or ``host_dram`` (which implies
        NVMe too)."""
        if tier in ("local_nvme", "host_dram"):
            self.nvme.put(model, size)
        if tier == "host_dram":
            self.dram.put(model, size)


class FairShareBandwidth:
    """Max-min fair sharing of remote-storage bandwidth among concurrent loads.

    Three limits bind a load: its own ``cap`` (what one loader streams), its node's link to
    remote storage (shared by the loads on that node) and the backend's total (shared by every
    load). Rates are the max-min fair allocation, found by progressive filling: every unfrozen
    load's rate rises together; when a limit saturates, the loads it binds freeze at the
    current level and the others keep rising. Rates are re-planned whenever a load starts or
    ends. Two equal loads on different nodes therefore do not slow each other until the
    backend saturates; two on one node halve when the link binds.

    ``start(key, node, size, now)``, ``advance(now)`` then ``finished()``, ``next_finish()``.
    Keys are kept in start order, so simultaneous finishes come out deterministically.
    """

    EPS = 1e-6  # bytes: a transfer with less than this left is done

    def __init__(self, backend_bps: float | None, cap_bps: float,
                 node_bps: Callable[[object], float | None] = lambda _n: None):
        if backend_bps is not None and not backend_bps > 0:
            raise ValueError("backend bandwidth must be > 0")
        if not cap_bps > 0:
            raise ValueError("per-transfer cap must be > 0")
        self.backend = float(backend_bps) if backend_bps is not None else math.inf
        self.cap = float(cap_bps)
        self.node_bps = node_bps
        self.left: dict = {}  # key -> bytes left, in start order
        self.node_of: dict = {}  # key -> node
        self.rates: dict = {}  # key -> bytes/s now
        self.t = 0.0

    def _allocate(self) -> None:
        """Progressive filling (max-min fairness) over the per-load cap, the node links and
        the backend."""
        keys = list(self.left)
        rates: dict = {}
        node_left: dict = {}
        for k in keys:
            n = self.node_of[k]
            if n not in node_left:
                cap = self.node_bps(n)
                node_left[n] = math.inf if cap is None else float(cap)
        backend_left = self.backend
        level = 0.0
        live = keys
        while live:
            per_node: dict = {}
            for k in live:
                per_node[self.node_of[k]] = per_node.get(self.node_of[k], 0) + 1
            # the limit that saturates first: ("cap"|"backend"|node, headroom per live load)
            limits = [("cap", self.cap - level), ("backend", backend_left / len(live))]
            limits += [(("node", n), node_left[n] / c) for n, c in per_node.items()]
            step = max(min(h for _, h in limits), 0.0)
            level += step
            backend_left -= step * len(live)
            for n, c in per_node.items():
                node_left[n] -= step * c
            tight = {name for name, h in limits if h - step <= 1e-12 * max(h, 1.0)}
            whole = "cap" in tight or "backend" in tight
            for k in live:
                if whole or ("node", self.node_of[k]) in tight:
                    rates[k] = level
            live = [k for k in live if k not in rates]
        self.rates = rates

    def advance(self, now: float) -> None:
        dt = now - self.t
        if dt > 0 and self.left:
            for k in self.left:
                self.left[k] -= self.rates[k] * dt
        self.t = max(self.t, now)

    def start(self, key, node, size: float, now: float) -> None:
        self.advance(now)
        self.left[key] = float(size)
        self.node_of[key] = node
        self._allocate()

    def finished(self, tol_s: float = 0.0) -> list:
        """Remove and return the transfers that are done (start order): less than ``EPS``
        bytes, or less than ``tol_s`` seconds at their current rate, left."""
        done = [k for k, v in self.left.items() if v <= max(self.EPS, self.rates[k] * tol_s)]
        for k in done:
            del self.left[k]
            del self.node_of[k]
        if done:
            self._allocate()
        return done

    def next_finish(self) -> float | None:
        """Time of the next completion at the current rates, or None when idle."""
        if not self.left:
            return None
        return self.t + min(max(v, 0.0) / self.rates[k] for k, v in self.left.items())
