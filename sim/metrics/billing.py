"""Each tenant's billing period, and a shared GPU pool's cost split over time by it.

A tenant's billing period is ``[0, horizon + its own drain]``: it ends when the last of its
own requests ends, never before the horizon. A request ends when it completes, or when it
is turned away (:func:`ended_at`: at its arrival, or later for a
try given up after a failure or a bounded wait run out, and at the run's end for one still
unfinished when the run stopped; until December 2026 a request turned away ended at its
arrival, unless unfinished at the end). Another tenant's drain (an overloaded neighbour
whose queue takes an hour to empty) does not stretch it. A tenant that sent no request has
no drain: its period is the horizon (until December 2026 it reported the run's period).

The GPU time of a pool is split over the segments between successive tenant period ends:
the cost of the pool within a segment goes to the pool's tenants whose period covers the
segment, in proportion to the pool weights (the tokens they completed on it,
:func:`sim.metrics.cost.attribute_cost`). Time after every tenant of the pool has ended
(a dedicated replica kept up while another model's tenant drains) goes to the tenants still
in their period then (the run's extra time is theirs), by the same weights where they have
any on the pool, else evenly. A row's busy, down and loading seconds are spread over its
up time in proportion to the overlap (the ledger keeps totals per replica, not when within
its life they fell: an approximation that only matters when periods differ); the padding
up to a minimum increment goes to the segment in which the row ends (the bill closes then).
"""

from __future__ import annotations

import numpy as np

from sim.metrics.rows import BLOCK, walk
from sim.records import COMPLETED


def ended_at(log, rows: slice) -> np.ndarray:
    """When each request of ``rows`` ended: its finish if completed, else when it was turned
    away (its arrival, unless the log has a later time: ``log.ends``); NaN if it never
    arrived (a closed loop's request not sent)."""
    t = np.where(log.outcome[rows] == COMPLETED, log.finish_s[rows], log.arrival_s[rows])
    later = log.ends.at("end_s", rows)
    return np.where(later > 0, later, t)


def tenant_periods(workload, run, user_only: bool, block: int = BLOCK) -> np.ndarray:
    """Per tenant index: its billing period (s), within ``[horizon, run.period_s]``: the
    horizon for a tenant that sent no request; NaN for one whose requests were all kept
    from this setup (background tenants beside a setup without a shared pool).
    ``user_only``: this setup was offered the user tenants' requests only (else every
    request). The log is read in blocks of ``block`` request ids: a max and two sets."""
    fold = PeriodFold(workload, run.log, user_only)
    walk(run.log.n, [fold], block)
    return fold.finish(min(float(workload.horizon_s), float(run.period_s)), float(run.period_s))


class PeriodFold:
    """:func:`tenant_periods` as an accumulator of :func:`~sim.metrics.rows.walk`: per tenant
    the latest end of its requests (``add(a, b)``), clipped to ``[h, period]`` when the run
    is over (:meth:`finish`)."""

    def __init__(self, workload, log, user_only: bool):
        self.workload, self.log, self.user_only = workload, log, user_only
        nt = len(workload.tenants)
        self.end = np.full(nt, -np.inf)
        self.has = np.zeros(nt, bool)
        self.sent = np.zeros(nt, bool)

    def add(self, a: int, b: int) -> None:
        s, nt = slice(a, b), self.end.size
        t = ended_at(self.log, s)
        tenant = self.workload.tenant[s].astype(np.int64)
        sel = (tenant < self.workload.n_user_tenants if self.user_only
               else np.ones(tenant.size, bool))
        ok = sel & np.isfinite(t)
        np.maximum.at(self.end, tenant[ok], t[ok])
        self.has |= np.bincount(tenant[sel], minlength=nt) > 0
        self.sent |= np.bincount(tenant, minlength=nt) > 0

    def finish(self, h: float, period: float) -> np.ndarray:
        out = np.clip(np.maximum(self.end, h), h, period)
        out[self.sent & ~self.has] = np.nan
        return out


def segments(rows, bounds: list[float]) -> list[dict[str, float]]:
    """The components (:func:`sim.metrics.cost.row_components` keys) of ``rows`` within each
    segment ``[bounds[k-1], bounds[k])`` (``bounds[0]`` = 0, the last = the run's end)."""
    out = [dict.fromkeys(("cost", "gpu_s", "busy_gpu_s", "idle_gpu_s", "down_gpu_s",
                          "loading_gpu_s", "busy_cost", "idle_cost", "down_cost"), 0.0)
           for _ in bounds[1:]]
    for row in rows:
        up = row.up_s
        if up <= 0:
            continue
        billed = max(up, row.min_increment_s)
        busy = min(max(row.busy_s, 0.0), up)
        down = min(max(row.down_s, 0.0), up - busy)
        loading = min(max(row.loading_s, 0.0), up - busy - down)
        rate = row.usd_per_gpu_hour / 3600.0
        g = row.gpus
        for k in range(len(out)):
            a, b = bounds[k], bounds[k + 1]
            last = k == len(out) - 1
            ov = max(0.0, min(row.end_s, b if not last else np.inf) - max(row.start_s, a))
            f = ov / up
            pad = (billed - up) if (a <= row.end_s < b or (last and row.end_s >= a)) else 0.0
            s = out[k]
            seg_billed = ov + pad
            s["gpu_s"] += seg_billed * g
            s["cost"] += seg_billed * g * rate
            s["busy_gpu_s"] += busy * f * g
            s["down_gpu_s"] += down * f * g
            s["loading_gpu_s"] += loading * f * g
            s["idle_gpu_s"] += (seg_billed - busy * f - down * f) * g
            s["busy_cost"] += busy * f * g * rate
            s["down_cost"] += down * f * g * rate
            s["idle_cost"] += (seg_billed - busy * f - down * f) * g * rate
    return out


def split_by_period(rows, tids: list[int], weights: np.ndarray, periods: np.ndarray,
                    run_end: float, payers: set[int] | None = None):
    """``[(components, {tenant index: share})]`` for one pool: one entry per time segment
    (a single entry, the whole rows, when every tenant of the pool bills to the run's end).
    ``payers``: the tenants that may pay for a segment after the pool's tenants are done
    besides the pool's own (None: any): the user's tenants billed by GPU time somewhere.
    A background tenant, and a tenant billed only per token (a hybrid's tenant placed on the
    pool), never pays another pool's GPUs: when no payer is draining, the pool's own tenants
    pay its tail (until December 2026 a per-token tenant draining on the pool paid the
    reserved replicas' tail, so its bill exceeded its tokens x prices)."""
    if not any(np.isfinite(p) and p < run_end for p in periods[tids].tolist()):
        return None  # nothing to split: the caller bills the whole pool as one
    cuts = sorted({float(p) for p in periods[np.isfinite(periods)].tolist() if 0 < p < run_end})
    bounds = [0.0] + cuts + [run_end]
    w_all = dict(zip(tids, weights.tolist()))
    out = []
    for (a, b), comp in zip(zip(bounds[:-1], bounds[1:]), segments(rows, bounds)):
        active = [ti for ti in tids if np.isfinite(periods[ti]) and periods[ti] >= b]
        if not active:  # the pool's tenants are done: the ones still in their period pay
            active = [int(ti) for ti in np.flatnonzero(np.nan_to_num(periods, nan=-1.0) >= b)
                      if payers is None or ti in payers or ti in tids]
        if not active:
            active = list(tids)
        w = np.array([w_all.get(ti, 0.0) for ti in active], dtype=float)
        if w.sum() <= 0:
            w = np.ones(len(active))
        out.append((comp, dict(zip(active, (w / w.sum()).tolist()))))
    return out
