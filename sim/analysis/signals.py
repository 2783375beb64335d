"""Per-tenant migration signals and a setup recommendation, from one run's simulated events.

The brief names four signals that a tenant has outgrown a shared serverless pool:
1. **tail**: p99 TTFT more than ``tail_ratio`` (3) times p50 on the shared pool;
2. **cold**: requests with TTFT above ``slow_ttft_s`` (5 s), the mark of cold starts;
3. **cost**: its bill on the shared pool is past the break-even, i.e. the same requests
   cost less per output token on the dedicated setup of the same run;
4. **requirements**: the tenant needs something a shared pool cannot give (custom weights,
   data residency: ``tenants.<t>.custom_weights`` / ``.data_residency``).

Signals 1-3 are computed from the ``signals.current`` setup's requests and bill (the setup
the tenant is on today, ``serverless`` by default); the cost signal needs the ``dedicated``
setup in the same run. The recommendation is the cheapest setup of the run (per output
token, as billed to the tenant) that meets the tenant's TTFT SLO for at least
``slo_target`` of its requests and that the tenant's requirements allow; a tenant whose SLO
no setup meets gets the setup with the best attainment, marked ``meets_slo = False``.

With ``signals.standalone: true`` each tenant is also run alone (:mod:`sim.analysis.standalone`):
the table gains its standalone setup and cost, and a move to the dedicated setup is judged
by what the tenant would pay for the dedicated setup alone (the cost signal and the
recommendation's dedicated candidate), not by its share of replicas bought for everyone.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.plan_judge import servable_attainment
from sim.analysis.standalone import STANDALONE_COLUMNS, cheapest_key, standalone_figures
from sim.errors import require
from sim.metrics.rows import walk
from sim.metrics.slow import SlowFold
from sim.records import ALL, BACKGROUND
from sim.simulation.streamed import Streamed

# setups on which a tenant's requests run on a shared multi-tenant pool: the requirement
# flags rule them out (a hybrid setup is ruled out only for tenants it places serverless)
SHARED_SETUPS = {"serverless"}

SIGNAL_COLUMNS = [
    "tenant", "model", "current_setup", "ttft_p50_s", "ttft_p99_s", "tail_ratio", "signal_tail",
    "slow_requests", "slow_cold", "signal_cold", "cost_per_mtok_current_usd",
    "cost_per_mtok_dedicated_usd", "signal_cost", "requirements", "signal_requirements",
    "signals", "recommended_setup", "recommended_cost_per_mtok_usd",
    "recommended_slo_attainment", "meets_slo", "beyond_context",
]


def _shared_for(setup: str, tenant: str, model: str, cfg) -> bool:
    if setup in SHARED_SETUPS:
        return True
    if setup == "hybrid":
        hc = getattr(cfg, "hybrid", None)
        placement = dict(getattr(hc, "placement", None) or {})
        default = str(getattr(hc, "default_tier", "serverless"))
        tier = placement.get(tenant, placement.get(model, default))
        if str(getattr(tier, "value", tier)) != "dedicated":
            return True
        # placed dedicated, but spillover sends its requests to the pool when the reserved
        # replicas fall behind, and shadow traffic copies them there (until December 2026
        # neither counted: a data-residency tenant was recommended the hybrid whose pool
        # served 125 of its requests)
        spill = getattr(hc, "spillover", None)
        return bool(getattr(spill, "enabled", False)) or float(getattr(hc, "shadow_fraction", 0.0)) > 0
    return False


def _requirements(tcfg) -> list[str]:
    need = []
    if bool(getattr(tcfg, "custom_weights", False)):
        need.append("custom_weights")
    if bool(getattr(tcfg, "data_residency", False)):
        need.append("data_residency")
    return need


def signals_table(cfg, workload, runs, summary: pd.DataFrame,
                  standalone: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per user tenant: the four signals on the current setup and a recommendation.
    ``standalone``: per tenant, its summary rows (by setup) when run alone, if computed."""
    scfg = cfg.signals
    current = str(scfg.current)
    by_setup = {r.setup: r for r in runs}
    # each tenant's rows and counts taken in one pass over the summary and the log, not one
    # pass per tenant (quadratic in the tenants: hundreds of them took seconds)
    by_tenant = {t: g.set_index("setup") for t, g in summary.groupby("tenant", sort=False)}
    no_rows = summary.iloc[:0].set_index("setup")
    slow_n, cold_n = _slow_counts(cfg, workload, by_setup.get(current))
    over_n = (None if workload.over_context is None else
              np.bincount(workload.tenant[workload.over_context], minlength=len(workload.tenants)))
    rows = []
    for ti, tenant in enumerate(workload.tenants):
        if tenant not in cfg.tenants:
            continue  # background tenants get no advice
        tcfg = cfg.tenants[tenant]
        # a pipeline tenant calls its stages' models (sim/simulation/pipeline.py)
        model = f"pipeline:{tcfg.pipeline}" if tcfg.get("pipeline") else str(tcfg.model)
        srows = by_tenant.get(tenant, no_rows)
        alone = standalone.get(tenant) if standalone else None
        if alone is not None and "dedicated" in alone.index and "dedicated" in srows.index:
            # a move to dedicated: judged by what the tenant would pay for it alone
            srows = srows.copy()
            for c in ("cost_per_mtok_out_usd", "slo_attainment"):
                srows.loc["dedicated", c] = alone.loc["dedicated", c]
        row: dict = {"tenant": tenant, "model": model, "current_setup": current}
        run = by_setup.get(current)
        if run is not None and current in srows.index:
            s = srows.loc[current]
            p50, p99 = float(s["ttft_p50_s"]), float(s["ttft_p99_s"])
            ratio = p99 / p50 if p50 > 0 else math.nan
            row.update({
                "ttft_p50_s": p50, "ttft_p99_s": p99, "tail_ratio": ratio,
                "signal_tail": bool(ratio > float(scfg.tail_ratio)),
                "slow_requests": int(slow_n[ti]),
                "slow_cold": int(cold_n[ti]),
                "cost_per_mtok_current_usd": float(s["cost_per_mtok_out_usd"]),
            })
            row["signal_cold"] = row["slow_requests"] > 0
        else:
            row.update({"ttft_p50_s": math.nan, "ttft_p99_s": math.nan, "tail_ratio": math.nan,
                        "signal_tail": False, "slow_requests": 0, "slow_cold": 0,
                        "signal_cold": False, "cost_per_mtok_current_usd": math.nan})
        ded = (float(srows.loc["dedicated", "cost_per_mtok_out_usd"])
               if "dedicated" in srows.index else math.nan)
        row["cost_per_mtok_dedicated_usd"] = ded
        row["signal_cost"] = bool(ded < row["cost_per_mtok_current_usd"])  # NaN compares False
        need = _requirements(tcfg)
        row["requirements"] = ",".join(need)
        row["signal_requirements"] = bool(need)
        row["signals"] = sum(int(row[k]) for k in ("signal_tail", "signal_cold", "signal_cost",
                                                   "signal_requirements"))
        # its requests beyond the model's context: out of recommended_slo_attainment (a
        # pipeline's, whose stages are requests of their own, are left as they are)
        over = None if tcfg.get("pipeline") else workload.over_context
        row.update(_recommend(cfg, tenant, model, srows if over is None else
                              _servable(srows, workload, by_setup), need,
                              float(scfg.slo_target), current))
        row["beyond_context"] = 0 if over is None else int(over_n[ti])
        if standalone is not None:
            shared = [x for x in alone.index if need and _shared_for(str(x), tenant, model, cfg)] \
                if alone is not None else []
            row.update(standalone_figures(alone, float(scfg.slo_target), current, shared)
                       if alone is not None
                       else dict.fromkeys(STANDALONE_COLUMNS, math.nan))
        rows.append(row)
    return pd.DataFrame(rows, columns=SIGNAL_COLUMNS + (STANDALONE_COLUMNS if standalone is not None else []))


