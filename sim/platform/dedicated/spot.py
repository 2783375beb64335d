"""Spot replicas of a dedicated pool: a cheaper price, and the cloud takes them back.

``dedicated.spot.replicas.<model>`` of a model's ``dedicated.replicas`` are spot instances.
They are warm from t=0 like the others and serve from the same queue, but:

* each instance has its own ledger row in tier ``spot``, billed per GPU-second at the GPU
  class's ``spot_usd_per_hour``; requests a spot replica completes are logged in tier
  ``spot``;
* the cloud reclaims them. The times come from a :class:`~.failures.FailurePlan` per spot
  replica (the machinery of replica failures, reused): ``rate``, exponential times while
  the replica is up with mean ``1 / (per_gpu_hour x tp)`` hours, one named random stream
  per replica (``spot/<model>/<i>``); ``trace``, the reclaims listed in a CSV file
  (:func:`read_preemption_trace`; a reclaim listed while the replica is away happens when
  its replacement is up, as a scripted failure does, and the run's notes say so);
* at the notice the replica stops admitting (a per-replica queue is routed again) and
  finishes what it can; ``notice_s`` later it is gone: its ledger row ends, and the
  requests it still held go back to the head of the queue for another replica, counted in
  ``attempts``, and fail with reason ``spot_preemption`` after ``failures.max_attempts``
  tries (:meth:`DedicatedSetup._interrupt`, shared with failures);
* with ``replacement``, a new spot instance is requested at the reclaim (at the notice
  with ``replace_at_notice``, loading while the old one drains): its ledger row starts then
  and it is billed while it loads through the cold-start stages
  (:mod:`sim.platform.coldstart`: node, container, weights from ``storage_tier``, engine
  init); it serves once they are done, and can be reclaimed in turn (its reclaim clock
  starts when it serves, or at the old one's reclaim if it was up before).

:class:`SpotFleet` holds the instances and offers the ``notice``/``reclaim``/``recover``
callbacks a :class:`~.failures.FailureDriver` calls.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import InputError
from sim.paths import resolve
from sim.platform.dedicated.failures import FailureDriver, FailurePlan
from sim.records import UsageRow
from sim.textfiles import read_text

HEADER = ["time_s", "model", "replica"]
MAX_TIME_S = 1e12  # as every duration of the config (sim/config/rules.py)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", re.ASCII)


@dataclass(frozen=True)
class Preemption:
    time_s: float
    model: str
    replica: int
    line: int


def read_preemption_trace(path: str) -> list[Preemption]:
    """The reclaims of a CSV file with the header ``time_s,model,replica``; every value
    checked, errors naming ``file:line``. Blank lines are skipped."""
    p = Path(path)
    text = read_text(p, "preemption trace")
    # lines end at LF, CRLF or CR only (str.splitlines also broke a row at U+2028), and a
    # number is written in ASCII digits (float() and int() also took "1_0" and "١٢")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]
    except csv.Error as e:
        raise InputError(f"not a CSV row ({e})", path=str(p), line=reader.line_num) from None
    if not rows:
        raise InputError("empty preemption trace", path=str(p), line=1)
    header = [c.strip() for c in rows[0][1]]
    if header != HEADER:
        raise InputError(f"the header must be {','.join(HEADER)}, got {','.join(header)}",
                         path=str(p), line=rows[0][0])
    out = []
    for i, r in rows[1:]:
        if len(r) != 3:
            raise InputError(f"expected 3 fields, found {len(r)}", path=str(p), line=i)
        t_raw, model, rep_raw = (c.strip() for c in r)
        t = float(t_raw) if _NUMBER.fullmatch(t_raw) else math.nan
        if not (math.isfinite(t) and 0.0 <= t <= MAX_TIME_S):
            raise InputError(f"time_s must be a number of seconds in [0, {MAX_TIME_S:g}], got "
                             f"{t_raw!r}", path=str(p), line=i)
        if not model:
            raise InputError("model is empty", path=str(p), line=i)
        if not re.fullmatch(r"[0-9]+", rep_raw) or int(rep_raw) > 2**31 - 1:
            raise InputError(f"replica must be an integer >= 0, got {rep_raw!r}", path=str(p), line=i)
        if out and t < out[-1].time_s:
            # a recording is in time order, as an arrival trace must be (taken in time order
            # unsaid before December 2026)
            raise InputError(f"time_s goes backwards: {t_raw} after {out[-1].time_s:g} on line "
                             f"{out[-1].line}; list the reclaims in time order", path=str(p), line=i)
        out.append(Preemption(t, model, int(rep_raw), i))
    if not out:
        raise InputError("preemption trace has a header but no preemptions", path=str(p), line=2)
    return out


@dataclass
class SpotInstance:
    """One spot instance's life: the ledger row it is billed on and its times."""

    row: UsageRow
    t_start: float
    t_warm: float | None = None
    t_notice: float | None = None
    t_reclaim: float | None = None
    rep: object = None
    served: int = 0  # requests it completed
    interrupted: int = 0  # requests it held at the reclaim
    ledger_i: int = -1  # its row's place in the ledger (replicas.csv's row, events.csv's replica)


