"""Per tenant, the completed requests slower than ``signals.slow_ttft_s`` to the first token
and those of them that waited for a cold start, counted block by block (the signals table's
``slow_requests`` and ``slow_cold``, sim/analysis/signals.py). Over the rows' own window:
requests arriving at or after ``metrics.warmup_s``, as the percentiles beside them."""

from __future__ import annotations

import numpy as np

from sim.records import COMPLETED


class SlowFold:
    """An accumulator of :func:`~sim.metrics.rows.walk` (``add(a, b)``), or of a log sealed
    in blocks while the run goes; :meth:`counts` when every block is in."""

    def __init__(self, cfg, workload, run):
        self.workload, self.run = workload, run
        self.warmup_s = float(cfg.metrics.warmup_s)
        self.slow_s = float(cfg.signals.slow_ttft_s)
        k = len(workload.tenants)
        self.slow = np.zeros(k, np.int64)
        self.cold = np.zeros(k, np.int64)

    def add(self, a: int, b: int) -> None:
        log, k = self.run.log, self.slow.size
        arrival = log.arrival_s[a:b]
        with np.errstate(invalid="ignore"):
            done = (log.outcome[a:b] == COMPLETED) & (arrival >= self.warmup_s)
            slow = done & ((log.first_s[a:b] - arrival) > self.slow_s)
        ids = np.flatnonzero(slow)
        if not ids.size:
            return
        tenant = self.workload.tenant[a:b]
        self.slow += np.bincount(tenant[ids], minlength=k)
        cold = log.cold_wait_at(ids + a) > 0
        self.cold += np.bincount(tenant[ids[cold]], minlength=k)

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        return self.slow, self.cold
