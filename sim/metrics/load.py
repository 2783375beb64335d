"""How loaded the replicas were, from the engines' integrals in the usage ledger.

Each ledger row (one replica's life, or the replicas a row stands for) carries what its
engine integrated over its busy stretches (:class:`sim.records.KvStats`); the time a
replica was up but idle counts as zero load, and the time a failed replica was down
(``down_s``, billed) is not up time (:func:`live_s`). Over a set of rows:

* ``kv_occupancy_mean``: KV memory held by running sequences (pinned prefix-cache blocks
  plus private tokens and, with reserve admission, the reservation for future output; not
  the unpinned cache kept in free memory) as a fraction of the KV capacity, averaged over
  up time; ``kv_occupancy_p99``: its 99th percentile over up time, floored to the whole
  percent (a histogram of 1 % bins; the fluid engine spreads each planned stretch evenly
  over the levels it passes, the step engine counts each iteration at its own).
* ``bandwidth_fraction``: HBM bytes read per GPU (weights and KV per iteration, the perf
  model's count) over the spec-sheet bandwidth times up time; NaN with a measured
  (``table``) perf model, which knows no bytes.
* ``capacity_fraction``: output tokens delivered over what the replicas would have
  delivered flat out for as long as they were up, on the mix of requests the model served:
  the perf model's decode-only throughput at the batch that fits (``max_num_seqs`` or the KV
  capacity at the mean prompt + output), each sequence at the mean decode context
  (:meth:`sim.perf.RooflinePerf.saturated_tok_s`). Prefill is left out of the denominator,
  so a saturated replica shows somewhat below 1. Rows of a model no request of which
  finished anywhere are left out (their mix, so their capacity, is unknown).

A row whose replicas never had an engine (the pool sets the perf model on its row when an
engine starts; a replica still loading at the end has none) is left out of the capacity and
bandwidth figures; burst and spot replacement rows are given theirs when provisioned, so
their loading time counts as idle capacity, as the loading time of a replica that warmed.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.kvstats import OCC_BINS

LOAD_COLUMNS = ["capacity_fraction", "kv_occupancy_mean", "kv_occupancy_p99", "bandwidth_fraction"]
_NAN = float("nan")


def live_s(row) -> float:
    """The part of a ledger row's life its replica was not failed: the up time over which its
    ``busy_fraction`` and load figures are taken (loading counts, as idle). ``row.up_s`` is
    its whole life, billed down time included."""
    return max(row.up_s - row.down_s, 0.0)


def _p99(hist: np.ndarray) -> float:
    total = hist.sum()
    if total <= 0:
        return _NAN
    return float(np.searchsorted(np.cumsum(hist), 0.99 * total * (1 - 1e-12))) / OCC_BINS


def mix_of(rows) -> dict[str, tuple[float, float]]:
    """model -> (mean prompt, mean output tokens) of the requests its rows finished."""
    n, i, o = defaultdict(int), defaultdict(int), defaultdict(int)
    for r in rows:
        n[r.model] += r.kv.served
        i[r.model] += r.kv.served_in
        o[r.model] += r.kv.served_out
    return {m: (i[m] / n[m], o[m] / n[m]) for m in n if n[m]}


def load(rows, mix: dict | None = None) -> dict[str, float]:
    """The four figures over ``rows`` (``mix``: per model, as :func:`mix_of`; from ``rows``
    when None)."""
    mix = mix_of(rows) if mix is None else mix
    up = occ = bytes_ = peak = delivered = capacity = 0.0
    hist = np.zeros(OCC_BINS + 1)
    for r in rows:
        k, u = r.kv, live_s(r)
        busy = min(r.busy_s, u)
        up += u
        occ += k.occupancy_s
        k.add_hist(hist)
        hist[0] += max(u - busy, 0.0)  # up, idle: nothing held
        if k.saturation is None:  # never had an engine (loading at the end): no figure
            continue
        bytes_ += k.bytes_per_gpu
        peak += k.peak_bandwidth * u
        delivered += k.served_out
        if r.model in mix:  # else no request of its model finished anywhere: left out
            capacity += k.saturated_tok_s(*mix[r.model]) * u
    return {
        "capacity_fraction": delivered / capacity if capacity > 0 else _NAN,
        "kv_occupancy_mean": occ / up if up > 0 else _NAN,
        "kv_occupancy_p99": _p99(hist),
        "bandwidth_fraction": bytes_ / peak if peak > 0 else _NAN,
    }


def load_by_model(rows) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """The figures per model and over every row."""
    rows = list(rows)
    mix = mix_of(rows)
    by = defaultdict(list)
    for r in rows:
        by[r.model].append(r)
    return {m: load(rs, mix) for m, rs in by.items()}, load(rows, mix)
