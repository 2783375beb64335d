"""Pipeline requests expanded into stage requests when the workload is generated.

A pipeline (``pipelines.<p>``) is a DAG of stages; a tenant with ``pipeline: <p>`` sends
pipeline requests at its arrival times. Here each pipeline request becomes its stage
requests: a stage runs with its ``probability`` (one draw per pipeline request from the
stream ``pipeline/<tenant>/<stage>/run``) as ``fanout`` calls, each with its own prompt and
output lengths (``input/<tenant>/<stage>``, ``output/<tenant>/<stage>``) or, for a tool,
its own latency (``latency/<tenant>/<stage>``). So the request log's size is known before
any setup runs, every setup sees identical stage requests, and the run is deterministic.

Stage requests come after every other request of the workload, grouped by pipeline request
(pipelines in arrival order) and, inside one, by stage in topological order, then by copy.
Their arrival times are NaN: :mod:`sim.simulation.pipeline` sends each when its predecessors end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.rng import stream
from sim.workload.lengths import changed_over_context, request_lengths
from sim.workload.prefixes import Prefixes


@dataclass
class PipelineSpec:
    """One pipeline definition, stages in topological order (ties: declaration order)."""

    name: str
    stages: list[str]
    preds: list[list[int]]  # stage index -> predecessor stage indices
    succs: list[list[int]]
    tool: list[bool]
    model: list[str]  # catalog model, or ``tool:<pipeline>/<stage>``
    fanout: list[int]
    probability: list[float]
    prewarm: bool
    # the end stages (no successor) whose first token is the pipeline request's final TTFT:
    # its model end stages, or every end stage when all are tools; per pipeline request the
    # one of them that ended last (until December 2026 the last end stage in topological
    # order, so a tool declared after the answer made the tool's end the final TTFT)
    ends: list[int]

    @property
    def n(self) -> int:
        return len(self.stages)


@dataclass
class PipelineRequests:
    """Pipeline requests of a workload and where their stage requests are."""

    specs: list[PipelineSpec]
    arrival_s: np.ndarray  # float64, sorted
    tenant: np.ndarray  # int16, workload tenant index
    spec: np.ndarray  # int16, index into specs
    first: np.ndarray  # int64, n + 1: stage requests of pipeline p are ids first[p]..first[p+1]
    stage: np.ndarray  # int16, per stage request (ids first[0]..): stage index in its spec
    tool_s: np.ndarray  # float64, per stage request: a tool's latency (NaN for model calls)
    models: list[str] = field(default_factory=list)  # model index -> name (tools included)

    def __len__(self) -> int:
        return int(self.arrival_s.size)

    @property
    def base(self) -> int:
        return int(self.first[0])


def tool_name(pipeline: str, stage: str) -> str:
    return f"tool:{pipeline}/{stage}"


def topological_order(pc) -> tuple[list[str], list[str]]:
    """The stages in topological order (Kahn's algorithm; among ready stages the first
    declared goes first, so the order is deterministic), and the stages left in a cycle."""
    names = list(pc.stages)
    left = {s: set(pc.stages[s].after) for s in names}
    order: list[str] = []
    while left:
        ready = [s for s in names if s in left and not left[s]]
        if not ready:
            return order, [s for s in names if s in left]
        s = ready[0]
        order.append(s)
        del left[s]
        for v in left.values():
            v.discard(s)
    return order, []


def parse_pipeline(name: str, pc) -> PipelineSpec:
    """A (checked) pipeline's stages in topological order."""
    order, _ = topological_order(pc)
    idx = {s: i for i, s in enumerate(order)}
    preds = [sorted(idx[a] for a in set(pc.stages[s].after)) for s in order]
    succs = [[j for j in range(len(order)) if i in preds[j]] for i in range(len(order))]
    tool = [pc.stages[s].kind == "tool" for s in order]
    sinks = [i for i in range(len(order)) if not succs[i]]
    ends = [i for i in sinks if not tool[i]] or sinks
    return PipelineSpec(
        name=name, stages=order, preds=preds, succs=succs, tool=tool,
        model=[tool_name(name, s) if t else str(pc.stages[s].model) for s, t in zip(order, tool)],
        fanout=[int(pc.stages[s].fanout) for s in order],
        probability=[float(pc.stages[s].probability) for s in order],
        prewarm=bool(pc.prewarm), ends=ends)


