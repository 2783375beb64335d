"""Checks of a setup's keys before it is built: dedicated, serverless, hybrid, cold start.

A setup is checked for the models it will serve (a hybrid checks its dedicated part and its
serverless part as those setups), so a run that never builds the serverless pool does not
need, for example, per-token prices.
"""

from __future__ import annotations

import math

from sim.config import ServerlessBilling
from sim.errors import InputError
from sim.paths import resolve
from sim.platform.dedicated.spot import read_preemption_trace
from sim.platform.hybrid import deployment_gpu_tp, tier_models
from sim.platform.placement import DEDICATED, run_dedicated_models
from sim.platform.serverless.eviction import EVICTIONS
from sim.platform.serverless.nodes import NodePool
from sim.platform.serverless.state import Slot
from sim.platform.storage import TIER_ORDER
from sim.simulation.build.models import gpu, model
from sim.textfiles import require_file


def check_cold_start(cfg) -> None:
    cs = cfg.cold_start
    for t in TIER_ORDER:
        if t not in cs.tiers:
            raise InputError(f"storage tier {t!r} is needed (a node's caches)", key="cold_start.tiers")
    if cs.remote_tier not in cs.tiers or cs.remote_tier in TIER_ORDER:
        raise InputError(f"must be a remote tier of cold_start.tiers (not {sorted(TIER_ORDER)}), "
                         f"got {cs.remote_tier!r}", key="cold_start.remote_tier")
    for key, tier in (("dedicated.burst.storage_tier", cfg.dedicated.burst.storage_tier),
                      ("dedicated.failures.reload_tier", cfg.dedicated.failures.reload_tier),
                      ("dedicated.spot.storage_tier", cfg.dedicated.spot.storage_tier)):
        if tier not in cs.tiers:
            raise InputError(f"unknown storage tier {tier!r}; known: {', '.join(sorted(cs.tiers))}",
                             key=key)


def check_dedicated(cfg, catalog, models: list[str], run_ded: list[str],
                    deployment_for=None) -> None:
    """``run_ded``: the run's models on reserved replicas (a failure script's entry may name
    one another setup reserves: it fails nothing here, as a note says)."""
    dc = cfg.dedicated
    for m in dc.replicas:
        if m not in models and m not in catalog.models:
            raise InputError(f"unknown model {m!r}", key=f"dedicated.replicas.{m}")
    bc = dc.burst
    if bc.enabled and not (int(bc.max_replicas) or int(bc.remote.max_replicas)
                           or any(int(v.replicas) for v in bc.variants if v.model in models)):
        # it ran as no burst, unsaid
        raise InputError("is 0 with dedicated.burst.enabled=true, remote.max_replicas 0 and no "
                         "variant's replicas: no burst replica could start; give a capacity "
                         "or set dedicated.burst.enabled=false", key="dedicated.burst.max_replicas")
    if bc.enabled and str(bc.trigger) == "slo" and not _any_slo(cfg):  # never burst, unsaid
        raise InputError(_NO_SLO.format(what="no burst replica would start"),
                         key="dedicated.burst.trigger")
    if str(dc.failures.mode) == "script" and not len(dc.failures.script):  # ran failure-free
        raise InputError("mode script lists no failure: give the events, or set "
                         "dedicated.failures.mode=none", key="dedicated.failures.script")
    check_cold_start(cfg)
    n_spot = check_spot(cfg, catalog, models, deployment_for)
    # the replicas that fail: the model's own reserved ones, then its variants' in their order
    n_of = {m: int(dc.replicas.get(m, 1)) - n_spot.get(m, 0)
            + sum(int(v.replicas) for v in dc.variants if v.model == m) for m in models}
    first = run_ded[0] if run_ded else ""
    for i, ev in enumerate(dc.failures.script):
        key = f"dedicated.failures.script[{i}]"
        m = ev.model or first
        if m not in run_ded:
            raise InputError(f"model {m!r} is served on reserved replicas by no setup of the run",
                             key=key + ".model")
        if m not in models:  # another setup's (placement.script_elsewhere_notes)
            continue
        if not ev.replica < n_of[m]:
            spot = f" (its {n_spot[m]} spot replicas are reclaimed, not failed)" if n_spot.get(m) else ""
            which = f"replicas 0..{n_of[m] - 1}" if n_of[m] else "no replica that fails"  # was 0..-1
            raise InputError(f"{m} has {which}{spot}", key=key + ".replica")
    _check_script_overlap(dc.failures.script, first)


