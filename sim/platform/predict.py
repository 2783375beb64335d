"""Predicted time to first token of a request joining a dedicated model pool now (plain).

The SLO-aware triggers of spillover (``hybrid.spillover.trigger: slo``) and burst
(``dedicated.burst.trigger: slo``) compare this prediction with the request's own
tenant's TTFT SLO instead of a queue wait with one threshold. For a request of ``n_in``
prompt tokens:

    TTFT ~ W + min over the pool's admitting replicas r of prefill_eta_r(n_in + Q / R)

* ``W``: the wait for a batch slot, :meth:`SpilloverPolicy.estimate` (0 while some replica
  has room for the head of the queue; else the queue's length over the recent completion
  rate);
* ``Q / R``: the prompt tokens queued ahead of it (queue length x the pool's running mean
  prompt) shared over the ``R`` admitting replicas, prefilled before it;
* ``prefill_eta_r``: the replica's own prefill backlog plus those tokens, in chunks, timed
  by the performance model (:meth:`sim.engine.base.ReplicaBase.prefill_eta`).

So a burst of long prompts that fits in the batch slots (no queue, ``W = 0``) is still
seen to miss a tight SLO: its prefill is the delay. The prediction ignores prefix-cache
hits and later arrivals; it is a trigger, not a measurement.
"""

from __future__ import annotations


class PromptMean:
    """Running mean prompt length of the requests offered to a pool."""

    __slots__ = ("n", "total")

    def __init__(self):
        self.n = 0
        self.total = 0.0

    def observe(self, n_in: int) -> None:
        self.n += 1
        self.total += n_in

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0


def predicted_ttft(replicas, n_in: float, slot_wait_s: float, queued: int,
                   mean_prompt: float) -> float:
    """The formula above over ``replicas`` (those admitting); inf when none admits."""
    live = [r for r in replicas if r.accepting]
    if not live:
        return float("inf")
    ahead = queued * mean_prompt / len(live)
    return slot_wait_s + min(r.prefill_eta(n_in + ahead) for r in live)
