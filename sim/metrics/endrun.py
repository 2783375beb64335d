"""The end of a run in one walk over its request log: every stage an accumulator.

:func:`end_of_run` reads the log once, in blocks of consecutive request ids (each block
handed once, in id order, :func:`~sim.metrics.rows.walk`), and feeds each block to every
end-of-run stage's accumulator: the costs and billing periods
(:class:`~sim.metrics.cost.CostFold`), every summary row's figures
(:class:`~sim.metrics.rows.RowFold`), the deadline counts, each tier row's ``clipped``, the
invariant checks' counts per row (:class:`OutcomeCounts`) and the warm-up windows
(:class:`~sim.metrics.windows.WindowFold`). Tier rows are made as tier codes appear in the
blocks (no earlier block held any of their requests, so they miss nothing). When the walk is
over each stage is finished in the order :func:`~sim.simulation.frames.setup_summary` runs
them: the costs, the rows' cost columns, the summary, its checks, its windows. The same
bytes as the stages each walking on their own (tests/metrics/test_end_of_run_blocks.py,
test_summary_blocks.py); what a log sealed in blocks while the run goes needs, so each
block can be freed once read. The workload's own columns (which models each tenant sent
to: the rows to make) are read before the walk; they are not the log.

Not the default (:func:`~sim.simulation.frames.setup_summary`'s ``one_walk``): with the
exact store every row's TTFT, TPOT and E2E values are held at once, so its peak is higher
(December 2026, tracemalloc over ``setup_summary``, the hybrid setup of ``experiment=hybrid``,
18,248 requests: 127 bytes a request against 35.5 for the stages' own walks, 213 against 38
with ``metrics.warmup_s=60``), for 5-10 % less time (about 100 against 110 ms). It pays
beside a streaming store (``store``).
"""

from __future__ import annotations

import math

import numpy as np

from sim.metrics.cost import CostFold
from sim.metrics.invariants import _by_outcome, check_outputs, offered_mask
from sim.metrics.overload import RunNotesFold
from sim.metrics.rows import (
    _ORDER,
    BLOCK,
    ExactValues,
    RequestColumns,
    RowFold,
    tenant_slos,
    walk,
)
from sim.metrics.summary import DeadlineCounts, SummaryPlan, row_selection
from sim.metrics.windows import WindowFold, apply_window
from sim.records import COMPLETED, FAILED, REJECTED, TIER_ROW


def end_of_run(workload, run, prices, cfg, block: int = BLOCK, notes: dict | None = None,
               store=ExactValues):
    """What :func:`~sim.simulation.frames.setup_summary` returns (one run's summary rows:
    billed, summarised per tenant, its invariants checked, split by ``metrics.warmup_s``),
    the log read in one walk of ``block`` request ids a block. ``notes``: a dict that gets
    ``{setup: RunNotesFold}``, the overload notes' folds fed by the same walk (for
    :func:`~sim.metrics.overload.stability_notes`'s ``folded``); ``store``: what keeps each
    row's figure values (:class:`~sim.metrics.rows.RowFold`'s)."""
    end = EndOfRun(workload, run, prices, cfg, block, notes, store)
    walk(len(workload), [end], block)
    return end.finish()


class EndOfRun:
    """:func:`end_of_run` as an accumulator (``add(a, b)``, then :meth:`finish`). ``early``:
    made before the run ends (the run's ledger, period and extras read at :meth:`finish`,
    its blocks fed as the log seals them, sim/logseal.py): the costs then fold the tokens of
    each (model, tier, tenant) and bill them when the ledger says which pools bill per token
    (:class:`~sim.metrics.logfold.EarlyLogFold`: per-token costs to rounding, not the bytes
    of each request's price summed). ``also``: more accumulators (``add(a, b)``) the walk
    feeds each block, after the summary's own."""

    def __init__(self, workload, run, prices, cfg, block: int = BLOCK,
                 notes: dict | None = None, store=ExactValues, early: bool = False,
                 also=()):
        self.workload, self.run, self.cfg, self.block = workload, run, cfg, block
        self.hub = _Hub(workload, run, prices, float(cfg.metrics.warmup_s), block, store, early)
        if notes is not None:
            notes[run.setup] = RunNotesFold(workload, run, stable=True)
            self.hub.stages.append(notes[run.setup])
        self.hub.stages.extend(also)  # more accumulators fed each block, after these

    def add(self, a: int, b: int) -> None:
        self.hub.add(a, b)

    def finish(self):
        workload, run, hub = self.workload, self.run, self.hub
        start = str(self.cfg.serverless.start) if "warm_start" in run.extra else "none"
        costs, part = hub.finish()
        check_outputs(workload, run, costs, part, self.block, by_outcome=hub.counts.of)
        if hub.windows is None:
            return apply_window(workload, run, part, float(self.cfg.metrics.warmup_s), start)
        return hub.windows.frame(part, start)


