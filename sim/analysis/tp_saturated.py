"""Tensor parallelism at saturation against published offline throughputs
(``conf/tp_saturated.yaml``): Llama-3.1-70B at TP4 on 4 H100s and Llama-3.1-8B at TP1 on one
A100, each run by two serving stacks on the same 5000 ShareGPT prompts sent at once.

Each row is predicted by :func:`sim.analysis.calibration.predict` as an offline benchmark of
``requests`` requests queued at once (the code path of every trtllm-bench row of the
calibration set): total output tokens over the total time. No factor is fitted to these
rows. Pairing the TP4 70B row of a stack with its TP1 8B row cancels the stack's speed
relative to the tuned runtime the factors describe: the ratio of the two throughputs,
predicted against published, measures the TP4 step at a large batch (the batch the KV
cache holds, about a thousand sequences for SGLang), where the GEMMs, the all-reduces of
every token and the per-sequence costs dominate, together with the two GPU classes' factors.
"""

from __future__ import annotations

import pandas as pd

from sim.analysis.calibration import predict, run_row
from sim.analysis.tp_latency import load_conf_set, tp_ratios


def load_saturated_set() -> dict:
    return load_conf_set("tp_saturated.yaml")


def saturated_rows(spec: dict | None = None) -> list[dict]:
    """One calibration-style row per published figure (stack, model, gpu, tp, published)."""
    sp = spec or load_saturated_set()
    rows = []
    for r in sp["rows"]:
        rows.append({**sp["stacks"][r["stack"]], "id": f"{r['stack']}-{r['model']}-tp{r['tp']}",
                     "source": sp["source"], "stack": r["stack"], "model": r["model"],
                     "gpu": r["gpu"], "tp": int(r["tp"]), "precision": "bf16", "kv_dtype": "bf16",
                     "engine": sp["engine"], "scenario": "offline",
                     "requests": int(sp["requests"]), "input": int(sp["input"]),
                     "output": int(sp["output"]), "published_req_s": float(r["req_s"]),
                     "published": float(r["output_tok_s"])})
    return rows


def saturated_table(spec: dict | None = None, extra: list[str] | None = None) -> pd.DataFrame:
    """One row per published figure: output tokens/s published and predicted (at the row's
    engine speed) with the error %, the prediction at the tuned runtime's speed, and for each
    stack the ratio of its TP4 70B throughput to its TP1 8B one, published against predicted."""
    out = []
    for row in saturated_rows(spec):
        pred = predict(row, extra)["output_tok_s"]
        out.append({"row": row["id"], "stack": row["stack"], "model": row["model"],
                    "gpu": row["gpu"], "tp": row["tp"], "published": row["published"],
                    "predicted": pred, "error_pct": 100.0 * (pred / row["published"] - 1.0),
                    "predicted_tuned": predict(dict(row, engine="tensorrt-llm"), extra)["output_tok_s"]})
    return tp_ratios(pd.DataFrame(out), "stack", "published", "predicted")


def online_table(spec: dict | None = None, extra: list[str] | None = None) -> pd.DataFrame:
    """The same source's online runs (``online`` in conf/tp_saturated.yaml): Poisson arrivals
    at the published rate for prompts / rate seconds against the stack's launch, median TTFT
    and median TPOT (ms), published against predicted, one row per metric."""
    sp = spec or load_saturated_set()
    stack = sp["online_stack"]
    base = {(r["model"], r["tp"]): r for r in saturated_rows(sp) if r["stack"] == stack}
    out = []
    for o in sp["online"]:
        row = base[(o["model"], int(o["tp"]))]
        horizon = float(o["prompts"]) / float(o["rate_rps"])
        r = run_row(row, [*(extra or []), "tenants.chat.arrival.kind=poisson",
                       f"tenants.chat.arrival.rate_rps={o['rate_rps']}", f"horizon_s={horizon}"])
        for metric, col in (("ttft_ms", "ttft_s"), ("tpot_ms", "tpot_s")):
            pred = 1e3 * float(r[col].median())
            out.append({"row": row["id"], "model": o["model"], "gpu": o["gpu"], "tp": int(o["tp"]),
                        "rate_rps": float(o["rate_rps"]), "metric": metric,
                        "published": float(o[metric]), "predicted": pred,
                        "error_pct": 100.0 * (pred / float(o[metric]) - 1.0)})
    return pd.DataFrame(out)
