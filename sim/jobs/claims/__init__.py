"""``experiment=claims``: the product brief's claims (CALIBRATION.md section 8), each checked
against small simulations.

A claim is a registry entry: an id, the claim's text, and one check function that runs what
it needs and returns a :class:`Verdict` (the simulated value, the prices, hardware and
workload used, and holds / does not hold / not simulated with the reason). Add a claim with
one decorated function::

    @claim("my_claim", "the text as the brief states it")
    def _my_claim(ctx: ClaimContext) -> Verdict: ...

Each check builds its scenario from an experiment file (``ctx.scenario("breakeven", ...)``)
so the audited setups are the ones the experiments document; the claims run's catalog
(prices, hardware) and seed replace the experiment's, so
``python -m sim experiment=claims catalog.gpus.H100.on_demand_usd_per_hour=2.69`` re-audits
every claim at another price. ``claims.overrides`` are applied to every scenario.

Kinds of value reported (``kind`` column): ``output`` (simulated), ``input`` (a number the
simulator takes as given, so a simulation can only pass it through: reported, not
audited), ``pending`` (the feature that would simulate it has not landed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List

import pandas as pd

from sim.errors import InputError
from sim.io import atomic_write, write_frame_csv
from sim.jobs import OWN_SCENARIOS, check_distinct, job
from sim.jobs.claims import economics, operations, serving  # noqa: F401  (register, in report order)
from sim.jobs.claims.registry import (
    CLAIMS,
    FAILS,
    HOLDS,
    NOT_SIMULATED,
    ClaimContext,
    check_overrides,
)
from sim.records import Result
from sim.report.claims import claims_markdown
from sim.report.outputs import write_outputs
from sim.simulation.unread import READS, job_note, recording


@dataclass
class ClaimsConfig:
    """``experiment=claims``: the brief's claims (CALIBRATION.md section 8) checked by small
    simulations; see sim/claims.py."""

    quick: bool = False  # shorter horizons and fewer load points (tests, a first look)
    only: List[str] = field(default_factory=list)  # claim ids to run; empty: all
    # overrides applied to every scenario a check composes (its catalog and seed always
    # come from the claims run), e.g. ["dedicated.pricing=reserved"]
    overrides: List[str] = field(default_factory=list)


COLUMNS = ["id", "claim", "verdict", "simulated", "value", "unit", "kind", "assumptions", "why"]


def run_claims(cfg, progress: bool = False, only=None) -> pd.DataFrame:
    ids = [c.id for c in CLAIMS]
    want = list(only if only is not None else cfg.claims.only) or ids
    _check_ids(want)
    ctx = ClaimContext(cfg, progress)
    rows = []
    for c in CLAIMS:
        if c.id not in want:
            continue
        v = c.check(ctx)
        if v.verdict not in (HOLDS, FAILS, NOT_SIMULATED):
            raise ValueError(f"claim {c.id}: verdict {v.verdict!r}")
        rows.append({"id": c.id, "claim": c.text, "verdict": v.verdict, "simulated": v.simulated,
                     "value": v.value, "unit": v.unit, "kind": v.kind,
                     "assumptions": v.assumptions, "why": v.why})
    return pd.DataFrame(rows, columns=COLUMNS)


def _check_ids(want) -> None:
    ids = [c.id for c in CLAIMS]
    unknown = [w for w in want if w not in ids]
    if unknown:
        raise InputError(f"unknown claims {unknown}; known: {', '.join(ids)}", key="claims.only")


def check(cfg) -> None:
    check_distinct(cfg, "claims.only", nonempty=False)
    _check_ids(list(cfg.claims.only))
    check_overrides(cfg)


@job("claims", config=ClaimsConfig, check=check, own_scenarios=True,
     reads=("catalog", "seed", "engine"),
     hint="give a scenario key in claims.overrides=[...] (every check applies it), or "
          "claims.quick=true for shorter runs")
def claims_job(cfg, out_dir, progress) -> Result:
    # the runs judged against claims.overrides too: a key no check's run read was accepted
    # without a word (dedicated.batch.running_fraction with no batch tenant in any scenario)
    outer = READS.get()
    with recording((*(outer.given if outer else ()), *map(str, cfg.claims.overrides)),
                   outer.file_keys if outer else []):
        table = run_claims(cfg, progress)
        unread = job_note("claims")
    counts = table["verdict"].value_counts().to_dict()
    # the console shows this compact table and one note per claim; claims.csv has it all
    verdicts = table[["id", "verdict", "value", "unit", "kind"]]
    notes = [f"{r.id} [{r.verdict}]: {r.simulated}" for r in table.itertuples()]
    notes.append("claims audit: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    res = Result(summary=pd.DataFrame(), requests=pd.DataFrame(), tables={"verdicts": verdicts},
                 notes=notes)
    res.notes = unread + res.notes  # keys no run of it read
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_outputs(res, cfg, out_dir, reads=OWN_SCENARIOS["claims"][0])  # the header: no horizon
        write_frame_csv(table, out_dir / "claims.csv")
        atomic_write(out_dir / "claims.md", lambda p: p.write_text(claims_markdown(table, cfg)))
    return res
