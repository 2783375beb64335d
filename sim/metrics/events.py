"""Replica lives as a table for the timeline figure: each :class:`~sim.records.UsageRow` of
the ledger is one replica's life (up from ``start_s`` to ``end_s``, the first ``loading_s``
of it loading), written as ``replicas.csv``. Platform decisions the ledger does not show are
in each setup's :class:`~sim.records.EventLog` (``events.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.load import LOAD_COLUMNS, load, mix_of
from sim.records import Unbuilt

LEDGER_COLUMNS = ["setup", "row", "model", "gpu", "gpus", "tier", "billing", "start_s", "end_s",
                  "loading_s", "busy_s", "usd_per_gpu_hour", "cost_usd", "prompt_tokens",
                  "cached_tokens", "cache_hit_rate", "evicted_tokens", "preemptions",
                  "output_tokens", *LOAD_COLUMNS]


# a ledger column's value for one row (its ``setup``, its row number ``i``, its UsageRow ``u``)
_FIELDS = {
    "setup": lambda setup, i, u: setup, "row": lambda setup, i, u: i,
    "model": lambda setup, i, u: u.model, "gpu": lambda setup, i, u: u.gpu,
    "gpus": lambda setup, i, u: u.gpus, "tier": lambda setup, i, u: u.tier,
    "billing": lambda setup, i, u: u.billing, "start_s": lambda setup, i, u: u.start_s,
    "end_s": lambda setup, i, u: u.end_s, "loading_s": lambda setup, i, u: u.loading_s,
    "busy_s": lambda setup, i, u: min(u.busy_s, u.up_s),
    "usd_per_gpu_hour": lambda setup, i, u: u.usd_per_gpu_hour,
    "cost_usd": lambda setup, i, u: u.cost_usd,
    "prompt_tokens": lambda setup, i, u: u.kv.prompt_tokens,
    "cached_tokens": lambda setup, i, u: u.kv.cached_tokens,
    "cache_hit_rate": lambda setup, i, u: (u.kv.cached_tokens / u.kv.prompt_tokens
                                         if u.kv.prompt_tokens else float("nan")),
    "evicted_tokens": lambda setup, i, u: u.kv.evicted_tokens,
    "preemptions": lambda setup, i, u: u.kv.preemptions,
    "output_tokens": lambda setup, i, u: u.kv.served_out,
}
_TEXT = ("setup", "model", "gpu", "tier", "billing")


class LedgerRows(Unbuilt):
    """The replicas table (one row per :class:`~sim.records.UsageRow` of each run's ledger)
    not built until asked: ``frame()`` builds it whole, ``blocks(size)`` a block of rows at
    a time with the whole table's column types, for a writer that never holds it whole."""

    def __init__(self, runs):
        # the ledgers and their load mixes only (not the runs: their logs can go)
        self.parts = [(run.setup, run.ledger, mix_of(run.ledger)) for run in runs]
        self._types = None

    def __len__(self) -> int:
        return sum(len(ledger) for _, ledger, _ in self.parts)

    def _rows(self, lo: int, hi: int):
        """(setup, row number, row, load mix) of rows ``[lo, hi)`` across the runs."""
        k = 0
        for setup, ledger, mix in self.parts:
            for i in range(max(lo - k, 0), min(hi - k, len(ledger))):
                yield setup, i, ledger[i], mix
            k += len(ledger)

    def _block(self, lo: int, hi: int, types: dict | None) -> pd.DataFrame:
        # a column at a time, each number column an array as soon as it is made: a long
        # run's rows (25,650 replica lives in the 48-hour platform benchmark) never all
        # exist as Python objects at once
        rows = list(self._rows(lo, hi))
        cols = {}
        for c, get in _FIELDS.items():
            values = [get(setup, i, u) for setup, i, u, _ in rows]
            if c in _TEXT:
                cols[c] = values
            else:
                cols[c] = np.array(values) if types is None else np.array(values, types[c])
        figures = {c: np.empty(len(rows)) for c in LOAD_COLUMNS}
        for k, (_, _, u, mix) in enumerate(rows):
            for c, v in load([u], mix).items():
                figures[c][k] = v
        cols.update(figures)
        # copy=False: the columns are new arrays already (copied, they were consolidated into a
        # second block of the same size)
        return pd.DataFrame(cols, columns=LEDGER_COLUMNS, copy=False)

    def frame(self) -> pd.DataFrame:
        return self._block(0, len(self), None)

    def blocks(self, size: int):
        n = len(self)
        if self._types is None:  # what numpy makes of each whole column, its blocks' types met
            self._types = {}
            for lo in range(0, n, size):
                for c, t in self._block(lo, min(lo + size, n), None).dtypes.items():
                    if c not in _TEXT:
                        self._types[c] = np.result_type(self._types.get(c, t), t)
        for lo in range(0, n, size):
            yield self._block(lo, min(lo + size, n), self._types)


def ledger_frame(runs) -> pd.DataFrame:
    return LedgerRows(runs).frame()


EVENT_COLUMNS = ["setup", "t_s", "kind", "model", "replica", "value"]


class EventRows(Unbuilt):
    """Every run's :class:`~sim.records.EventLog` as the events table, not built until asked
    (``frame()`` whole, ``blocks(size)`` a block of rows at a time)."""

    def __init__(self, runs):
        self.logs = [(run.setup, run.extra["events"]) for run in runs
                     if run.extra.get("events") is not None and len(run.extra["events"])]

    def __len__(self) -> int:
        return sum(len(log) for _, log in self.logs)

    def _part(self, setup: str, log, lo: int, hi: int) -> pd.DataFrame:
        # the numbers are the log's own arrays, not copies (their buffers are shared)
        return pd.DataFrame({"setup": np.full(hi - lo, setup, dtype=object),
                             "t_s": np.frombuffer(log.t_s, np.float64)[lo:hi],
                             "kind": log.text(log.kind_code[lo:hi]),
                             "model": log.text(log.model_code[lo:hi]),
                             "replica": np.frombuffer(log.replica, np.int64)[lo:hi],
                             "value": np.frombuffer(log.value, np.float64)[lo:hi]},
                            columns=EVENT_COLUMNS, copy=False)

    def frame(self) -> pd.DataFrame:
        parts = [self._part(setup, log, 0, len(log)) for setup, log in self.logs]
        if len(parts) == 1:  # one setup with events (concat would copy every column again)
            return parts[0]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EVENT_COLUMNS)

    def blocks(self, size: int):
        for setup, log in self.logs:
            for lo in range(0, len(log), size):
                yield self._part(setup, log, lo, min(lo + size, len(log)))


def events_frame(runs) -> pd.DataFrame:
    """Every run's :class:`~sim.records.EventLog` as one frame (empty when none has events)."""
    return EventRows(runs).frame()
