"""The measurement window of a summary: ``metrics.warmup_s`` and ``serverless.start``.

Every summary row says which window it covers (column ``window``), the warm-up it excluded
(``warmup_s``) and how the run's shared pool started (``start``: ``cold`` or ``warm``;
``none`` for a setup without one). With ``warmup_s = 0`` every row has ``window = all``.
With ``warmup_s > 0`` each (setup, tenant) row, ``__all__`` and ``__background__`` included,
comes twice: ``measured`` (requests arriving at or after ``warmup_s``; the tenant's own
label, so every reader of ``__all__`` or a tenant's row reads the measured window) and
``warmup`` (those arriving before it; labelled ``<tenant>@warmup``, e.g. ``__all__@warmup``,
so (setup, tenant) stays a key). A closed loop's requests never sent (the run stopped first:
reason ``never_sent``) and a pipeline's stage requests never sent (``upstream_failed``)
arrived in neither window and are in neither row; the run's notes count them
(sim/metrics/unsent.py). Request-level columns (counts, TTFT/TPOT/E2E percentiles, SLO
attainment, cold starts, tokens, throughput, ``clipped``) cover the row's window only
(throughput: its output tokens over the window's length, ``period_s - warmup_s`` or
``warmup_s``; ``clipped``: until December 2026 the whole run's count in both rows, so a
measured row could count more changed requests than it had); ``__all__``
is every user tenant's requests in that window. The bill does not split by arrival: cost, GPU
and utilisation columns of both rows are the whole run's, as without a warm-up (so
``cost_per_mtok_out_usd`` stays the run's bill over the run's tokens).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.metrics.rows import (
    BLOCK,
    ExactValues,
    RequestColumns,
    RowFold,
    row_stats,
    spans,
    tenant_slos,
)
from sim.metrics.summary import deadline_outcomes, row_selection
from sim.records import is_aggregate

WARMUP_SUFFIX = "@warmup"  # a warm-up row's tenant label: ``chat@warmup``, ``__all__@warmup``

# columns computed per window; every other column is the whole run's
WINDOWED = ("requests", "completed", "rejected", "failed", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s",
            "ttft_p999_s", "ttft_mean_s", "tpot_p50_s", "tpot_p99_s", "e2e_p50_s", "e2e_p99_s",
            "cold_starts", "cold_start_wait_p99_s", "input_tokens", "output_tokens",
            "throughput_tok_s", "slo_attainment", "retries", "spilled", "cached_tokens",
            "cache_hit_rate", "preemptions")


def apply_window(workload, run, full: pd.DataFrame, warmup_s: float, start: str,
                 block: int = BLOCK, store=ExactValues) -> pd.DataFrame:
    """``full``: one setup's summary over every request (:func:`~sim.metrics.summary.summarize`).
    Each row's window is read in blocks of ``block`` request ids (no full-length mask), one
    walk per row and figure (:func:`~sim.metrics.rows.row_stats`; in one walk with the rest
    of the run's end: :class:`WindowFold`), its figures' values kept in ``store``s (as
    ``full``'s were: exact, or a sketch)."""
    if warmup_s <= 0:
        return full.assign(window="all", warmup_s=0.0, start=start)
    log = run.log
    cols = RequestColumns(workload, log)
    dl = deadline_outcomes(workload, run)

    def figures(window, name, length):
        tslo = None if is_aggregate(name) else workload.slo_ttft_s.get(name)
        pick = _window_of(workload, log, name, warmup_s, window == "warmup")
        stats = row_stats(run.setup, name, "", pick, cols, tslo, length,
                          own_slo=tslo is None, block=block, store=store)
        clipped = (_count(workload.changed_req, pick, block)
                   if workload.changed_req is not None else None)
        missed, met = ((_count(dl[0], pick, block), _count(dl[1], pick, block))
                       if dl is not None else (None, None))
        return stats, clipped, missed, met
    return window_frame(workload, full, warmup_s, start, figures)


def window_frame(workload, full: pd.DataFrame, warmup_s: float, start: str,
                 figures) -> pd.DataFrame:
    """The summary split by ``warmup_s``: ``figures(window, label, length)`` gives a row's
    window's ``(request figures, clipped, deadlines missed, met)`` (None: not counted)."""
    parts = []
    for window in ("measured", "warmup"):
        rows = []
        for _, row in full.iterrows():
            name = row["tenant"]
            r = row.to_dict()
            # throughput over the window's own length: the row's period (a tenant's own
            # billing period) after the warm-up, or the warm-up itself; SLO attainment of a
            # row without its own SLO (an aggregate's): each request against its tenant's
            length = row["period_s"] - warmup_s if window == "measured" else warmup_s
            stats, clipped, missed, met = figures(window, name, length)
            r.update({k: stats[k] for k in WINDOWED})
            if clipped is not None:  # the window's own (was the whole run's)
                r["clipped"] = clipped
            if missed is not None:
                r["deadline_missed"] = missed
                if name in workload.deadlines:  # of its decided deadlines, the share met
                    n = met + missed
                    r["slo_attainment"] = met / n if n else float("nan")
            rows.append(r)
        part = pd.DataFrame(rows, columns=full.columns).assign(window=window)
        if window == "warmup":  # (setup, tenant) stays a key of the summary
            part["tenant"] = part["tenant"] + WARMUP_SUFFIX
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.assign(warmup_s=float(warmup_s), start=start)


class WindowFold:
    """:func:`apply_window`'s figures as an accumulator of :func:`~sim.metrics.rows.walk`:
    per row label (:meth:`label`) and window, a :class:`~sim.metrics.rows.RowFold` of every
    figure and its clipped and deadline counts, fed each block (``add(a, b)``); :meth:`frame`
    splits the finished summary."""

    def __init__(self, workload, run, warmup_s: float, store=ExactValues):
        self.workload, self.run, self.warmup_s, self.store = workload, run, warmup_s, store
        self.cols = RequestColumns(workload, run.log)
        self.rows: dict = {}  # (window, label) -> [fold, pick, clipped, missed, met]

    def label(self, name: str) -> None:
        wl = self.workload
        tslo = None if is_aggregate(name) else wl.slo_ttft_s.get(name)
        own = (tenant_slos(wl), sorted(wl.batch_tenant_ids())) if tslo is None else None
        for window in ("measured", "warmup"):
            pick = _window_of(wl, self.run.log, name, self.warmup_s, window == "warmup")
            self.rows[(window, name)] = [RowFold(tslo, own, store=self.store), pick, 0, 0, 0]

    def add(self, a: int, b: int) -> None:
        wl = self.workload
        cols = self.cols.block(a, b)
        dl = deadline_outcomes(wl, self.run, a, b)
        moved = wl.changed_req[a:b] if wl.changed_req is not None else None
        for st in self.rows.values():
            sel = st[1](a, b)
            st[0].add(cols, sel)
            if moved is not None:
                st[2] += int(np.count_nonzero(moved[sel]))
            if dl is not None:
                st[3] += int(np.count_nonzero(dl[0][sel]))
                st[4] += int(np.count_nonzero(dl[1][sel]))

    def frame(self, full: pd.DataFrame, start: str) -> pd.DataFrame:
        wl = self.workload

        def figures(window, name, length):
            fold, _, clipped, missed, met = self.rows.pop((window, name))
            stats = fold.finish()
            stats["throughput_tok_s"] = (stats["output_tokens"] / length if length > 0
                                         else math.nan)
            return (stats, clipped if wl.changed_req is not None else None,
                    *((missed, met) if wl.deadlines else (None, None)))
        return window_frame(wl, full, self.warmup_s, start, figures)


def _window_of(workload, log, name: str, warmup_s: float, early: bool):
    """A row's requests in one window, as a function of a block ``(a, b)``: those arriving
    before ``warmup_s`` (``early``) or at or after it. A closed loop's request never sent
    (arrival NaN, reason never_sent: sim/metrics/unsent.py) is in neither (until December
    2026 it counted as measured, and a loop cut by ``drain_s=0`` filled the measured rows
    with requests that never arrived); so is a pipeline stage never sent (upstream_failed)."""
    def pick(a: int, b: int) -> np.ndarray:
        sel = row_selection(workload, log, name, a, b)
        t = log.arrival_s[a:b]
        return sel & (t < warmup_s) if early else sel & (t >= warmup_s)
    return pick


def _count(flags: np.ndarray, pick, block: int) -> int:
    """How many of the requests ``pick`` selects ``flags`` marks, folded over blocks."""
    return sum(int(np.count_nonzero(flags[a:b][pick(a, b)])) for a, b in spans(len(flags), block))
