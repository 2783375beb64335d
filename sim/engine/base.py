"""What both engines share: admission by KV memory and sequence slots, accounting, hooks.

Admission reserves a request's whole KV footprint (prompt + every output token) when it
joins the batch, so a running sequence is never preempted. This is the conservative
policy of engines that reserve up front; engines that admit on the prompt alone and
preempt later reach a higher concurrency when outputs are long.
"""

from __future__ import annotations

from typing import Callable

from sim.engine.request import Request, RequestQueue
from sim.perf import Deployment, PerfModel


class ReplicaBase:
    """One model on ``tp`` GPUs running continuous batching; the engines subclass it."""

    def __init__(self, env, rid: int, perf: PerfModel, dep: Deployment, queue: RequestQueue,
                 sink: Callable[[Request, float], None]):
        self.env = env
        self.rid = rid
        self.perf = perf
        self.deployment = dep
        self.gpus = dep.tp
        self.queue = queue
        self.sink = sink  # called once per request when its last token is out
        self.max_seqs = dep.max_num_seqs
        self.budget = dep.max_batched_tokens  # tokens per iteration (chunked prefill)
        self.kv_cap = perf.kv_capacity_tokens
        self.kv_reserved = 0
        self.n_running = 0
        self.accepting = True
        self.alive = True
        self.busy_s = 0.0  # time with at least one sequence in the batch
        self.tokens_out = 0
        self.completed = 0
        self.on_idle: Callable[[ReplicaBase, float], None] | None = None
        queue.consumers.append(self)

    # -------------------------------------------------------------- for routers and pools
    def fits(self, req: Request) -> bool:
        """Could this replica ever hold ``req`` (its whole KV footprint when empty)?"""
        return req.n_in + req.n_out <= self.kv_cap

    def has_room(self, req: Request) -> bool:
        return (self.accepting and self.n_running < self.max_seqs
                and self.kv_reserved + req.n_in + req.n_out <= self.kv_cap)

    @property
    def outstanding(self) -> int:
        """Requests this replica holds or has been promised (for join-shortest-queue)."""
        own = len(self.queue) if len(self.queue.consumers) == 1 else 0
        return self.n_running + own

    def stop_admitting(self) -> None:
        """Drain: finish what is running, admit nothing new."""
        self.accepting = False
        if self in self.queue.consumers:
            self.queue.consumers.remove(self)

    def next_boundary(self) -> float:  # pragma: no cover - overridden
        """When this replica could next admit a request: now if idle, else its next
        iteration boundary."""
        raise NotImplementedError

    def poke(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def abort(self) -> list[Request]:  # pragma: no cover - overridden
        """Stop now (a failure): return the requests that were in the batch."""
        raise NotImplementedError

    # --------------------------------------------------------------------- shared pieces
    def _reserve(self, req: Request, now: float) -> None:
        self.kv_reserved += req.n_in + req.n_out
        self.n_running += 1
        req.t_admit = now
        req.replica = self.rid
        req.pf_left = req.n_in

    def _release(self, req: Request) -> None:
        self.kv_reserved -= req.n_in + req.n_out
        self.n_running -= 1
        self.tokens_out += req.n_out
        self.completed += 1

    def _notify_idle(self, now: float) -> None:
        if self.n_running == 0 and self.on_idle is not None:
            self.on_idle(self, now)
