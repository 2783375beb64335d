"""How ``job=plan`` judges a run: the lowest attainment over its tenants' objectives, TTFT
(over the requests a deployment could serve), TPOT and batch deadlines. The search
(:mod:`sim.analysis.plan`) and the confirmation of the chosen plan (:mod:`sim.jobs.plan`)
use the same functions: until December 2026 the confirmation judged TTFT alone, so its note's
"lowest attainment" could disagree with ``plan.csv``'s ``worst_attainment``."""

from __future__ import annotations

import math

import numpy as np

from sim.metrics.overload import stability
from sim.metrics.overload_notes import overload_warning
from sim.metrics.rows import SLO_TOLERANCE_S, RequestColumns
from sim.records import COMPLETED


def measured_tenant_rows(s):
    """A summary's tenant rows with a TTFT SLO, the measured window's (``metrics.warmup_s``:
    the plan judged the warm-up rows too until December 2026)."""
    keep = (s["tenant"] != "__all__") & s["slo_ttft_s"].notna()
    if "window" in s.columns:
        keep &= s["window"].astype(str) != "warmup"
    return s[keep]


def servable_attainment(workload, log, rows) -> np.ndarray:
    """Each summary row's (a tenant's, in its window) SLO attainment over the requests a
    deployment could serve. A request whose prompt and output exceed its model's context is
    rejected on arrival by every candidate alike (``workload.overlength: reject``): counted as
    a miss, a log with 1.4 % such requests made every candidate miss a 0.99 target and the
    plan bought nothing (December 2026). NaN for a row with no servable request."""
    over = workload.over_context
    out = rows["slo_attainment"].to_numpy(dtype=float).copy()
    if over is None or not over.any():
        return out
    arrival = log.arrival_s
    for i, (_, r) in enumerate(rows.iterrows()):
        name, n = str(r["tenant"]), int(r["requests"])
        base, warm = (name[: -len("@warmup")], True) if name.endswith("@warmup") else (name, False)
        if base not in workload.tenants or n == 0:
            continue
        sel = (workload.tenant == workload.tenants.index(base)) & over
        w = float(r.get("warmup_s", 0.0) or 0.0)
        if w > 0:
            sel &= (arrival < w) if warm else ~(arrival < w)
        k = int(np.count_nonzero(sel))
        if k:
            met = round(out[i] * n)  # the row's requests that met the SLO (none of these)
            out[i] = met / (n - k) if n > k else math.nan
    return out


def tpot_slos(cfg) -> dict:
    """Each tenant's TPOT objective (``tenants.<t>.slo_tpot_s``), those that have one."""
    return {t: float(cfg.tenants[t].slo_tpot_s) for t in cfg.tenants
            if math.isfinite(float(cfg.tenants[t].slo_tpot_s))}


def tpot_attainment(workload, log, slos: dict, warmup_s: float) -> float:
    """The lowest share, over tenants with a TPOT objective (``slos``), of their completed
    requests of the measured window whose time per output token is within it (1 without
    such tenants)."""
    wl = workload
    worst = 1.0
    cols = RequestColumns(wl, log)
    measured = ~(log.arrival_s < float(warmup_s))  # as the TTFT rows
    for t, slo in slos.items():
        sel = np.flatnonzero((wl.tenant == wl.tenants.index(t)) & (log.outcome == COMPLETED)
                             & measured)
        if not sel.size:
            continue
        tpot = cols.tpot(sel)  # NaN for a one-token answer: no time between tokens, met
        # within a nanosecond, as the summary's TTFT attainment (sim/metrics/rows.py)
        met = np.isnan(tpot) | (tpot <= slo + SLO_TOLERANCE_S)
        worst = min(worst, float(np.mean(met)))
    return worst


def ttft_deadline_attainment(workload, log, s) -> float:
    """The lowest of the tenants' TTFT attainments over the requests a deployment could serve
    (measured window) and the batch tenants' shares within their deadlines, from a run's
    summary ``s``; 1 when no tenant sent a request (nothing of it can miss)."""
    served = servable_attainment(workload, log, measured_tenant_rows(s))
    att = float(np.nanmin(served)) if np.isfinite(served).any() else 1.0
    batch = s[s["tenant"].isin(list(workload.deadlines))]  # their deadlines met
    if len(batch) and batch["slo_attainment"].notna().any():
        att = min(att, float(batch["slo_attainment"].min()))
    return att


def worst_attainment(cfg, workload, log, s) -> float:
    """What the plan calls a run's attainment: the lowest over TTFT, batch deadlines and TPOT
    (``plan.attainment`` is set against it)."""
    return min(ttft_deadline_attainment(workload, log, s),
               tpot_attainment(workload, log, tpot_slos(cfg), float(cfg.metrics.warmup_s)))


def falls_behind(cfg, workload, run) -> str:
    """The run's own stability line when it calls the setup unstable at this load (its queue,
    the batch queue included, grew faster than it drained: sim/metrics/overload.py), else "".
    A plan is bought for a continuing workload: a count that meets the SLOs over a finite
    horizon only because the drain after it works the backlog off (one H100 met every batch
    deadline of a 150 req/s batch stream, 396 s after the 60 s horizon) falls further behind
    every hour. Until December 2026 the plan chose such counts and its confirmation run said
    "unstable at this load ... add capacity" beside "all tenants together meet the SLO". The
    line is the one the run's notes print (``warning_line``), so the two cannot disagree; a
    loss system (``dedicated.max_queue=0`` turning requests away) is not overload there."""
    line = overload_warning(workload, stability(workload, run), int(cfg.dedicated.max_queue) == 0,
                            run.setup) or ""
    return line if " is unstable at this load" in line else ""