def _slow_counts(cfg, workload, run) -> tuple[np.ndarray, np.ndarray]:
    """Per tenant (by index): its completed requests slower than ``signals.slow_ttft_s`` to
    the first token on ``run``, and those of them that waited for a cold start. Over the
    rows' own window: requests arriving at or after metrics.warmup_s, as the percentiles
    beside them (the warm-up's cold starts were counted until December 2026, so a run whose
    measured window was empty read `p99/p50 -, 12 requests > 5 s`). A run folded while it
    went (sim/simulation/streamed.py) counted them then."""
    k = len(workload.tenants)
    if run is None:
        return np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64)
    fold = run.folded.slow if isinstance(run.folded, Streamed) else None
    if fold is None:
        fold = SlowFold(cfg, workload, run)
        walk(run.log.n, [fold])
    return fold.counts()


def _servable(srows: pd.DataFrame, workload, by_setup: dict) -> pd.DataFrame:
    """A tenant's rows (by setup) with its SLO attainment over the requests within its
    model's context: every setup rejects the others alike (:func:`servable_attainment`), so
    a log with 1.4 % of them made every setup miss a 0.99 target (until December 2026)."""
    if workload.over_context is None:
        return srows
    out = srows.copy()
    for setup in [x for x in out.index if x in by_setup]:
        one = out.loc[[setup]]
        out.loc[setup, "slo_attainment"] = servable_attainment(workload, by_setup[setup].log, one)[0]
    return out


