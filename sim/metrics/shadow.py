"""The hybrid setup's shadow traffic as a table: per tenant, the mirrored copies' TTFT on the
serverless pool against the TTFT the same requests got where they were served."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.quantiles import percentile
from sim.records import COMPLETED

SHADOW_COLUMNS = ["tenant", "shadows", "completed", "rejected", "unfinished", "cold_starts",
                  "shadow_ttft_p50_s", "shadow_ttft_p99_s", "served_ttft_p50_s", "served_ttft_p99_s"]


def shadow_table(shadows: list, log, tenant_names: list[str]) -> pd.DataFrame:
    """``shadows``: one row per copy, [original id, tenant index, arrival, first token,
    done, outcome, cold-start wait]; ``log``: the run's request log."""
    by_tenant: dict[int, list] = {}
    for r in shadows:
        by_tenant.setdefault(r[1], []).append(r)
    rows = []
    for ti in sorted(by_tenant):
        rs = by_tenant[ti]
        done = [r for r in rs if r[5] == "completed"]
        shadow = [r[3] - r[2] for r in done]
        ids = np.array([r[0] for r in done], np.int64)
        ok = log.outcome[ids] == COMPLETED if ids.size else np.zeros(0, bool)
        served = (log.first_s[ids] - log.arrival_s[ids])[ok] if ids.size else []
        rows.append({
            "tenant": tenant_names[ti] if ti < len(tenant_names) else str(ti), "shadows": len(rs),
            "completed": len(done),
            "rejected": sum(1 for r in rs if r[5].startswith("rejected")),
            "unfinished": sum(1 for r in rs if r[5] == "pending"),
            "cold_starts": sum(1 for r in rs if r[6] > 0),
            "shadow_ttft_p50_s": percentile(shadow, 50), "shadow_ttft_p99_s": percentile(shadow, 99),
            "served_ttft_p50_s": percentile(served, 50), "served_ttft_p99_s": percentile(served, 99),
        })
    return pd.DataFrame(rows, columns=SHADOW_COLUMNS)
