"""Claims about money: the break-even load, the worked u*, the 70B cost at 70 %, the
crossover volume, an H100's monthly bill, Qwen3-32B's batch-32 throughput."""

from __future__ import annotations

import math

import numpy as np

from sim.analysis.breakeven import run_breakeven
from sim.analysis.capacity import measure_capacity
from sim.analysis.curves import interp_loglog
from sim.jobs.claims.registry import (
    FAILS,
    HOLDS,
    NOT_SIMULATED,
    ClaimContext,
    Verdict,
    _check_overlap,
    _in,
    _prices,
    _usd,
    claim,
)
from sim.records import ALL
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_setups


# ---------------------------------------------------------------------- break-even family
def _breakeven(ctx: ClaimContext):
    """The break-even experiment (per-token serverless against the dedicated fleet)."""
    def go():
        # the serverless setup's own override, applied by the break-even job after
        # claims.overrides: a user's serverless.billing there was set over, unsaid
        _check_overlap("breakeven", ctx.cfg.claims.overrides, ["serverless.billing=per_token"])
        extra = ["breakeven.setups=[{label: serverless, setup: serverless, overrides: "
                 "{serverless.billing: per_token}}, {label: dedicated, setup: dedicated, "
                 "overrides: {}}]"]
        if ctx.quick:
            extra += ["horizon_s=600", "breakeven.load_fractions=[0.1,0.2,0.3,0.5,0.7,0.9]"]
        cfg = ctx.scenario("breakeven", *extra)
        return cfg, run_breakeven(cfg, ctx.progress)
    return ctx.once("breakeven", go)


def _breakeven_setting(cfg, res) -> str:
    a = res.analytic
    t = cfg.tenants[res.tenant]
    return (f"{a['model']} FP8 on {a['fleet_gpus']}x {a['gpu']} (TP{a['tp']}, "
            f"{res.fleet_replicas} replica) at ${a['price_per_gpu_hour']:.2f}/GPU-hour "
            f"({a['pricing']}); {_prices(cfg, a['model'])}; Poisson load, lognormal "
            f"{t.input.mean:g}/{t.output.mean:g} tokens in/out; measured capacity "
            f"{a['tokens_per_s_per_gpu']:,.0f} output tok/s per GPU; horizon {cfg.horizon_s:g} s")


def _token_crossing(res):
    c = res.crossings
    c = c[(c["billing"] == "per_token")] if len(c) else c
    found = c[np.isfinite(c["load_fraction"])] if len(c) else c
    return (found.iloc[0] if len(found) else None), (c.iloc[0] if len(c) else None)


@claim("breakeven_utilisation",
       "below roughly 40-50 % sustained utilisation serverless per-token billing is cheaper, "
       "above it dedicated wins")
def _breakeven_utilisation(ctx):
    cfg, res = _breakeven(ctx)
    row, any_row = _token_crossing(res)
    setting = _breakeven_setting(cfg, res)
    if row is None:
        note = any_row["note"] if any_row is not None else "no per-token curve"
        return Verdict(FAILS, f"no crossover in the swept loads ({note})", math.nan, "",
                       setting, "the claim needs a crossover between 40 % and 50 %")
    u = float(row["throughput_utilization"])
    ok = _in(u, 0.35, 0.55) and row["cheaper_below"] == "serverless"
    return Verdict(
        HOLDS if ok else FAILS,
        f"crossover at {100 * u:.1f} % of the fleet's measured throughput (analytic u* "
        f"{100 * row['u_star']:.1f} %; {100 * row['u_star_output_price_only']:.1f} % counting "
        f"the output price alone); the GPUs are busy {100 * row['gpu_busy_fraction']:.1f} % of "
        f"the time there; {row['cheaper_below']} cheaper below", u, "fraction",
        setting, "holds if the simulated crossover (delivered output throughput over measured "
        "capacity) lies in 35-55 % ('roughly 40-50 %') with per-token cheaper below it")


@claim("worked_u_star",
       "u* = price_per_gpu_hour / (tokens_per_s_per_gpu x 3600 x api_price_per_token): at $3.95/h "
       "and 3,085 tok/s per GPU it is 0.40 only against an API near $0.88/M")
def _worked_u_star(ctx):
    cfg, res = _breakeven(ctx)
    a = res.analytic
    tps = float(a["tokens_per_s_per_gpu"])
    u_out = float(a.get("u_star_output_price_only", math.nan))
    ok = _in(tps, 0.9 * 3085, 1.1 * 3085) and _in(u_out, 0.35, 0.45)
    return Verdict(
        HOLDS if ok else FAILS,
        f"simulated sustainable throughput {tps:,.0f} output tok/s per GPU (not 3,085), so u* "
        f"against ${a['price_out_usd_per_mtok']}/M output is {u_out:.2f} "
        f"({a['price_per_gpu_hour']:.2f} / ({tps:,.0f} x 3600 x {a['price_out_usd_per_mtok']}e-6))",
        u_out, "fraction", _breakeven_setting(cfg, res),
        "holds if the simulated tokens/s per GPU is within 10 % of 3,085 and u* (output price "
        "only, as the formula is stated) within 0.35-0.45; the arithmetic with the brief's own "
        "inputs gives 0.404")


@claim("llama70b_cost_at_70pct",
       "dedicated H100, Llama-3.3-70B FP8, 70 % utilisation: $0.15-0.28 per M output tokens")
