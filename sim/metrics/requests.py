"""The per-request rows of a job's runs (the ``requests.parquet`` contract), whole or a block
of rows at a time.

:func:`requests_frame` is one setup's run as a frame. :class:`RequestRows` stands for the
rows a job keeps of its runs (:func:`kept_rows`) without building them: :meth:`~RequestRows.frame`
builds the frame a job returns (``Result.requests``, on first read), :meth:`~RequestRows.blocks`
yields the same rows a block at a time, every block with the whole frame's dtypes, so
``requests.parquet`` is written from the log's and the workload's columns one row group at a
time (sim/io.py) and a run that only writes its files never holds the frame's derived
columns (request id, TTFT, TPOT, E2E and the categorical codes: about 45 bytes a request)
nor an Arrow copy of it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.metrics.pipelines import stage_columns
from sim.records import OUTCOMES, Unbuilt, is_zeros


def requests_frame(workload, run, rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per request of one setup's run (the requests.parquet contract); ``rows``:
    only these request ids (ascending), e.g. a sample (:func:`kept_rows`)."""
    return _frame(workload, run, offered_ids(workload, run, rows))


def offered_ids(workload, run, rows: np.ndarray | None) -> np.ndarray | None:
    """The ids of ``rows`` (None: every request) that the setup was offered: a setup that did
    not serve the background tenants never saw their requests."""
    if workload.background_tenants and not run.background:
        user = np.flatnonzero(workload.user_mask())
        return user if rows is None else np.intersect1d(rows, user, assume_unique=True)
    return rows


def _frame(workload, run, rows, stages: dict | None = None) -> pd.DataFrame:
    """The frame of ``rows``: None (every request), ascending ids, or a slice of ids (whose
    columns are then views of the log's). ``stages``: :func:`stage_columns` of a workload
    with pipelines, when already computed."""
    log = run.log

    def col(a):
        a = a if rows is None else a[rows]
        return np.zeros(a.size, a.dtype) if is_zeros(a) else a  # a never-written log column

    arrival = col(log.arrival_s)
    first, finish = col(log.first_s), col(log.finish_s)
    out = col(workload.output_tokens)
    n = out.size
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(out > 1, (finish - first) / (out - 1), np.nan)

    def cat(codes, names):
        return pd.Categorical.from_codes(col(codes).astype(np.int16), categories=list(names))

    if rows is None:
        ids = np.arange(log.n, dtype=np.int64)
    elif isinstance(rows, slice):
        ids = np.arange(rows.start, rows.stop, dtype=np.int64)
    else:
        ids = rows.astype(np.int64)
    df = pd.DataFrame({
        "request_id": ids,
        "setup": pd.Categorical.from_codes(np.zeros(n, np.int8), categories=[run.setup]),
        "tenant": cat(workload.tenant, workload.tenants),
        "model": cat(workload.model, workload.models),
        "tier": cat(log.tier, log.tiers.names),
        "replica": col(log.replica),
        "arrival_s": arrival,
        "admit_s": col(log.admit_s),
        "first_token_s": first,
        "finish_s": finish,
        "input_tokens": col(workload.input_tokens),
        "output_tokens": out,
        "ttft_s": first - arrival,
        "tpot_s": tpot,
        "e2e_s": finish - arrival,
        "cold_start_wait_s": log.cold_wait_at(rows),
        "cold_start_tier": pd.Categorical.from_codes(log.cold_tier_at(rows).astype(np.int16),
                                                     categories=list(log.cold_tiers.names)),
        "attempts": col(log.attempts),
        "outcome": cat(log.outcome, OUTCOMES),
        "reason": cat(log.reason, log.reasons.names),
        "spilled": col(log.spilled),
        "cached_tokens": col(log.cached),
        "preemptions": col(log.preempts),
        "preempt_s": col(log.preempt_s),
    }, copy=False)  # the log's columns are final: share them, do not copy
    if workload.pipelines is not None:  # stage requests of pipeline requests (sim.simulation.pipeline)
        for k, v in (stages or stage_columns(workload)).items():
            df[k] = col(v)
    return df


