"""``experiment=prefix_cache``: what a prefix cache, cache-aware routing and a host tier buy.

Each trace of ``prefix_cache.traces`` (Mooncake's synthetic and conversation traces by
default, their ``hash_ids`` giving the prompts' shared blocks) is replayed as the tenant
``prefix_cache.tenant`` on:

* the dedicated pool (``dedicated.replicas``) in five variants on the same requests: JSQ
  without a cache, JSQ with it, cache-aware routing with sgl-router's default balance guard,
  with the experiment's guard (``dedicated.cache_router``), and that plus a host-memory
  tier (``prefix_cache.host_cache_gb`` per replica);
* the smallest dedicated pool meeting the tenant's p99 TTFT SLO without a cache (JSQ), with
  it (JSQ) and with cache-aware routing and the host tier, found by bisection on the
  replica count (p99 TTFT is taken to fall as replicas are added);
* the serverless pool without and with the cache: with it, cached prompt tokens skip their
  prefill and are billed at the model's cached-input price.

Tables ``ttft`` (every run), ``gpus_for_slo`` and ``cost`` (the bill of each side, and the
dedicated/serverless ratio the break-even moves by); figure ``plots/prefix_cache``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

import pandas as pd

from sim.config import variant
from sim.config.repeats import leaf_keys
from sim.config.rules import SEARCH_REPLICAS, nonneg, rule
from sim.errors import InputError
from sim.filecache import digest
from sim.jobs import GIVEN, job
from sim.metrics.runnotes import run_lines, run_notes
from sim.metrics.summary import summary_row
from sim.paths import resolve
from sim.records import Result
from sim.report.outputs import write_outputs
from sim.report.prefix_cache import prefix_cache_figure
from sim.simulation.build import build
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_variants
from sim.simulation.unread import job_note
from sim.textfiles import require_file

SGL_GUARD = 64  # sgl-router's default balance_abs_threshold (router_args.py)


@dataclass
class PrefixCacheConfig:
    # the traces replayed, one after the other (Mooncake JSONL with hash_ids)
    traces: List[str] = field(default_factory=lambda: [
        "${traces:}/mooncake_fast25/synthetic_trace.jsonl",
        "${traces:}/mooncake_fast25/conversation_trace.jsonl"])
    tenant: str = "chat"  # the tenant that replays them
    # host memory for evicted prefix blocks per replica in the last variant. Assumption: an
    # eighth of a DGX H200's 2 TB of system memory (NVIDIA DGX H200 datasheet) per GPU
    host_cache_gb: float = nonneg(256.0)
    max_replicas: int = rule(32, ge=1, le=SEARCH_REPLICAS)  # upper end of the SLO search


def check(cfg) -> None:
    pc = cfg.prefix_cache
    if pc.tenant not in cfg.tenants:
        raise InputError(f"unknown tenant {pc.tenant!r}; known: {', '.join(sorted(cfg.tenants))}",
                         key="prefix_cache.tenant")
    if not pc.traces:
        raise InputError("list at least one trace", key="prefix_cache.traces")
    kind = str(cfg.tenants[pc.tenant].arrival.kind)
    if kind != "trace":  # ran the tenant's own arrivals, labelled by each trace (Dec. 2026)
        raise InputError(f"is {kind}: the prefix_cache job replays each of prefix_cache.traces "
                         "as this tenant's arrivals, so it must be trace (with its format, e.g. "
                         "mooncake, and input/output kind: trace for the recorded lengths)",
                         key=f"tenants.{pc.tenant}.arrival.kind")
    seen, names = {}, {}
    for i, t in enumerate(pc.traces):
        key = f"prefix_cache.traces[{i}]"
        # named as this list's entry, not as the tenant's trace path it is replayed as
        path = resolve(str(t)) if str(t).strip() else str(t)  # '' would be the working folder
        require_file(path, "trace file", key=key)
        # one file twice (by another path, a link or a copy): the same rows, run twice
        where = digest(path) or path
        if where in seen:
            raise InputError(f"{t} is prefix_cache.traces[{seen[where]}] again (the same rows, "
                             "run twice)", key=key)
        seen[where] = i
        name = trace_name(str(t))  # the tables' and the figure's label of its rows
        if name in names:
            raise InputError(f"{t} and prefix_cache.traces[{names[name]}] "
                             f"({pc.traces[names[name]]}) are both named {name!r} in the tables and "
                             "the figure, their rows told apart by nothing: rename one",
                             key=key)
        names[name] = i
    # a model without a dedicated.replicas entry has the one replica the dedicated setup
    # gives it, as in any run (refused until December 2026 as "the dedicated pool has no
    # replicas of <model>", which it had)
    if cfg.tenants[pc.tenant].slo_ttft_s is None:
        raise InputError("the SLO search needs the tenant's TTFT SLO",
                         key=f"tenants.{pc.tenant}.slo_ttft_s")
    for t in list(pc.traces)[1:]:  # the first is built by the run's own checks (as_run)
        build(variant(cfg, **{f"tenants.{pc.tenant}.arrival.trace.path": t}))


def as_run(cfg):
    """The config with the tenant replaying the first of ``prefix_cache.traces``: what the
    checks before any work build. Until December 2026 they built the experiment's own path
    (Mooncake's synthetic trace) with the tenant's format, so an Azure-format file listed
    here with ``arrival.trace.format=azure`` was refused at that file's line 1, and without
    it at its own: no trace but a Mooncake one could be studied. Each other trace is checked
    by :func:`check`."""
    pc = cfg.prefix_cache
    if pc.tenant not in cfg.tenants or not pc.traces or cfg.tenants[pc.tenant].arrival.kind != "trace":
        return cfg  # check() says what is wrong
    first = str(pc.traces[0])
    # named as this list's entry, as check() names the others
    require_file(resolve(first) if first.strip() else first, "trace file", key="prefix_cache.traces[0]")
    return variant(cfg, **{f"tenants.{pc.tenant}.arrival.trace.path": pc.traces[0]})


def trace_name(path: str) -> str:
    """A trace's label in the job's tables: its file name without ``.jsonl``."""
    return path.rsplit("/", 1)[-1].removesuffix(".jsonl")


def variants(cfg, model: str) -> list[tuple[str, dict]]:
    dep = f"deployments.{model}"
    guard = int(cfg.dedicated.cache_router.balance_abs)
    return [
        ("jsq, no cache", {"dedicated.router": "jsq", f"{dep}.prefix_caching": False}),
        ("jsq, cache", {"dedicated.router": "jsq"}),
        (f"cache-aware (guard {SGL_GUARD})", {"dedicated.router": "cache_aware",
                                               "dedicated.cache_router.balance_abs": SGL_GUARD}),
        (f"cache-aware (guard {guard})", {"dedicated.router": "cache_aware"}),
        (f"cache-aware (guard {guard}) + host {cfg.prefix_cache.host_cache_gb:g} GB",
         {"dedicated.router": "cache_aware",
          f"{dep}.host_cache_gb": float(cfg.prefix_cache.host_cache_gb)}),
    ]


def _row(trace: str, setup: str, label: str, s) -> dict:
    return {"trace": trace, "setup": setup, "variant": label, "requests": int(s["requests"]),
            "completed": int(s["completed"]), "ttft_p50_s": s["ttft_p50_s"],
            "ttft_p99_s": s["ttft_p99_s"], "cache_hit_rate": s["cache_hit_rate"],
            "preemptions": int(s["preemptions"]), "cost_usd": s["cost_usd"]}


class SloSearch:
    """Dedicated runs of one variant at a replica count, remembered: (p99 TTFT, bill)."""

    def __init__(self, cfg, model: str, progress: bool):
        self.cfg, self.model, self.progress = cfg, model, progress
        self.seen: dict = {}

    def run(self, label: str, changes: dict, replicas: int) -> tuple[float, float]:
        if (label, replicas) not in self.seen:
            vcfg = variant(self.cfg, **{**changes, f"dedicated.replicas.{self.model}": replicas})
            wl, runs, cat = simulate_variants(vcfg, "dedicated", [(label, {})], self.progress)
            s = summary_row(frames(vcfg, wl, runs, cat)[0], label)
            self.seen[label, replicas] = (float(s["ttft_p99_s"]), float(s["cost_usd"]))
        return self.seen[label, replicas]

    def replicas_for(self, label: str, changes: dict, slo: float) -> int | None:
        """The smallest replica count in [1, max_replicas] whose p99 TTFT meets ``slo``
        (bisection), or None when even the largest does not. An undefined p99 (NaN: no
        request measured, or none finished) does not meet it: until December 2026 it passed
        ``p99 > slo`` and the search reported max_replicas (or the bisection's end) as the
        pool meeting the SLO."""
        lo, hi = 1, int(self.cfg.prefix_cache.max_replicas)
        if not self.run(label, changes, hi)[0] <= slo:
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if self.run(label, changes, mid)[0] <= slo:
                hi = mid
            else:
                lo = mid + 1
        return lo


@job("prefix_cache", config=PrefixCacheConfig, check=check, as_run=as_run,
     own_setups=(("dedicated",), "the dedicated and serverless setups of each cache variant"),
     sets=lambda cfg: {"dedicated.router": "its variants run jsq and cache_aware"})
def prefix_cache_job(cfg, out_dir, progress) -> Result:
    pc = cfg.prefix_cache
    tenant = pc.tenant
    key = f"tenants.{tenant}.arrival.trace.path"
    if any(k.lstrip("+") == key for text in GIVEN.get() for k in leaf_keys(text)):
        # each trace of prefix_cache.traces takes the tenant's path in turn: said, not replaced
        raise InputError("this job replays each of prefix_cache.traces as the tenant's trace; "
                         "list your file there (prefix_cache.traces=[<path>])", key=key)
    model = cfg.tenants[tenant].model
    slo = float(cfg.tenants[tenant].slo_ttft_s)
    dep = f"deployments.{model}"
    rows, slo_rows, cost_rows, notes, summaries, requests, timelines = [], [], [], [], [], [], {}
    for path in pc.traces:
        name = trace_name(path)
        tcfg = variant(cfg, **{f"tenants.{tenant}.arrival.trace.path": path})
        vs = variants(tcfg, model)
        wl, runs, cat = simulate_variants(tcfg, "dedicated", vs, progress)
        summary, reqs = frames(tcfg, wl, runs, cat)
        summaries.append(summary.assign(trace=name))
        requests.append(reqs.assign(trace=name))
        for (label, _), r in zip(vs, runs):
            rows.append(_row(name, "dedicated", label, summary_row(summary, label)))
        notes += [f"{name}: {n}" for n in run_notes(tcfg, wl, runs)]
        timelines[name] = runs
        sl = [("serverless, no cache", {f"{dep}.prefix_caching": False}),
              ("serverless, cache", {})]
        swl, sruns, scat = simulate_variants(tcfg, "serverless", sl, progress)
        # the serverless runs' stability too (until December 2026 only the dedicated ones')
        notes += [f"{name}: {n}" for r in sruns for n in run_lines(r.setup, tcfg, swl, r)]
        ssum, sreq = frames(tcfg, swl, sruns, scat)
        summaries.append(ssum.assign(trace=name))
        requests.append(sreq.assign(trace=name))
        for label, _ in sl:
            rows.append(_row(name, "serverless", label, summary_row(ssum, label)))
        hits = [float(summary_row(summary, lb)["cache_hit_rate"]) for lb, _ in vs[1:]]
        if not max(hits + [float(summary_row(ssum, sl[1][0])["cache_hit_rate"])]) > 0:
            # a trace without hash_ids (and a tenant without a shared prefix): the study's
            # cache variants are the no-cache run again, which its tables alone do not say
            # (until December 2026 judged by the JSQ variant alone, so a trace whose sharing
            # requests JSQ sent to different replicas was said to reuse nothing)
            notes.append(f"{name}: no prompt reused a cached block in any cache variant (cache "
                         "hit rate 0: no hash_ids shared in the trace, no shared prefix in "
                         f"tenants.{tenant}.prefix), so every cache variant ran as without it")
        # GPUs for the SLO: without a cache, with it (JSQ), with the cache-aware + host variant
        search = SloSearch(tcfg, model, progress)
        need = {}
        for label, changes in [vs[0], vs[1], vs[-1]]:
            n = search.replicas_for(label, changes, slo)
            need[label] = n
            slo_rows.append({"trace": name, "variant": label, "slo_ttft_p99_s": slo,
                             "replicas": n,
                             "gpus": None if n is None else n * int(cfg.deployments[model].tp)})
        unmet = [lb for lb, n in need.items() if n is None]
        top = int(pc.max_replicas)
        unmeasured = [lb for lb in unmet if search.seen[lb, top][0] != search.seen[lb, top][0]]
        if unmeasured:  # NaN p99: no request of the window finished, at any pool size tried
            notes.append(f"{name}: no measured request finished in the {top}-replica pool for "
                         f"{', '.join(repr(lb) for lb in unmeasured)} (p99 TTFT undefined: an "
                         "empty window after metrics.warmup_s, or none done by the run's end), "
                         "so no pool is known to meet the SLO: their replicas, GPUs and "
                         "dedicated cost are left blank")
        unmet = [lb for lb in unmet if lb not in unmeasured]
        if unmet:  # blank cells in gpus_for_slo and cost: said (until December 2026 unsaid)
            which = ", ".join(repr(lb) for lb in unmet)
            notes.append(f"{name}: no pool of up to prefix_cache.max_replicas "
                         f"({int(pc.max_replicas)}) replicas held p99 TTFT <= {slo:g} s for "
                         f"{which}: their replicas, GPUs and dedicated cost are left blank; "
                         "raise prefix_cache.max_replicas or the tenant's slo_ttft_s")
        # the bill of each side on this traffic: dedicated at the smallest pool meeting the
        # SLO (GPU-hours over the run), serverless per token
        met = [lb for lb in (vs[1][0], vs[-1][0]) if need[lb] is not None]
        best = min(met, key=lambda lb: need[lb]) if met else vs[-1][0]
        for cached, dlabel, slabel in [(False, vs[0][0], "serverless, no cache"),
                                       (True, best, "serverless, cache")]:
            n = need[dlabel]
            dcost = None if n is None else search.run(dlabel, dict(vs)[dlabel], n)[1]
            scost = float(summary_row(ssum, slabel)["cost_usd"])
            cost_rows.append({"trace": name, "dedicated_variant": dlabel,
                              "serverless_variant": slabel, "dedicated_replicas": n,
                              "dedicated_usd": dcost, "serverless_usd": scost,
                              # undefined (blank) when the pool billed nothing: no token served
                              "dedicated_over_serverless": (None if dcost is None or scost <= 0
                                                            else dcost / scost)})
        a, c = cost_rows[-2], cost_rows[-1]
        if a["dedicated_over_serverless"] is not None and c["dedicated_over_serverless"] is not None:
            notes.append(f"{name}: the cache moves dedicated/serverless cost from "
                         f"{a['dedicated_over_serverless']:.2f} to {c['dedicated_over_serverless']:.2f} "
                         f"({a['dedicated_replicas']} -> {c['dedicated_replicas']} replicas for "
                         f"p99 TTFT <= {slo:g} s)")
    ttft = pd.DataFrame(rows)
    tables = {"ttft": ttft, "gpus_for_slo": pd.DataFrame(slo_rows), "cost": pd.DataFrame(cost_rows)}
    res = Result(summary=pd.concat(summaries, ignore_index=True),
                 requests=pd.concat(requests, ignore_index=True), tables=tables, notes=notes)
    res.notes = job_note("prefix_cache") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, lambda d: prefix_cache_figure(res, d))
    return res
