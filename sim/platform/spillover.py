"""When a dedicated-tier request of the hybrid setup goes to the serverless pool instead:
a plain policy (no simpy), see :class:`SpilloverPolicy`."""

from __future__ import annotations

import math


class SpilloverPolicy:
    """Whether a dedicated-tier request should go to the serverless pool (no simpy).

    ``estimate`` is the wait of a request joining the back of a saturated pool's queue:
    Little's law on the queue alone, ``(queued + 1) / mu`` with ``mu`` the pool's recent
    completion rate (while saturated, its service rate); with no completion in the window,
    the wait the head of the queue has already had (a lower bound). A pool with room for
    the head of its queue admits it at the next iteration boundary: no wait."""

    def __init__(self, enabled: bool, wait_threshold_s: float, max_queue: int | None,
                 cold_aware: bool = False):
        self.enabled = enabled
        self.wait_threshold_s = wait_threshold_s
        self.max_queue = max_queue
        self.cold_aware = cold_aware

    @staticmethod
    def estimate(queued: int, saturated: bool, rate: float, head_wait_s: float) -> float:
        if not saturated:
            return 0.0
        if rate > 0:
            return (queued + 1) / rate
        return head_wait_s

    def spill(self, queued: int, saturated: bool, rate: float, head_wait_s: float,
              pool_wait_s: float = 0.0, predicted_s: float | None = None,
              slo_s: float = math.inf) -> bool:
        """``pool_wait_s``: how long the serverless pool would make the request wait for a
        replica (a cold start); only a ``cold_aware`` policy weighs it. With ``predicted_s``
        (the SLO trigger, :mod:`sim.platform.predict`) the request spills when its predicted
        TTFT on the dedicated pool exceeds ``slo_s`` (its tenant's SLO times the configured
        fraction) instead of when the queue wait exceeds ``wait_threshold_s``."""
        if not self.enabled:
            return False
        if self.max_queue is not None and queued >= self.max_queue:
            delay = math.inf
        elif predicted_s is not None:
            delay = predicted_s
            if not delay > slo_s:
                return False
        else:
            delay = self.estimate(queued, saturated, rate, head_wait_s)
            if not delay > self.wait_threshold_s:
                return False
        return not self.cold_aware or delay > pool_wait_s

    def outage(self, back_in_s: float, pool_wait_s: float) -> bool:
        """With no dedicated replica of the model up (and no burst capacity): whether a
        request goes to the pool rather than wait ``back_in_s`` for one to admit again
        (infinite when none is scheduled to). Always, or with ``cold_aware`` when that wait
        exceeds the pool's ``pool_wait_s``; the queue-wait rule and the SLO trigger are not
        asked: a pool with no replica up predicts an infinite TTFT (until December 2026 the
        ``slo`` trigger spilled on that infinity before this rule was asked)."""
        return self.enabled and (not self.cold_aware or back_in_s > pool_wait_s)
