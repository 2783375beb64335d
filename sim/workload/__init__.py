"""Workloads: every request of every tenant, generated once, before any setup runs.

All setups replay the same :class:`Workload` (common random numbers), so differences
between setups come from the setups. Requests are columns (numpy arrays sorted by
arrival), not objects: 1,000,000 requests take 20 bytes each here. Prompts that share
leading text (a system prompt, documents, a conversation's history, a trace's prompt
blocks: :mod:`sim.workload.prompts`) carry their segments in ``Workload.prefixes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.config.rules import MAX_MAGNITUDE, MIN_INTERVAL_S
from sim.config.workload import BATCH_DEADLINE_S
from sim.errors import InputError
from sim.paths import resolve
from sim.rng import stream
from sim.textfiles import csv_rows, read_text
from sim.workload import arrivals as arr
from sim.workload.background import client_arrivals, user_models_notes
from sim.workload.background import generate as background
from sim.workload.lengths import changed_over_context
from sim.workload.merge import order_of, scatter
from sim.workload.pipelines import append_stage_requests, parse_pipeline
from sim.workload.prefixes import Prefixes, Sources
from sim.workload.prompts import (
    blocks_replayed,
    sessions_on,
    tenant_requests,
    trace_prefix_note,
)
from sim.workload.spill import Blocks
from sim.workload.spill import wanted as spill_wanted
from sim.workload.trace_columns import trace_sides
from sim.workload.trace_lengths import column_lengths
from sim.workload.traces import drawn_lengths_note, length_columns, tenant_trace


@dataclass
class Workload:
    tenants: list[str]
    models: list[str]
    horizon_s: float
    arrival_s: np.ndarray  # float64, sorted; NaN for closed-loop requests (set when sent)
    tenant: np.ndarray  # int16 index into tenants
    model: np.ndarray  # int16 index into models
    input_tokens: np.ndarray  # int32
    output_tokens: np.ndarray  # int32
    # closed-loop tenants: tenant index -> number of clients; their requests are sent one
    # per client at t=0, then each when that client's previous one ends: client c of C sends
    # the tenant's requests c, c + C, c + 2C, ... in order (a session's turns, in turn
    # order, are laid out so: sim.workload.prompts.closed_sessions)
    closed: dict[int, int] = field(default_factory=dict)
    # closed-loop think times: the delay before each request is sent after its client's
    # previous one ends (float64 per request; None when no closed tenant thinks)
    think_s: np.ndarray | None = None
    slo_ttft_s: dict[str, float] = field(default_factory=dict)
    # background tenants (noisy neighbours, sim.workload.background) come after the user's
    # tenants, and models that only they call come after the user's models, so the user's
    # indices do not depend on them; only setups with a shared pool serve them
    background_tenants: int = 0
    background_models: int = 0
    # pipeline requests (sim.workload.pipelines): their stage requests come last; tool
    # stages (no GPU) have pseudo-models ``tool:<pipeline>/<stage>`` at the end of ``models``
    pipelines: object = None  # PipelineRequests | None
    tools: int = 0
    # the models each tenant calls by config (a pipeline tenant: its stages' models), also
    # those it sent no request to in the horizon: their GPUs are still billed to it
    tenant_models: dict[str, list[str]] = field(default_factory=dict)
    # requests whose prompt + output exceed their model's context, kept whole: the run
    # rejects them on arrival (``workload.overlength: reject``); None when there are none
    over_context: np.ndarray | None = None
    changed: dict[str, int] = field(default_factory=dict)  # tenant -> requests with changed lengths
    # bool per request: its lengths were changed to be served (the requests ``changed`` counts)
    changed_req: np.ndarray | None = None
    # tenant -> what was changed, how often (Lengths.how); a tenant not here: not broken down
    changed_how: dict[str, dict] = field(default_factory=dict)
    over_counts: dict[str, int] = field(default_factory=dict)  # tenant -> requests over the context
    # tenant -> requests whose lengths were changed and that still exceed the context, so are
    # rejected (counted in both ``changed`` and ``over_counts``)
    changed_over: dict[str, int] = field(default_factory=dict)
    # the leading segments of each request's prompt with content ids, for prefix caching
    # (sim.workload.prefixes); None when no request has one
    prefixes: Prefixes | None = None
    # batch-tier tenants (``tenants.<t>.priority: batch``) -> their deadline in seconds from
    # arrival; empty when every tenant is interactive
    deadlines: dict[str, float] = field(default_factory=dict)
    # what trace replays did not take as recorded (spread times, rows after the horizon):
    # one warning line each (sim.workload.arrivals.replay_notes)
    replay_notes: list[str] = field(default_factory=list)

    def batch_tenant_ids(self) -> set[int]:
        """Tenant indices of the batch-tier tenants."""
        return {self.tenants.index(t) for t in self.deadlines}

    def length_notes(self, policy: str) -> list[str]:
        """One warning line per tenant whose lengths were changed or who exceeds the context."""
        out = []
        for t in self.tenants:
            c, o = self.changed.get(t, 0), self.over_counts.get(t, 0)
            if o:
                what = "rejected on arrival (exceeds_context)" if policy == "reject" else "kept"
                if policy == "reject" and self._piped(t):  # not every one is sent: said
                    what = ("rejected on arrival if sent (exceeds_context; a stage request is "
                            "sent only while its pipeline request lives: those after a rejected "
                            "one, other copies of its stage included, end upstream_failed)")
                whose = "1 request exceeds its" if o == 1 else f"{o:,} requests exceed their"
                out.append(f"tenant {t}: {whose} model's context (prompt + "
                           f"output): {what} (workload.overlength={policy})")
            if c:
                out.append(_changed_note(self, t, c, policy))
        return out

    def _piped(self, tenant: str) -> bool:
        """Whether ``tenant`` sends pipeline requests."""
        p = self.pipelines
        return p is not None and bool((p.tenant == self.tenants.index(tenant)).any())

    def __len__(self) -> int:
        return int(self.arrival_s.size)

    @property
    def n_user_tenants(self) -> int:
        return len(self.tenants) - self.background_tenants

    @property
    def user_models(self) -> list[str]:
        return self.models[: len(self.models) - self.background_models - self.tools]

    @property
    def served_models(self) -> list[str]:
        """The models a setup serves (tool stages need no GPU: the pipeline driver runs them)."""
        return self.models[: len(self.models) - self.tools]

    def user_mask(self) -> np.ndarray:
        """True for the requests of the user's (not background) tenants."""
        if not self.background_tenants:
            return np.ones(len(self), bool)
        return self.tenant < self.n_user_tenants


