"""The serverless pool's state records: nodes, replicas (slots) and per-model state."""

from __future__ import annotations

from sim.engine import RequestQueue

LOADING, WARM, STOPPED = 0, 1, 2


class Node:
    __slots__ = ("id", "gpu", "gpus", "free", "ready_at", "storage", "image_cached", "slots")

    def __init__(self, nid, gpu, gpus, ready_at, storage, image_cached):
        self.id = nid
        self.gpu = gpu
        self.gpus = gpus
        self.free = gpus
        self.ready_at = ready_at
        self.storage = storage
        self.image_cached = image_cached
        self.slots: list[Slot] = []


class Slot:
    """One replica's life on the pool (loading, warm, stopped)."""

    __slots__ = ("id", "model", "node", "gpus", "state", "rep", "row", "t_place", "t_warm",
                 "idle_since", "ka_gen", "prewarm_until", "tier", "prewarm", "ledger_i")

    def __init__(self, sid, model, node, gpus, t_place, tier, row, prewarm_until):
        self.id = sid
        self.model = model
        self.node = node
        self.gpus = gpus
        self.state = LOADING
        self.rep = None
        self.row = row
        self.t_place = t_place
        self.t_warm = -1.0
        self.idle_since = t_place
        self.ka_gen = 0
        self.prewarm_until = prewarm_until
        self.prewarm = prewarm_until is not None
        self.tier = tier
        self.ledger_i = -1  # its row's place in the ledger (sim/platform/base.py Context)


class ModelState:
    __slots__ = ("idx", "name", "dep", "perf", "queue", "slots", "scaler", "inflight",
                 "idle_since", "ready", "loading", "pending", "wait_armed", "prewarm_gen",
                 "last_load_s", "weight_bytes", "min", "max", "desired", "active",
                 "usd_per_gpu_hour", "signal", "kv_cap")

    def __init__(self, idx, name, dep, perf, max_queue, scaler, min_r, max_r, chooser=None):
        self.idx = idx
        self.name = name
        self.dep = dep
        self.perf = perf
        self.kv_cap = dep.longest_request(perf.kv_capacity_tokens)  # prompt + output it holds
        self.queue = RequestQueue(max_queue, chooser)
        self.slots: list[Slot] = []
        self.scaler = scaler
        self.signal = scaler.signal  # its concurrency signal, which the request path sets
        self.inflight = 0
        self.idle_since: float | None = None
        self.ready = 0
        self.loading = 0
        self.pending = False
        self.wait_armed = False
        self.prewarm_gen = 0
        self.last_load_s = -1.0
        self.weight_bytes = dep.model.weight_bytes(dep.precision)
        self.min = min_r
        self.max = max_r
        self.desired = min_r
        self.active = False
        self.usd_per_gpu_hour = 0.0
