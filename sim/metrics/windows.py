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

from sim.metrics.rows import RequestColumns, row_stats, slo_met
from sim.metrics.summary import (
    attainment,
    deadline_attainment,
    deadline_outcomes,
    row_selection,
)
from sim.records import is_aggregate

WARMUP_SUFFIX = "@warmup"  # a warm-up row's tenant label: ``chat@warmup``, ``__all__@warmup``

# columns computed per window; every other column is the whole run's
WINDOWED = ("requests", "completed", "rejected", "failed", "ttft_p50_s", "ttft_p90_s", "ttft_p99_s",
            "ttft_p999_s", "ttft_mean_s", "tpot_p50_s", "tpot_p99_s", "e2e_p50_s", "e2e_p99_s",
            "cold_starts", "cold_start_wait_p99_s", "input_tokens", "output_tokens",
            "throughput_tok_s", "slo_attainment", "retries", "spilled", "cached_tokens",
            "cache_hit_rate", "preemptions")


def apply_window(workload, run, full: pd.DataFrame, warmup_s: float, start: str) -> pd.DataFrame:
    """``full``: one setup's summary over every request (:func:`~sim.metrics.summary.summarize`)."""
    if warmup_s <= 0:
        return full.assign(window="all", warmup_s=0.0, start=start)
    log = run.log
    cols = RequestColumns(workload, log)
    early = log.arrival_s < warmup_s  # NaN (never sent) counts as measured
    met = slo_met(workload, log)
    dl = deadline_outcomes(workload, run)
    parts = []
    for window, keep in (("measured", ~early), ("warmup", early)):
        rows = []
        for _, row in full.iterrows():
            name = row["tenant"]
            tslo = None if is_aggregate(name) else workload.slo_ttft_s.get(name)
            sel = row_selection(workload, log, name) & keep
            r = row.to_dict()
            # throughput over the window's own length: the row's period (a tenant's own
            # billing period) after the warm-up, or the warm-up itself
            length = row["period_s"] - warmup_s if window == "measured" else warmup_s
            stats = row_stats(run.setup, name, row["model"], sel, cols, tslo, length)
            if tslo is None:
                stats["slo_attainment"] = attainment(workload, met, sel)
            r.update({k: stats[k] for k in WINDOWED})
            if workload.changed_req is not None:  # the window's own (was the whole run's)
                r["clipped"] = int(np.count_nonzero(workload.changed_req[sel]))
            if dl is not None:
                r["deadline_missed"] = int(np.count_nonzero(dl[0][sel]))
                if name in workload.deadlines:
                    r["slo_attainment"] = deadline_attainment(workload, dl, name, sel)
            rows.append(r)
        part = pd.DataFrame(rows, columns=full.columns).assign(window=window)
        if window == "warmup":  # (setup, tenant) stays a key of the summary
            part["tenant"] = part["tenant"] + WARMUP_SUFFIX
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.assign(warmup_s=float(warmup_s), start=start)