def _recommend(cfg, tenant, model, srows: pd.DataFrame, need: list[str], target: float,
               current: str = "") -> dict:
    cands = []
    for setup, s in srows.iterrows():
        if setup in (ALL, BACKGROUND):
            continue
        if need and _shared_for(str(setup), tenant, model, cfg):
            continue  # the tenant's requirements rule out a shared pool
        cost, att = float(s["cost_per_mtok_out_usd"]), float(s["slo_attainment"])
        if math.isnan(cost) or math.isnan(att):
            continue
        cands.append((str(setup), cost, att))
    if not cands:
        return {"recommended_setup": "", "recommended_cost_per_mtok_usd": math.nan,
                "recommended_slo_attainment": math.nan, "meets_slo": False}
    ok = [c for c in cands if c[2] >= target]
    # cheapest that meets the SLO, ties as the standalone pick's (cheapest_key: better
    # attainment, then staying where the tenant is, then name). Else the best attainment,
    # then the cheapest.
    key = cheapest_key(current)
    best = (min(ok, key=lambda c: key(*c)) if ok
            else min(cands, key=lambda c: (-c[2], c[1], c[0] != current, c[0])))
    return {"recommended_setup": best[0], "recommended_cost_per_mtok_usd": best[1],
            "recommended_slo_attainment": best[2], "meets_slo": bool(ok)}


def check_config(cfg) -> None:
    s = cfg.signals
    require(0.0 < float(s.slo_target) <= 1.0, "signals.slo_target", "must lie in (0, 1]")
    require(float(s.tail_ratio) >= 1.0, "signals.tail_ratio",
            "must be >= 1 (p99 is never below p50: a smaller ratio flags every tenant)")
    require(float(s.slow_ttft_s) > 0.0, "signals.slow_ttft_s", "must be > 0")


def format_signals(df: pd.DataFrame, slow_s: float = 5.0, simulated=None,
                   target: float | None = None) -> str:
    """The console view: one line per tenant, the signals that fired and the advice.
    ``simulated``: the setups the run simulated (None: all); a tenant whose current setup is
    not among them gets no figures of it, only what applies. ``target``: ``slo_target``,
    said beside "none meets the SLO" (an attainment of 98.8 % read as meeting it)."""
    miss = ", none meets the SLO" + ("" if target is None else
                                     f" for {100 * target:g} % of requests (signals.slo_target)")
    def money(v):
        return "-" if math.isnan(v) else f"${v:,.2f}"

    def share(v: float, meets: bool) -> str:
        # one decimal, more where it would round across the target: 0.98993 read "SLO
        # 99.0%, none meets the SLO for 99 %" until December 2026 (now "98.99%")
        for d in (1, 2, 3, 4):
            text = f"{100 * v:.{d}f}"
            if target is None or math.isnan(v) or (float(text) >= 100 * target) == meets:
                break
        return text

    lines = []
    for r in df.itertuples():
        fired = [name for name, on in (("tail", r.signal_tail), ("cold", r.signal_cold),
                                       ("cost", r.signal_cost),
                                       ("requirements", r.signal_requirements)) if on]
        ratio = "-" if math.isnan(r.tail_ratio) else f"{r.tail_ratio:.1f}"
        within = (f" of the requests within the context ({r.beyond_context:,} beyond it)"
                  if getattr(r, "beyond_context", 0) else "")
        advice = (f"{r.recommended_setup} ({money(r.recommended_cost_per_mtok_usd)}/M, "
                  f"SLO {share(r.recommended_slo_attainment, bool(r.meets_slo))}%{within}"
                  + ("" if r.meets_slo else miss) + ")"
                  if r.recommended_setup else "-")
        fired_text = f"signals: {', '.join(fired) if fired else 'none'} -> {advice}"
        if simulated is not None and r.current_setup not in simulated:
            # the current setup was not simulated: no line of figures that would all be "-"
            lines.append(f"  {r.tenant}: {r.current_setup} (signals.current) was not simulated "
                         f"here, so no tail, cold or cost signal; {fired_text}")
            continue
        versus = ("" if r.current_setup == "dedicated" or (
                      simulated is not None and "dedicated" not in simulated)
                  else f" vs dedicated {money(r.cost_per_mtok_dedicated_usd)}/M")
        lines.append(f"  {r.tenant}: on {r.current_setup} p99/p50 {ratio}, "
                     f"{r.slow_requests} requests > {slow_s:g} s ({r.slow_cold} cold), "
                     f"{money(r.cost_per_mtok_current_usd)}/M{versus}; {fired_text}")
    return "\n".join(lines)
