"""Checks of the workload's keys: tenants, arrivals, lengths, traces, pipelines, background.

Ranges of single numbers are declared on the fields (:mod:`sim.config.rules`); here are the
rules that involve several keys or a file (a file that must exist, a trace whose replay
must leave requests). Data files are read here once so that a bad value is reported, with
its file and line, before anything is generated (the readers cache what they read).
"""

from __future__ import annotations

import numpy as np

from sim.config import ArrivalKind, LengthKind, RateCurve, StageKind
from sim.config.rules import MAX_TENANTS
from sim.errors import InputError
from sim.paths import resolve
from sim.simulation.build.models import model
from sim.textfiles import require_file
from sim.workload.arrivals import from_start, recorded_s
from sim.workload.background import (
    WINDOW_S,
    enabled,
    interval_text,
    load_client_windows,
    silent_client,
)
from sim.workload.lengths import load_pmf
from sim.workload.pipelines import topological_order
from sim.workload.trace_columns import trace_sides
from sim.workload.trace_filter import value_problem
from sim.workload.trace_lengths import column_lengths
from sim.workload.traces import tenant_trace

TRACE_COLUMNS = ("input_tokens", "output_tokens")


def _existing(path: str | None, key: str, what: str) -> str:
    if not path:
        raise InputError(f"{what} needs a path", key=key)
    p = resolve(str(path))
    require_file(p, f"{what} file", key)
    return p


def check_workload(cfg, catalog) -> None:
    if not cfg.tenants:
        raise InputError("no tenants: define at least one under `tenants`", key="tenants")
    used_pipelines = []
    for name in sorted(cfg.tenants):
        tc = cfg.tenants[name]
        key = f"tenants.{name}"
        if str(name).startswith("__") or "/" in str(name) or "." in str(name):
            # "__all__", "__background__" ... label summary rows; "bg/<name>" is a background
            # tenant, and "<tenant>/<stage>" names random streams: one of them would be merged
            # with this tenant's; in tenants.a.b.model no reader can tell the name from its
            # keys (until December 2026 "a.b" ran, its keys' notes all lost)
            raise InputError(f"tenant name {name!r} is reserved: a name may not start with '__' "
                             "(summary rows such as __all__) or contain '/' (background "
                             "tenants bg/...) or '.' (a dotted key, tenants.<name>.model, "
                             "could not tell the name from its keys)", key=key)
        if tc.pipeline is None:
            model(catalog, tc.model, key + ".model")
        else:
            if not tc.pipeline:  # "" labels the requests outside a pipeline in the tables
                raise InputError("a pipeline name may not be empty (the tables label the "
                                 "requests outside a pipeline with \"\")", key=key + ".pipeline")
            if tc.pipeline not in cfg.pipelines:
                known = ", ".join(sorted(cfg.pipelines)) or "none"
                raise InputError(f"unknown pipeline {tc.pipeline!r}; known: {known}",
                                 key=key + ".pipeline")
            if tc.arrival.kind == ArrivalKind.closed:
                raise InputError("pipeline tenants need an open arrival process",
                                 key=key + ".arrival.kind")
            if tc.pipeline not in used_pipelines:
                used_pipelines.append(tc.pipeline)
        check_arrival(tc.arrival, key + ".arrival", trace_sides(tc), float(cfg.horizon_s))
        check_priority(tc, key)
        check_prefix(tc, key)
        if tc.pipeline is None:
            check_length(tc.input, key + ".input", tc.arrival.kind)
            check_length(tc.output, key + ".output", tc.arrival.kind)
    for p in used_pipelines:
        check_pipeline(p, cfg.pipelines[p], catalog)
    check_background(cfg, catalog)


def check_priority(tc, key: str) -> None:
    """A deadline belongs to a batch-tier tenant; a pipeline tenant's calls are interactive
    (its stages' requests follow one another within one user request)."""
    batch = str(tc.priority) == "batch"
    if tc.deadline_s is not None and not batch:
        raise InputError("a deadline applies to batch-tier tenants only (set priority: batch, "
                         "or remove deadline_s)", key=key + ".deadline_s")
    if batch and tc.pipeline is not None:
        raise InputError("a pipeline tenant cannot be batch-tier (its stages run in sequence "
                         "within one user request)", key=key + ".priority")


