"""The measurement window of a summary: ``metrics.warmup_s`` and ``serverless.start``.

Every summary row says which window it covers (column ``window``), the warm-up it excluded
(``warmup_s``) and how the run's shared pool started (``start``: ``cold`` or ``warm``;
``none`` for a setup without one). With ``warmup_s = 0`` every row has ``window = all``.
With ``warmup_s > 0`` each (setup, tenant) row, ``__all__`` and ``__background__`` included,
comes twice: ``measured`` (requests arriving at or after ``warmup_s``; the tenant's own
label, so every reader of ``__all__`` or a tenant's row reads the measured window) and
``warmup`` (those arriving before it; labelled ``<tenant>@warmup``, e.g. ``__all__@warmup``,
so (setup, tenant) stays a key). Request-level columns (counts, TTFT/TPOT/E2E percentiles, SLO
attainment, cold starts, tokens, throughput, ``clipped``) cover the row's window only
(throughput: its output tokens over the window's length, ``period_s - warmup_s`` or
``warmup_s``; ``clipped``: until December 2026 the whole run's count in both rows, so a
measured row could count more changed requests than it had); ``__all__``
is every user tenant's requests in that window. The bill does not split by arrival: cost, GPU
and utilisation columns of both rows are the whole run's, as without a warm-up (so
``cost_per_mtok_out_usd`` stays the run's bill over the run's tokens).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.rows import BLOCK, ExactValues, RequestColumns, row_stats, spans
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
    Each row's window is read in blocks of ``block`` request ids (no full-length mask), its
    figures' values kept in ``store``s (as ``full``'s were: exact, or a sketch)."""
    if warmup_s <= 0:
        return full.assign(window="all", warmup_s=0.0, start=start)
    log = run.log
    cols = RequestColumns(workload, log)
    dl = deadline_outcomes(workload, run)
    parts = []
    for window, early in (("measured", False), ("warmup", True)):
        rows = []
        for _, row in full.iterrows():
            name = row["tenant"]
            tslo = None if is_aggregate(name) else workload.slo_ttft_s.get(name)
            pick = _window_of(workload, log, name, warmup_s, early)
            r = row.to_dict()
            # throughput over the window's own length: the row's period (a tenant's own
            # billing period) after the warm-up, or the warm-up itself; SLO attainment of a
            # row without its own SLO (an aggregate's): each request against its tenant's
            length = row["period_s"] - warmup_s if window == "measured" else warmup_s
            stats = row_stats(run.setup, name, row["model"], pick, cols, tslo, length,
                              own_slo=tslo is None, block=block, store=store)
            r.update({k: stats[k] for k in WINDOWED})
            if workload.changed_req is not None:  # the window's own (was the whole run's)
                r["clipped"] = _count(workload.changed_req, pick, block)
            if dl is not None:
                r["deadline_missed"] = _count(dl[0], pick, block)
                if name in workload.deadlines:  # of its decided deadlines, the share met
                    met = _count(dl[1], pick, block)
                    n = met + r["deadline_missed"]
                    r["slo_attainment"] = met / n if n else float("nan")
            rows.append(r)
        part = pd.DataFrame(rows, columns=full.columns).assign(window=window)
        if window == "warmup":  # (setup, tenant) stays a key of the summary
            part["tenant"] = part["tenant"] + WARMUP_SUFFIX
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.assign(warmup_s=float(warmup_s), start=start)


def _window_of(workload, log, name: str, warmup_s: float, early: bool):
    """A row's requests in one window, as a function of a block ``(a, b)``: those arriving
    before ``warmup_s`` (``early``) or not (NaN, never sent, counts as measured)."""
    def pick(a: int, b: int) -> np.ndarray:
        sel = row_selection(workload, log, name, a, b)
        before = log.arrival_s[a:b] < warmup_s
        return sel & before if early else sel & ~before
    return pick


def _count(flags: np.ndarray, pick, block: int) -> int:
    """How many of the requests ``pick`` selects ``flags`` marks, folded over blocks."""
    return sum(int(np.count_nonzero(flags[a:b][pick(a, b)])) for a, b in spans(len(flags), block))
