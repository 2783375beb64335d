"""How many replicas a model starts with when the pool starts warm (``serverless.start: warm``).

The rule is the autoscaler's own target applied to the first stable window of the
generated workload. For a model with ``A`` requests arriving in ``[0, W)`` (``W`` =
``serverless.autoscaler.stable_window_s``) whose mean prompt and output are ``n_in`` and
``n_out`` tokens, Little's law gives the mean in-flight requests ``L = A / W * s``, where
``s`` is the unloaded end-to-end time of the mean request alone on one replica (its
prefill iteration, then ``n_out - 1`` decode iterations at batch 1). The model starts with

    replicas = min(max_replicas, max(1, ceil(L / target_concurrency)))

if ``A > 0``, else none (its ``min_replicas`` floor applies either way). ``s`` ignores
batching and queueing, so the rule errs low under load; the autoscaler corrects from t=0.
Closed-loop requests (no arrival time before they are sent) are not counted.

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


def warm_replicas(arrival_s: np.ndarray, n_in: np.ndarray, n_out: np.ndarray, perf,
                  window_s: float, target_concurrency: float, max_replicas: int) -> int:
    """Replicas one model starts with: the rule above over its requests' arrays."""
    first = np.isfinite(arrival_s) & (arrival_s < window_s)
    a = int(np.count_nonzero(first))
    if a == 0:
        return 0
    s = unloaded_service_s(perf, float(n_in[first].mean()), float(n_out[first].mean()))
    inflight = a / window_s * s
    return min(int(max_replicas), max(1, math.ceil(inflight / target_concurrency - 1e-9)))