_NO_SLO = ("is slo, and no tenant has a TTFT SLO (every tenants.<t>.slo_ttft_s is inf), so "
           "every request's limit is inf and {what}; give a tenant an SLO, or trigger=wait")


def _any_slo(cfg) -> bool:
    """Whether a tenant of the run has a finite TTFT SLO (ServeGen tenants bring their own)."""
    return bool(cfg.tenants_from.servegen.path) or any(
        math.isfinite(float(tc.slo_ttft_s)) for tc in cfg.tenants.values())


def _check_script_overlap(script, first_model: str) -> None:
    """Two scripted failures of one replica, the second listed while the first keeps it down:
    a replica down cannot fail, so it was moved to the end of the first, unsaid."""
    down: dict[tuple[str, int], tuple[float, float, int]] = {}
    for i, ev in sorted(enumerate(script), key=lambda p: float(p[1].at_s)):
        who = (ev.model or first_model, int(ev.replica))
        at = float(ev.at_s)
        if who in down and at < down[who][1]:
            start, end, j = down[who]
            raise InputError(f"replica {who[1]} of {who[0]} fails at {at:g} s while down from "
                             f"{start:g} s to {end:g} s (dedicated.failures.script[{j}]): it would "
                             "fail only when it serves again; list it after, or join the two",
                             key=f"dedicated.failures.script[{i}].at_s")
        down[who] = (at, at + float(ev.down_s), i)


def check_failure_times(cfg) -> None:
    """A scripted failure after the horizon of a run whose arrivals are all open: they stop
    there and the run ends when the last request does, so it would happen only by chance.
    Closed loops run until their clients are done, so there one may come later (and one that
    never came is counted in the run's notes). Checked with the workload, before any work."""
    fc = cfg.dedicated.failures
    if str(fc.mode) != "script" or any(str(tc.arrival.kind) == "closed" for tc in cfg.tenants.values()):
        return
    horizon = float(cfg.horizon_s)
    for i, ev in enumerate(fc.script):
        if float(ev.at_s) > horizon:
            raise InputError(f"at_s={float(ev.at_s):g} is after horizon_s={horizon:g}: arrivals "
                             "stop there, and the run ends when the last request does, so the "
                             "failure would happen only if requests were still running",
                             key=f"dedicated.failures.script[{i}].at_s")


def check_spot(cfg, catalog, models: list[str], deployment_for=None) -> dict[str, int]:
    """``dedicated.spot``: counts within each model's replicas, a spot price for the GPU, a
    readable preemption trace naming served models and spot replicas. Returns the spot
    replicas of each served model."""
    dc = cfg.dedicated
    sc = dc.spot
    for m in sc.replicas:
        if m not in models and m not in catalog.models:
            raise InputError(f"unknown model {m!r}", key=f"dedicated.spot.replicas.{m}")
    n_spot = {m: int(sc.replicas.get(m, 0)) for m in models if int(sc.replicas.get(m, 0)) > 0}
    for m, k in n_spot.items():
        n = int(dc.replicas.get(m, 1))
        if k > n:
            raise InputError(f"{m} has {n} replicas (dedicated.replicas.{m}); at most {n} can be "
                             f"spot, got {k}", key=f"dedicated.spot.replicas.{m}")
        g = deployment_for(m).gpu if deployment_for is not None else None
        if g is not None and g.spot_usd_per_hour is None:
            raise InputError(f"{m} runs on {g.key}, which has no spot price",
                             key=f"catalog.gpus.{g.key}.spot_usd_per_hour")
    pc = sc.preemption
    if pc.trace and str(pc.mode) != "trace":
        raise InputError("a preemption trace is replayed with dedicated.spot.preemption.mode=trace "
                         f"only (mode is {pc.mode})", key="dedicated.spot.preemption.trace")
    if n_spot and str(pc.mode) == "trace":
        if not pc.trace:
            raise InputError("mode trace needs a file (time_s,model,replica)",
                             key="dedicated.spot.preemption.trace")
        path = resolve(str(pc.trace))
        # as a tenant's trace path: the file and the key that gave it (the file alone before)
        require_file(path, "preemption trace", key="dedicated.spot.preemption.trace")
        for p in read_preemption_trace(path):
            if p.model not in n_spot:
                raise InputError(f"model {p.model!r} has no spot replicas (served with spot: "
                                 f"{', '.join(sorted(n_spot)) or 'none'})", path=path, line=p.line)
            if p.replica >= n_spot[p.model]:
                raise InputError(f"{p.model} has spot replicas 0..{n_spot[p.model] - 1}, got "
                                 f"{p.replica}", path=path, line=p.line)
    return n_spot


