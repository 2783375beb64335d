"""Where model weights sit before a cold start, and the shared link to remote storage.

* :class:`LruCache`: a byte-capacity cache with least-recently-used eviction (a node's
  host-DRAM page cache, or its local NVMe cache).
* :class:`NodeStorage`: one node's caches. ``best_tier(model)`` is the fastest tier that
  holds the weights (GPU snapshot, host DRAM, local NVMe, else remote); ``record_load``
  puts the weights where a load leaves them (a load from remote storage goes through the
  NVMe cache and the page cache; a load from NVMe through the page cache), so a model's
  next cold start on that node depends on what ran there since.
* :class:`SharedBandwidth`: processor sharing of one link among concurrent transfers.
  Each active transfer gets ``min(cap, total / n)`` bytes per second; the shares are
  re-planned whenever a transfer starts or ends. Two equal transfers that start together
  therefore take twice as long as one alone (when ``cap >= total``).

All three are plain classes (no simpy): the platform drives them with the clock.
"""

from __future__ import annotations

from collections import OrderedDict

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


class SharedBandwidth:
    """Processor sharing of ``total`` bytes/s among transfers, each at most ``cap`` bytes/s.

    ``start(key, size, now)``, ``advance(now)`` then ``finished()``, ``next_finish(now)``.
    Keys are kept in start order, so simultaneous finishes come out deterministically.
    """

    EPS = 1e-6  # bytes: a transfer with less than this left is done

    def __init__(self, total_bps: float, cap_bps: float | None = None):
        if not total_bps > 0:
            raise ValueError("bandwidth must be > 0")
        self.total = float(total_bps)
        self.cap = float(cap_bps) if cap_bps is not None else float(total_bps)
        if not self.cap > 0:
            raise ValueError("per-transfer cap must be > 0")
        self.left: dict = {}  # key -> bytes left, in start order
        self.t = 0.0

    @property
    def rate(self) -> float:
        """Bytes/s each active transfer gets now."""
        n = len(self.left)
        return min(self.cap, self.total / n) if n else 0.0

    def advance(self, now: float) -> None:
        dt = now - self.t
        if dt > 0 and self.left:
            moved = self.rate * dt
            for k in self.left:
                self.left[k] -= moved
        self.t = max(self.t, now)

    def start(self, key, size: float, now: float) -> None:
        self.advance(now)
        self.left[key] = float(size)

    def finished(self) -> list:
        """Remove and return the transfers that are done (start order)."""
        done = [k for k, v in self.left.items() if v <= self.EPS]
        for k in done:
            del self.left[k]
        return done

    def next_finish(self) -> float | None:
        """Time of the next completion at the current shares, or None when idle."""
        if not self.left:
            return None
        return self.t + max(min(self.left.values()), 0.0) / self.rate
