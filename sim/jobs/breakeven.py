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

from sim.analysis.breakeven import run_breakeven
from sim.jobs import job
from sim.records import ALL, Result
from sim.report.breakeven import breakeven_figure
from sim.report.outputs import write_outputs


@dataclass
class BreakevenSetupConfig:
    """One curve of the break-even sweep: a registered setup with a few keys changed."""

    label: str = MISSING
    setup: str = MISSING
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted key -> value


@dataclass
class BreakevenConfig:
    """``experiment=breakeven``: sustained load swept as fractions of the dedicated fleet's
    measured capacity; see sim/breakeven.py."""

    tenant: Optional[str] = None  # the tenant whose load is swept (None: the only one)
    load_fractions: List[float] = field(default_factory=lambda: [
        0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    reference: str = "dedicated"  # the label every other curve is compared against
    setups: List[BreakevenSetupConfig] = field(default_factory=lambda: [
        BreakevenSetupConfig("serverless", "serverless", {"serverless.billing": "per_token"}),
        BreakevenSetupConfig("serverless/gpu_second", "serverless",
                             {"serverless.billing": "gpu_second"}),
        BreakevenSetupConfig("dedicated", "dedicated", {}),
    ])
    # the saturated run that measures capacity: requests per closed-loop client
    capacity_requests_per_client: int = 8


@job("breakeven", config=BreakevenConfig)
def breakeven_job(cfg, out_dir, progress) -> Result:
    res = run_breakeven(cfg, progress)
    cap = res.capacity
    capacity = pd.DataFrame([{**res.analytic, "clients": cap.clients, "requests": cap.requests}])
    # one tenant is swept: its rows repeat the __all__ rows, which summary.csv keeps
    summary = res.summary[res.summary["tenant"] == ALL].reset_index(drop=True)
    out = Result(summary=summary, requests=pd.DataFrame(),
                 tables={"breakeven": res.crossings, "points": res.points,
                         "capacity": capacity},
                 notes=list(res.notes))
    if out_dir is not None:
        write_outputs(out, cfg, out_dir, lambda d: breakeven_figure(res, d))
    return out
