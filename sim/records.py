"""Columnar per-request log and GPU usage ledger of one setup's run.

The log is preallocated numpy columns indexed by request id, written once when a request
ends: 38 bytes a request (arrival, admission, first-token and finish times, replica, tier,
outcome), 30 when the arrival times are the workload's, shared. The columns zero for most
requests (reason, retries, spills, cached tokens, preemptions) take memory only from their
first non-zero value, and cold-start waits and tiers only for the requests that waited
(:mod:`sim.logcols`); output tokens are checked as completions are written, not kept. Writing
an outcome twice raises :class:`~sim.errors.InvariantError` on the spot: every request
ends exactly once, as completed, rejected (with a reason) or failed (with a reason); one
turned away later than its arrival keeps that time too (``ends``, only for those).
"""

from __future__ import annotations

import math
from array import array
from collections import UserDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import InvariantError
from sim.kvstats import KvStats
from sim.logcols import Codes, SparseColumns, holding, is_zeros, zeros
from sim.logseal import SealableLog, mapped

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

OUTCOMES = ("pending", "completed", "rejected", "failed")
PENDING, COMPLETED, REJECTED, FAILED = range(4)

# tenant labels of the aggregate rows of summary.csv
ALL = "__all__"  # every user tenant of a setup
BACKGROUND = "__background__"  # the background tenants of a shared pool
MODEL_ROW = "__model__:"  # "__model__:<model>": the user tenants calling one model (a setup
# whose user tenants call more than one model has one such row per model)
TIER_ROW = "__tier__:"  # "__tier__:<tier>": the user requests a tier served (dedicated, burst,
# serverless; tool stages of pipelines excluded), when a setup's requests went to several
NO_TIER = "none"  # tier of a request turned away before any tier saw it: no ``__tier__`` row


def is_aggregate(tenant: str) -> bool:
    """Whether a summary row's ``tenant`` labels an aggregate (``__all__``, ``__background__``,
    ``__model__:<m>``, ``__tier__:<t>``) rather than a tenant."""
    return tenant.startswith("__")


