"""The value a job hands to an optimising sweeper: cost, plus a penalty when the SLO is missed.

    objective = cost                                  if the SLO holds
              = cost + penalty * (1 + violation)      otherwise

``violation = max(0, metric / slo_max - 1) + unserved_fraction``; a run that leaves requests
unserved (rejected, failed) misses its SLO whatever its percentile says, since percentiles
are over completed requests only. The ``1 +`` keeps every infeasible point above every
feasible one; the violation term still ranks infeasible points so a search can move
toward the feasible region.
"""

from __future__ import annotations

import math

from omegaconf import OmegaConf

from sim.errors import InputError
from sim.platform import SETUPS
from sim.report.condense import SCENARIO_KEYS


def objective_value(summary, cfg) -> float | None:
    """The objective for ``cfg.objective`` from a job's summary; ``None`` when no SLO is asked
    for and the summary has no such row (a job that is not a simulation) or several (a study's
    scenarios: a trace, a policy, a background level each); refused with an SLO then."""
    oc = cfg.objective
    slo = OmegaConf.select(cfg, "objective.slo_max")
    setup = oc.setup if oc.setup is not None else (
        summary["setup"].iloc[0] if len(summary) and "setup" in summary.columns else None)
    need = {"setup", "tenant", oc.cost} | ({oc.slo_metric} if slo is not None else set())
    if setup is None or not need <= set(summary.columns):
        if slo is None:
            return None
        raise InputError(f"summary has no column {sorted(need - set(summary.columns))}",
                         key="objective")
    rows = summary[(summary["setup"] == setup) & (summary["tenant"] == oc.tenant)]
    if rows.empty:
        if slo is None:
            return None
        raise InputError(f"no summary row for setup {setup!r}, tenant {oc.tenant!r}",
                         key="objective")
    if len(rows) > 1:  # a study's scenarios (policies, traces, background levels): no one row
        # (until December 2026 the first was taken unsaid: keepalive's first policy, $0.7017,
        # of eight serverless/__all__ rows from $0.350 to $0.858)
        if slo is None:
            return None
        apart = [c for c in rows.columns if c not in ("setup", "tenant")
                 and rows[c].astype(str).nunique() > 1 and c in SCENARIO_KEYS]
        raise InputError(f"{len(rows)} summary rows are setup {setup!r}, tenant {oc.tenant!r} "
                         f"(they differ in {', '.join(apart) or 'their scenario'}): an objective "
                         "needs one; run the study with one scenario (one value of each)",
                         key="objective")
    row = rows.iloc[0]
    cost = float(row[oc.cost])
    if slo is None:
        return cost
    slo = float(slo)
    if slo <= 0:
        raise InputError("must be > 0", key="objective.slo_max")
    metric = float(row[oc.slo_metric])
    requests = float(row.get("requests", 0) or 0)
    completed = float(row.get("completed", requests) or 0)
    unserved = 1.0 - completed / requests if requests > 0 else 0.0
    if math.isnan(metric):  # nothing completed
        return cost + float(oc.penalty) * (2.0 + unserved)
    violation = max(0.0, metric / slo - 1.0) + unserved
    if metric <= slo and unserved == 0.0:
        return cost
    return cost + float(oc.penalty) * (1.0 + violation)


def describe_objective(cfg) -> str:
    """What ``objective_value`` computes for ``cfg``, in a line: the number a sweep job prints
    and summary.md's ``objective`` column are defined where they are shown."""
    cfg = OmegaConf.create(cfg) if isinstance(cfg, dict) else cfg
    oc = OmegaConf.select(cfg, "objective") or {}
    setups = list(OmegaConf.select(cfg, "setups") or [])
    if setups == ["all"]:  # run in registry order: the summary's first setup is the first registered
        setups = list(SETUPS)
    setup = oc.get("setup") or (setups[0] if len(setups) else "the first setup")
    what = f"{oc.get('cost', 'cost_usd')} of {setup}/{oc.get('tenant', '__all__')}"
    slo = oc.get("slo_max")
    if slo is None:
        return f"{what} (no SLO asked)"
    metric = str(oc.get("slo_metric", "ttft_p99_s"))
    unit = " s" if metric.endswith("_s") else ""
    return (f"{what}, plus {float(oc.get('penalty', 0.0)):g} x (1 + violation) when "
            f"{metric} > {float(slo):g}{unit} or requests go unserved (not dollars then)")
