"""Compound AI pipelines: a driver above any setup, and the per-pipeline tables.

The workload already holds every stage request (:mod:`sim.workload.pipelines`). The
driver sends a pipeline request's root stages at its arrival and each further stage when
all its predecessors have ended (``fanout`` copies; a skipped conditional stage passes at
once). Model stages go to the setup through ``setup.submit`` as ordinary requests; the
setup ends them through the log and ``ctx.on_end``, which calls :meth:`PipelineDriver.on_end`.
Tool stages need no GPU: a SimPy timeout of their drawn latency (tier ``tool``).

A stage request rejected or failed fails its pipeline request with that outcome and reason
at that moment; the stage requests not yet sent end as failed with reason
:data:`~sim.metrics.unsent.UPSTREAM_FAILED`, in no tier (``none``) and with no arrival time
(NaN: they never arrived, so they are in neither window of ``metrics.warmup_s`` and in no
``__tier__`` row, as a closed loop's requests never sent; until December 2026 they took the
failure time as their arrival, so a failure after the warm-up put them in the measured rows,
and were logged in a tier ``pipeline`` that a summary showed as a ``__tier__:pipeline`` row
of the model stages never sent); copies already in
flight run to their own end. Every stage request and every pipeline request ends exactly
once.

Coordinated pre-warm (``pipelines.<p>.prewarm``): at a pipeline request's arrival, after its
root stages are sent, the driver asks the setup (``warm_up(model_index, tenant)``; setups that never scale to zero answer False) to
start a replica of every stage's model that has none warm or loading, instead of each model
cold-starting when its stage is reached.

Per pipeline request: end-to-end latency, time to the final stage's first token (of its model
end stages, the one that ended last: ``PipelineSpec.ends``), cold starts
hit (stage requests that waited for a load) and the cold-start wait on the critical path
(from the stage that ended last back through, at each stage, the copy that ended last and
the predecessor whose end released it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine import Request
from sim.errors import InvariantError
from sim.metrics.unsent import UPSTREAM_FAILED
from sim.records import COMPLETED, FAILED, NO_TIER, OUTCOMES, PENDING, Codes
from sim.simulation.loop import ARRIVAL

_RUNNING, _DONE = 1, 2


class _Run:
    """One pipeline request in flight."""

    __slots__ = ("p", "spec", "rows", "preds_left", "copies_left", "last_row", "trigger",
                 "stages_left", "sent")

    def __init__(self, p, spec, rows):
        self.p = p
        self.spec = spec
        self.rows = rows  # stage index -> request ids
        self.preds_left = [len(x) for x in spec.preds]
        self.copies_left = [len(r) for r in rows]
        self.last_row = [-1] * spec.n  # the copy that ended last (-1: skipped)
        self.trigger = [-1] * spec.n  # the predecessor whose end released the stage
        self.stages_left = spec.n
        self.sent: set[int] = set()


class PipelineDriver:
    def __init__(self, env, log, workload, setup, cfg):
        self.env = env
        self.log = log
        self.wl = workload
        self.pr = pr = workload.pipelines
        self.setup = setup
        self.base = pr.base
        n = len(pr)
        self.state = np.zeros(n, np.int8)
        self.outcome = np.zeros(n, np.int8)
        self.reason = np.zeros(n, np.int8)
        self.reasons = Codes("")
        self.end_s = np.full(n, np.nan)
        self.crit_cold_s = np.full(n, np.nan)
        self.paths: dict[int, tuple] = {}  # completed pipeline -> critical-path request ids
        self.runs: dict[int, _Run] = {}
        self.tools: dict[int, Request] = {}  # tool calls in flight, by request id
        self.pipe_of_row = np.repeat(np.arange(n), np.diff(pr.first))
        self.tool_tier = log.tiers.code("tool")
        self.none_tier = log.tiers.code(NO_TIER)  # a stage never sent reached no tier
        self.model_index = {m: i for i, m in enumerate(workload.models)}
        self.on_end_hook = self.on_end  # the run's end-of-request callback (it calls on_end)
        # pre-warm is the platform's behaviour: this run's config decides, not the workload's
        pcs = cfg.pipelines
        self.prewarm = [bool(pcs[sp.name].prewarm) if sp.name in pcs else sp.prewarm
                        for sp in pr.specs]

    # ------------------------------------------------------------------ arrivals
    def arrivals(self):
        env = self.env
        for p, t in enumerate(self.pr.arrival_s.tolist()):
            if t > env.now:  # at its instant's end, as the open arrivals (sim.simulation.loop)
                ev = env.event()
                ev._ok, ev._value = True, None
                env.schedule(ev, ARRIVAL, t - env.now)
                yield ev
            env.arrival_instant = env.now  # sim.engine.tick.arriving
            self.start(p)

    def start(self, p: int) -> None:
        pr = self.pr
        spec = pr.specs[int(pr.spec[p])]
        lo, hi = int(pr.first[p]), int(pr.first[p + 1])
        rows: list[list[int]] = [[] for _ in range(spec.n)]
        for rid, s in zip(range(lo, hi), pr.stage[lo - self.base:hi - self.base].tolist()):
            rows[s].append(rid)
        run = _Run(p, spec, rows)
        self.runs[p] = run
        self.state[p] = _RUNNING
        now = self.env.now
        for s in range(spec.n):
            if not spec.preds[s]:
                self._start_stage(run, s, now)
                if self.state[p] != _RUNNING:
                    return
        if self.prewarm[int(pr.spec[p])]:
            tenant = int(pr.tenant[p])  # its tier, not the model's alone, decides (hybrid)
            for s in range(spec.n):
                if not spec.tool[s]:
                    self.setup.warm_up(self.model_index[spec.model[s]], tenant)

    # ------------------------------------------------------------------ stages
    def _start_stage(self, run: _Run, s: int, now: float) -> None:
        if not run.rows[s]:  # skipped (conditional): its successors go on at once
            self._finish_stage(run, s, now)
            return
        wl = self.wl
        for rid in run.rows[s]:
            if self.state[run.p] != _RUNNING:
                return  # a copy sent just now was turned away: the rest are upstream_failed
            run.sent.add(rid)
            self.log.arrival_s[rid] = now
            req = Request(rid, int(wl.tenant[rid]), int(wl.model[rid]), now,
                          int(wl.input_tokens[rid]), int(wl.output_tokens[rid]))
            if run.spec.tool[s]:
                lat = float(self.pr.tool_s[rid - self.base])
                self.tools[rid] = req
                self.env.timeout(lat).callbacks.append(lambda _ev, r=req: self._tool_done(r))
            else:
                self.setup.submit(req)

    def _tool_done(self, req: Request) -> None:
        now = self.env.now
        del self.tools[req.id]
        req.t_admit = req.arrival
        req.t_first = req.t_done = now
        self.log.complete(req, self.tool_tier)
        self.on_end_hook(req, now)

    def on_end(self, req: Request, now: float) -> None:
        """A stage request ended (completed, rejected or failed)."""
        rid = req.id
        if rid < self.base:
            return
        p = int(self.pipe_of_row[rid - self.base])
        run = self.runs.get(p)
        if run is None:
            return  # its pipeline already ended (failed): a copy in flight finishing late
        out = int(self.log.outcome[rid])
        if out != COMPLETED:
            if out == PENDING:
                raise InvariantError(f"stage request {rid} reported ended while pending")
            self._fail(run, now, out, self.log.reasons.names[int(self.log.reason[rid])])
            return
        s = int(self.pr.stage[rid - self.base])
        run.copies_left[s] -= 1
        if run.copies_left[s] == 0:
            run.last_row[s] = rid
            self._finish_stage(run, s, now)

    def _finish_stage(self, run: _Run, s: int, now: float) -> None:
        run.stages_left -= 1
        if run.stages_left == 0:
            self._complete(run, s, now)
            return
        for j in run.spec.succs[s]:
            run.preds_left[j] -= 1
            if run.preds_left[j] == 0:
                run.trigger[j] = s
                self._start_stage(run, j, now)
                if self.state[run.p] != _RUNNING:
                    return

    # ------------------------------------------------------------------ endings
    def _complete(self, run: _Run, last: int, now: float) -> None:
        p = run.p
        path = []
        s = last
        while s >= 0:
            if run.last_row[s] >= 0:
                path.append(run.last_row[s])
            s = run.trigger[s]
        path.reverse()
        self.paths[p] = tuple(path)
        self._end(run, now, COMPLETED, "")

    def _fail(self, run: _Run, now: float, outcome: int, reason: str) -> None:
        self._end(run, now, outcome, reason)
        log = self.log
        for rows in run.rows:
            for rid in rows:
                if rid not in run.sent:  # never sent: no arrival (NaN), ended now
                    log.fail(rid, UPSTREAM_FAILED, self.none_tier, now)

    def _end(self, run: _Run, now: float, outcome: int, reason: str) -> None:
        p = run.p
        if self.state[p] != _RUNNING:
            raise InvariantError(f"pipeline request {p} ended twice")
        self.state[p] = _DONE
        self.outcome[p] = outcome
        self.reason[p] = self.reasons.code(reason)
        self.end_s[p] = now
        del self.runs[p]

    def held(self) -> list[tuple[Request, int]]:
        """When the run stops: ``(request, tier code)`` of each tool call in flight (the run
        fails them, ``unfinished_at_end``, in tier ``tool``; until December 2026 in ``none``,
        as a stage never sent, for no setup holds them)."""
        return [(req, self.tool_tier) for req in self.tools.values()]

    def close(self, now: float) -> None:
        """At the end of the run: pipeline requests still open fail (``unfinished_at_end``)."""
        pr = self.pr
        for p in np.flatnonzero(self.state == 0).tolist():  # never started: nothing was sent
            run = self.runs[p] = _Run(p, pr.specs[int(pr.spec[p])], [])
            run.rows = [list(range(int(pr.first[p]), int(pr.first[p + 1])))]
            self.state[p] = _RUNNING
        for run in list(self.runs.values()):
            self._fail(run, now, FAILED, "unfinished_at_end")

    # ------------------------------------------------------------------ tables
    def _final_first(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pipeline request, the first token of its final stage and that stage's name:
        of its end stages that count (``PipelineSpec.ends``) and ran, the one that ended
        last (its copies: the first token of any, the end of the last; ties: the later in
        topological order). NaN and "" when none ran (each skipped by its probability)."""
        pr, log, pipe = self.pr, self.log, self.pipe_of_row
        n = len(pr)
        spec_of = pr.spec[pipe]
        cand = np.zeros(pipe.size, bool)
        for si, spec in enumerate(pr.specs):
            cand |= (spec_of == si) & np.isin(pr.stage, spec.ends)
        at = np.flatnonzero(cand)
        g = pd.DataFrame({"p": pipe[at], "s": pr.stage[at], "first": log.first_s[rows[at]],
                          "fin": log.finish_s[rows[at]]})
        g = g.groupby(["p", "s"], sort=True).agg(first=("first", "min"), fin=("fin", "max"))
        g = g.dropna(subset=["fin"]).reset_index().sort_values(["p", "fin", "s"], kind="stable")
        last = g.drop_duplicates("p", keep="last")
        first = np.full(n, np.nan)
        name = np.full(n, "", dtype=object)
        p = last["p"].to_numpy(np.int64)
        first[p] = last["first"].to_numpy()
        name[p] = [pr.specs[int(pr.spec[q])].stages[int(s)]
                   for q, s in zip(p.tolist(), last["s"].tolist())]
        return first, name

    def frame(self, setup: str) -> pd.DataFrame:
        """One row per pipeline request (call after the log is flushed)."""
        pr, log = self.pr, self.log
        n = len(pr)
        b = self.base
        rows = np.arange(b, b + self.pipe_of_row.size)
        cold = log.cold_wait_at(rows)
        every = log.cold_wait_s  # the critical paths' cold-start waits, summed in path order
        for p, path in self.paths.items():
            self.crit_cold_s[p] = float(sum(every[r] for r in path))
        del every
        cold_hits = np.bincount(self.pipe_of_row, weights=(cold > 0), minlength=n).astype(np.int64)
        cold_total = np.bincount(self.pipe_of_row, weights=cold, minlength=n)
        final_first, final_stage = self._final_first(rows)
        ok = self.outcome == COMPLETED
        arrival = pr.arrival_s
        e2e = np.where(ok, self.end_s - arrival, np.nan)
        return pd.DataFrame({
            "setup": setup,
            "pipeline_id": np.arange(n, dtype=np.int64),
            "pipeline": [pr.specs[int(i)].name for i in pr.spec],
            "tenant": [self.wl.tenants[int(t)] for t in pr.tenant],
            "arrival_s": arrival,
            "end_s": self.end_s,
            "e2e_s": e2e,
            "final_ttft_s": np.where(ok, final_first - arrival, np.nan),
            "final_stage": np.where(ok, final_stage, ""),
            "stage_requests": np.diff(pr.first),
            "cold_starts": cold_hits,
            "cold_wait_critical_s": np.where(ok, self.crit_cold_s, np.nan),
            "cold_wait_total_s": cold_total,
            "outcome": pd.Categorical.from_codes(self.outcome.astype(np.int16), categories=list(OUTCOMES)),
            "reason": pd.Categorical.from_codes(self.reason.astype(np.int16), categories=list(self.reasons.names)),
        })
