"""Replica lives and platform events, as tables for the timeline figure.

Two sources, both plain values turned into one frame at the end of a run:

* the usage ledger: each :class:`~sim.records.UsageRow` is one replica's life (up from
  ``start_s`` to ``end_s``, the first ``loading_s`` of it loading); written as
  ``replicas.csv``.
* an optional :class:`EventLog` a setup keeps for decisions the ledger does not show
  (scale-up and scale-down decisions, evictions, failures, spillover). A setup exposes it
  by returning ``{"events": log}`` from ``extra()``; the run writes it as ``events.csv`` and
  the timeline marks each event on its model's lane.
"""

from __future__ import annotations

import math

import pandas as pd

LEDGER_COLUMNS = ["setup", "row", "model", "gpu", "gpus", "tier", "billing", "start_s", "end_s",
                  "loading_s", "busy_s", "usd_per_gpu_hour", "cost_usd"]
EVENT_COLUMNS = ["setup", "t_s", "kind", "model", "replica", "value"]


def ledger_frame(runs) -> pd.DataFrame:
    rows = []
    for run in runs:
        for i, u in enumerate(run.ledger):
            rows.append((run.setup, i, u.model, u.gpu, u.gpus, u.tier, u.billing, u.start_s,
                         u.end_s, u.loading_s, min(u.busy_s, u.up_s), u.usd_per_gpu_hour,
                         u.cost_usd))
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


class EventLog:
    """Append-only columns ``(t_s, kind, model, replica, value)``; ``kind`` is a short verb
    such as ``scale_up``, ``scale_down``, ``evict``, ``fail``, ``recover``, ``spill``."""

    def __init__(self):
        self.t_s: list[float] = []
        self.kind: list[str] = []
        self.model: list[str] = []
        self.replica: list[int] = []
        self.value: list[float] = []

    def add(self, t_s: float, kind: str, model: str, replica: int = -1,
            value: float = math.nan) -> None:
        self.t_s.append(float(t_s))
        self.kind.append(kind)
        self.model.append(model)
        self.replica.append(int(replica))
        self.value.append(float(value))

    def __len__(self) -> int:
        return len(self.t_s)

    def frame(self, setup: str) -> pd.DataFrame:
        return pd.DataFrame({"setup": [setup] * len(self), "t_s": self.t_s, "kind": self.kind,
                             "model": self.model, "replica": self.replica, "value": self.value},
                            columns=EVENT_COLUMNS)