@dataclass
class SpotSlot:
    """A spot replica position of a model's pool: one instance at a time."""

    pool: object
    index: int  # 0..spot.replicas.<model>-1
    usd_per_gpu_hour: float
    cold: object  # ColdStartStages of a replacement
    instances: list = field(default_factory=list)
    current: SpotInstance | None = None  # the newest instance (serving or loading)
    leaving: SpotInstance | None = None  # the noticed one, until its reclaim


class SpotFleet:
    """The spot replicas of one dedicated setup. ``interrupt(pool, rep, now)`` aborts a
    replica and retries (or fails) what it held; ``reroute(pool, req, now)`` routes a
    request again; ``events`` is the setup's event log."""

    def __init__(self, ctx, interrupt, reroute, events, notice_s: float, replacement: bool,
                 at_notice: bool = False):
        self.ctx = ctx
        self.env = ctx.env
        self.interrupt = interrupt
        self.reroute = reroute
        self.events = events
        self.notice_s = notice_s
        self.replacement = replacement
        self.at_notice = replacement and at_notice
        self.tier_code = ctx.log.tiers.code("spot")
        self.slots: list[SpotSlot] = []
        self.by_rid: dict[int, SpotInstance] = {}

    def add(self, pool, index: int, usd_per_gpu_hour: float, cold) -> SpotSlot:
        """A spot replica of ``pool``, warm from t=0."""
        slot = SpotSlot(pool, index, usd_per_gpu_hour, cold)
        self.slots.append(slot)
        self._warm(slot, self._instance(slot, 0.0, 0.0), 0.0)
        return slot

    def _instance(self, slot: SpotSlot, now: float, loading_s: float) -> SpotInstance:
        dep = slot.pool.deployment
        row = UsageRow(model=slot.pool.model, gpu=dep.gpu.key, gpus=dep.tp, tier="spot",
                       start_s=now, end_s=now, busy_s=0.0, billing="gpu_second",
                       usd_per_gpu_hour=slot.usd_per_gpu_hour, loading_s=loading_s)
        # its engine's perf model from the start, for the load figures (as a burst row's)
        row.kv.peak_bandwidth, row.kv.saturation = (slot.pool.perf.peak_bandwidth,
                                                    (slot.pool.perf, dep.max_num_seqs))
        inst = SpotInstance(row, now, ledger_i=self.ctx.add_row(row))
        slot.instances.append(inst)
        slot.current = inst
        return inst

    def _warm(self, slot: SpotSlot, inst: SpotInstance, now: float) -> None:
        inst.t_warm = now
        inst.rep = slot.pool.add_replica(inst.row)
        self.by_rid[inst.rep.rid] = inst

    # ------------------------------------------------- the FailureDriver's callbacks
    def down_s(self, cold_s: float) -> float:
        """From a reclaim to the replacement's first service (inf: none comes)."""
        if not self.replacement:
            return math.inf
        return max(cold_s - self.notice_s, 0.0) if self.at_notice else cold_s

    def notice(self, slot: SpotSlot, now: float) -> None:
        """The cloud's warning: admit nothing new, finish what can be finished."""
        inst = slot.leaving = slot.current
        inst.t_notice = now
        self.events.add(now, "spot_notice", slot.pool.model, inst.ledger_i)
        rep = inst.rep
        rep.stop_admitting()
        if rep.queue is not slot.pool.central:  # its own queue: the waiting go elsewhere
            for req in rep.queue.drop_all():
                self.reroute(slot.pool, req, now)
        if self.at_notice:
            new = self._instance(slot, now, slot.cold.total_s)
            self.env.timeout(slot.cold.total_s).callbacks.append(
                lambda ev, slot=slot, new=new: self.recover(slot, self.env.now, new))

    def reclaim(self, slot: SpotSlot, now: float) -> None:
        """The instance is gone: its row ends, what it held is retried elsewhere, and a
        replacement is requested."""
        inst = slot.leaving
        slot.leaving = None
        inst.t_reclaim = now
        inst.row.end_s = now
        inst.rep.settle()
        inst.row.busy_s = min(inst.rep.busy_s, inst.row.up_s)
        inst.interrupted = inst.rep.n_running + len(inst.rep.waiting)
        self.events.add(now, "spot_reclaim", slot.pool.model, inst.ledger_i)
        self.interrupt(slot.pool, inst.rep, now)
        if slot.current is inst:
            slot.current = None
            if self.replacement:
                self._instance(slot, now, slot.cold.total_s)

    def recover(self, slot: SpotSlot, now: float, inst: SpotInstance | None = None) -> None:
        """The replacement has loaded: it serves (once; with ``replace_at_notice`` both its
        own timer and the driver call this)."""
        inst = inst or slot.current
        if inst.t_warm is not None:
            return
        self.events.add(now, "spot_replaced", slot.pool.model, inst.ledger_i)
        self._warm(slot, inst, now)

    def back_s(self, slot: SpotSlot, now: float) -> float:
        """When a replica of ``slot`` admits requests (``now`` if one does): a replacement's
        end of loading, for a noticed instance the one its reclaim will request (inf: no
        replacement comes)."""
        inst = slot.current
        if inst is None:
            return math.inf  # reclaimed, no replacement
        if inst.t_warm is None:  # a replacement loading
            return inst.t_start + slot.cold.total_s
        if inst is not slot.leaving:
            return now
        return inst.t_notice + self.notice_s + self.down_s(slot.cold.total_s)

    # --------------------------------------------------------------------- the end
    def completed(self, rid: int) -> int | None:
        """The tier code of a request completed on replica ``rid`` if it is a spot one."""
        inst = self.by_rid.get(rid)
        if inst is None:
            return None
        inst.served += 1
        return self.tier_code

    def close(self, t_end: float) -> None:
        """Settle the rows at the end of the billing period [0, t_end]."""
        for slot in self.slots:
            for inst in slot.instances:
                row = inst.row
                row.start_s = min(row.start_s, t_end)  # requested after the period: nothing billed
                if inst.t_reclaim is None or row.end_s > t_end:
                    row.end_s = max(row.start_s, t_end)
                if inst.rep is not None:
                    inst.rep.settle()
                    row.busy_s = min(inst.rep.busy_s, row.up_s)
                row.loading_s = min(row.loading_s, row.up_s)

    def table(self) -> list[dict]:
        """One row per spot instance."""
        def t(x):
            return math.nan if x is None else x
        return [{
            "model": s.pool.model, "replica": s.index, "instance": k,
            "start_s": inst.t_start, "warm_s": t(inst.t_warm), "notice_s": t(inst.t_notice),
            "reclaim_s": t(inst.t_reclaim), "end_s": inst.row.end_s, "requests": inst.served,
            "interrupted": inst.interrupted, "busy_s": inst.row.busy_s,
            "loading_s": inst.row.loading_s, "billed_s": inst.row.up_s,
            "cost_usd": inst.row.cost_usd,
        } for s in self.slots for k, inst in enumerate(s.instances)]


