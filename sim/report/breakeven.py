"""The break-even figure: simulated cost per output token against offered load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.breakeven import BreakevenResult, X, Y
from sim.records import ALL
from sim.report.sweep import cost_vs_x


def breakeven_figure(res: BreakevenResult, out_dir: Path) -> list[str]:
    table = res.points.rename(columns={"label": "setup", "setup": "setup_kind"}).assign(tenant=ALL)
    be = res.crossings[np.isfinite(res.crossings[X])] if len(res.crossings) else res.crossings
    be = be[[X, Y]] if len(be) else pd.DataFrame(columns=[X, Y])
    marks = []
    u = res.analytic.get("u_star")
    if u is not None and np.isfinite(u):
        marks.append((u, f"analytic u* = {u:.3f} (a delivered-throughput fraction)"))
    uf = res.analytic.get("u_star_fill")
    if uf is not None and np.isfinite(uf) and uf > 0:
        marks.append((uf, f"analytic u*_fill = {uf:.3f} (with the batch fill)"))
    a = res.analytic
    xlabel = (f"offered load (fraction of the dedicated fleet's measured "
              f"{res.fleet_tok_s:,.0f} output tok/s)")
    title = (f"{a['model']} on {a['fleet_gpus']}x {a['gpu']} at ${a['price_per_gpu_hour']:.2f}/GPU-h "
             f"vs per-token ${a['price_in_usd_per_mtok']}/${a['price_out_usd_per_mtok']} per M "
             f"(stars: simulated crossovers)")
    return cost_vs_x(table, X, [], out_dir, xlabel, be, stem="breakeven", title=title,
                     vlines=marks)