def _latency(lat, n: int, rng) -> np.ndarray:
    kind = str(lat.kind)
    mean = float(lat.mean_s)
    if kind == "fixed" or mean == 0:
        return np.full(n, mean)
    if kind == "exponential":
        return rng.exponential(mean, n)
    s2 = np.log1p(float(lat.cv) ** 2)
    return rng.lognormal(np.log(mean) - s2 / 2.0, np.sqrt(s2), n)


@dataclass
class TenantStages:
    """One pipeline tenant's stage requests, in (pipeline request, stage, copy) order."""

    pipe: np.ndarray  # int64, the tenant's own pipeline request index
    stage: np.ndarray  # int16, stage index in the spec (its model: spec.model[stage])
    n_in: np.ndarray
    n_out: np.ndarray
    tool_s: np.ndarray
    over: np.ndarray  # bool: beyond the stage model's context (rejected when sent)
    changed: int  # stage requests whose lengths differ from the draw
    changed_mask: np.ndarray | None = None  # bool per stage request: those requests
    # what was changed, how often, per stage (Lengths.how, each led by its stage's name)
    how: dict | None = None


def expand(tenant: str, spec: PipelineSpec, pc, n: int, seed: int, catalog,
           policy: str = "reject") -> TenantStages:
    """The stage requests of ``n`` pipeline requests of one tenant."""
    pipe, stage, ins, outs, lat, over, moved = [], [], [], [], [], [], []
    changed, how = 0, {}
    for si, s in enumerate(spec.stages):
        sc = pc.stages[s]
        runs = stream(seed, f"pipeline/{tenant}/{s}/run").random(n) < spec.probability[si]
        p = np.repeat(np.flatnonzero(runs), spec.fanout[si])
        m = p.size
        pipe.append(p)
        stage.append(np.full(m, si, np.int16))
        if spec.tool[si]:
            ins.append(np.zeros(m, np.int32))
            outs.append(np.zeros(m, np.int32))
            over.append(np.zeros(m, bool))
            moved.append(np.zeros(m, bool))
            lat.append(_latency(sc.latency, m, stream(seed, f"latency/{tenant}/{s}")))
            continue
        ln = request_lengths(sc.input, sc.output, m, stream(seed, f"input/{tenant}/{s}"),
                             stream(seed, f"output/{tenant}/{s}"), catalog.models[sc.model], policy)
        ins.append(ln.ins)
        outs.append(ln.outs)
        over.append(ln.over)
        changed += ln.changed
        how.update({f"{w} (stage {s})": k for w, k in (ln.how or {}).items()})
        moved.append(ln.changed_mask)
        lat.append(np.full(m, np.nan))
    pipe_a = np.concatenate(pipe).astype(np.int64)
    order = np.argsort(pipe_a, kind="stable")  # by pipeline request, then stage, then copy
    st = np.concatenate(stage)[order]
    return TenantStages(pipe=pipe_a[order], stage=st, n_in=np.concatenate(ins)[order],
                        n_out=np.concatenate(outs)[order], tool_s=np.concatenate(lat)[order],
                        over=np.concatenate(over)[order], changed=changed,
                        changed_mask=np.concatenate(moved)[order], how=how)