def _llama70b_cost(ctx):
    cfg, res = _breakeven(ctx)
    d = res.points[res.points["label"] == cfg.breakeven.reference].sort_values("throughput_utilization")
    u = d["throughput_utilization"].to_numpy(float)
    if not (u.min() <= 0.7 <= u.max()):
        return Verdict(NOT_SIMULATED, f"the swept loads reach {100 * u.max():.0f} % only",
                       math.nan, "$/M", _breakeven_setting(cfg, res),
                       "add loads around 0.7 to breakeven.load_fractions")
    cost = interp_loglog(0.7, u, d["cost_per_mtok_out_usd"].to_numpy(float))
    busy = float(np.interp(0.7, u, d["gpu_busy_fraction"].to_numpy(float)))
    return Verdict(
        HOLDS if _in(cost, 0.15, 0.28) else FAILS,
        f"{_usd(cost)} per M output tokens at 70 % of measured throughput (GPUs busy "
        f"{100 * busy:.0f} % of the time), interpolated between simulated loads", cost, "$/M",
        _breakeven_setting(cfg, res),
        "holds if the simulated dedicated cost per million output tokens at 70 % delivered "
        "throughput lies in $0.15-0.28")


@claim("crossover_monthly_volume", "crossover at 80-200 M output tokens per month")
def _crossover_volume(ctx):
    cfg, res = _breakeven(ctx)
    row, _ = _token_crossing(res)
    if row is None:
        return Verdict(FAILS, "no crossover in the swept loads", math.nan, "tokens/month",
                       _breakeven_setting(cfg, res), "the claim needs a crossover")
    v = float(row["monthly_output_tokens"])
    return Verdict(
        HOLDS if _in(v, 80e6, 200e6) else FAILS,
        f"{v / 1e6:,.0f} M output tokens/month for the {res.fleet_gpus}-GPU fleet "
        f"({row['monthly_output_tokens_per_gpu'] / 1e6:,.0f} M per GPU), from the simulated "
        f"crossover", v, "tokens/month", _breakeven_setting(cfg, res),
        "holds if the simulated crossover's monthly output volume (the fleet's simulated "
        "output tokens over the measured window's length, projected to 730 h) lies in 80-200 M")


# -------------------------------------------------------------------------- one H100/month
@claim("h100_monthly_cost", "a dedicated H100 at $3.95/h costs about $2,900 a month")
def _h100_monthly(ctx):
    cfg = ctx.scenario("dedicated", "setups=[dedicated]", "dedicated.pricing=on_demand",
                       "dedicated.replicas={llama31-8b: 1}",
                       "deployments={llama31-8b: {gpu: H100, precision: fp8, tp: 1}}",
                       "tenants.chat.arrival.rate_rps=2", f"horizon_s={300 if ctx.quick else 900}",
                       "output.parquet=false")
    wl, runs, catalog = simulate_setups(cfg)
    s, _ = frames(cfg, wl, runs, catalog)
    a = s[s["tenant"] == ALL].iloc[0]
    monthly = float(a["monthly_cost_usd"])
    price = float(cfg.catalog.gpus.H100.on_demand_usd_per_hour)
    return Verdict(
        HOLDS if _in(monthly, 0.95 * 2900, 1.05 * 2900) else FAILS,
        f"{_usd(monthly)} a month: the simulated bill {_usd(float(a['cost_usd']))} over "
        f"{a['period_s']:.0f} s (busy {100 * a['busy_fraction']:.0f} % of it) projected to "
        f"730 h", monthly, "$/month",
        f"one H100 on demand at ${price:.2f}/GPU-hour, Llama-3.1-8B FP8, Poisson 2 req/s; "
        f"a month = 730 h (8,760 / 12)",
        "holds if the projected monthly bill is within 5 % of $2,900 ('about'); the bill "
        "counts idle hours, so it does not depend on the load")


# ---------------------------------------------------------------- Qwen3-32B at batch 32
@claim("qwen3_32b_batch32_throughput",
       "Qwen3-32B FP8 with continuous batching at batch 32 on one H100: 2,000-3,000 tok/s")
def _qwen_batch32(ctx):
    shapes = [(1000, 1000), (128, 1000)]
    got = []
    for n_in, n_out in shapes:
        cfg = ctx.scenario(
            "dedicated", "setups=[dedicated]",
            "tenants.chat.model=qwen3-32b",
            f"tenants.chat.input={{kind: fixed, mean: {n_in}, max: {n_in}}}",
            f"tenants.chat.output={{kind: fixed, mean: {n_out}, max: {n_out}}}",
            "deployments={qwen3-32b: {gpu: H100, precision: fp8, tp: 1, max_num_seqs: 32}}",
            "dedicated.replicas={qwen3-32b: 1}")
        cap = measure_capacity(cfg, "chat", 4 if ctx.quick else 8)
        got.append((n_in, n_out, cap.tok_s))
    vals = [g[2] for g in got]
    kv = str(cfg.deployments["qwen3-32b"].kv_dtype.value).upper()  # as simulated (a
    # claims.overrides kv_dtype was simulated and the text still said BF16, December 2026)
    ok = any(_in(v, 2000, 3000) for v in vals)
    return Verdict(
        HOLDS if ok else FAILS,
        "; ".join(f"{v:,.0f} output tok/s at {i}/{o} tokens in/out" for i, o, v in got)
        + " (saturated closed loop, 32 sequences in the batch)", max(vals), "tok/s",
        f"one H100 SXM, Qwen3-32B FP8 weights, {kv} KV cache, max_num_seqs 32, the catalog's "
        "fitted efficiency factors (tuned-runtime calibration, CAL §3)",
        "holds if any of the two shapes (chat 1000/1000 and short prompts 128/1000) gives "
        "2,000-3,000 output tok/s")
