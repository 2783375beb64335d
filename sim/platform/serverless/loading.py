"""Bringing a replica up: the cold-start stages as a SimPy process, and the remote link.

Every load waits for its node (if it is being provisioned), starts its container, loads
the weights (from the fastest tier holding them on the node when this stage starts: a node
cache at that tier's bandwidth, or from the remote tier: each
load at most the loader's rate, sharing its node's link and the backend's total max-min
fairly with every concurrent remote load, re-planned whenever a load starts or ends) and initialises the engine. Each finished load is a row of the
``cold_starts`` table.
"""

from __future__ import annotations

from array import array
from typing import Callable

import numpy as np
import pandas as pd
from simpy.events import Timeout

from sim.platform.storage import FairShareBandwidth

LOAD_COLUMNS = ["replica", "model", "node", "tier", "prewarm", "start_s", "provision_s",
                "container_s", "weights_s", "init_s", "total_s", "warm_s"]
# each number column in a typed array (8 bytes a load, not an object and a pointer: a long
# serverless run loads a replica per ~150 requests); model and tier names are shared strings
_TYPED = {"replica": "q", "node": "q", "prewarm": "b"} | {c: "d" for c in LOAD_COLUMNS[5:]}


class Loader:
    def __init__(self, env, remote_tier: str, link: FairShareBandwidth):
        self.env = env
        self.remote_tier = remote_tier
        self.link = link
        self.link_gen = 0
        self.link_events: dict = {}
        self.downloads: dict = {}  # (node id, model index) -> the event its remote download ends
        self.loads = {c: array(_TYPED[c]) if c in _TYPED else [] for c in LOAD_COLUMNS}

    def start(self, slot, ms, node, container_s: float, weight_stage: Callable, prewarm: bool,
              warm: Callable[[object, float], None]) -> None:
        """Run the stages of ``slot``'s cold start; call ``warm(slot, t)`` when it serves.
        ``weight_stage(slot, node) -> (tier, stages)``: the tier and the weight and init
        stages, asked when the container has started (the node's caches then, not at
        placement)."""
        self.env.process(self._load(slot, ms, node, container_s, weight_stage, prewarm, warm))

    def _load(self, slot, ms, node, container_s: float, weight_stage, prewarm: bool, warm):
        env = self.env
        t0 = env.now
        if node.ready_at > t0:  # the node is being provisioned
            yield env.timeout(node.ready_at - t0)
        t1 = env.now
        yield env.timeout(container_s)
        node.image_cached = True
        t2 = env.now
        tier, st = weight_stage(slot, node)
        key = (node.id, ms.idx)
        shared = False
        while (tier == self.remote_tier and key in self.downloads
               and node.storage.can_hold(ms.weight_bytes)):
            # the node is downloading these weights for another replica: read them from its
            # page cache once they are there, rather than download them a second time (when
            # neither cache can keep them, each load downloads its own, sharing the link)
            shared = True
            yield self.downloads[key]
            tier, st = weight_stage(slot, node)
        if tier == self.remote_tier:
            ev = env.event()
            self.downloads.setdefault(key, ev)  # the first of the node's downloads of them
            self.link.start(slot.id, node.id, ms.weight_bytes, env.now)
            self.link_events[slot.id] = ev
            self._replan()
            yield ev
            if self.downloads.get(key) is ev:
                del self.downloads[key]
            # the weights are in the node's page cache (and NVMe cache) from now
            node.storage.record_load(ms.idx, ms.weight_bytes, None)
        else:
            yield env.timeout(st.weights_s)
            node.storage.record_load(ms.idx, ms.weight_bytes, tier)
        if shared:
            slot.tier = tier = self.remote_tier  # its cold start waited on a remote download
        t3 = env.now
        yield env.timeout(st.init_s)
        t4 = env.now
        ms.last_load_s = t4 - t0
        for col, v in zip(self.loads.values(), (slot.id, ms.name, node.id, tier, bool(prewarm), t0,
                                                t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, t4)):
            col.append(v)
        warm(slot, t4)

    def _replan(self) -> None:
        self.link_gen += 1
        t = self.link.next_finish()
        if t is None:
            return
        gen = self.link_gen
        Timeout(self.env, max(t - self.env.now, 0.0)).callbacks.append(lambda _ev: self._fire(gen))

    def _fire(self, gen: int) -> None:
        if gen != self.link_gen:
            return
        self.link.advance(self.env.now)
        # done: less than a nanosecond of transfer left at the current rate (float slack)
        for k in self.link.finished(tol_s=1e-9):
            self.link_events.pop(k).succeed()
        self._replan()

    def table(self) -> pd.DataFrame:
        if not self.loads["replica"]:
            return pd.DataFrame({c: pd.Series(dtype=float) for c in LOAD_COLUMNS})
        # int64 and float64 from the arrays' own types; prewarm's bytes as booleans
        return pd.DataFrame({c: np.array(v, bool if c == "prewarm" else None) if c in _TYPED
                             else v for c, v in self.loads.items()}, columns=LOAD_COLUMNS)