class RequestLog(SealableLog):
    def __init__(self, n: int, arrival_s: np.ndarray | None = None,
                 want: np.ndarray | None = None, sealed: bool = False):
        """``arrival_s``: the arrival times, when the run sets none of them (no closed loop,
        no pipeline): shared, not copied (8 bytes a request); made read-only here. ``want``:
        the output tokens each request asked for, checked against what the engine emitted
        for each completion as it is written (:attr:`wrong_tokens`). ``sealed``: the log
        will be sealed in blocks (:meth:`seal_in_blocks`): its written columns are made in
        mapped pages now (zeros), not made whole first (29 bytes a request written at once)."""
        self.n = n
        if arrival_s is None:
            self.arrival_s = np.full(n, np.nan)
        else:
            self.arrival_s = arrival_s.view()
            self.arrival_s.flags.writeable = False
        if sealed:
            self.admit_s, self.first_s, self.finish_s = (mapped(n, np.float64) for _ in range(3))
            self.replica, self.tier = mapped(n, np.int32), mapped(n, np.int8)
        else:
            self.admit_s, self.first_s, self.finish_s = (np.full(n, np.nan) for _ in range(3))
            self.replica, self.tier = np.full(n, -1, np.int32), np.zeros(n, np.int8)
        # the outcome column over a bytearray, which completions test and write as Python ints
        # (no numpy scalar per request); _ended is that bytearray (a mapping once the log is
        # sealed in blocks: the same ints, its pages given back as blocks seal, sim/logseal.py)
        self._ended = bytearray(n)
        self.outcome = np.frombuffer(self._ended, np.int8)
        # columns zero for most requests take no memory until a non-zero value is written
        # (put, _set): a reason (rejected and failed requests), retries, the hybrid's spills;
        # prefix cache and preemption (sim/engine/kv.py), for completed requests
        self.reason = zeros(n, np.int8)
        self.attempts = zeros(n, np.int8)
        self.spilled = zeros(n, bool)  # hybrid: placed dedicated, served by the serverless pool
        self.cached = zeros(n, np.int32)  # prompt tokens found cached at first admission
        self.preempts = zeros(n, np.int16)
        self.preempt_s = zeros(n, np.float64)  # time preemptions cost it
        # cold-start waits and the storage tier loaded from: only the requests that waited
        self.colds = SparseColumns(n, cold_wait_s=np.float64, cold_tier=np.int8)
        self.ends = SparseColumns(n, end_s=np.float64)  # turned away after arriving: when
        # the engine's output tokens of a completion (``Request.gen``) are checked against
        # ``want`` when written: (request id, tokens emitted) of every mismatch
        # (sim/metrics/invariants.py reports them)
        self.want = want
        self.wrong_tokens: list[tuple[int, int]] = []
        self.tiers = Codes("dedicated", "serverless", "burst")
        self.reasons = Codes("")
        self.cold_tiers = Codes("")
        self.open = n  # requests not yet ended
        self._done: list = []  # completions not yet written to the columns (see flush)
        self._flush_at = 8192  # buffered completions written at once (fewer when sealing)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_ended"]
        return state

    def __setstate__(self, state: dict) -> None:
        """A copy (``copy.deepcopy``, pickling) gets its own bytearray under ``outcome``."""
        self.__dict__.update(state)
        self._ended = bytearray(np.ascontiguousarray(self.outcome, np.int8).tobytes())
        self.outcome = np.frombuffer(self._ended, np.int8)

    def _end(self, rid: int, outcome: int, reason: str = "", tier: int = 0,
             at_s: float | None = None, req=None) -> None:
        """End ``rid``, counted for sealing once all is written (a block sealed before a
        failed request's reason was an InvariantError until December 2026)."""
        if self.outcome[rid] != PENDING:
            raise InvariantError(
                f"request {rid} ended twice: {OUTCOMES[self.outcome[rid]]} then {OUTCOMES[outcome]}")
        self.outcome[rid] = outcome
        self.open -= 1
        if outcome != COMPLETED:  # turned away by ``tier`` at ``at_s`` (None: its arrival)
            self.put("reason", rid, self.reasons.code(reason))
            self.tier[rid] = tier
            if at_s is not None and at_s > self.arrival_s[rid]:
                self.ends.write(rid, at_s)
        for name in ("attempts", "preempts", "preempt_s") if req is not None else ():
            self.put(name, rid, getattr(req, name))  # a failed request's, as a completion's
        self._note_ended(rid)

    def complete(self, req, tier: int) -> None:
        rid = req.id
        ended = self._ended
        if ended[rid] != PENDING:
            self._end(rid, COMPLETED)  # raises
        ended[rid] = COMPLETED
        self.open -= 1
        buf = self._done
        buf.append((rid, req.t_admit, req.t_first, req.t_done, req.replica, tier, req.attempts,
                    req.gen, req.cached, req.preempts, req.preempt_s))
        if len(buf) >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        """Write buffered completions into the columns (vectorised: cheaper per request);
        a log sealed in blocks then seals those complete (:mod:`sim.logseal`)."""
        self._seal_step(self._write_done() if self._done else None)

    def _write_done(self) -> np.ndarray:
        buf = self._done
        n = len(buf)
        # one typed column per field (np.fromiter: no dtype discovery per element)
        rid, adm, first, done, rep, tier, att, gen, cached, pre, pre_s = (
            np.fromiter(col, np.float64 if k in (1, 2, 3, 10) else np.int64, n)
            for k, col in enumerate(zip(*buf)))
        ids = rid
        self.admit_s[ids] = adm
        self.first_s[ids] = first
        self.finish_s[ids] = done
        self.replica[ids] = rep
        self.tier[ids] = tier
        self._set("attempts", ids, att)
        if self.want is not None:
            wrong = np.flatnonzero(gen != self.want[ids])
            self.wrong_tokens.extend(zip(ids[wrong].tolist(), gen[wrong].tolist()))
        self._set("cached", ids, cached)
        self._set("preempts", ids, pre)
        self._set("preempt_s", ids, pre_s)
        buf.clear()
        return ids

    def _set(self, name: str, ids: np.ndarray, values: np.ndarray) -> None:
        """Write ``values`` at ``ids`` in a column made by :func:`zeros`, giving it its memory
        at the first non-zero value."""
        col = getattr(self, name)
        if is_zeros(col):
            if not values.any():
                return
            col = self._new_col(col.dtype)
        setattr(self, name, col := holding(col, values))
        col[ids] = values

    def put(self, name: str, rid: int, value) -> None:
        """Write one request's value in a column that may still be :func:`zeros`."""
        col = getattr(self, name)
        if is_zeros(col):
            if not value:
                return
            col = self._new_col(col.dtype)
        setattr(self, name, col := holding(col, value))
        col[rid] = value

    def reject(self, rid: int, reason: str, tier: int = 0, at_s: float | None = None, req=None) -> None:
        self._end(rid, REJECTED, reason, tier, at_s, req)  # req: its attempts, as fail's

    def fail(self, rid: int, reason: str, tier: int, at_s: float, req=None) -> None:
        """``tier``: the tier that held it (NO_TIER's code if none did); ``at_s``: when;
        ``req``: the request, whose preemptions are kept as a completion's are (until
        December 2026 a failed or unfinished request's were dropped, so the summary's
        preemptions fell short of the replicas' own counts)."""
        self._end(rid, FAILED, reason, tier, at_s, req)

    def cold(self, rid: int, wait_s: float, storage_tier: str) -> None:
        """Record that the request waited ``wait_s`` for a replica loading from a tier."""
        self.colds.write(rid, wait_s, self.cold_tiers.code(storage_tier))

    @property
    def cold_wait_s(self) -> np.ndarray:
        """Every request's cold-start wait (0 if none), built anew at each read: read a part
        with :meth:`cold_wait_at`."""
        return self.colds.dense("cold_wait_s")

    @property
    def cold_tier(self) -> np.ndarray:
        """Every request's cold-start storage tier code (0: none), built anew at each read."""
        return self.colds.dense("cold_tier")

    def cold_wait_at(self, rows) -> np.ndarray:
        """Cold-start waits at ``rows`` (None, a slice, a mask or ids)."""
        return self.colds.at("cold_wait_s", rows)

    def cold_tier_at(self, rows) -> np.ndarray:
        return self.colds.at("cold_tier", rows)


