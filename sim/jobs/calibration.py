"""``experiment=calibration``: predicted versus published throughput and latency.

Runs the rows of ``conf/calibration_set.yaml`` (CALIBRATION.md section 3) chosen by
``calibration.rows`` through :mod:`sim.analysis.calibration` and reports each prediction
against its published figure (``calibration.csv``, ``plots/calibration``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List

import pandas as pd

from sim.analysis.calibration import calibration_table, load_rows, select_rows
from sim.config.rules import fraction
from sim.errors import InputError
from sim.jobs import job
from sim.records import Result
from sim.report.figures import calibration_scatter
from sim.report.outputs import write_outputs


@dataclass
class CalibrationConfig:
    # rows of the calibration set to run ("all" or a list of ids)
    rows: List[str] = field(default_factory=lambda: ["all"])
    tolerance: float = fraction(0.25)


def check(cfg) -> None:
    wanted = list(cfg.calibration.rows)
    ids = {r["id"] for r in load_rows()}
    unknown = [w for w in wanted if w not in ids and wanted != ["all"]]
    if unknown:
        raise InputError(f"unknown calibration rows {unknown}; see conf/calibration_set.yaml",
                         key="calibration.rows")


@job("calibration", config=CalibrationConfig, check=check, own_scenarios=True)
def calibration_job(cfg, out_dir, progress) -> Result:
    rows = select_rows(cfg.calibration.rows)
    table = calibration_table(rows, float(cfg.calibration.tolerance))
    bad = table[~table["within_tolerance"]]
    notes = [f"{len(table) - len(bad)} of {len(table)} published figures within "
             f"{100 * cfg.calibration.tolerance:.0f} %; worst error "
             f"{table['error_pct'].abs().max():.1f} % ({table.loc[table['error_pct'].abs().idxmax(), 'row']})."]
    for _, b in bad.iterrows():
        notes.append(f"outside tolerance: {b['row']} {b['metric']} predicted {b['predicted']:.4g} "
                     f"vs published {b['published']:.4g} ({b['error_pct']:+.1f} %)")
    res = Result(summary=pd.DataFrame(), requests=pd.DataFrame(), tables={"calibration": table},
                 notes=notes)
    if out_dir is not None:
        write_outputs(res, cfg, out_dir)
        res.figures += calibration_scatter(table, out_dir, float(cfg.calibration.tolerance))
    return res
