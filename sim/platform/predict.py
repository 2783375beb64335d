"""Predicted time to first token of a request joining a dedicated model pool now (plain).

The SLO-aware triggers of spillover (``hybrid.spillover.trigger: slo``) and burst
(``dedicated.burst.trigger: slo``) compare this prediction with the request's own
tenant's TTFT SLO instead of a queue wait with one threshold. For a request of ``n_in``
prompt tokens:

    TTFT ~ W + min over the pool's admitting replicas r of prefill_eta_r(n_in + Q / R)

* ``W``: the wait for a batch slot, :meth:`SpilloverPolicy.estimate` (0 while some replica
  has room for the head of the queue; else the queue's length over the recent completion
  rate);
* ``Q / R``: the prompts queued ahead of it (queue length prompts of the pool's running mean
  length) shared over the ``R`` admitting replicas, prefilled before it;
* ``prefill_eta_r``: the replica's own prefill backlog plus those prompts, in chunks, timed
  by the performance model with each prompt's own attention pairs
  (:meth:`sim.engine.base.ReplicaBase.prefill_eta`, :func:`prompt_pairs`).

So a burst of long prompts that fits in the batch slots (no queue, ``W = 0``) is still
seen to miss a tight SLO: its prefill is the delay. The prediction ignores prefix-cache
hits and later arrivals; it is a trigger, not a measurement.
"""

from __future__ import annotations


def prompt_pairs(n_in: float) -> float:
    """Attention pairs of prefilling a fresh prompt of ``n_in`` tokens (each token attends to
    itself and the tokens before it)."""
    return n_in * (n_in + 1) * 0.5


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
    share = queued / len(live)  # prompts of the mean length ahead of it on each replica
    tokens = n_in + share * mean_prompt
    pairs = prompt_pairs(n_in) + share * prompt_pairs(mean_prompt)
    return slot_wait_s + min(r.prefill_eta(tokens, pairs) for r in live)
