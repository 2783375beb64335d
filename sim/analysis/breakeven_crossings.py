"""The crossings table of the break-even study (:mod:`sim.analysis.breakeven`, step 3): each
curve against the reference, where their simulated costs per output token cross, the
reference fleet's state there, and the analytic u* beside it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.analysis.curves import TIE_RTOL, cost_crossings, interp_loglog
from sim.metrics.cost import HOURS_PER_MONTH

X = "load_fraction"
Y = "cost_per_mtok_out_usd"


def u_star_fill_at(analytic: dict, factor: float) -> float:
    """``u*_fill = u* - factor x b x bill_b / bill`` (sim/analysis/breakeven.py, step 5) for
    serverless billing the fill at ``factor`` x its per-token bill; NaN without a fill
    request or a per-token price."""
    f_in, f_out = analytic.get("fill_mean_input_tokens"), analytic.get("fill_mean_output_tokens")
    if "u_star" not in analytic or f_out is None or not f_out > 0:
        return float("nan")
    bill = analytic["token_bill_per_mtok_out"]
    if not bill > 0:
        return analytic["u_star"]  # the batch tokens are free too
    p_in, p_out = analytic["price_in_usd_per_mtok"], analytic["price_out_usd_per_mtok"]
    bill_b = (p_in * f_in + p_out * f_out) / f_out
    return analytic["u_star"] - factor * analytic["fill_output_fraction"] * bill_b / bill


def fill_crossings(points: pd.DataFrame, ref: str, analytic: dict,
                   factors: dict[str, float]) -> pd.DataFrame:
    """The crossings of the curves run with the batch fill: as :func:`crossings_table`, the
    analytic value being ``u*_fill`` at the batch price factor each curve bills
    (``factors``: label -> its ``serverless.batch_price_factor``, its overrides' own; until
    December 2026 every curve's u*_fill took the run's top-level factor), an offered
    interactive load (the delivered fraction there counts the batch tokens too), so
    ``u_sim_over_u_star`` is the crossing's load over it."""
    out = crossings_table(points, ref, analytic)
    out["batch_price_factor"] = float("nan")
    for i in out.index[out["billing"] == "per_token"]:
        factor = factors[out.at[i, "label"]]
        u = u_star_fill_at(analytic, factor)
        out.loc[i, ["batch_price_factor", "u_star"]] = [factor, u]
        out.loc[i, "u_star_output_price_only"] = float("nan")
        out.loc[i, "u_sim_over_u_star"] = out.at[i, X] / u if u > 0 else float("nan")
        out.loc[i, "monthly_output_tokens_analytic"] = float("nan")
    return out


def label_cheaper_below(xs, a, b, xc: float) -> bool:
    """Whether curve ``b`` is the cheaper one just below the crossing ``xc``: read at the last
    load below it where the two curves are clearly apart (not NaN, not a tie within
    :data:`sim.analysis.curves.TIE_RTOL`, as :func:`sim.analysis.curves.crossings` reads
    them). Until December 2026 it was read at the swept load just below ``xc`` whatever it
    was: a load where the two tie (a hybrid that spilled nothing there), or where nothing was
    delivered (NaN), named the reference cheaper below a crossing the other curve was
    cheaper below."""
    apart = (xs < xc) & ~(np.isnan(a) | np.isnan(b)) & (np.abs(a - b) > TIE_RTOL * np.maximum(
        np.abs(a), np.abs(b)))
    j = np.flatnonzero(apart)
    return bool(j.size) and bool(a[j[-1]] > b[j[-1]])


