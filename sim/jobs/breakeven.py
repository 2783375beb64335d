"""``experiment=breakeven``: at which sustained load is a dedicated fleet cheaper per output
token than per-token serverless? See :mod:`sim.analysis.breakeven`. Files:
``breakeven.csv`` (crossovers), ``points.csv`` (every load x curve), ``capacity.csv``,
``plots/breakeven``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pandas as pd
from omegaconf import MISSING

from sim.analysis.breakeven import check_entries, curves, run_breakeven
from sim.analysis.capacity import only_tenant
from sim.config.rules import count, rule
from sim.errors import InputError
from sim.jobs import job
from sim.metrics.windows import WARMUP_SUFFIX
from sim.platform import SETUPS
from sim.records import ALL, Result
from sim.report.breakeven import breakeven_figure
from sim.report.outputs import write_outputs
from sim.simulation.unread import job_note


@dataclass
class BreakevenSetupConfig:
    """One curve of the break-even sweep: a registered setup with a few keys changed."""

    label: str = MISSING
    setup: str = MISSING
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted key -> value


@dataclass
class BreakevenFillConfig:
    """A batch-tier tenant run beside the swept one at a fixed rate (sim/analysis/breakeven.py,
    step 5): how filling reserved GPUs with batch work moves the break-even."""

    tenant: Optional[str] = None  # a tenant with priority: batch (None: no fill)
    # its request rate as a fraction of the fleet's measured capacity (requests/s)
    load_fraction: float = rule(0.3, gt=0, le=10)


@dataclass
class BreakevenConfig:
    """``experiment=breakeven``: sustained load swept as fractions of the dedicated fleet's
    measured capacity; see sim/breakeven.py."""

    tenant: Optional[str] = None  # the tenant whose load is swept (None: the only one)
    load_fractions: List[float] = rule(factory=lambda: [
        0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], gt=0, le=10)
    reference: str = "dedicated"  # the label every other curve is compared against
    setups: List[BreakevenSetupConfig] = field(default_factory=lambda: [
        BreakevenSetupConfig("serverless", "serverless", {"serverless.billing": "per_token"}),
        BreakevenSetupConfig("serverless/gpu_second", "serverless",
                             {"serverless.billing": "gpu_second"}),
        BreakevenSetupConfig("dedicated", "dedicated", {}),
    ])
    # the saturated run that measures capacity: requests per closed-loop client. At most
    # 1,000 (assumption): that run holds clients x this many requests and is not held to the
    # memory budget (limits.*) as the run's own requests are; the 70B on two H100s keeps 384
    # clients, so 1,000 is 384,000 requests (16 s more here), and the bound of 100,000 it had
    # was 38 M requests, about 27 minutes by the same rate (the twenty-first hostile sweep)
    capacity_requests_per_client: int = count(8, hi=1_000)
    fill: BreakevenFillConfig = field(default_factory=BreakevenFillConfig)


# the arrival kinds whose rate is rate_rps (a trace, a closed loop, ServeGen windows: not)
RATE_KINDS = ("poisson", "gamma", "onoff")


def check(cfg) -> None:
    """The swept tenant exists (or is the only one); curves are registered setups with
    distinct labels, one of them the reference; the loads increase."""

    bc = cfg.breakeven
    names = sorted(cfg.tenants.keys())
    if bc.tenant is None and len(names) != 1:
        raise InputError(f"several tenants {names}: name the one to sweep", key="breakeven.tenant")
    if bc.tenant is not None and bc.tenant not in cfg.tenants:
        raise InputError(f"unknown tenant {bc.tenant!r}; known: {names}", key="breakeven.tenant")
    fill = bc.fill.tenant
    swept = bc.tenant if bc.tenant is not None else (names[0] if names else None)
    if fill is not None and swept is not None:
        if fill not in cfg.tenants:
            raise InputError(f"unknown tenant {fill!r}; known: {names}", key="breakeven.fill.tenant")
        if fill == swept:
            raise InputError("the fill tenant must not be the swept one", key="breakeven.fill.tenant")
        if str(cfg.tenants[fill].priority) != "batch":
            raise InputError(f"tenant {fill!r} is not batch-tier (set tenants.{fill}.priority=batch)",
                             key="breakeven.fill.tenant")
        if cfg.tenants[fill].model != cfg.tenants[swept].model:
            raise InputError(f"the fill tenant must call the swept tenant's model "
                             f"({cfg.tenants[swept].model})", key="breakeven.fill.tenant")
    elif swept is not None and str(cfg.tenants[swept].priority) == "batch":
        raise InputError("the swept tenant is batch-tier: sweep an interactive tenant",
                         key="breakeven.tenant")
    for who in (swept, fill):  # the sweep sets their arrival.rate_rps: it must be read
        if who is not None and str(cfg.tenants[who].arrival.kind) not in RATE_KINDS:
            raise InputError(f"the sweep sets tenant {who}'s arrival.rate_rps at each load, which "
                             f"a {cfg.tenants[who].arrival.kind} arrival does not read (every load "
                             f"would send the same requests): use one of {', '.join(RATE_KINDS)}",
                             key=f"tenants.{who}.arrival.kind")
    labels = []
    for i, s in enumerate(bc.setups):
        if s.setup not in SETUPS:
            raise InputError(f"unknown setup {s.setup!r}; known: {', '.join(sorted(SETUPS))}",
                             key=f"breakeven.setups[{i}].setup")
        if not str(s.label).strip():  # the curve, its rows and its notes would be unnamed
            raise InputError("an empty label: name the curve (its rows in summary.csv and its "
                             "notes carry it)", key=f"breakeven.setups[{i}].label")
        labels.append(str(s.label))
    if len(set(labels)) != len(labels):
        raise InputError(f"labels repeat: {labels}", key="breakeven.setups")
    if not labels:
        raise InputError("no curve to run: list the setups to compare", key="breakeven.setups")
    if bc.reference not in labels:
        raise InputError(f"{bc.reference!r} is not one of the labels {labels}", key="breakeven.reference")
    f = [float(x) for x in bc.load_fractions]
    if len(f) < 2 or f != sorted(set(f)):
        raise InputError("needs at least two increasing fractions", key="breakeven.load_fractions")
    check_curves(cfg, swept)


def check_curves(cfg, tenant: str) -> None:
    """Each curve's overrides, as its run takes them (:func:`check_entries`), before any
    work: the run refused them after ``--cfg job`` had printed the config (exit 0)."""
    base = only_tenant(cfg, tenant)
    check_entries(base, curves(base))


@job("breakeven", config=BreakevenConfig, check=check,
     own_setups=(("dedicated",), "the curves of breakeven.setups"))
def breakeven_job(cfg, out_dir, progress) -> Result:
    res = run_breakeven(cfg, progress)
    cap = res.capacity
    capacity = pd.DataFrame([{**res.analytic, "clients": cap.clients, "requests": cap.requests}])
    # one tenant is swept: its rows repeat the __all__ rows (and their warm-up twins, with
    # metrics.warmup_s), which summary.csv keeps
    summary = res.summary[res.summary["tenant"].isin([ALL, ALL + WARMUP_SUFFIX])].reset_index(drop=True)
    out = Result(summary=summary, requests=pd.DataFrame(),
                 tables={"breakeven": res.crossings, "points": res.points,
                         "capacity": capacity},
                 notes=list(res.notes))
    out.notes = job_note("breakeven") + out.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(out, cfg, out_dir, lambda d: figure(res, out, d))
    return out


def figure(res, out: Result, out_dir) -> list[str]:
    """plots/breakeven, or a note saying why it is not drawn (until December 2026 unsaid)."""
    files = breakeven_figure(res, out_dir)
    if not files:
        out.notes.append("plots/breakeven.png is not drawn: no swept load delivered an output "
                         "token, so no point has a cost per token to plot")
    return files
