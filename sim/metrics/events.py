"""Replica lives as a table for the timeline figure: each :class:`~sim.records.UsageRow` of
the ledger is one replica's life (up from ``start_s`` to ``end_s``, the first ``loading_s``
of it loading), written as ``replicas.csv``. Platform decisions the ledger does not show are
in each setup's :class:`~sim.records.EventLog` (``events.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.load import LOAD_COLUMNS, load, mix_of

LEDGER_COLUMNS = ["setup", "row", "model", "gpu", "gpus", "tier", "billing", "start_s", "end_s",
                  "loading_s", "busy_s", "usd_per_gpu_hour", "cost_usd", "prompt_tokens",
                  "cached_tokens", "cache_hit_rate", "evicted_tokens", "preemptions",
                  "output_tokens", *LOAD_COLUMNS]


# a ledger column's value for one row (``run``, its row number ``i``, its UsageRow ``u``)
_FIELDS = {
    "setup": lambda run, i, u: run.setup, "row": lambda run, i, u: i,
    "model": lambda run, i, u: u.model, "gpu": lambda run, i, u: u.gpu,
    "gpus": lambda run, i, u: u.gpus, "tier": lambda run, i, u: u.tier,
    "billing": lambda run, i, u: u.billing, "start_s": lambda run, i, u: u.start_s,
    "end_s": lambda run, i, u: u.end_s, "loading_s": lambda run, i, u: u.loading_s,
    "busy_s": lambda run, i, u: min(u.busy_s, u.up_s),
    "usd_per_gpu_hour": lambda run, i, u: u.usd_per_gpu_hour,
    "cost_usd": lambda run, i, u: u.cost_usd,
    "prompt_tokens": lambda run, i, u: u.kv.prompt_tokens,
    "cached_tokens": lambda run, i, u: u.kv.cached_tokens,
    "cache_hit_rate": lambda run, i, u: (u.kv.cached_tokens / u.kv.prompt_tokens
                                         if u.kv.prompt_tokens else float("nan")),
    "evicted_tokens": lambda run, i, u: u.kv.evicted_tokens,
    "preemptions": lambda run, i, u: u.kv.preemptions,
    "output_tokens": lambda run, i, u: u.kv.served_out,
}
_TEXT = ("setup", "model", "gpu", "tier", "billing")


def ledger_frame(runs) -> pd.DataFrame:
    # built a column at a time, each number column an array as soon as it is made: a long
    # run's rows (12,785 replica lives in the 24-hour platform benchmark) never all exist
    # as Python objects at once (a tuple of 30 a row lifted the job's peak memory)
    rows = [(run, i, u) for run in runs for i, u in enumerate(run.ledger)]
    cols = {}
    for c, get in _FIELDS.items():
        values = [get(*r) for r in rows]
        cols[c] = values if c in _TEXT else np.array(values)
    figures = {c: np.empty(len(rows)) for c in LOAD_COLUMNS}
    k = 0
    for run in runs:
        mix = mix_of(run.ledger)
        for u in run.ledger:
            for c, v in load([u], mix).items():
                figures[c][k] = v
            k += 1
    cols.update(figures)
    # copy=False: the columns are new arrays already (copied, they were consolidated into a
    # second block of the same size)
    return pd.DataFrame(cols, columns=LEDGER_COLUMNS, copy=False)


EVENT_COLUMNS = ["setup", "t_s", "kind", "model", "replica", "value"]


def events_frame(runs) -> pd.DataFrame:
    """Every run's :class:`~sim.records.EventLog` as one frame (empty when none has events)."""
    parts = []
    for run in runs:
        log = run.extra.get("events")
        if log is not None and len(log):
            parts.append(pd.DataFrame({"setup": [run.setup] * len(log),
                                       "t_s": np.array(log.t_s, np.float64),
                                       "kind": log.kind, "model": log.model,
                                       "replica": np.array(log.replica, np.int64),
                                       "value": np.array(log.value, np.float64)},
                                      columns=EVENT_COLUMNS, copy=False))
    if len(parts) == 1:  # one setup with events (concat would copy every column again)
        return parts[0]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EVENT_COLUMNS)