def crossings_table(points: pd.DataFrame, ref: str, analytic: dict) -> pd.DataFrame:
    """Each curve against the reference: the interpolated crossing(s) of the simulated
    costs, the reference fleet's state there, and the analytic u* for per-token curves."""
    r = points[points["label"] == ref].sort_values(X)
    xs = r[X].to_numpy(float)
    out = []
    for label, g in points[points["label"] != ref].groupby("label", sort=False):
        g = g.sort_values(X)
        # billed per token: a serverless curve with no GPU time at any load, and tokens billed
        # (at $0/M too: such a curve was labelled gpu_time, its u* left out, until December
        # 2026; a hybrid at a GPU price of 0, billing no GPU time, was labelled per_token)
        per_token = bool((g["gpu_cost_usd"].abs() < 1e-12).all() and (g["setup"] == "serverless").all()
                         and ((g["token_cost_usd"] > 0).any() or (g["output_tokens"] > 0).any()))
        base = {"label": label, "reference": ref, "billing": "per_token" if per_token else "gpu_time"}
        if per_token:
            base["u_star"] = analytic.get("u_star", float("nan"))
            base["u_star_output_price_only"] = analytic.get("u_star_output_price_only", float("nan"))
        a, b = r[Y].to_numpy(float), g[Y].to_numpy(float)
        # loads where a curve bills exactly what the reference does (a hybrid that never
        # spilled) are neither crossings nor touches: look for crossings elsewhere
        same = np.isclose(a, b, rtol=1e-9, atol=0.0)
        found = cost_crossings(xs[~same], a[~same], b[~same])
        if not found:
            with np.errstate(divide="ignore"):  # a curve billing nothing at a load: log(0)
                diff = (np.log(a) - np.log(b))[~same]
            diff = diff[~np.isnan(diff)]
            cheaper = ref if diff.size and diff.mean() < 0 else label
            note = f"no crossing in the swept loads: {cheaper} is cheaper throughout"
            if not diff.size and not same.any():  # no load where both billed output tokens:
                # nothing was compared (it said the curve was "cheaper throughout")
                note = ("no crossing in the swept loads: no load where both delivered output "
                        "tokens, so nothing to compare")
            if same.any():
                note = (f"no crossing in the swept loads: the same cost at {int(same.sum())} of "
                        f"{same.size} loads" + (f", {cheaper} cheaper at the others"
                                                if diff.size else ""))
            out.append({**base, X: float("nan"), "cheaper_below": "", "note": note})
            continue
        for xc in found:
            below = label_cheaper_below(xs[~same], a[~same], b[~same], xc)
            row = {**base, X: xc,
                   "cheaper_below": label if below else ref,
                   "cheaper_above": ref if below else label,
                   Y: interp_loglog(xc, xs, a),
                   "rate_rps": interp_loglog(xc, xs, r["rate_rps"].to_numpy(float)),
                   "throughput_utilization": interp_loglog(
                       xc, xs, r["throughput_utilization"].to_numpy(float)),
                   "gpu_busy_fraction": float(np.interp(xc, xs, r["gpu_busy_fraction"].to_numpy(float))),
                   "monthly_output_tokens": interp_loglog(
                       xc, xs, r["monthly_output_tokens"].to_numpy(float)),
                   "monthly_cost_usd": float(np.interp(xc, xs, r["monthly_cost_usd"].to_numpy(float))),
                   "note": ""}
            row["monthly_output_tokens_per_gpu"] = row["monthly_output_tokens"] / analytic["fleet_gpus"]
            if per_token and math.isfinite(base["u_star"]):
                row["u_sim_over_u_star"] = row["throughput_utilization"] / base["u_star"]
                # the analytic volume: u* of the fleet's measured throughput for 730 h
                row["monthly_output_tokens_analytic"] = (
                    base["u_star"] * analytic["capacity_tok_s_per_replica"]
                    * analytic["fleet_replicas"] * HOURS_PER_MONTH * 3600.0)
            out.append(row)
    cols = ["label", "reference", "billing", X, "cheaper_below", "cheaper_above", Y, "rate_rps",
            "throughput_utilization", "gpu_busy_fraction", "monthly_output_tokens",
            "monthly_output_tokens_per_gpu", "monthly_cost_usd", "u_star",
            "u_star_output_price_only", "u_sim_over_u_star", "monthly_output_tokens_analytic",
            "note"]
    return pd.DataFrame(out).reindex(columns=cols)
