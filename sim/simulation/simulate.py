"""Run one setup over a workload: feed arrivals, drive closed loops, settle the end.

The arrival driver is a generator over the workload's sorted arrays, resumed as a SimPy
process would be, by the run's event loop (:mod:`sim.simulation.loop`: its wake-up is a key
beside SimPy's event heap, not an event in it), once per distinct arrival time, except that
an arrival before every scheduled event moves the clock there itself (what the timeout would
do, without the event). It creates a :class:`~sim.engine.Request` only when the request
arrives, so memory grows with requests in flight, not with the workload.

While the event loop runs, the objects that exist when it starts (the config, the imported
modules, the workload, the setup: about 139,000 on the platform benchmark) are frozen
(``gc.freeze``, undone when it stops): the cyclic collector's full passes, which a long run
triggers again and again as requests come and go, then walk only what the run made since.
Only start-up's own cyclic garbage, if any, waits until the loop ends to be collected.
"""

from __future__ import annotations

import gc
import math
from itertools import repeat

import numpy as np
import simpy

from sim.config import variant
from sim.engine import Request
from sim.errors import InvariantError
from sim.metrics.invariants import check_run
from sim.metrics.rows import BLOCK
from sim.metrics.unsent import NEVER_SENT
from sim.platform.base import RunContext
from sim.records import NO_TIER, PENDING, RequestLog, SetupRun
from sim.simulation.build import (
    Built,
    build,
    make_setup,
    run_setups,
    setup_serves_background,
    workload_of,
)
from sim.simulation.loop import EventLoop
from sim.simulation.memory import release_freed
from sim.simulation.pipeline import PipelineDriver
from sim.simulation.progress import progress_printer
from sim.simulation.unread import record_run
from sim.workload import Workload
from sim.workload.spill import count_finite

# arrivals turned into Python rows at a time: short-lived objects made while requests in
# flight live on keep the allocator's arenas from being given back; at 2^12 rather than 2^16
# the platform benchmark's 12 h run (1.2 M requests, output.requests=none with the sketch)
# ended 6 MB lower (180 against 186 MB; peak 199.5 against 206), in the same time
_CHUNK = 1 << 12


def simulate(cfg, workload: Workload, setup_name: str, progress: bool = False,
             label: str | None = None, fold=None, block: int = BLOCK) -> SetupRun:
    """Run one setup of ``cfg`` over the workload; ``progress`` shows a bar labelled
    ``label`` on a terminal for runs that last (:mod:`sim.simulation.progress`).
    ``fold(run)``: an accumulator (``add(a, b)``) made before the run starts, given the
    :class:`SetupRun` (its ledger, period and extras filled in when the run ends); the
    request log is then sealed in blocks of ``block`` ids as the run goes, each handed to it
    once every request of it ended, then its memory given back (:mod:`sim.logseal`): nothing
    may read those requests' columns after. Returned as the run's ``folded``."""
    built = build(cfg, workload=False)
    record_run(cfg, setup_name, workload)  # the keys this run reads none of
    update, close = progress_printer(progress, label or setup_name, total_s=workload.horizon_s)
    try:
        return _simulate(built, workload, setup_name, update, fold, block)
    finally:
        close()
        release_freed()  # the end-of-run checks' temporaries


def simulate_setups(cfg, progress: bool = False, fold=None, block: int = BLOCK):
    """Run every setup in ``cfg.setups`` on one workload; return (workload, runs, catalog).
    ``fold(workload, catalog, setups)``: what makes each run's fold (:func:`simulate`'s
    ``fold``, its log sealed in blocks of ``block`` ids), or None (each log kept whole)."""
    built = build(cfg)
    setups = run_setups(built.cfg)
    workload = workload_of(built)
    release_freed()  # the tenants' arrays, merged into the workload's columns
    make = fold(workload, built.catalog, setups) if fold is not None else None
    runs = []
    for i, name in enumerate(setups):
        label = name if len(setups) == 1 else f"{name} [{i + 1}/{len(setups)}]"
        runs.append(simulate(cfg, workload, name, progress, label, fold=make, block=block))
    return workload, runs, built.catalog


def simulate_variants(cfg, setup: str, variants, progress: bool = False):
    """Run ``setup`` once per ``(label, {dotted key: value})`` on one workload (generated from
    ``cfg``); each run's ``setup`` is its label. Returns (workload, runs, catalog).
    ``variants`` may be a function of the workload giving that list."""
    built = build(cfg)
    workload = workload_of(built)
    if callable(variants):
        variants = variants(workload)
    runs = []
    for label, changes in variants:
        r = simulate(variant(cfg, **changes), workload, setup, progress, label)
        r.setup = label
        runs.append(r)
    return workload, runs, built.catalog


