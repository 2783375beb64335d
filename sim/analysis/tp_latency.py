"""Tensor parallelism at a small decode batch against published latencies
(``conf/tp_latency.yaml``): a 70B model at TP4 and an 8B model at TP1, measured by the same
pipeline on the same GPU class.

Each figure is the end-to-end latency of one static batch (``batch`` identical requests of
``input`` prompt tokens, ``output`` generated tokens each). The prediction runs the row
through :func:`sim.analysis.calibration.predict` as an offline benchmark of ``batch``
requests queued at once, the code path of every trtllm-bench row of the calibration set:
the batch's total output tokens over its total time, so the latency is
``batch x output / output_tok_s``. No factor is fitted to these rows.

Pairing the two models cancels what they share (the serving stack's speed relative to the
tuned runtime the factors describe, and the GPU's factors): the ratio of the TP4 70B latency
to the TP1 8B latency, predicted against published, measures how the model splits a step
over four GPUs (weights, KV heads and FLOPs shard; the per-iteration, per-layer and
per-sequence overheads do not; two all-reduces per layer are added).
"""

from __future__ import annotations

from importlib import resources

import pandas as pd
import yaml

from sim.analysis.calibration import predict


def load_conf_set(name: str) -> dict:
    """A validation set shipped in ``sim/conf`` (``tp_latency.yaml``, ``tp_saturated.yaml``)."""
    return yaml.safe_load(resources.files("sim.conf").joinpath(name).read_text())


def load_latency_set() -> dict:
    return load_conf_set("tp_latency.yaml")


def tp_ratios(tab: pd.DataFrame, by: str, published: str, predicted: str) -> pd.DataFrame:
    """Per group ``by`` of ``tab``: its TP>1 row's figure over its TP1 row's, published
    against predicted (what the pair shares cancels), merged onto ``tab``."""
    ratios = []
    for key, t in tab.groupby(by, sort=False):
        hi, lo = t[t["tp"] > 1].iloc[0], t[t["tp"] == 1].iloc[0]
        pub, pred = hi[published] / lo[published], hi[predicted] / lo[predicted]
        ratios.append({by: key, "ratio_published": pub, "ratio_predicted": pred,
                       "ratio_error_pct": 100.0 * (pred / pub - 1.0)})
    return tab.merge(pd.DataFrame(ratios), on=by)


def latency_rows(spec: dict | None = None) -> list[dict]:
    """One calibration-style row per published figure (gpu, model, tp, published ms)."""
    sp = spec or load_latency_set()
    rows = []
    for b in sp["builds"]:
        for model, ms in b["latency_ms"].items():
            tp = int(sp["tp"][model])
            rows.append({**sp["deployment"], "id": f"vllm-latency-{model}-tp{tp}-{b['gpu'].lower()}",
                         "source": sp["source"], "build": b["build"], "model": model,
                         "gpu": b["gpu"], "tp": tp, "scenario": "offline",
                         "requests": int(sp["batch"]), "input": int(sp["input"]),
                         "output": int(sp["output"]), "published_ms": float(ms)})
    return rows


def predicted_latency_ms(row: dict, engine: str | None = None, extra: list[str] | None = None) -> float:
    """The batch's end-to-end latency as the calibration job simulates it; ``engine``
    overrides the row's serving engine (``tensorrt-llm``: the factors' own speed), ``extra``
    overrides apply to the run (the calibration job's catalog)."""
    r = dict(row, engine=engine) if engine else row
    tok_s = predict(r, extra)["output_tok_s"]
    return 1e3 * r["requests"] * r["output"] / tok_s


def latency_table(spec: dict | None = None, extra: list[str] | None = None) -> pd.DataFrame:
    """One row per published figure: gpu, model, tp, published and predicted latency (ms)
    with the error %, the latency at the tuned runtime's speed, and for each GPU the ratio
    of the TP4 latency to the TP1 one, published against predicted."""
    out = []
    for row in latency_rows(spec):
        pred = predicted_latency_ms(row, extra=extra)
        out.append({"row": row["id"], "gpu": row["gpu"], "model": row["model"], "tp": row["tp"],
                    "published_ms": row["published_ms"], "predicted_ms": pred,
                    "error_pct": 100.0 * (pred / row["published_ms"] - 1.0),
                    "predicted_ms_tuned": predicted_latency_ms(row, "tensorrt-llm", extra),
                    "build": row["build"]})
    return tp_ratios(pd.DataFrame(out), "gpu", "published_ms", "predicted_ms")
