"""Claims about latency on a shared pool, cold starts and compound pipelines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.cold_chain import cold_chain
from sim.jobs.claims.registry import (
    FAILS,
    HOLDS,
    NOT_SIMULATED,
    ClaimContext,
    Verdict,
    _in,
    claim,
)
from sim.records import ALL, BACKGROUND, COMPLETED
from sim.report.style import format_seconds
from sim.simulation.build import build_catalog
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_setups


# ------------------------------------------------------------------- shared-pool latency
def _shared_pool(ctx: ClaimContext):
    """The noisy-neighbour scenario at its peak background level, serverless and
    dedicated, on the same user requests."""
    def go():
        extra = ["background.scale=1.0", "job=simulate", "output.parquet=true"]
        if ctx.quick:
            extra.append("horizon_s=600")
        cfg = ctx.scenario("noisy_neighbour", *extra)
        wl, runs, catalog = simulate_setups(cfg)
        summary, requests = frames(cfg, wl, runs, catalog)
        bg = float((~wl.user_mask()).sum()) / wl.horizon_s
        return cfg, summary, runs, wl, bg
    return ctx.once("shared_pool", go)


def _pool_setting(cfg, bg_rps) -> str:
    pool = ", ".join(f"{g}: {p.nodes} node(s) x {p.gpus_per_node} GPUs" for g, p in cfg.serverless.pool.items())
    return (f"noisy_neighbour experiment at its peak: {bg_rps:.2f} req/s of background tenants "
            f"on the shared pool ({pool}); user tenants {', '.join(sorted(cfg.tenants))}; "
            f"horizon {cfg.horizon_s:g} s")


def _rows(summary, setup):
    s = summary[(summary["setup"] == setup)]
    return {t: r for t, r in zip(s["tenant"], s.itertuples())}


@claim("shared_pool_p50_p99", "serverless p50 TTFT 200 ms vs p99 1,500 ms at platform peak")
def _shared_p50_p99(ctx):
    cfg, summary, _, _, bg = _shared_pool(ctx)
    rows = _rows(summary, "serverless")
    a = rows[ALL]
    parts = [f"{'all user tenants' if t == ALL else t}: p50 {format_seconds(r.ttft_p50_s)}, "
             f"p99 {format_seconds(r.ttft_p99_s)}"
             for t, r in rows.items() if t != BACKGROUND]
    ok = _in(a.ttft_p50_s, 0.1, 0.4) and _in(a.ttft_p99_s, 0.75, 3.0)
    return Verdict(
        HOLDS if ok else FAILS, "; ".join(parts), float(a.ttft_p99_s), "s (p99, all user tenants)",
        _pool_setting(cfg, bg),
        "holds if the user tenants' p50 lies within a factor 2 of 200 ms (100-400 ms) and their "
        "p99 within a factor 2 of 1.5 s (0.75-3 s)")


@claim("p99_over_3x_p50_signal", "p99 > 3x p50 is the signal to move")
def _signal(ctx):
    cfg, summary, _, _, bg = _shared_pool(ctx)
    sv, de = _rows(summary, "serverless"), _rows(summary, "dedicated")
    users = sorted(cfg.tenants)
    ratio = {(s, t): float(r[t].ttft_p99_s / r[t].ttft_p50_s) for s, r in (("serverless", sv), ("dedicated", de))
             for t in users}
    fires = [t for t in users if ratio[("serverless", t)] > 3 and ratio[("dedicated", t)] <= 3]
    # the pair in the ratio's order, p99 / p50 (until December 2026 p50 / p99: "3.0 shared
    # (26.93 s / 80.37 s)", which divides to 0.34)
    text = "; ".join(
        f"{t}: p99/p50 {ratio[('serverless', t)]:.1f} shared ({format_seconds(sv[t].ttft_p99_s)} / "
        f"{format_seconds(sv[t].ttft_p50_s)}), {ratio[('dedicated', t)]:.1f} dedicated "
        f"({format_seconds(de[t].ttft_p99_s)} / {format_seconds(de[t].ttft_p50_s)})" for t in users)
    return Verdict(
        HOLDS if fires else FAILS, text, max(ratio[("serverless", t)] for t in users), "ratio",
        _pool_setting(cfg, bg),
        "holds if the signal separates the setups: some tenant's p99/p50 exceeds 3 on the shared "
        "pool while the same tenant's ratio on dedicated replicas stays at most 3 "
        f"({', '.join(fires) if fires else 'no tenant'} here)")


@claim("ttft_over_5s_is_cold", "requests with TTFT > 5 s are cold-start events")
def _slow_is_cold(ctx):
    cfg, _, runs, wl, bg = _shared_pool(ctx)
    r = next(x for x in runs if x.setup == "serverless")
    log = r.log
    done = log.outcome == COMPLETED
    ttft = log.first_s - log.arrival_s
    slow = done & (ttft > 5.0)
    n = int(slow.sum())
    if n == 0:
        return Verdict(NOT_SIMULATED, "no served request had TTFT > 5 s", math.nan, "fraction",
                       _pool_setting(cfg, bg), "nothing to classify; raise the load")
    cold = float((log.cold_wait_s[slow] > 0).mean())
    cold_any = done & (log.cold_wait_s > 0)
    fast_cold = float((ttft[cold_any] <= 5.0).mean()) if cold_any.any() else math.nan
    return Verdict(
        HOLDS if cold >= 0.9 else FAILS,
        f"{100 * cold:.1f} % of the {n} requests (all tenants, background included) with TTFT "
        f"> 5 s waited for a cold start; {100 * fast_cold:.1f} % of cold-start requests still "
        f"had TTFT <= 5 s", cold, "fraction", _pool_setting(cfg, bg),
        "holds if at least 90 % of the served requests with TTFT > 5 s waited for a replica to "
        "load (cold_start_wait_s > 0)")


# ---------------------------------------------------------------------------- cold starts
NETWORK_TIERS = ("object_storage", "block_storage")


def _cold_runs(ctx):
    def go():
        out = []
        for tier in NETWORK_TIERS:
            extra = [f"cold_start.remote_tier={tier}"]
            if ctx.quick:
                extra.append("horizon_s=1800")
            cfg = ctx.scenario("cold_start", *extra)
            wl, runs, _ = simulate_setups(cfg)
            out.append((tier, cfg, wl, runs))
        return out
    return ctx.once("cold", go)


@claim("cold_start_70b_network", "cold starts of 15-60 s for 70B models from network storage")
def _cold_70b(ctx):
    rows, setting = [], ""
    for tier, cfg, wl, runs in _cold_runs(ctx):
        sv = next(r for r in runs if r.setup == "serverless")
        cs = sv.extra.get("cold_starts")
        if cs is not None and len(cs):
            rows.append(cs[(cs["model"] == "llama33-70b") & cs["tier"].isin(NETWORK_TIERS)])
        init = cfg.cold_start.engine_init_s_by_model.get("llama33-70b", cfg.cold_start.engine_init_s)
        setting = (f"cold_start experiment (one 8-GPU H100 node, three models, sparse traffic); "
                   f"70B FP8 on TP2, {cfg.cold_start.loader} loader, engine init {init:g} s "
                   f"(CAL §4: 25-60 s for small models, ~3.5 min for 70B uncached); tiers "
                   + ", ".join(f"{t} {cfg.cold_start.tiers[t].optimized_gbps:g} GB/s" for t in NETWORK_TIERS))
    loads = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if loads.empty:
        return Verdict(NOT_SIMULATED, "no 70B load from network storage happened", math.nan, "s",
                       setting, "the scenario produced no such cold start; lengthen the horizon")
    by = loads.groupby("tier")
    text = "; ".join(f"{t}: {len(g)} loads, {g['total_s'].min():.1f}-{g['total_s'].max():.1f} s "
                     f"(weights {g['weights_s'].mean():.1f} s, init {g['init_s'].mean():.0f} s, "
                     f"container and provisioning {(g['container_s'] + g['provision_s']).mean():.1f} s)"
                     for t, g in by)
    ok = bool(((loads["total_s"] >= 15) & (loads["total_s"] <= 60)).all())
    return Verdict(
        HOLDS if ok else FAILS, text, float(loads["total_s"].median()), "s (median)", setting,
        "holds if every simulated 70B cold start from a network tier takes 15-60 s; the stage "
        "durations are inputs (bandwidths, init time), the simulation adds sharing and queueing")


@claim("warm_ttft_milliseconds", "milliseconds when warm")
def _warm_ms(ctx):
    parts, p99s, setting = [], [], ""
    for tier, cfg, wl, runs in _cold_runs(ctx)[:1]:
        mi = wl.models.index("llama33-70b")
        for r in runs:
            log = r.log
            sel = (log.outcome == COMPLETED) & (wl.model == mi) & ~(log.cold_wait_s > 0)
            t = (log.first_s - log.arrival_s)[sel]
            if t.size:
                p50, p99 = np.percentile(t, [50, 99])
                parts.append(f"{r.setup}: {t.size} warm 70B requests, TTFT p50 {1000 * p50:.0f} ms, "
                             f"p99 {1000 * p99:.0f} ms")
                p99s.append(float(p99))
        t = cfg.tenants["analyst"]
        setting = (f"cold_start experiment; 70B FP8 TP2 on H100, lognormal prompts of mean "
                   f"{t.input.mean:g} tokens")
    if not p99s:
        return Verdict(NOT_SIMULATED, "no warm 70B request", math.nan, "s", setting,
                       "every request waited for a load; lengthen the horizon")
    worst = max(p99s)
    return Verdict(
        HOLDS if worst < 1.0 else FAILS, "; ".join(parts), worst, "s (p99)", setting,
        "holds if warm requests' p99 TTFT is below 1 s (hundreds of milliseconds: prefill of the "
        "prompt), against tens of seconds for a cold start")


# -------------------------------------------------------------------------- pipelines
@claim("pipeline_cold_starts",
       "a pipeline of dialogue LLM (15 s cold start), embedding (2 s) and reranker (5 s) "
       "accumulates 22 s when all are cold; three 15 s models accumulate 45 s")
def _pipeline(ctx):
    cfg = ctx.scenario("compound")
    chain, _, _ = cold_chain(cfg, build_catalog(cfg))
    by = chain.set_index("scenario")["cold_wait_critical_s"]
    rag = float(by["all serverless"])
    three = float(by[[s for s in by.index if "in sequence" in s][0]])
    parts = [f"{rag:.1f} s accumulated (RAG: embed -> search -> rerank -> answer, all cold, "
             f"loads {chain.iloc[0]['loads']})", f"three 15 s LLMs {three:.1f} s"]
    pre = by.get("serverless + coordinated pre-warm")
    if pre is not None:
        parts.append(f"with coordinated pre-warm {pre:.1f} s")
    mixed = chain.loc[chain["setup"] == "hybrid", "scenario"]
    if len(mixed):
        ded = float(by[mixed.iloc[0]])
        parts.append(f"{mixed.iloc[0].replace(' (hybrid)', '')} {ded:.1f} s")
    ok = abs(rag - 22.0) <= 2.2 and abs(three - 45.0) <= 4.5
    return Verdict(
        HOLDS if ok else FAILS, "; ".join(parts), rag, "s",
        "compound experiment: one pipeline request, every model idle on the serverless pool, "
        "stages in sequence; cold starts configured to 15 / 2 / 5 s through engine init "
        "(weights from object storage)",
        "holds if the cold-start wait accumulated on the critical path is within 10 % of 22 s "
        "and of 45 s (simulated loads; each stage's model cold-starts when it is reached)")
