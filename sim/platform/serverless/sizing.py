"""How many replicas a model starts with when the pool starts warm (``serverless.start: warm``).

The rule is the autoscaler's own target applied to the first stable window of the
generated workload. For a model with ``A`` requests arriving in ``[0, W)`` (``W`` =
``serverless.autoscaler.stable_window_s``) whose mean prompt and output are ``n_in`` and
``n_out`` tokens, Little's law gives the mean in-flight requests ``L = A / W * s``, where
``s`` is the unloaded end-to-end time of the mean request alone on one replica (its
prefill iteration, then ``n_out - 1`` decode iterations at batch 1), at most ``A``: the
window's requests cannot fill more (``W`` is ``horizon_s`` when that is shorter, and a 3 s
run of five 11 s requests was sized for 19 in flight, three replicas serving nothing,
until December 2026). The model starts with

    replicas = min(max_replicas, max(1, ceil(L / target_concurrency)))

if ``L > 0``, else none (its ``min_replicas`` floor applies either way). ``s`` ignores
batching and queueing, so the rule errs low under load; the autoscaler corrects from t=0.

Requests without an arrival time of their own are counted too:

- a pipeline's stage requests (sent when their predecessors end) count at their pipeline
  request's arrival, so a stage model called in the first window starts warm;
- a closed-loop tenant's ``c`` clients each alternate one request in flight (``s``, of the
  tenant's mean request) and a think time (mean ``z``), so they add ``c * s / (s + z)`` to
  ``L`` (the interactive response-time law with a zero response delay beyond ``s``).

A plain function of arrays (no simpy): the platform asks it once, at construction.
"""

from __future__ import annotations

import math

import numpy as np


def unloaded_service_s(perf, n_in: float, n_out: float) -> float:
    """End-to-end seconds of one request of ``n_in`` prompt and ``n_out`` output tokens alone
    on a replica: the prefill iteration (which gives the first token), then ``n_out - 1``
    decode iterations, taken at their mean context (exact where step time is linear in it,
    as in the roofline model)."""
    prefill = perf.step_time(0.0, n_in, 0.0, n_in * (n_in + 1) / 2.0)
    steps = max(n_out - 1.0, 0.0)
    if steps == 0:
        return prefill
    ctx = n_in + (steps - 1.0) / 2.0  # the mean of n_in + j - 1 over j = 1..steps
    return prefill + steps * perf.step_time(1.0, 0.0, ctx, ctx + 1.0)


def sent_estimate(wl) -> np.ndarray:
    """Each request's arrival time, a pipeline stage request's being its pipeline request's
    (closed-loop requests stay NaN)."""
    p = wl.pipelines
    if p is None or not len(p):
        return wl.arrival_s
    out = wl.arrival_s.copy()
    ids = np.arange(int(p.first[0]), int(p.first[-1]))
    out[ids] = p.arrival_s[np.searchsorted(p.first, ids, side="right") - 1]
    return out


def closed_inflight(perf, clients: int, think_s: float, n_in: float, n_out: float) -> float:
    """Mean requests in flight of ``clients`` closed-loop clients whose mean request has
    ``n_in`` / ``n_out`` tokens and who think ``think_s`` between requests (rule above)."""
    s = unloaded_service_s(perf, n_in, n_out)
    return clients * s / (s + think_s) if s + think_s > 0 else float(clients)


def warm_inflight(arrival_s: np.ndarray, n_in: np.ndarray, n_out: np.ndarray, perf,
                  window_s: float, closed: float = 0.0) -> float:
    """``L``, the requests in flight of one model over its first window: the rule above over
    its open requests' arrays (``arrival_s``: each request's arrival, or its pipeline
    request's) plus ``closed`` requests in flight from closed-loop clients
    (:func:`closed_inflight`). The warm start also seeds the autoscaler's windows with it."""
    first = np.isfinite(arrival_s) & (arrival_s < window_s)
    a = int(np.count_nonzero(first))
    inflight = closed
    if a:
        s = unloaded_service_s(perf, float(n_in[first].mean()), float(n_out[first].mean()))
        inflight += min(a / window_s * s, float(a))  # no more in flight than requests sent
    return inflight


def warm_replicas(inflight: float, target_concurrency: float, max_replicas: int) -> int:
    """Replicas one model starts with for ``inflight`` (:func:`warm_inflight`) requests."""
    if inflight <= 0:
        return 0
    return min(int(max_replicas), max(1, math.ceil(inflight / target_concurrency - 1e-9)))