def kept_rows(n: int, mode: str, fraction: float) -> np.ndarray | None:
    """The request ids a run keeps per request (``output.requests``): all (None), a sample
    or none. The sample is deterministic by request id alone (a multiplicative hash, so it
    is the same for every setup, seed and engine of a workload, and spread over the run):
    id ``i`` is kept when ``(i * 2654435761) mod 2**32 < fraction * 2**32``."""
    if mode == "full":
        return None
    if mode == "none" or fraction <= 0:
        return np.zeros(0, np.int64)
    ids = np.arange(n, dtype=np.uint64)
    h = (ids * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)
    # h < x for an integer h is h < ceil(x): the rule exactly (int() floored it, so a
    # fraction under 2**-32 kept no request, not id 0, and no requests.parquet was written)
    return np.flatnonzero(h < np.uint64(min(math.ceil(fraction * 2 ** 32), 2 ** 32)))


class RequestRows(Unbuilt):
    """The rows a job keeps of its runs, in run order, not built until asked for.

    ``parts``: ``(workload, run, rows)`` per run, ``rows`` as :func:`kept_rows` gives them
    (None: every request the setup was offered). ``frame()`` is the concatenation of the
    runs' frames; ``blocks(size)`` is that frame cut every ``size`` rows, built block by
    block."""

    def __init__(self, parts):
        self._parts = []  # (workload, run, ids or None, rows, stage columns or None)
        self._first = None  # a run to take the columns from when no run kept a row
        self.offered = 0  # the rows every request would make (the total a sample is of)
        for wl, run, rows in parts:
            every = offered_ids(wl, run, None)
            self.offered += run.log.n if every is None else every.size
            ids = offered_ids(wl, run, rows)
            n = run.log.n if ids is None else ids.size
            self._first = self._first or (wl, run)
            if n:
                self._parts.append((wl, run, ids, n, None))

    def __len__(self) -> int:
        return sum(p[3] for p in self._parts)

    def frame(self) -> pd.DataFrame:
        frames = [_frame(wl, run, ids) for wl, run, ids, _, _ in self._parts]
        if not frames:  # no request (or none kept): no rows, but the columns all the same
            return pd.DataFrame() if self._first is None else _frame(*self._first, np.zeros(0, np.int64))
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def _rows(self, k: int, a: int, b: int) -> pd.DataFrame:
        """Rows ``[a, b)`` of part ``k``."""
        wl, run, ids, n, stages = self._parts[k]
        if wl.pipelines is not None and stages is None:  # once per run, not per block
            stages = stage_columns(wl)
            self._parts[k] = (wl, run, ids, n, stages)
        return _frame(wl, run, slice(a, b) if ids is None else ids[a:b], stages)

    def empty(self) -> pd.DataFrame:
        """No rows, the columns and dtypes of ``frame()`` (those of concatenating the runs'
        frames: a categorical whose categories differ between runs becomes strings)."""
        heads = [self._rows(k, 0, 1) for k in range(len(self._parts))]
        if not heads:
            return pd.DataFrame()
        return (heads[0] if len(heads) == 1 else pd.concat(heads, ignore_index=True)).iloc[:0]

    def blocks(self, size: int):
        """``frame()`` ``size`` rows at a time (the last block shorter), each built on its own
        with ``frame()``'s dtypes."""
        dtypes = self.empty().dtypes
        k = a = 0
        total = len(self)
        for start in range(0, total, size):
            pieces, need = [], min(size, total - start)
            while need:
                n = self._parts[k][3]
                b = min(n, a + need)
                pieces.append(self._rows(k, a, b))
                need -= b - a
                k, a = (k + 1, 0) if b == n else (k, b)
            block = pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)
            for c, dt in dtypes.items():
                if block[c].dtype != dt:
                    block[c] = block[c].astype(dt)
            yield block
