"""Replica lives as a table for the timeline figure: each :class:`~sim.records.UsageRow` of
the ledger is one replica's life (up from ``start_s`` to ``end_s``, the first ``loading_s``
of it loading), written as ``replicas.csv``. Platform decisions the ledger does not show are
in each setup's :class:`~sim.records.EventLog` (``events.csv``)."""

from __future__ import annotations

import pandas as pd

from sim.metrics.load import LOAD_COLUMNS, load, mix_of

LEDGER_COLUMNS = ["setup", "row", "model", "gpu", "gpus", "tier", "billing", "start_s", "end_s",
                  "loading_s", "busy_s", "usd_per_gpu_hour", "cost_usd", "prompt_tokens",
                  "cached_tokens", "cache_hit_rate", "evicted_tokens", "preemptions",
                  "output_tokens", *LOAD_COLUMNS]


def ledger_frame(runs) -> pd.DataFrame:
    rows = []
    for run in runs:
        mix = mix_of(run.ledger)
        for i, u in enumerate(run.ledger):
            k = u.kv
            figures = load([u], mix)
            rows.append((run.setup, i, u.model, u.gpu, u.gpus, u.tier, u.billing, u.start_s,
                         u.end_s, u.loading_s, min(u.busy_s, u.up_s), u.usd_per_gpu_hour,
                         u.cost_usd, k.prompt_tokens, k.cached_tokens,
                         k.cached_tokens / k.prompt_tokens if k.prompt_tokens else float("nan"),
                         k.evicted_tokens, k.preemptions, k.served_out,
                         *(figures[c] for c in LOAD_COLUMNS)))
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


EVENT_COLUMNS = ["setup", "t_s", "kind", "model", "replica", "value"]


def events_frame(runs) -> pd.DataFrame:
    """Every run's :class:`~sim.records.EventLog` as one frame (empty when none has events)."""
    parts = []
    for run in runs:
        log = run.extra.get("events")
        if log is not None and len(log):
            parts.append(pd.DataFrame({"setup": [run.setup] * len(log), "t_s": log.t_s,
                                       "kind": log.kind, "model": log.model,
                                       "replica": log.replica, "value": log.value},
                                      columns=EVENT_COLUMNS))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EVENT_COLUMNS)
