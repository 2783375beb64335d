"""Where a dedicated fleet becomes cheaper per output token than the other setups.

1. **Capacity** of one dedicated replica (:mod:`sim.analysis.capacity`).
2. **Sweep.** For each fraction f of ``breakeven.load_fractions`` the tenant sends Poisson
   arrivals at f x the fleet's measured capacity; every curve of ``breakeven.setups`` (a
   registered setup with a few keys changed) is simulated on the same requests.
3. **Crossovers** of each curve's simulated cost per million output tokens with the
   reference curve's (``breakeven.reference``), interpolated in log-log space
   (:mod:`sim.analysis.curves`), with the reference fleet's delivered-throughput fraction,
   GPU busy fraction and monthly volume interpolated the same way there.
4. **Analytic cross-check** for curves billed per token:
   ``u* = price_per_gpu_hour / (tokens_per_s_per_gpu x 3600 x price_per_output_token)``
   with the measured tokens/s per GPU, with the per-token bill per output token of the
   workload's mean lengths and with the output price alone.
5. **Batch fill** (``breakeven.fill.tenant``, a ``priority: batch`` tenant): at every load
   every curve runs a second time with that tenant beside the swept one, sending
   ``fill.load_fraction`` x the fleet's measured request rate (labels ``<curve>+fill``, on
   the same swept requests: named random streams). The reserved replicas serve its requests
   in their spare capacity (``dedicated.batch``), per-token serverless bills them at the
   batch price (``serverless.batch_price_factor``). Costs are per million output tokens of
   both tenants, so a fill curve crosses its reference where serving the same interactive
   *and* batch work costs the same both ways; analytically where
   ``price_per_gpu_hour x GPUs = capacity x 3600 x (u x bill + factor x b x bill_b)``, i.e.
   ``u*_fill = u* - factor x b x bill_b / bill`` (b: the fill's output tokens over the
   fleet's capacity; bill, bill_b: the per-token bill per output token of each tenant), as
   long as the fill is served within the billing period.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from omegaconf import OmegaConf, open_dict

from sim.analysis.breakeven_crossings import (
    X,
    Y,
    crossings_table,
    fill_crossings,
    u_star_fill_at,
)
from sim.analysis.breakeven_cut import cut_count, cut_notes, overload_note
from sim.analysis.capacity import Capacity, measure_capacity, only_tenant, swept_tenant
from sim.config import variant
from sim.errors import InputError
from sim.metrics.cost import monthly_factor
from sim.metrics.windows import WARMUP_SUFFIX
from sim.records import ALL
from sim.simulation.build import build, build_catalog, build_workload, perf_factory
from sim.simulation.frames import model_prices, setup_summary
from sim.simulation.simulate import simulate


@dataclass
class BreakevenResult:
    tenant: str
    capacity: Capacity
    fleet_replicas: int
    points: pd.DataFrame  # one row per (load fraction, curve)
    crossings: pd.DataFrame  # one row per curve compared with the reference
    analytic: dict  # the inputs and values of the analytic u*
    summary: pd.DataFrame  # every run's summary rows, with label and load columns
    notes: list[str] = field(default_factory=list)

    @property
    def fleet_tok_s(self) -> float:
        return self.capacity.tok_s * self.fleet_replicas

    @property
    def fleet_gpus(self) -> int:
        return self.capacity.tp * self.fleet_replicas


def curves(cfg) -> list[tuple[str, str, dict]]:
    """``(label, setup, {dotted key: value})`` of every curve of ``breakeven.setups``."""
    return [(str(s.label), str(s.setup), dict(OmegaConf.to_container(s.overrides)))
            for s in cfg.breakeven.setups]


def gpu_hour_price(cfg, catalog, model: str) -> tuple[float, str]:
    """The dedicated fleet's mean $/GPU-hour and its pricing: reserved or on-demand as
    configured, with ``dedicated.spot.replicas.<model>`` of its replicas at the spot price
    (until December 2026 an all-spot reference fleet, billed $2.25/GPU-hour, was set
    against u* at $3.95: u* 27.6 % where the simulated crossover sat at 15.5 %)."""
    deployment_for, _ = perf_factory(cfg, catalog)
    gpu = deployment_for(model).gpu
    fixed = str(cfg.dedicated.pricing)
    price = float(gpu.reserved_usd_per_hour if fixed == "reserved" else gpu.on_demand_usd_per_hour)
    n = int(cfg.dedicated.replicas.get(model, 1))
    k = min(int(cfg.dedicated.spot.replicas.get(model, 0)), n)
    if k == 0 or gpu.spot_usd_per_hour is None or n == 0:
        return price, fixed
    mean = ((n - k) * price + k * float(gpu.spot_usd_per_hour)) / n
    return mean, ("spot" if k == n else f"{fixed} + spot ({k} of {n} replicas)")


FILL = "+fill"  # the label suffix of a curve run with the batch fill tenant


def with_fill(cfg, tenant: str, fill: str):
    """``cfg`` with only the swept tenant and the fill tenant."""
    out = only_tenant(cfg, tenant, keep=(fill,))
    with open_dict(out):
        out.tenants[fill] = cfg.tenants[fill]
    return out


def point_row(s: pd.DataFrame, f: float, label: str, setup: str, rate: float, offered: float,
              fleet_tok_s: float, tenant: str, fill: str | None) -> dict:
    """One (load, curve) point from its summary, over its measured window (``metrics.warmup_s``;
    the whole run without one): the ``__all__`` row's figures, with the swept tenant's tail
    and SLO and the fill tenant's served work when there is one. Requests and tokens are the
    window's; ``delivered_tok_s`` its output tokens over its own length ``period_s -
    warmup_s`` (summary.csv's ``throughput_tok_s``). The bill does not split by arrival: its
    per-token part is the window's share of the run's output tokens, its GPU-time part (and
    the GPU hours) the window's share of the billing period, so a reserved fleet costs its
    hourly price whatever the load; the cost per output token is the window's cost over
    its output tokens (NaN without any), and the monthly columns project the window's rates
    to 730 h. Without a warm-up each is the summary's. Until December 2026 a warm-up's
    window tokens went over the whole period (half the fleet's throughput at the crossover)
    beside the run's bill (cost_usd / output_tokens $3.39/M against $1.76/M)."""
    a = s[s["tenant"] == ALL].iloc[0]
    t = s[s["tenant"] == tenant].iloc[0]
    early = s[s["tenant"] == ALL + WARMUP_SUFFIX]
    warm = float(early["warmup_s"].iloc[0]) if len(early) else 0.0
    period = float(a["period_s"])
    window = period - warm
    run_out = a["output_tokens"] + (early["output_tokens"].iloc[0] if len(early) else 0)
    timed = window / period if period > 0 else float("nan")  # the window's share of the period
    tokens = a["output_tokens"] / run_out if run_out > 0 else timed  # ... of the output tokens
    delivered = a["output_tokens"] / window if window > 0 else float("nan")
    month = monthly_factor(window)
    token_cost, gpu_cost = a["token_cost_usd"] * tokens, a["gpu_cost_usd"] * timed
    cost = token_cost + gpu_cost
    per_mtok = cost / a["output_tokens"] * 1e6 if a["output_tokens"] > 0 else float("nan")
    if not warm:
        per_mtok = a[Y]  # the summary's own, unrounded as it is
    row = {
        X: f, "label": label, "setup": setup, "rate_rps": rate,
        "offered_tok_s": offered, "requests": int(a["requests"]),
        "completed": int(a["completed"]), "rejected": int(a["rejected"]),
        "output_tokens": int(a["output_tokens"]), "input_tokens": int(a["input_tokens"]),
        "period_s": period, "warmup_s": warm, "window_s": window, "cost_usd": cost,
        "token_cost_usd": token_cost, "gpu_cost_usd": gpu_cost,
        Y: per_mtok, "gpu_hours": a["gpu_hours"] * timed, "busy_gpu_hours": a["busy_gpu_hours"] * timed,
        "gpu_busy_fraction": a["busy_fraction"], "delivered_tok_s": delivered,
        # delivered output throughput against the dedicated fleet's measured capacity
        "throughput_utilization": delivered / fleet_tok_s,
        "monthly_output_tokens": a["output_tokens"] * month,
        "monthly_cost_usd": cost * month,
        "ttft_p50_s": a["ttft_p50_s"], "ttft_p99_s": a["ttft_p99_s"],
        "cold_starts": int(a["cold_starts"]),
        # the swept (interactive) tenant's own figures, and the batch fill's
        "interactive_ttft_p99_s": t["ttft_p99_s"], "interactive_slo_attainment": t["slo_attainment"],
        "fill": fill is not None, "batch_output_tokens": 0, "batch_completed": 0,
        "batch_deadline_missed": 0,
    }
    if fill is not None:
        b = s[s["tenant"] == fill].iloc[0]
        row.update(batch_output_tokens=int(b["output_tokens"]), batch_completed=int(b["completed"]),
                   batch_deadline_missed=int(b["deadline_missed"]))
    return row


# keys an entry's overrides may not set: the workload (shared by every curve at a load),
# the catalog the bill and the analytic u* are priced from, and what no curve's run reads;
# they ran unread or half-read (a per-token price of $100/M changed no cost), unsaid
RUN_KEYS = {"tenants", "tenants_from", "background", "pipelines", "horizon_s", "seed", "workload",
            "catalog", "job", "name", "output", "replications", "limits", "setups", "signals",
            "objective", "notes", "variant", "variants", "breakeven", "calibration", "claims",
            "compound", "keepalive", "noisy_neighbour", "plan", "prefix_cache"}


@contextmanager
def _entry(i: int):
    """A run of ``breakeven.setups[i]`` refused: the message names that entry too (its
    overrides set the key the error names, or made the run impossible)."""
    try:
        yield
    except InputError as e:
        raise InputError(f"{e} (the run of this entry, with its overrides)",
                         key=f"breakeven.setups[{i}]") from None


def check_entries(base, curves_) -> None:
    """Each curve's overrides as its run takes them (``base``: the swept tenant alone): none
    of the run's own keys, and a config the run builds; and a curve besides the reference
    (the reference alone ran with no crossing to find, unsaid). The job's check makes the
    same checks before any work (``--cfg job``, sim/jobs/breakeven.py)."""
    for i, (_, _, changes) in enumerate(curves_):
        shared = next((k for k in changes if k.split(".", 1)[0] in RUN_KEYS), None)
        if shared is not None:
            raise InputError(f"{shared!r} is the run's, not a curve's: every curve runs on the "
                             "same requests, prices and catalog (the workload and the bill are "
                             "built once); set it on the command line, for every curve",
                             key=f"breakeven.setups[{i}].overrides")
        with _entry(i):
            build(variant(base, **changes), workload=False)
    if len(curves_) < 2:
        raise InputError(f"only the reference curve {str(base.breakeven.reference)!r}: list at "
                         "least one setup to compare with it", key="breakeven.setups")


def run_breakeven(cfg, progress: bool = False) -> BreakevenResult:
    tenant = swept_tenant(cfg)
    base = only_tenant(cfg, tenant)
    fill = cfg.breakeven.fill.tenant
    filled = with_fill(cfg, tenant, fill) if fill is not None else None
    curves_ = curves(base)
    fractions = [float(x) for x in base.breakeven.load_fractions]
    model = base.tenants[tenant].model
    ref = str(base.breakeven.reference)
    # the reference curve's own keys (a runtime speedup, a price) apply to its capacity too
    ref_i = next(i for i, c in enumerate(curves_) if c[0] == ref)
    check_entries(base, curves_)  # every entry's keys, before any run
    ref_cfg = variant(base, **dict(curves_[ref_i][2]))
    with _entry(ref_i):
        cap = measure_capacity(ref_cfg, tenant, int(base.breakeven.capacity_requests_per_client))
    if not cap.rps > 0:
        raise InputError("the saturated run completed nothing", key=f"tenants.{tenant}")
    fleet = int(ref_cfg.dedicated.replicas.get(model, 1))
    catalog = build_catalog(base)
    rows, sums, wl_notes, cuts, behind = [], [], [], [], []
    mean_in = mean_out = float("nan")
    fill_rate = (float(cfg.breakeven.fill.load_fraction) * cap.rps * fleet
                 if fill is not None else 0.0)
    fill_means = (float("nan"), float("nan"))
    for f in fractions:
        rate = float(f * cap.rps * fleet)
        runs = [("", base, None)]
        if filled is not None:
            runs.append((FILL, variant(filled, **{f"tenants.{fill}.arrival.rate_rps": fill_rate}), fill))
        for suffix, c, fill_t in runs:
            lcfg = variant(c, **{f"tenants.{tenant}.arrival.rate_rps": rate})
            wl = build_workload(lcfg)
            # lengths changed, trace: named "load fraction 0.2: ..." as the overload and cut
            # notes name the point ("load fraction 0.2+fill" read as another fraction)
            whose = f"the {suffix} curves' " if suffix else ""
            wl_notes += [f"load fraction {f:g}: {whose}{n}" for n in
                         wl.replay_notes + wl.length_notes(str(lcfg.workload.overlength))]
            user = wl.tenant == wl.tenants.index(tenant)
            if f == fractions[-1] and user.any() and not suffix:
                mean_in = float(wl.input_tokens[user].mean())
                mean_out = float(wl.output_tokens[user].mean())
            if fill_t is not None and f == fractions[-1]:
                mine = wl.tenant == wl.tenants.index(fill_t)
                if mine.any():  # else no fill request arrived: NaN means, and a note says so
                    fill_means = (float(wl.input_tokens[mine].mean()), float(wl.output_tokens[mine].mean()))
            prices = model_prices(catalog, wl.models)
            for i, (label, setup, changes) in enumerate(curves_):
                vcfg = variant(lcfg, **changes)
                with _entry(i):
                    run = simulate(vcfg, wl, setup, progress, f"{label}{suffix} at {f:g}")
                run.setup = label + suffix
                s = setup_summary(vcfg, wl, run, prices)
                s.insert(0, X, f)
                s.insert(1, "rate_rps", rate)
                sums.append(s)
                rows.append(point_row(s, f, label + suffix, setup, rate, f * cap.tok_s * fleet,
                                      cap.tok_s * fleet, tenant, fill_t))
                behind.append(overload_note(vcfg, wl, run, f))
                k = cut_count(wl, run, float(vcfg.metrics.warmup_s))
                if k:  # said, not left out (unsaid until December 2026)
                    cuts.append((f, label + suffix, k, rows[-1]["requests"]))
    points = pd.DataFrame(rows)
    summary = pd.concat(sums, ignore_index=True)
    price_h, pricing = gpu_hour_price(ref_cfg, catalog, model)
    m = catalog.models[model]
    p_in, p_out = m.price_in_usd_per_mtok, m.price_out_usd_per_mtok
    analytic = {
        "model": model, "gpu": cap.gpu, "tp": cap.tp, "fleet_replicas": fleet,
        "fleet_gpus": cap.tp * fleet, "price_per_gpu_hour": price_h,
        "pricing": pricing,
        "price_in_usd_per_mtok": p_in, "price_out_usd_per_mtok": p_out,
        "capacity_tok_s_per_replica": cap.tok_s, "tokens_per_s_per_gpu": cap.tok_s_per_gpu,
        "capacity_rps_per_replica": cap.rps, "mean_input_tokens": mean_in,
        "mean_output_tokens": mean_out,
    }
    if p_in is not None and p_out is not None and mean_out > 0:
        per_out = (p_in * mean_in + p_out * mean_out) / mean_out  # $/M output tokens
        analytic["token_bill_per_mtok_out"] = per_out
        # a free per-token bill ($0/M in and out): no load makes the fleet cheaper (a
        # ZeroDivisionError traceback until December 2026); both free: no break-even at all
        analytic["u_star"] = (price_h / (cap.tok_s_per_gpu * 3600.0 * per_out / 1e6) if per_out > 0
                              else float("inf") if price_h > 0 else float("nan"))
        analytic["u_star_output_price_only"] = (price_h / (cap.tok_s_per_gpu * 3600.0 * p_out / 1e6)
                                                if p_out > 0 else float("inf"))
    if fill is not None:
        fill_analytic(analytic, cfg, cap, fleet, fill_rate, fill_means)
    res = BreakevenResult(tenant=tenant, capacity=cap, fleet_replicas=fleet, points=points,
                          crossings=pd.DataFrame(), analytic=analytic, summary=summary)
    plain = ~points["fill"]
    res.crossings = crossings_table(points[plain], ref, analytic)
    if fill is not None:
        factors = {label + FILL: float(variant(base, **changes).serverless.batch_price_factor)
                   for label, _, changes in curves_}
        res.crossings = pd.concat([res.crossings, fill_crossings(points[~plain], ref + FILL,
                                                                 analytic, factors)],
                                  ignore_index=True)
        curve_factors(analytic, res.crossings)
    # the points that fell behind, the cut requests and the workloads' own notes: unsaid
    # until December 2026
    res.notes = breakeven_notes(res) + [n for n in behind if n] + cut_notes(cuts) + wl_notes
    others = [t for t in cfg.tenants if t not in (tenant, fill)]
    if others:  # in no curve's run: until December 2026 left out unsaid
        res.notes.append(
            f"tenant(s) {', '.join(others)} are in no curve: the sweep prices "
            f"breakeven.tenant ({tenant}) alone" + (f", beside the batch fill ({fill})"
                                                     if fill is not None else "")
            + "; set breakeven.fill.tenant to run a batch-tier tenant beside it")
    return res


def fill_analytic(analytic: dict, cfg, cap: Capacity, fleet: int, fill_rate: float,
                  fill_means: tuple[float, float]) -> None:
    """The batch fill's share of the fleet's capacity and the analytic crossover with it
    (module doc, step 5) at the run's ``serverless.batch_price_factor``, added to
    ``analytic``; a curve billing another factor (its overrides') has its own u*_fill in
    breakeven.csv, and :func:`curve_factors` puts those of the per-token curves here."""
    factor = float(cfg.serverless.batch_price_factor)
    f_in, f_out = fill_means
    b = fill_rate * f_out / (cap.tok_s * fleet) if f_out > 0 else float("nan")
    analytic.update({"fill_tenant": str(cfg.breakeven.fill.tenant), "fill_rate_rps": fill_rate,
                     "fill_output_fraction": b, "batch_price_factor": factor,
                     "fill_mean_input_tokens": f_in, "fill_mean_output_tokens": f_out})
    if "u_star" in analytic and f_out > 0:
        analytic["u_star_fill"] = u_star_fill_at(analytic, factor)


def curve_factors(analytic: dict, crossings: pd.DataFrame) -> None:
    """capacity.csv's ``batch_price_factor`` and ``u_star_fill``: those of the per-token fill
    curves when they bill one factor, NaN when they bill several (breakeven.csv has each)."""
    rows = crossings[crossings["reference"].astype(str).str.endswith(FILL)
                     & (crossings["billing"] == "per_token")]
    factors = sorted(set(rows["batch_price_factor"].tolist()))
    if len(factors) == 1 and "u_star" in analytic:
        analytic["batch_price_factor"] = factors[0]
        analytic["u_star_fill"] = u_star_fill_at(analytic, factors[0])
    elif factors:
        analytic["batch_price_factor"] = analytic["u_star_fill"] = float("nan")


def breakeven_notes(res: BreakevenResult) -> list[str]:
    a = res.analytic
    cap = res.capacity
    notes = [f"capacity (saturated closed loop, {cap.clients} clients): {cap.tok_s:,.0f} output "
             f"tok/s per {cap.tp}-GPU replica = {cap.tok_s_per_gpu:,.0f} tok/s per {cap.gpu}; "
             f"fleet {res.fleet_replicas} replica(s) at ${a['price_per_gpu_hour']:.2f}/GPU-hour "
             f"({a['pricing']})"]
    pts = res.points
    empty = sorted(set(pts.loc[~pts["fill"] & (pts["output_tokens"] == 0), X].tolist()))
    if empty:  # nothing delivered: that point's cost per token is NaN, and says why
        # each load's own rate (until December 2026 the first load's, said of them all)
        rates = [float(pts.loc[pts[X] == f, "rate_rps"].iloc[0]) for f in empty]
        notes.append(f"load fraction(s) {', '.join(f'{f:g} ({r:.3g} req/s)' for f, r in zip(empty, rates))}: "
                     "no output token delivered within the horizon (too short a run at those "
                     "rates sends few or no requests, or none finishes); those points' "
                     "per-token costs are NaN")
    if "fill_tenant" in a and not a["fill_mean_output_tokens"] > 0:  # numpy's warnings before
        notes.append(f"batch fill {a['fill_tenant']}: no request arrived within the horizon at "
                     f"{a['fill_rate_rps']:.3g} req/s (breakeven.fill.load_fraction): the +fill "
                     "curves ran without it")
    for _, c in res.crossings.iterrows():
        if not np.isfinite(c[X]):
            text = f"{c['label']} vs {c['reference']}: {c['note']}"
            uf = c.get("u_star", np.nan) if str(c["reference"]).endswith(FILL) else np.nan
            if c.get("billing") == "per_token" and np.isfinite(uf) and uf <= 0:
                # a negative u*_fill in the tables, unexplained until December 2026
                text += (f" (analytic u*_fill {100 * uf:.1f} %: at or below zero, the fill alone "
                         "costs as much on serverless, at the batch price, as the fleet an hour)")
            notes.append(text)
            continue
        text = (f"{c['label']} vs {c['reference']}: crossover at {100 * c[X]:.1f} % offered load "
                f"({c['rate_rps']:.3g} req/s): {c['reference']} fleet at "
                f"{100 * c['throughput_utilization']:.1f} % of its measured throughput "
                f"(GPU busy {100 * c['gpu_busy_fraction']:.1f} % of the time), "
                f"{c['monthly_output_tokens'] / 1e6:,.0f} M output tokens/month, "
                f"${c[Y]:.3f}/M output tokens; {c['cheaper_below']} cheaper below")
        if str(c["reference"]).endswith(FILL):
            if c.get("billing") == "per_token" and np.isfinite(c.get("u_star", np.nan)):
                text += (f"; with the batch fill ({a['fill_tenant']}: "
                         f"{100 * a['fill_output_fraction']:.1f} % of the capacity in output tokens, "
                         f"billed x{c['batch_price_factor']:g} on serverless), analytic u*_fill "
                         f"{100 * c['u_star']:.1f} %")
            notes.append(text)
            continue
        if c.get("billing") == "per_token" and np.isfinite(c.get("u_star", np.nan)):
            text += (f"; analytic u* {100 * c['u_star']:.1f} % with the per-token bill per output "
                     f"token (${a['token_bill_per_mtok_out']:.3f}/M; "
                     f"{c['monthly_output_tokens_analytic'] / 1e6:,.0f} M tokens/month), "
                     f"{100 * c['u_star_output_price_only']:.1f} % with the output price alone")
        notes.append(text)
    return notes