@dataclass(slots=True)
class UsageRow:
    """One replica's life: what it ran on, when it was up, how busy, how it is billed."""

    model: str
    gpu: str
    gpus: int
    tier: str  # dedicated | serverless | burst ...
    start_s: float
    end_s: float
    busy_s: float
    billing: str  # gpu_hour | gpu_second | per_token (the GPU time is the provider's)
    usd_per_gpu_hour: float
    loading_s: float = 0.0  # part of [start, end) spent loading (cold start)
    min_increment_s: float = 0.0  # gpu_second billing: each bill is at least this long
    down_s: float = 0.0  # part of [start, end) the replica was failed (billed, not serving)
    # per_token billing: batch-tier tenants' requests pay the list prices times this
    batch_price_factor: float = 1.0
    kv: KvStats = field(default_factory=KvStats)

    @property
    def up_s(self) -> float:
        return max(self.end_s - self.start_s, 0.0)

    @property
    def billed_s(self) -> float:
        """Seconds a gpu_second row is billed: its up time, at least ``min_increment_s``."""
        return max(self.up_s, self.min_increment_s) if self.up_s > 0 else 0.0

    @property
    def cost_usd(self) -> float:
        if self.billing == "per_token":
            return 0.0  # billed per request, see sim.metrics.cost
        return self.billed_s * self.gpus * self.usd_per_gpu_hour / 3600.0


class Unbuilt:
    """Rows that build their frame only when asked (:class:`sim.metrics.requests.RequestRows`)."""

    def frame(self) -> pd.DataFrame:  # pragma: no cover - every subclass has its own
        raise NotImplementedError


class _BuiltOnRead:
    """A field that may be given an :class:`Unbuilt` instead of the frame: the frame is built
    on first read, so a job that only writes its files (row group by row group) never holds
    it; :meth:`Result.unbuilt` hands the rows to that writer."""

    def __set_name__(self, owner, name):
        self.slot = "_" + name

    def __get__(self, obj, owner=None):
        if obj is None:  # no default (the dataclass asks the class)
            raise AttributeError(self.slot[1:])
        value = getattr(obj, self.slot)
        if isinstance(value, Unbuilt):
            value = value.frame()
            setattr(obj, self.slot, value)
        return value

    def __set__(self, obj, value):
        setattr(obj, self.slot, value)