def check_prefix(tc, key: str) -> None:
    """Shared prefixes are prompts, which a pipeline tenant does not send itself. (Sessions
    run on any arrival process: open arrivals are session starts, closed-loop clients run
    sessions one after another.)"""
    pc = tc.prefix
    sessions = float(pc.sessions.turns_mean) > 1
    if tc.pipeline is not None and (sessions or int(pc.system_tokens) > 0 or int(pc.docs.count) > 0):
        raise InputError("a pipeline tenant's prompts are its stages'; remove its prefix settings",
                         key=key + ".prefix")


def check_arrival(a, key: str, sides: tuple = ("input", "output"),
                  horizon: float | None = None) -> None:
    """``sides``: the tenant's lengths read from its trace (:func:`trace_sides`);
    ``horizon``: the run's, over which a ServeGen client must send requests."""
    if a.kind == ArrivalKind.closed:
        return  # concurrency, think time and requests per client: field ranges
    if a.think_s != 0:
        raise InputError("think time applies to closed-loop clients only (arrival.kind: closed)",
                         key=key + ".think_s")
    if a.kind == ArrivalKind.servegen:
        g = a.servegen
        path = _existing(g.path, key + ".servegen.path", "ServeGen client windows")
        cid, wstart, rate, _, _ = load_client_windows(path)
        if not (cid == int(g.client_id)).any():
            raise InputError(f"client {g.client_id} is not in the file", key=key + ".servegen.client_id",
                             path=path)
        lo = float(g.start_s)
        why = None if horizon is None else silent_client(cid, wstart, rate, int(g.client_id), lo,
                                                          lo + horizon)
        if why:
            raise InputError(why, key=key + ".servegen.start_s", path=path)
        return
    if a.kind == ArrivalKind.trace:
        t = a.trace
        _existing(t.path, key + ".trace.path", "trace")
        cols = [c for c in (t.csv.time, t.csv.input, t.csv.output) if c is not None]
        if str(t.format) == "csv" and (not all(c.strip() for c in cols) or len(set(cols)) < len(cols)):
            raise InputError(f"the time, input and output columns must be different names "
                             f"(a length column null: none), got {cols}", key=key + ".trace.csv")
        for col, vals in t.where.items():
            why = value_problem(vals)
            if why:
                raise InputError(why, key=f"{key}.trace.where.{col}")
        trace = tenant_trace(t, key + ".trace", sides)
        if not from_start(trace, t.start_s).any():
            # 12 digits: the conversation trace's last row, 3536.999 s, was "3537 s" with :g
            raise InputError(f"the trace has no requests after start_s={t.start_s:.12g} (its "
                             f"last row is recorded at {recorded_s(trace)[-1]:.12g} s)",
                             key=key + ".trace.start_s")
        if t.loop and not trace.duration_s - t.start_s > 0:
            raise InputError("a looped trace needs requests recorded at two different times "
                             f"after start_s (this one lasts {trace.duration_s - t.start_s:g} s "
                             "as recorded; duplicates: spread does not lengthen it)",
                             key=key + ".trace.loop")
        return
    if a.curve == RateCurve.file:
        _existing(a.curve_path, key + ".curve_path", "a file rate curve (CSV time_s,rate)")


def check_length(lc, key: str, arrival_kind) -> None:
    if lc.max is not None and lc.min > lc.max:
        raise InputError(f"needs {key}.min <= {key}.max, got {lc.min} > {lc.max}", key=key)
    kind = lc.kind
    if kind == LengthKind.fixed and lc.mean != int(lc.mean):  # every request would be rounded
        raise InputError(f"a fixed length is a whole number of tokens, got {lc.mean:g}",
                         key=key + ".mean")
    if kind == LengthKind.geometric and lc.mean < 1:
        raise InputError(f"geometric needs mean >= 1, got {lc.mean:g}", key=key + ".mean")
    if kind == LengthKind.trace and arrival_kind != ArrivalKind.trace:
        raise InputError("trace lengths need the tenant's arrival kind to be trace", key=key)
    if kind == LengthKind.empirical:
        if lc.column is not None:  # '' too: it was taken for no column, the trace read as a PMF
            if not str(lc.column).strip():
                raise InputError(f"column must be {' or '.join(TRACE_COLUMNS)} or a column of the "
                                 "file by its name", key=key + ".column")
            path = _existing(lc.path, key + ".path", "empirical lengths from a trace column")
            if not column_lengths(path, lc.column, key).size:
                raise InputError("the trace column has no values", key=key + ".column")
        else:
            if not lc.path:
                raise InputError("empirical lengths need `path` (a PMF CSV) or a trace `column`",
                                 key=key)
            load_pmf(_existing(lc.path, key + ".path", "a PMF"))