def check_serverless(cfg, catalog, models: list[str], deployment_for, tenants: list[str]) -> None:
    sc = cfg.serverless
    a = sc.autoscaler
    check_cold_start(cfg)
    if math.isinf(cfg.drain_s) and math.isinf(sc.max_wait_s):  # until December 2026 it ran
        # forever once a request no replica could take was queued
        raise InputError("no limit beside serverless.max_wait_s=inf: a request the pool can "
                         "never place would wait, and the run go on, forever; bound one of "
                         "them", key="drain_s")
    for g, pc in sc.pool.items():
        key = f"serverless.pool.{g}"
        gpu(catalog, g, key)
        if pc.max_nodes is not None and pc.max_nodes < pc.nodes:
            raise InputError(f"must be >= {key}.nodes ({pc.nodes})", key=key + ".max_nodes")
    if not a.panic_window_s <= a.stable_window_s:
        raise InputError("must be <= serverless.autoscaler.stable_window_s "
                         f"({a.stable_window_s:g})",
                         key="serverless.autoscaler.panic_window_s")
    h = sc.keepalive.hybrid
    if h.range_s < h.bin_s:
        raise InputError(f"must be >= serverless.keepalive.hybrid.bin_s ({h.bin_s:g})",
                         key="serverless.keepalive.hybrid.range_s")
    if not h.head_pct < h.tail_pct:
        raise InputError(f"must be < serverless.keepalive.hybrid.tail_pct ({h.tail_pct:g})",
                         key="serverless.keepalive.hybrid.head_pct")
    for m in a.min_replicas:
        if m not in models and m not in catalog.models:
            raise InputError(f"unknown model {m!r}", key=f"serverless.autoscaler.min_replicas.{m}")
    for name in models:
        dep = deployment_for(name)
        g = dep.gpu.key
        if g not in sc.pool:
            raise InputError(f"model {name} runs on {g} but the pool has no {g} nodes "
                             f"(it has {sorted(sc.pool)})", key="serverless.pool")
        if not sc.pool[g].nodes and not sc.pool[g].max_nodes:  # until December 2026 run: every
            # request turned away, each counted a cold start for a load that never happened
            raise InputError(f"model {name} runs on {g}, and the pool has 0 {g} nodes and no "
                             f"serverless.pool.{g}.max_nodes to provision: no replica of it can "
                             "ever load", key=f"serverless.pool.{g}.nodes")
        if dep.tp > sc.pool[g].gpus_per_node:
            raise InputError(f"model {name} needs {dep.tp} GPUs of one node; {g} nodes have "
                             f"{sc.pool[g].gpus_per_node}", key=f"serverless.pool.{g}.gpus_per_node")
        if a.min_replicas.get(name, 0) > a.max_replicas:
            raise InputError(f"must be in [0, max_replicas={a.max_replicas}]",
                             key=f"serverless.autoscaler.min_replicas.{name}")
        if sc.billing == ServerlessBilling.gpu_second:
            if dep.gpu.serverless_usd_per_s is None:
                raise InputError(f"GPU {g} has no serverless $/s price for gpu_second billing",
                                 key=f"catalog.gpus.{g}.serverless_usd_per_s")
        elif dep.model.price_in_usd_per_mtok is None or dep.model.price_out_usd_per_mtok is None:
            raise InputError(f"model {name} has no per-token price for per_token billing",
                             key=f"catalog.models.{name}.price_in_usd_per_mtok")
    for t in sc.rate_limits:
        if t not in tenants:
            raise InputError(f"unknown tenant {t!r}", key=f"serverless.rate_limits.{t}")
    for key, rl in [("serverless.default_rate_limit", sc.default_rate_limit),
                    *((f"serverless.rate_limits.{t}", v) for t, v in sc.rate_limits.items())]:
        # a bucket of rpm tokens: under 1 it never admits a request (until December 2026
        # `rpm: 0.5` rejected every request rate_limit_rpm, unsaid), and K = rpm is a count
        if rl.rpm is not None and not math.isinf(rl.rpm) and not (rl.rpm >= 1 and rl.rpm % 1 == 0):
            raise InputError(f"must be a whole number >= 1 (or inf: no limit), got {rl.rpm:g}",
                             key=f"{key}.rpm")
    _check_min_replicas_fit(cfg, models, deployment_for)