def drive_reclaims(fleet: SpotFleet, cfg, scripted: dict, notice) -> None:
    """One reclaim plan per spot replica of ``fleet`` (the failure machinery with a notice:
    ``notice(slot, now)`` at each); a trace's plans are listed in ``scripted`` (the setup's
    scripted events, for the notes on those that never fired)."""
    pc = cfg.dedicated.spot.preemption
    trace: dict[tuple[str, int], list] = {}
    if str(pc.mode) == "trace":  # checked by the build layer
        for p in read_preemption_trace(resolve(str(pc.trace))):
            trace.setdefault((p.model, p.replica), []).append(p.time_s)
    plans = []
    for s in fleet.slots:
        dep = s.pool.deployment
        down = fleet.down_s(s.cold.total_s)
        rate = float(pc.per_gpu_hour) * dep.tp / 3600.0
        if str(pc.mode) == "trace":
            plan = FailurePlan("script", script=[(t, down) for t in
                                                 trace.get((s.pool.model, s.index), [])])
        else:
            plan = FailurePlan("random", seed=int(cfg.seed), name=f"spot/{s.pool.model}/{s.index}",
                               mtbf_s=1.0 / rate if rate > 0 else math.inf, reload_s=down)
        plans.append((s, plan))
    if str(pc.mode) == "trace":
        # a listed time is the notice: a notice near the end may leave its reclaim after it
        scripted[f"dedicated.spot.preemption.trace ({pc.trace}; a listed time is the "
                 f"notice, the reclaim comes notice_s = {float(pc.notice_s):g} s later)"] = [
            p for _, p in plans]
    FailureDriver(fleet.env, plans, fleet.reclaim, fleet.recover, warn=notice,
                  notice_s=fleet.notice_s)