class ContextGate:
    """Stands in front of a setup: a request whose prompt and output exceed its model's
    context (``workload.overlength: reject``) is rejected on arrival, reason
    ``exceeds_context``; every other request goes on to the setup."""

    def __init__(self, setup, over, ctx: RunContext):
        self.setup = setup
        self.over = over
        self.ctx = ctx
        self.tier = ctx.log.tiers.code(NO_TIER)

    def submit(self, req: Request) -> None:
        if self.over[req.id]:
            self.ctx.reject(req, "exceeds_context", self.tier)
        else:
            self.setup.submit(req)

    def warm_up(self, model: int, tenant: int) -> bool:
        return self.setup.warm_up(model, tenant)

    def held(self):
        return self.setup.held()

    def close(self, t_end: float) -> None:
        self.setup.close(t_end)

    def extra(self) -> dict:
        return self.setup.extra()


def _simulate(built: Built, workload: Workload, setup_name: str, progress=None,
              fold=None, block: int = BLOCK) -> SetupRun:
    cfg = built.cfg
    env = simpy.Environment()
    n = len(workload)
    if workload.closed or workload.pipelines is not None:  # the run sets their arrivals
        log = RequestLog(n, want=workload.output_tokens, sealed=fold is not None)
        log.arrival_s[:] = workload.arrival_s
    else:  # every arrival is the workload's: shared, read-only
        log = RequestLog(n, workload.arrival_s, want=workload.output_tokens,
                         sealed=fold is not None)
    # background tenants go only to setups with a shared pool (``serves_background``)
    serves_bg = bool(workload.background_tenants) and setup_serves_background(setup_name)
    served = None if serves_bg or not workload.background_tenants else workload.user_mask()
    models = list(workload.served_models) if served is None else list(workload.user_models)
    if served is not None:
        log.open = int(np.count_nonzero(served))
    ctx = RunContext(env=env, log=log, engine=str(cfg.engine), perf_for=built.perf_for,
                     deployment_for=built.deployment_for,
                     tenant_names=list(workload.tenants), n_user_tenants=workload.n_user_tenants,
                     tenant_models=workload.tenant_models, workload=workload)
    # the run's record, its end filled in when it ends (a fold made now reads it then)
    run = SetupRun(setup_name, log, ctx.ledger, math.nan, math.nan, {}, background=serves_bg)
    if fold is not None:  # sealed first: the fold may hold the log's (new) columns
        log.seal_in_blocks(lambda _log, a, b: run.folded.add(a, b), block, served)
        run.folded = fold(run)
    setup = make_setup(setup_name, ctx, built, models)
    if workload.over_context is not None:  # requests beyond their model's context: rejected
        setup = ContextGate(setup, workload.over_context, ctx)
    last_end = [0.0]

    # ---------------------------------------------------------------- closed-loop clients
    closed_next: dict[int, list] = {}  # request id -> next request id of the same client
    if workload.closed:
        for ti, clients in workload.closed.items():
            ids = np.flatnonzero(workload.tenant == ti)
            for c in range(clients):
                chain = ids[c::clients].tolist()
                for a, b in zip(chain, chain[1:]):
                    closed_next[a] = b

    think = workload.think_s

    pfx = workload.prefixes

    def prefix(i: int) -> dict:
        """The prompt's cacheable segments and its answer's key (sim/workload/prefixes.py)."""
        if pfx is None:
            return {}
        keys, lens = pfx.segments(i)
        return {"pfx": (keys, lens) if keys else None, "out_key": int(pfx.out_key[i])}

    def send(i: int) -> None:
        now = env.now
        log.arrival_s[i] = now
        setup.submit(Request(i, int(workload.tenant[i]), int(workload.model[i]), now,
                             int(workload.input_tokens[i]), int(workload.output_tokens[i]),
                             **prefix(i)))

    pipes = None
    if workload.pipelines is not None:
        pipes = PipelineDriver(env, log, workload, setup, cfg)
        env.process(pipes.arrivals())

    def on_end(req: Request, now: float) -> None:
        if now > last_end[0]:
            last_end[0] = now
        nxt = closed_next.pop(req.id, None)
        if nxt is not None:
            if think is not None and think[nxt] > 0:
                env.timeout(float(think[nxt])).callbacks.append(lambda _e, n=nxt: send(n))
            else:
                send(nxt)
        if pipes is not None:
            pipes.on_end(req, now)
        if log.open == 0 and (workload.closed or now >= horizon):
            loop.halt()  # the period ends here: nothing after it runs (see the loop below)

    def on_end_open(_req: Request, now: float) -> None:  # on_end without closed loops or pipelines
        if now > last_end[0]:
            last_end[0] = now
        if log.open == 0 and now >= horizon:
            loop.halt()

    ctx.on_end = on_end if workload.closed or pipes is not None else on_end_open
    if pipes is not None:
        pipes.on_end_hook = on_end

    def driver():
        # closed-loop clients send their first requests at the start, before the open
        # arrivals are played (until December 2026 after the last of them: a loop beside an
        # open tenant started at that tenant's last arrival, near the horizon)
        for ti, clients in workload.closed.items():
            ids = np.flatnonzero(workload.tenant == ti)
            for c in range(min(clients, ids.size)):
                send(int(ids[c]))
        t_arr = workload.arrival_s
        open_n = count_finite(t_arr)  # a closed loop's requests are sent by their clients
        order = None if served is None else np.flatnonzero(served[:open_n])
        total = open_n if order is None else int(order.size)
        for start in range(0, total, _CHUNK):
            stop = min(start + _CHUNK, total)
            sl = slice(start, stop) if order is None else order[start:stop]
            rid = range(start, stop) if order is None else sl.tolist()
            ts = t_arr[sl].tolist()
            tn = workload.tenant[sl].tolist()
            mo = workload.model[sl].tolist()
            ii = workload.input_tokens[sl].tolist()
            oo = workload.output_tokens[sl].tolist()
            if pfx is None:  # each row: Request's arguments
                rows = zip(rid, tn, mo, ts, ii, oo)
            else:
                segs, out_keys = pfx.rows(np.arange(start, stop) if order is None else sl)
                rows = zip(rid, tn, mo, ts, ii, oo, repeat(None), segs, out_keys)
            submit = setup.submit
            queue = env._queue  # SimPy's event heap (time, priority, id, event)
            for row in rows:
                t = row[3]
                if t > env._now:
                    if queue and queue[0][0] <= t:
                        yield t - env._now  # resumed then (sim.simulation.loop)
                    else:  # no event before it: the clock moves there, as the timeout would
                        env._now = t
                env.arrival_instant = t  # sim.engine.tick.arriving
                submit(Request(*row))

    loop = EventLoop(env, driver())  # resumes the driver where a SimPy process would run
    horizon = workload.horizon_s
    cap = horizon + float(cfg.drain_s)
    if workload.closed:
        cap = max(cap, horizon)
    step = max(horizon / 100.0, 1.0)
    # The loop stops at the period's end, never after it: at the last request's end once
    # past the horizon (``halt`` in on_end), and at the horizon before it, so nothing a
    # setup schedules later (a burst drain, a failure, a reclaim) happens in the run;
    # the quiet tail up to the horizon is played out after the loop. Until December 2026 the
    # last step ran on to its boundary (up to horizon / 100 later), and the burst, spot and
    # failure tables listed what happened there.
    gc.freeze()  # what exists now stays out of the collector's full passes (module doc)
    try:
        while log.open > 0 and env.now < cap:
            loop.run(min(env.now + step, cap, horizon if env.now < horizon else cap))
            if progress is not None:
                progress(env.now, cap)
        if not workload.closed and env.now < horizon:
            # every request ended before the horizon: the quiet tail up to it still runs
            # (keep-alive stops, autoscaler ticks, burst drains, failures, reclaims), wherever
            # the last step ended (until December 2026 only a dedicated setup played it out;
            # a serverless replica whose keep-alive ran out there was billed to the horizon)
            loop.run(horizon)
    finally:
        gc.unfreeze()
    log.flush()
    if pipes is not None:
        pipes.close(env.now)
    # the sealed blocks' requests all ended (their outcome pages are given back: zeros)
    start = log.sealed_below
    pending = log.outcome[start:] == PENDING
    unfinished = start + np.flatnonzero(pending if served is None else pending & served[start:])
    if unfinished.size:
        # each fails now, in the tier whose queue or replica held it (none if it never
        # reached one). Until December 2026 all were logged in tier dedicated, whatever the
        # setup, and the log kept no time. A closed loop's request not yet sent (no arrival)
        # is never_sent, not unfinished_at_end (sim/metrics/unsent.py)
        held = {req.id: (tier, req) for req, tier in setup.held()}
        if pipes is not None:  # a pipeline's tool calls in flight (tier tool)
            held.update((req.id, (tier, req)) for req, tier in pipes.held())
        none = log.tiers.code(NO_TIER), None
        now = env.now
        for rid in unfinished.tolist():
            sent = not math.isnan(log.arrival_s[rid])
            tier, req = held.get(rid, none)
            if req is not None and req.t_admit >= 0:  # in service: when it was admitted (a
                # running request read as queued to the overload check until December 2026)
                log.cut_in_service(rid, req.t_admit)
            log.fail(rid, "unfinished_at_end" if sent else NEVER_SENT, tier, now, req)
    if workload.closed:
        # a closed loop runs until its clients are done; the period is what it took (or
        # until horizon_s + drain_s stopped it with requests unfinished: they ran till then)
        t_end = last_end[0] if unfinished.size == 0 else max(last_end[0], env.now)
        period = t_end
    else:
        t_end = max(horizon, last_end[0]) if unfinished.size == 0 else env.now
        period = t_end
    for row in ctx.ledger:  # evictions held implicitly by replicas' caches (KvCache.hold)
        row.kv.settle()
    setup.close(period)
    log.flush()
    if log.open != 0:
        raise InvariantError(f"{log.open} requests never ended")
    if not log.sealed_all:
        raise InvariantError("blocks of the request log never sealed")
    run.t_end, run.period_s, run.extra, run.pipelines = t_end, period, setup.extra(), pipes
    if fold is None:  # a sealed log's blocks are gone: its fold checks each one
        check_run(workload, run)  # a violation is a bug: fail loudly (sim/invariants.py)
    return run