class _Hub:
    """The one walk's accumulator: each block goes to the tier watch first (a tier's first
    requests make its row's folds, which then take this block), then to every stage."""

    def __init__(self, workload, run, prices, warmup_s: float, block: int, store=ExactValues,
                 early: bool = False):
        self.workload, self.run, self.store = workload, run, store
        self.cols = RequestColumns(workload, run.log)
        self.cost = CostFold(workload, run, prices, early)
        self.plan = SummaryPlan(workload, run, block)
        self.folds: dict = {}  # label -> (RowFold, its selection of a block)
        for (_, name, _, sel, slo, _, own_slo), _ in self.plan.pending.registered():
            self.folds[name] = (RowFold(slo, self._own(own_slo), store=store), sel)
        labels = list(self.folds)
        self.deadlines = DeadlineCounts(workload, run, labels) if workload.deadlines else None
        self.counts = OutcomeCounts(workload, run, [*labels, TIER_ROW], block)
        self.windows = WindowFold(workload, run, warmup_s, store) if warmup_s > 0 else None
        for name in labels if self.windows is not None else ():
            self.windows.label(name)
        self.tiers: list[int] = []  # tier codes seen, in order of appearance
        self.clipped: dict[str, int] = {}  # a tier row's requests whose lengths were changed
        self.stages = [self.cost, *([self.deadlines] if self.deadlines else []), self.counts,
                       *([self.windows] if self.windows is not None else []), *self.plan.moved]

    def _own(self, own_slo: bool):
        wl = self.workload
        return (tenant_slos(wl), sorted(wl.batch_tenant_ids())) if own_slo else None

    def add(self, a: int, b: int) -> None:
        wl, log = self.workload, self.run.log
        sel = row_selection(wl, log, TIER_ROW, a, b)  # the requests a tier served
        for code in np.unique(log.tier[a:b][sel]).tolist():
            if code not in self.tiers:
                self._new_tier(code)
        cols = self.cols.block(a, b)
        for fold, pick in self.folds.values():
            fold.add(cols, pick(a, b))
        if wl.changed_req is not None:
            moved = wl.changed_req[a:b]
            for name in self.clipped:
                self.clipped[name] += int(np.count_nonzero(moved[self.folds[name][1](a, b)]))
        for acc in self.stages:
            acc.add(a, b)

    def _new_tier(self, code: int) -> None:
        """A tier's row's folds, from the block that holds its first request."""
        self.tiers.append(code)
        name = TIER_ROW + self.run.log.tiers.names[code]
        self.folds[name] = (RowFold(None, self._own(True), store=self.store),
                            self.plan.pick(name))
        self.clipped[name] = 0
        if self.deadlines is not None:
            self.deadlines.out[name] = (0, 0)
        self.counts.label(name)
        if self.windows is not None:
            self.windows.label(name)

    def finish(self):
        """``(costs, summary)``: the costs first, then the tier rows (two tiers or more, in
        tier-code order, as :func:`~sim.metrics.summary.served_tiers` lists them), the rows'
        cost columns and figures."""
        costs = self.cost.finish()
        plan, names = self.plan, self.run.log.tiers.names
        if len(self.tiers) >= 2:
            for code in sorted(self.tiers):
                r = plan.tier_row(names[code])
                if self.workload.changed_req is not None:
                    r["clipped"] = self.clipped[TIER_ROW + names[code]]
        plan.fill(costs)
        rows = []
        for (setup, name, model, _, slo, period_s, _), extra in plan.pending.registered():
            period_s = period_s() if callable(period_s) else period_s
            r = {"setup": setup, "tenant": name, "model": model, "period_s": period_s,
                 "slo_ttft_s": slo if slo is not None else math.nan}
            r.update(self.folds.pop(name)[0].finish())
            p = r["period_s"]
            r["throughput_tok_s"] = r["output_tokens"] / p if p > 0 else math.nan
            rows.append({**{k: r[k] for k in _ORDER}, **extra})
        self.folds.clear()  # a lone tier's row, not shown
        return costs, plan.frame(rows, self.deadlines)


class OutcomeCounts:
    """Per summary row label (:meth:`label`), its offered requests by outcome (and ``-1``:
    all), counted block by block (``add(a, b)``): what the invariant checks compare the
    summary's counts with (:func:`~sim.metrics.invariants.summary_violations`)."""

    def __init__(self, workload, run, labels, block: int = BLOCK):
        self.workload, self.run, self.block = workload, run, block
        self.n: dict[str, dict[int, int]] = {}
        for name in labels:
            self.label(name)

    def label(self, name: str) -> None:
        self.n[name] = dict.fromkeys((-1, COMPLETED, REJECTED, FAILED), 0)

    def add(self, a: int, b: int) -> None:
        wl, log = self.workload, self.run.log
        offered = offered_mask(wl, self.run, a, b)
        oc = log.outcome[a:b]
        for name, n in self.n.items():
            sel = offered & row_selection(wl, log, name, a, b)
            n[-1] += int(np.count_nonzero(sel))
            for code in (COMPLETED, REJECTED, FAILED):
                n[code] += int(np.count_nonzero(sel & (oc == code)))

    def of(self, name: str) -> dict[int, int]:
        """A label's counts (one not counted here, e.g. unknown: its own walk, as before)."""
        if name in self.n:
            return self.n[name]
        return _by_outcome(self.workload, self.run, name, self.block)
