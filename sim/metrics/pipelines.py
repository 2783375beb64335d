"""Tables of compound pipelines: per pipeline request, per pipeline and per stage.

The pipeline driver (:mod:`sim.simulation.pipeline`) writes one row per pipeline request;
these functions summarise those rows and the stage requests' own rows of
``requests.parquet``. With ``metrics.warmup_s`` a pipeline request is in the window of its
arrival (:func:`with_window`: ``measured`` at or after it, ``warmup`` before, as the summary
counts requests), and the summaries are over the measured pipeline requests and their stage
requests (until December 2026 over every one: with ``warmup_s=200`` on a 300 s horizon the
compound job's bursty table counted 105 pipelines, 71 of them arrived in the warm-up).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.quantiles import percentile


def with_window(pipes: pd.DataFrame, warmup_s: float) -> pd.DataFrame:
    """``pipes`` with ``window``: ``all`` without a warm-up, else ``measured`` (arrived at or
    after ``warmup_s``) or ``warmup``."""
    if warmup_s <= 0:
        return pipes.assign(window="all")
    return pipes.assign(window=np.where(pipes["arrival_s"].to_numpy() >= warmup_s,
                                        "measured", "warmup"))


def measured(pipes: pd.DataFrame) -> pd.DataFrame:
    """The pipeline requests of the measured window (every one without ``window``)."""
    return pipes[pipes["window"] != "warmup"] if "window" in pipes else pipes


def pipeline_summary(pipes: pd.DataFrame, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (setup, pipeline, tenant): counts, end-to-end and final-stage TTFT percentiles, cold
    starts of the measured pipeline requests (:func:`measured`); with the run's summary, the
    tenant's cost (the whole run's, as the summary's) per completed pipeline request of the
    whole run."""
    rows = []
    for (setup, name, tenant), every in pipes.groupby(["setup", "pipeline", "tenant"], sort=False,
                                                      observed=True):
        g = measured(every)
        done = g["outcome"] == "completed"
        e2e = g["e2e_s"].to_numpy()
        r = {"setup": setup, "pipeline": name, "tenant": tenant, "requests": len(g),
             "completed": int(done.sum()), "rejected": int((g["outcome"] == "rejected").sum()),
             "failed": int((g["outcome"] == "failed").sum()),
             "e2e_p50_s": percentile(e2e, 50), "e2e_p90_s": percentile(e2e, 90), "e2e_p99_s": percentile(e2e, 99),
             "e2e_mean_s": float(np.nanmean(e2e)) if done.any() else float("nan"),
             "final_ttft_p50_s": percentile(g["final_ttft_s"], 50),
             "final_ttft_p99_s": percentile(g["final_ttft_s"], 99),
             # completed, yet every end stage that counts was skipped: no final TTFT
             "final_stage_skipped": int((done & g["final_ttft_s"].isna()).sum()),
             "cold_starts": int(g["cold_starts"].sum()),
             "cold_hit_fraction": float((g["cold_starts"] > 0).mean()) if len(g) else float("nan"),
             "cold_wait_critical_mean_s": float(g["cold_wait_critical_s"][done].mean()) if done.any() else float("nan"),
             "cold_wait_critical_p99_s": percentile(g["cold_wait_critical_s"], 99),
             "cold_wait_critical_max_s": float(g["cold_wait_critical_s"].max()) if done.any() else float("nan")}
        if summary is not None:
            s = summary[(summary["setup"] == setup) & (summary["tenant"] == tenant)]
            cost = float(s["cost_usd"].iloc[0]) if len(s) else float("nan")
            r["cost_usd"] = cost
            whole = int((every["outcome"] == "completed").sum())
            r["cost_per_1k_pipelines_usd"] = cost / whole * 1e3 if whole else float("nan")
        r["window"] = str(g["window"].iloc[0]) if "window" in g and len(g) else "measured"
        rows.append(r)
    return pd.DataFrame(rows)


def stage_summary(requests: pd.DataFrame, pipes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (setup, pipeline, stage): the usual TTFT / latency figures of its stage requests;
    given ``pipes`` (with ``window``), of the measured pipeline requests' stage requests."""
    sel = (requests["pipeline_id"] >= 0).to_numpy().copy()
    if pipes is not None and "window" in pipes:
        early = pipes[pipes["window"] == "warmup"]
        keys = pd.MultiIndex.from_arrays([early["setup"].astype(str), early["pipeline_id"]])
        mine = pd.MultiIndex.from_arrays([requests["setup"].astype(str), requests["pipeline_id"]])
        sel &= ~mine.isin(keys)
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


def pipeline_notes(pipes: pd.DataFrame, warmup_s: float) -> list[str]:
    """What the pipeline tables left out: the pipeline requests of the warm-up, and completed
    pipeline requests without a final TTFT (every end stage skipped by its probability)."""
    out = []
    if "window" in pipes and (pipes["window"] == "warmup").any():
        first = pipes[pipes["setup"] == pipes["setup"].iloc[0]]  # every run: one workload
        early = int((first["window"] == "warmup").sum())
        out.append(f"{early} of {len(first)} pipeline requests arrived before "
                   f"metrics.warmup_s={warmup_s:g} and are not in the pipeline summaries "
                   "(pipelines.csv lists them with window=warmup)")
    for setup, g in pipes.groupby("setup", sort=False, observed=True):
        m = measured(g)
        done = m["outcome"] == "completed"
        skipped = int((done & m["final_ttft_s"].isna()).sum())
        if skipped:
            out.append(f"{setup}: {skipped} of {int(done.sum())} completed pipeline requests "
                       "ran none of the end stages that give a final TTFT (skipped by their "
                       "probability): final_ttft_s empty, not in the final_ttft percentiles "
                       "(column final_stage_skipped)")
    return out


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