def tenant_arrivals(name: str, tc, horizon: float, seed: int):
    """Arrival times (and trace row indices, for trace replay) for one tenant."""
    a = tc.arrival
    kind = str(a.kind)
    rng = stream(seed, f"arrivals/{name}")
    if kind == "closed":
        return np.full(a.concurrency * a.requests_per_client, np.nan), None
    if kind == "servegen":  # one ServeGen client's windows (tenants_from.servegen)
        g = a.servegen
        return client_arrivals(resolve(str(g.path)), int(g.client_id), float(g.start_s),
                               float(g.rate_scale), horizon, rng), None
    if kind == "trace":
        t = a.trace
        trace = tenant_trace(t, f"tenants.{name}.arrival.trace", trace_sides(tc))
        times, idx = arr.replay(trace, horizon, t.time_scale, t.rate_scale, t.start_s, t.loop, rng)
        return times, (trace, idx)
    curve = None
    span = horizon
    if a.curve == "sinusoid":
        curve = arr.RateCurve.sinusoid(a.period_s, a.peak_to_trough, a.phase_s, horizon)
    elif a.curve == "file":
        curve = read_rate_curve(resolve(str(a.curve_path)), horizon)
    if curve is not None:
        span = curve.u_at(horizon)
    if kind == "poisson":
        t = arr.poisson(a.rate_rps, span, rng)
    elif kind == "gamma":
        t = arr.gamma_renewal(a.rate_rps, a.cv, span, rng)
    else:  # onoff
        t = arr.onoff(a.rate_rps, a.on_s, a.off_s, a.off_rate_fraction, span, rng)
    if curve is not None:
        t = curve.warp(t)
    return t, None