def _check_min_replicas_fit(cfg, models: list[str], deployment_for) -> None:
    """Place every model's minimum replicas at t=0 the way the platform does."""
    sc, cs = cfg.serverless, cfg.cold_start
    if not any(sc.autoscaler.min_replicas.get(m, 0) for m in models):
        return
    pool = NodePool.from_config(sc, cs, EVICTIONS[str(sc.eviction)]())
    for i, name in enumerate(models):
        dep = deployment_for(name)
        size = dep.model.weight_bytes(dep.precision)
        if str(cs.preloaded_tier) != "remote":
            pool.preload(dep.gpu.key, i, size, str(cs.preloaded_tier))
    for i, name in enumerate(models):
        dep = deployment_for(name)
        for _ in range(int(sc.autoscaler.min_replicas.get(name, 0))):
            node, _, _ = pool.choose(i, dep.gpu.key, dep.tp, 0.0)
            if node is None:
                raise InputError(f"the pool cannot hold the minimum replicas of {name}",
                                 key=f"serverless.autoscaler.min_replicas.{name}")
            local = node.storage.best_tier(i)
            pool.occupy(node, Slot(-1, i, node, dep.tp, 0.0, local, None, None),
                        dep.model.weight_bytes(dep.precision), local)


def check_hybrid(cfg, catalog, models: list[str], deployment_for, tenants: list[str],
                 n_user: int, tenant_models: dict) -> None:
    hc = cfg.hybrid
    for k in hc.placement:
        if k not in models and k not in tenants and k not in catalog.models:
            raise InputError(f"unknown model or tenant {k!r}", key=f"hybrid.placement.{k}")
        if k in models and k in tenants:  # it would place both, unsaid (until December 2026)
            raise InputError(f"{k!r} names both a tenant and a model of the run: ambiguous "
                             "(rename the tenant)", key=f"hybrid.placement.{k}")
    user = set(tenants[:n_user])
    ded, sl = tier_models(cfg, models, tenants, n_user, deployment_gpu_tp(deployment_for),
                          tenant_models)
    for m in sorted(ded):
        n = cfg.dedicated.replicas.get(m)
        if n is None:
            raise InputError(f"model {m} is placed dedicated (hybrid) and needs at least 1 "
                             "reserved replica", key=f"dedicated.replicas.{m}")
    # a tenant placed dedicated calling a model that has no reserved replicas
    placement = {k: str(v) for k, v in hc.placement.items()}
    for t in sorted(user):
        for m in tenant_models.get(t, []):
            tier = placement.get(t, placement.get(m, str(hc.default_tier)))
            if tier == DEDICATED and m not in ded:
                raise InputError(f"tenant {t} is placed dedicated but calls {m}, which has no "
                                 f"reserved replicas (place {m} dedicated and set "
                                 f"dedicated.replicas.{m})", key=f"hybrid.placement.{t}")
    sp = hc.spillover
    if (ded and sp.enabled and str(sp.trigger) == "slo" and sp.max_queue is None
            and not _any_slo(cfg)):  # it never spilled, unsaid
        raise InputError(_NO_SLO.format(what="no request would spill"),
                         key="hybrid.spillover.trigger")
    if ded:
        called = {m for t in user for m in tenant_models.get(t, [])}
        check_dedicated(cfg, catalog, [m for m in models if m in ded], run_dedicated_models(
            cfg, [m for m in models if m in called], tenants, n_user, tenant_models), deployment_for)
    if sl:
        check_serverless(cfg, catalog, [m for m in models if m in sl], deployment_for, tenants)


def check_setup(name: str, cfg, catalog, models: list[str], deployment_for, tenants: list[str],
                n_user: int, tenant_models: dict | None = None) -> None:
    """The checks of setup ``name`` (a registered setup) over ``models``."""
    for m in models:
        model(catalog, m, "models")
        deployment_for(m)
    if name == "dedicated":
        check_dedicated(cfg, catalog, models, run_dedicated_models(
            cfg, models, tenants, n_user, tenant_models or {}), deployment_for)
    elif name == "serverless":
        check_serverless(cfg, catalog, models, deployment_for, tenants)
    elif name == "hybrid":
        check_hybrid(cfg, catalog, models, deployment_for, tenants, n_user, tenant_models or {})
