"""Tables of compound pipelines: per pipeline request, per pipeline and per stage.

The pipeline driver (:mod:`sim.simulation.pipeline`) writes one row per pipeline request;
these functions summarise those rows and the stage requests' own rows of
``requests.parquet``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.quantiles import percentile


def pipeline_summary(pipes: pd.DataFrame, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (setup, pipeline, tenant): counts, end-to-end and final-stage TTFT percentiles, cold
    starts; with the run's summary, the tenant's cost per pipeline request."""
    rows = []
    for (setup, name, tenant), g in pipes.groupby(["setup", "pipeline", "tenant"], sort=False,
                                                  observed=True):
        done = g["outcome"] == "completed"
        e2e = g["e2e_s"].to_numpy()
        r = {"setup": setup, "pipeline": name, "tenant": tenant, "requests": len(g),
             "completed": int(done.sum()), "rejected": int((g["outcome"] == "rejected").sum()),
             "failed": int((g["outcome"] == "failed").sum()),
             "e2e_p50_s": percentile(e2e, 50), "e2e_p90_s": percentile(e2e, 90), "e2e_p99_s": percentile(e2e, 99),
             "e2e_mean_s": float(np.nanmean(e2e)) if done.any() else float("nan"),
             "final_ttft_p50_s": percentile(g["final_ttft_s"], 50),
             "final_ttft_p99_s": percentile(g["final_ttft_s"], 99),
             "cold_starts": int(g["cold_starts"].sum()),
             "cold_hit_fraction": float((g["cold_starts"] > 0).mean()) if len(g) else float("nan"),
             "cold_wait_critical_mean_s": float(g["cold_wait_critical_s"][done].mean()) if done.any() else float("nan"),
             "cold_wait_critical_p99_s": percentile(g["cold_wait_critical_s"], 99),
             "cold_wait_critical_max_s": float(g["cold_wait_critical_s"].max()) if done.any() else float("nan")}
        if summary is not None:
            s = summary[(summary["setup"] == setup) & (summary["tenant"] == tenant)]
            cost = float(s["cost_usd"].iloc[0]) if len(s) else float("nan")
            r["cost_usd"] = cost
            r["cost_per_1k_pipelines_usd"] = cost / r["completed"] * 1e3 if r["completed"] else float("nan")
        rows.append(r)
    return pd.DataFrame(rows)


def stage_summary(requests: pd.DataFrame) -> pd.DataFrame:
    """Per (setup, pipeline, stage): the usual TTFT / latency figures of its stage requests."""
    sel = requests["pipeline_id"] >= 0
    rows = []
    for (setup, name, stage), g in requests[sel].groupby(["setup", "pipeline", "stage"],
                                                         sort=False, observed=True):
        done = g["outcome"] == "completed"
        rows.append({"setup": setup, "pipeline": name, "stage": stage,
                     "model": str(g["model"].iloc[0]), "requests": len(g),
                     "completed": int(done.sum()),
                     "ttft_p50_s": percentile(g["ttft_s"][done], 50), "ttft_p99_s": percentile(g["ttft_s"][done], 99),
                     "latency_p50_s": percentile(g["e2e_s"][done], 50),
                     "latency_p99_s": percentile(g["e2e_s"][done], 99),
                     "cold_starts": int((g["cold_start_wait_s"] > 0).sum()),
                     "cold_start_wait_p99_s": percentile(g["cold_start_wait_s"][g["cold_start_wait_s"] > 0], 99)})
    return pd.DataFrame(rows)


def stage_columns(workload) -> dict:
    """``pipeline_id``, ``pipeline`` and ``stage`` per request (-1 / "" outside pipelines)."""
    pr = workload.pipelines
    n = len(workload)
    pid = np.full(n, -1, np.int64)
    names = [""] + [f"{sp.name}" for sp in pr.specs]
    stages = [""] + sorted({s for sp in pr.specs for s in sp.stages})
    pcode = np.zeros(n, np.int16)
    scode = np.zeros(n, np.int16)
    b = pr.base
    pipe_of_row = np.repeat(np.arange(len(pr)), np.diff(pr.first))
    pid[b:] = pipe_of_row
    spec_of_row = pr.spec[pipe_of_row]
    pcode[b:] = spec_of_row + 1
    lut = {(si, k): stages.index(s) for si, sp in enumerate(pr.specs) for k, s in enumerate(sp.stages)}
    scode[b:] = [lut[(int(a), int(c))] for a, c in zip(spec_of_row, pr.stage)]
    return {"pipeline_id": pid,
            "pipeline": pd.Categorical.from_codes(pcode, categories=names),
            "stage": pd.Categorical.from_codes(scode, categories=stages)}