def check_pipeline(name: str, pc, catalog) -> None:
    key = f"pipelines.{name}"
    names = list(pc.stages)
    if not names:
        raise InputError("a pipeline needs at least one stage", key=key + ".stages")
    for s in names:
        if not s:  # "" labels the requests outside a pipeline in the tables
            raise InputError("a stage name may not be empty (the tables label the requests "
                             "outside a pipeline with \"\")", key=key + ".stages")
        sc = pc.stages[s]
        k = f"{key}.stages.{s}"
        if len(set(sc.after)) < len(sc.after):
            raise InputError(f"a stage is listed twice in {list(sc.after)}", key=k + ".after")
        for a in sc.after:
            if a not in pc.stages:
                raise InputError(f"unknown stage {a!r}; stages: {', '.join(names)}", key=k + ".after")
            if a == s:
                raise InputError("a stage cannot come after itself", key=k + ".after")
        if sc.kind == StageKind.model:
            if not sc.model:
                raise InputError("a model stage needs a model", key=k + ".model")
            model(catalog, sc.model, k + ".model")
            check_length(sc.input, k + ".input", None)
            check_length(sc.output, k + ".output", None)
    order, cycle = topological_order(pc)
    if cycle:
        raise InputError(f"the stages {', '.join(cycle)} form a cycle", key=f"{key}.stages.{cycle[0]}.after")


def check_background(cfg, catalog) -> None:
    if not enabled(cfg):
        return
    bg = cfg.background
    n = (len(cfg.tenants) + int(bg.synthetic.tenants)
         + (len(bg.servegen.client_ids) or int(bg.servegen.clients)))
    if n > MAX_TENANTS:
        raise InputError(f"{n:,} tenants in all (user, synthetic and ServeGen background): at "
                         f"most {MAX_TENANTS:,} fit the request log", key="background")
    user_models = sorted({tc.model for tc in cfg.tenants.values() if tc.pipeline is None})
    sc = cfg.background.synthetic
    if sc.tenants > 0:
        if len(set(sc.models)) < len(sc.models):  # two Zipf ranks for one model, merged unsaid
            raise InputError(f"a model is listed twice in {list(sc.models)}",
                             key="background.synthetic.models")
        for m in (list(sc.models) or user_models):
            model(catalog, m, "background.synthetic.models")
        check_length(sc.input, "background.synthetic.input", None)
        check_length(sc.output, "background.synthetic.output", None)
    sg = cfg.background.servegen
    key = "background.servegen"
    if sg.clients > 0 or sg.client_ids:
        asked = key + (".client_ids" if sg.client_ids else ".clients")  # named: it asked
        path = _existing(sg.path, key + ".path",
                         f"ServeGen background (*_client_windows.csv.gz, asked for by {asked})")
        for m in (list(sg.models) or user_models):
            model(catalog, m, key + ".models")
        check_length(sg.input, key + ".input", None)
        check_length(sg.output, key + ".output", None)
        if sg.clients > 0 and sg.client_ids:  # client_ids would win, unsaid
            raise InputError("give clients (the busiest N) or client_ids, not both",
                             key=key + ".clients")
        cid, wstart, rate, _, _ = load_client_windows(path)
        if len(set(sg.client_ids)) != len(sg.client_ids):  # two tenants of one name, bg/sg<id>
            raise InputError(f"client ids repeat: {list(sg.client_ids)}", key=key + ".client_ids")
        known = set(np.unique(cid).tolist())
        lo = float(sg.start_s)
        for c in sg.client_ids:
            if c not in known:
                raise InputError(f"client {c} is not in the file", key=key + ".client_ids")
            why = silent_client(cid, wstart, rate, int(c), lo, lo + float(cfg.horizon_s))
            if why:
                raise InputError(why, key=key + ".client_ids", path=path)
        if not sg.client_ids:
            lo, hi = float(sg.start_s), float(sg.start_s) + float(cfg.horizon_s)
            active = (wstart + WINDOW_S > lo) & (wstart < hi) & (rate > 0)
            if not active.any():
                raise InputError(f"no active client in {interval_text(lo, hi)}", key=key + ".start_s")
            n = np.unique(cid[active]).size
            if n < sg.clients:  # the run would have fewer background clients than asked, unsaid
                raise InputError(f"the busiest {sg.clients} asked for, but only {n} clients send "
                                 f"requests in {interval_text(lo, hi)}: set clients to at most {n}",
                                 key=key + ".clients", path=path)