def append_stage_requests(wl, cfg, catalog, seed: int, arrivals, piped, policy: str = "reject") -> None:
    """Add the pipeline tenants' stage requests to workload ``wl`` (in place).

    ``arrivals``: (tenant index, tenant name, pipeline arrival times) per pipeline tenant;
    ``piped``: tenant name -> PipelineSpec."""
    specs: list[PipelineSpec] = []
    for sp in piped.values():
        if sp not in specs:
            specs.append(sp)
    tools = [m for sp in specs for m, t in zip(sp.model, sp.tool) if t]
    models = wl.models + [m for m in dict.fromkeys(tools)]
    # pipeline requests of every tenant, ordered by (arrival, tenant, per-tenant order)
    t_all, ten_all, seq_all, spec_all = [], [], [], []
    per_tenant = {}
    for ti, name, times in arrivals:
        sp = piped[name]
        stages = expand(name, sp, cfg.pipelines[sp.name], times.size, seed, catalog, policy)
        wl.changed[name] = stages.changed
        wl.changed_how[name] = stages.how  # what was done (was the list of what could be)
        wl.over_counts[name] = int(stages.over.sum())
        wl.changed_over[name] = changed_over_context(stages.changed_mask, stages.over)
        per_tenant[ti] = (times.size, stages, sp)
        t_all.append(times)
        ten_all.append(np.full(times.size, ti, np.int16))
        seq_all.append(np.arange(times.size))
        spec_all.append(np.full(times.size, specs.index(sp), np.int16))
    t = np.concatenate(t_all)
    ten = np.concatenate(ten_all)
    seq = np.concatenate(seq_all)
    order = np.lexsort((seq, ten, t))
    n_p = t.size
    # global pipeline id of (tenant, local index)
    gid = {}
    rank = np.empty(n_p, np.int64)
    rank[order] = np.arange(n_p)
    off = 0
    for ti, name, times in arrivals:
        gid[ti] = rank[off:off + times.size]
        off += times.size
    # stage rows of all tenants, sorted by global pipeline id (stable: stage, copy order kept)
    g, rows_t, rows_m, rows_st, rows_in, rows_out, rows_lat, rows_over = [], [], [], [], [], [], [], []
    rows_moved = []
    for ti, (n, st, sp) in per_tenant.items():
        g.append(gid[ti][st.pipe])
        rows_t.append(np.full(st.pipe.size, ti, np.int16))
        midx = np.array([models.index(m) for m in sp.model], np.int16)
        rows_m.append(midx[st.stage] if st.stage.size else np.zeros(0, np.int16))
        rows_st.append(st.stage)
        rows_in.append(st.n_in)
        rows_out.append(st.n_out)
        rows_lat.append(st.tool_s)
        rows_over.append(st.over)
        rows_moved.append(st.changed_mask)
    g_a = np.concatenate(g)
    o = np.argsort(g_a, kind="stable")
    counts = np.bincount(g_a, minlength=n_p)
    base = len(wl)
    first = base + np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    m = g_a.size
    wl.arrival_s = np.concatenate([wl.arrival_s, np.full(m, np.nan)])
    wl.tenant = np.concatenate([wl.tenant, np.concatenate(rows_t)[o]])
    wl.model = np.concatenate([wl.model, np.concatenate(rows_m)[o]])
    wl.input_tokens = np.concatenate([wl.input_tokens, np.concatenate(rows_in)[o]]).astype(np.int32)
    wl.output_tokens = np.concatenate([wl.output_tokens, np.concatenate(rows_out)[o]]).astype(np.int32)
    if wl.think_s is not None:
        wl.think_s = np.concatenate([wl.think_s, np.zeros(m)])
    wl.over_context = np.concatenate([wl.over_context, np.concatenate(rows_over)[o]])
    wl.changed_req = np.concatenate([wl.changed_req, np.concatenate(rows_moved)[o]])
    if wl.prefixes is not None:  # stage requests have no shared prefix segments
        wl.prefixes = Prefixes.concat([wl.prefixes, Prefixes.empty(m)])
    wl.tools = len(models) - len(wl.models)
    wl.models = models
    wl.pipelines = PipelineRequests(
        specs=specs, arrival_s=t[order], tenant=ten[order],
        spec=np.concatenate(spec_all)[order], first=first,
        stage=np.concatenate(rows_st)[o].astype(np.int16),
        tool_s=np.concatenate(rows_lat)[o], models=models)