def read_rate_curve(p: str, horizon: float) -> arr.RateCurve:
    """A rate curve from a CSV ``time_s,rate`` (a relative shape); errors name file:line."""
    t, r = read_curve_points(p)
    return arr.RateCurve.from_points(t, r, horizon)


def read_curve_points(p: str) -> tuple[np.ndarray, np.ndarray]:
    """The checked ``(time_s, rate)`` points of a rate-curve CSV."""

    text = read_text(p, "rate curve file")  # a directory, FIFO or device: one line, no hang
    header, lines, rows = csv_rows(text, p)
    df = pd.DataFrame(rows, columns=header, dtype=str)
    if header != ["time_s", "rate"]:
        # read by position, a file with its columns swapped or another header would be
        # silently misread
        raise InputError(f"the header must be time_s,rate, got {','.join(map(str, df.columns))}",
                         path=p, line=header.line)
    if len(df) < 2:
        raise InputError("rate curve needs two rows", path=p, line=1)
    t = pd.to_numeric(df.iloc[:, 0].str.strip(), errors="coerce").to_numpy(float)
    r = pd.to_numeric(df.iloc[:, 1].str.strip(), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(t) | ~np.isfinite(r) | (r < 0) | (np.abs(t) > MAX_MAGNITUDE) | (r > MAX_MAGNITUDE)
    if bad.any():
        raise InputError(f"non-numeric, non-finite, negative or implausible (beyond "
                         f"{MAX_MAGNITUDE:g}) value", path=p,
                         line=lines[int(np.flatnonzero(bad)[0])])
    if (np.diff(t) <= 0).any():
        raise InputError("times must increase", path=p,
                         line=lines[int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1])
    if t[-1] - t[0] < MIN_INTERVAL_S:  # repeated over the horizon: billions of points
        raise InputError(f"its times span {t[-1] - t[0]:g} s, less than {MIN_INTERVAL_S:g} s "
                         "(the shortest period simulated); the curve repeats over the horizon",
                         path=p, line=lines[-1])
    if r.max() <= 0:
        raise InputError(f"rate curve is zero everywhere (lines {lines[0]}-{lines[-1]})", path=p)
    return t, r


def _length_source(lc, replayed: np.ndarray | None, key: str) -> np.ndarray | None:
    """The recorded lengths a length distribution draws from, if it draws from a trace:
    ``kind: trace`` uses the replayed requests' own lengths; ``kind: empirical`` with a
    ``column`` resamples that column of the trace file at ``path`` (JSON lines, or an Azure or
    BurstGPT CSV: :mod:`sim.workload.trace_lengths`); ``key``: the length config's."""
    if lc.kind == "trace":
        return replayed
    if lc.kind == "empirical" and lc.column:
        return column_lengths(resolve(str(lc.path)), str(lc.column), key)
    return None


def generate_workload(cfg, catalog) -> Workload:
    """All tenants' requests of the (typed, checked) config, merged and sorted by (arrival
    time, tenant, order)."""
    tenants = sorted(cfg.tenants.keys())
    horizon = float(cfg.horizon_s)
    seed = int(cfg.seed)
    policy = str(cfg.workload.overlength)
    specs: dict[str, object] = {}  # pipeline name -> PipelineSpec, for the tenants that send one
    for t in tenants:
        p = cfg.tenants[t].pipeline
        if p is not None and p not in specs:
            specs[p] = parse_pipeline(p, cfg.pipelines[p])
    piped = {t: specs[cfg.tenants[t].pipeline] for t in tenants
             if cfg.tenants[t].pipeline is not None}
    models = sorted({cfg.tenants[t].model for t in tenants if t not in piped}
                    | {m for sp in specs.values() for m, tool in zip(sp.model, sp.tool) if not tool})

    store = Blocks(spill_wanted(cfg))  # every tenant's columns, merged at the end
    changed: dict[str, int] = {}  # tenant -> requests whose lengths differ from the draw
    changed_how: dict[str, dict] = {}  # tenant -> Lengths.how
    over_n: dict[str, int] = {}  # tenant -> requests beyond the context, kept whole
    changed_over: dict[str, int] = {}  # tenant -> of those, requests whose lengths were changed
    thinks: list = []  # per block: think times, None when the block has none
    segs: list = []  # per block: prefix segments, None when the block has none
    sources = Sources()  # prefix content sources, numbered in sorted tenant order
    closed = {}
    pipe_arrivals: list = []
    replayed: list[str] = []  # notes on what trace replays changed or left out
    for ti, name in enumerate(tenants):
        tc = cfg.tenants[name]
        times, trace_idx = tenant_arrivals(name, tc, horizon, seed)
        if str(tc.arrival.kind) in ("trace", "servegen", "closed") and str(tc.arrival.curve) != "none":
            replayed.append(f"tenant {name}: arrival.curve {tc.arrival.curve} is not applied: it "
                            f"modulates a synthetic rate, and arrival.kind {tc.arrival.kind} "
                            "sets its own times")
        if trace_idx is not None:
            t = tc.arrival.trace
            replayed += arr.replay_notes(name, trace_idx[0], trace_idx[1], horizon, t.time_scale,
                                         t.rate_scale, t.start_s, t.loop)
        if name in piped:
            pipe_arrivals.append((ti, name, times))
            if trace_idx is not None:  # its input and output configs are not read: said
                p, tr = tc.pipeline, trace_idx[0]
                # "not the lengths the trace records" only when it records some (it was said
                # with the trace's length columns null until December 2026)
                _, *cols = length_columns(tc.arrival.trace)
                kept = any(c is not None and side not in dict(tr.lacks)
                           for side, c in zip(("input", "output"), cols))
                replayed.append(f"tenant {name}: the trace gives its pipeline's arrival times "
                                f"only; the lengths come from each stage's input and output "
                                f"(pipelines.{p}.stages)"
                                + (", not the lengths the trace records" if kept else ""))
            continue
        trace_in = trace_out = None
        if trace_idx is not None:
            trace, idx = trace_idx
            replayed += drawn_lengths_note(name, tc, trace)
            trace_in, trace_out = (None if c is None else c[idx]  # None: a log's column not read
                                   for c in (trace.input_tokens, trace.output_tokens))
        req = tenant_requests(name, tc, times, trace_idx, seed, catalog.models[tc.model], policy,
                              sources, horizon,
                              _length_source(tc.input, trace_in, f"tenants.{name}.input"),
                              _length_source(tc.output, trace_out, f"tenants.{name}.output"))
        blocks = blocks_replayed(tc, trace_idx)
        replayed += trace_prefix_note(name, tc, times.size, req.times.size, blocks)
        if blocks and str(tc.input.kind) != "trace" and not sessions_on(tc):  # unsaid before
            replayed.append(f"tenant {name}: its drawn prompts keep the prompt blocks (hash_ids) "
                            f"of the rows replayed, cut at the drawn length ({blocks:,} requests; "
                            "a prompt longer than its row's blocks is its own text past them); "
                            f"tenants.{name}.arrival.trace.prefixes: false reads none")
        times, ln = req.times, req.lengths  # with sessions: every turn's arrival
        n = times.size
        think = req.think  # closed-loop sessions: between turns, and between sessions
        if tc.arrival.kind == "closed":
            closed[ti] = int(tc.arrival.concurrency)
            if think is None and tc.arrival.think_s > 0:
                think = stream(seed, f"think/{name}").exponential(float(tc.arrival.think_s), n)
        changed[name], over_n[name] = ln.changed, int(ln.over.sum())
        changed_over[name] = changed_over_context(ln.changed_mask, ln.over)
        changed_how[name] = ln.how or {}
        store.add(times, ti, tc.model, ln.ins, ln.outs, ln.over, ln.changed_mask)
        thinks.append(think)
        segs.append(req.prefixes)
    times = ln = req = think = None  # the last tenant's arrays: in the store now

    def keep(b):  # a background tenant, its columns taken as it is made
        store.add(b.arrival_s, len(tenants) + len(thinks) - n_user, b.model, b.input_tokens,
                   b.output_tokens, b.over, b.changed_mask)
        changed[b.name], over_n[b.name] = b.changed, int(b.over.sum())
        changed_over[b.name] = changed_over_context(b.changed_mask, b.over)
        changed_how[b.name] = b.how or {}
        thinks.append(None)
        segs.append(None)
        return b.name, b.model

    n_user = len(thinks)
    bg = background(cfg, catalog, seed, horizon, models, policy, keep)
    bg_names, bg_of = [name for name, _ in bg], {name: [m] for name, m in bg}
    replayed += user_models_notes(cfg, bg)
    all_models = models + sorted({m for _, m in bg} - set(models))
    # sorted by time, stable (sim/workload/merge.py, or a window at a time from the blocks'
    # files: sim/workload/spill.py); think times and prompt segments need the whole order
    cols = store.merged(all_models, in_memory=any(x is not None for x in thinks + segs))
    where, sizes = cols["where"], [b.n for b in store.blocks]
    if store.note is not None:
        replayed.append(store.note)
    slo = {n: float(cfg.tenants[n].slo_ttft_s) for n in tenants}
    slo.update({name: float(cfg.background.slo_ttft_s) for name in bg_names})
    wl = Workload(
        tenants=tenants + bg_names, models=all_models, horizon_s=horizon,
        arrival_s=cols["t"], tenant=cols["tenant"], model=cols["model"],
        input_tokens=cols["in"], output_tokens=cols["out"],
        over_context=None if not cols.get("any_over", True) else cols["over"],
        changed_req=cols["moved"],
        changed=changed, over_counts=over_n, changed_how=changed_how, changed_over=changed_over,
        closed=closed,
        think_s=(None if all(x is None for x in thinks) else scatter(
            [np.zeros(k) if x is None else x for x, k in zip(thinks, sizes)], where)),
        slo_ttft_s=slo,
        deadlines={n: float(BATCH_DEADLINE_S if cfg.tenants[n].deadline_s is None
                            else cfg.tenants[n].deadline_s)
                   for n in tenants if str(cfg.tenants[n].priority) == "batch"},
        replay_notes=replayed,
        prefixes=(None if all(x is None for x in segs) else Prefixes.concat(
            [Prefixes.empty(k) if x is None else x for x, k in zip(segs, sizes)]).take(
                order_of(where))),
        background_tenants=len(bg_names), background_models=len(all_models) - len(models),
        tenant_models={**{n: ([m for m, tool in zip(piped[n].model, piped[n].tool) if not tool]
                              if n in piped else [cfg.tenants[n].model]) for n in tenants},
                       **bg_of},
    )
    if piped:
        append_stage_requests(wl, cfg, catalog, seed, pipe_arrivals, piped, policy)
    if wl.over_context is not None and not wl.over_context.any():
        wl.over_context = None
    if wl.prefixes is not None and not wl.prefixes.key.size:
        wl.prefixes = None  # e.g. a trace whose lines list no blocks
    return wl


def _changed_note(wl, t: str, c: int, policy: str) -> str:
    """``wl``'s note on what was changed for tenant ``t``'s ``c`` requests, each change with
    the setting that made it, and how many of them still exceed the context, so are rejected
    (until December 2026 the note said they were changed "to be served" and named
    workload.overlength, though a bound had cut them and the run then rejected them)."""
    clip = " (workload.overlength=clip)"
    how = ("clipped to the length config's [min, max], raised to one token"
           + (", or cut to the context" + clip if policy == "clip" else ""))
    if wl.changed_how.get(t):  # what was done, not all that could have been
        how = ", ".join((f"{k:,} {w}" if k != 1 else "1 " + w.replace("s ", " ", 1))
                        + (clip if "cut to the context" in w else "")
                        for w, k in wl.changed_how[t].items())
    whose = "1 request's length was" if c == 1 else f"{c:,} requests' lengths were"
    note = f"tenant {t}: {whose} changed to be served: {how}"
    r = wl.changed_over.get(t, 0)
    if r:
        which = "it" if c == 1 else f"all {r:,}" if r == c else f"{r:,} of them"
        note += (f"; {which} still exceed{'s' * (r == 1)} the model's context and "
                 f"{'is' if r == 1 else 'are'} rejected on arrival"
                 f"{' if sent' if wl._piped(t) else ''} (workload.overlength={policy})")
    return note + "; column `clipped`"
