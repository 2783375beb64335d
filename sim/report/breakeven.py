"""The break-even figure: simulated cost per output token against offered load.

The analytic break-even u* is a fraction of the fleet's throughput *delivered*; the x axis is
the load *offered*. The two differ (a short run drains late, an overloaded fleet delivers
less than is offered), so u* is drawn where the reference fleet's runs delivered that
fraction: the offered load is read off their (offered, delivered) pairs, and the line says
both numbers. Without a run delivering u*, no line is drawn and the title says why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.breakeven import BreakevenResult, X, Y
from sim.records import ALL
from sim.report.sweep import cost_vs_x


def offered_at_delivered(points: pd.DataFrame, ref: str, u: float) -> float:
    """The offered load (x) at which the reference runs delivered the fraction ``u`` of the
    fleet's throughput (log-log interpolation between neighbouring runs); NaN when ``u`` lies
    outside what they delivered or delivery does not rise with the offered load."""
    r = points[points["label"] == ref].sort_values(X)
    xs = r[X].to_numpy(float)
    ds = r["throughput_utilization"].to_numpy(float)
    ok = np.isfinite(xs) & np.isfinite(ds) & (xs > 0) & (ds > 0)
    xs, ds = xs[ok], ds[ok]
    if xs.size < 2 or not (np.diff(ds) > 0).all() or not ds[0] <= u <= ds[-1]:
        return float("nan")
    return float(np.exp(np.interp(np.log(u), np.log(ds), np.log(xs))))


def breakeven_figure(res: BreakevenResult, out_dir: Path) -> list[str]:
    table = res.points.rename(columns={"label": "setup", "setup": "setup_kind"}).assign(tenant=ALL)
    be = res.crossings[np.isfinite(res.crossings[X])] if len(res.crossings) else res.crossings
    be = be[[X, Y]] if len(be) else pd.DataFrame(columns=[X, Y])
    marks = []
    a = res.analytic
    u = a.get("u_star")
    ref = res.crossings["reference"].iloc[0] if "reference" in res.crossings else "dedicated"
    why = ""
    if u is not None and np.isfinite(u):
        xu = offered_at_delivered(res.points, ref, u)
        if np.isfinite(xu):
            marks.append((xu, f"analytic u* = {u:.3f} of the fleet's throughput delivered: "
                              f"the {ref} runs delivered it at offered load {xu:.3g}"))
        else:
            why = f"; analytic u* = {u:.3f} (delivered) not reached by the {ref} runs"
    uf = a.get("u_star_fill")  # with a batch tenant filling the reserved replicas
    if uf is not None and np.isfinite(uf) and uf > 0:
        xf = offered_at_delivered(res.points, ref, uf)
        if np.isfinite(xf):
            marks.append((xf, f"analytic u*_fill = {uf:.3f} (with the batch fill): "
                              f"delivered at offered load {xf:.3g}"))
        else:
            why += f"; u*_fill = {uf:.3f} not reached by the {ref} runs"
    xlabel = (f"offered load (fraction of the dedicated fleet's measured "
              f"{res.fleet_tok_s:,.0f} output tok/s)")
    title = (f"{a['model']} on {a['fleet_gpus']}x {a['gpu']} at ${a['price_per_gpu_hour']:.2f}/GPU-h "
             f"vs per-token ${a['price_in_usd_per_mtok']}/${a['price_out_usd_per_mtok']} per M "
             f"(stars: simulated crossovers{why})")
    return cost_vs_x(table, X, [], out_dir, xlabel, be, stem="breakeven", title=title,
                     vlines=marks)