class Tables(UserDict):
    """A job's tables, name -> frame, where a value may be an :class:`Unbuilt` (a long run's
    replica lives and events): it is built on first read and kept. Writers that go a block
    of rows at a time ask :meth:`unbuilt` first, and :meth:`rows` counts without building,
    so a job that only writes its files never holds those frames whole."""

    def __getitem__(self, name):
        value = self.data[name]
        if isinstance(value, Unbuilt):
            value = self.data[name] = value.frame()
        return value

    def unbuilt(self, name):
        """The table's rows if not built yet, else None."""
        value = self.data[name]
        return value if isinstance(value, Unbuilt) else None

    def rows(self, name) -> int:
        return len(self.data[name])


@dataclass
class Result:
    """What a job returns: the summary and per-request frames, its own tables, the figure
    files it wrote and the notes for its report. ``requests`` may be given as its rows not
    yet built (:class:`_BuiltOnRead`)."""

    summary: pd.DataFrame
    requests: pd.DataFrame = _BuiltOnRead()
    tables: Tables = field(default_factory=Tables)  # job-specific tables, name -> frame
    figures: list = field(default_factory=list)  # files written, relative to out_dir
    out_dir: str | None = None
    notes: list = field(default_factory=list)  # warnings and findings for the report
    # tables shown in full in report.md and on the console however long (name -> the columns)
    full_tables: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.tables, Tables):
            self.tables = Tables(self.tables)

    def unbuilt(self):
        """The per-request rows if not built yet, else None."""
        value = self._requests
        return value if isinstance(value, Unbuilt) else None


@dataclass
class SetupRun:
    """One setup's run over a workload: its request log, GPU ledger and extras."""

    setup: str
    log: RequestLog
    ledger: list
    t_end: float  # when the last request ended (>= horizon)
    period_s: float  # billing period: [0, max(horizon, t_end)]
    extra: dict
    # whether this setup served the workload's background tenants (a shared pool); if not,
    # their requests were never submitted and the log holds them as pending, outside the run
    background: bool = False
    pipelines: object = None  # the pipeline driver of a workload with pipelines
    folded: object = None  # what folded its log's blocks as they were sealed (simulate's fold)


class EventLog:
    """Platform decisions the ledger does not show, as append-only columns ``(t_s, kind,
    model, replica, value)``: ``kind`` is a short verb (``scale_up``, ``evict``,
    ``keepalive_stop``, ``fail``, ``recover`` ...). A setup returns its log as
    ``extra()["events"]``; the run writes ``events.csv`` and the timeline marks each event
    on its model's lane."""

    def __init__(self):
        # every column in a typed array (a long serverless run logs an event per ~25
        # requests): times, replicas and values 8 bytes an event, not a number object and a
        # pointer; kinds and models 4-byte codes into one list of names (a pointer each was
        # 16 bytes an event; 210,000 events in the 48-hour platform benchmark)
        self.t_s = array("d")
        self.names = Codes()
        self.kind_code = array("I")
        self.model_code = array("I")
        self.replica = array("q")
        self.value = array("d")

    def add(self, t_s: float, kind: str, model: str, replica: int = -1,
            value: float = math.nan) -> None:
        self.t_s.append(t_s)
        self.kind_code.append(self.names.code(kind))
        self.model_code.append(self.names.code(model))
        self.replica.append(int(replica))
        self.value.append(value)

    def __len__(self) -> int:
        return len(self.t_s)

    @property
    def kind(self) -> list[str]:
        return [self.names.names[c] for c in self.kind_code]

    @property
    def model(self) -> list[str]:
        return [self.names.names[c] for c in self.model_code]

    def text(self, codes: array) -> np.ndarray:
        """A code column as an object array of the (shared) names: 8 bytes an event."""
        return np.array(self.names.names, dtype=object)[np.frombuffer(codes, np.uint32)]

    def extend(self, other: "EventLog") -> None:
        recode = array("I", (self.names.code(n) for n in other.names.names))
        self.kind_code.extend(recode[c] for c in other.kind_code)
        self.model_code.extend(recode[c] for c in other.model_code)
        for mine, theirs in ((self.t_s, other.t_s), (self.replica, other.replica),
                             (self.value, other.value)):
            mine.extend(theirs)
