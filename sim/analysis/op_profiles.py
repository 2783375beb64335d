"""The perf model's terms, one operation at a time, against per-operation times measured on
H100s and A100s (``conf/op_profiles.yaml``: Vidur's published profiles, one set per catalog
GPU key under ``gpus``; no factor fitted to them).

Three checks:

* **GEMM efficiency** (issue 18 item 2: a physical factor checked against the dense peak of
  its precision): the FLOPs of one decoder layer's four projections, from the layer's shape,
  over their measured time, as a fraction of the GPU's dense BF16 peak, beside the catalog's
  ``efficiency.compute``;
* **a layer's linear time**: the roofline's time for the layer's projections
  (``max(weight bytes / achieved bandwidth, FLOPs / achieved FLOPs)`` with the catalog's
  factors, the shard of a ``tp``-way replica) plus the catalog's per-layer overhead, against
  the measured projections plus the elementwise kernels (norms, rotary embedding,
  activation, residual add), which the model does not time separately;
* **the all-reduce**: :func:`sim.perf.allreduce_time` against measured NCCL all-reduces of
  1-64 MB over 2, 4 and 8 GPUs.

:func:`tp_excess` turns the differences into what they add at tensor parallelism ``tp`` over
TP1 per token of a ``tokens``-token iteration, the quantity the saturated TP4 rows of
``conf/tp_saturated.yaml`` are short of (README, "Tensor parallelism").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.tp_latency import load_conf_set
from sim.catalog import BYTES_PER_PARAM, Gpu
from sim.errors import InputError
from sim.perf import allreduce_time


def load_op_profiles() -> dict:
    return load_conf_set("op_profiles.yaml")


def profiled_gpus(spec: dict | None = None) -> list[str]:
    """The catalog GPU keys the file has profiles for, in the file's order."""
    return list((spec or load_op_profiles())["gpus"])


def _rows(gpu: Gpu, sp: dict, kind: str) -> list[dict]:
    if gpu.key not in sp["gpus"]:
        raise InputError(f"no per-operation profiles for GPU {gpu.key!r} (have "
                         f"{profiled_gpus(sp)})", path="conf/op_profiles.yaml")
    return sp["gpus"][gpu.key][kind]


def layer_shape(m: dict) -> tuple[float, float]:
    """Parameters of one decoder layer's four projections (QKV, O, gate and up, down) and
    FLOPs per token (2 per parameter)."""
    h, i = m["hidden"], m["intermediate"]
    kv = m["kv_heads"] * m["head_dim"]
    params = h * (m["heads"] * m["head_dim"] + 2 * kv) + m["heads"] * m["head_dim"] * h + 3 * h * i
    return float(params), 2.0 * params


def gemm_table(gpu: Gpu, spec: dict | None = None) -> pd.DataFrame:
    """One row per measured (model, tp, tokens) of ``gpu`` (its catalog key's rows): measured
    and modelled times of one layer (us) and the measured GEMM efficiency against the dense
    peak."""
    sp = spec or load_op_profiles()
    prec = sp["precision"]
    eff = gpu.efficiency_for(prec)
    peak = gpu.peak_flops(prec)
    bw = gpu.bandwidth_tbps * 1e12 * eff.memory
    out = []
    for r in _rows(gpu, sp, "gemm"):
        params, flops_tok = layer_shape(sp["models"][r["model"]])
        tp, tokens = int(r["tp"]), int(r["tokens"])
        gemm, elem = sum(r["gemm_us"]), sum(r["elementwise_us"])
        flops = tokens * flops_tok / tp
        lin = max(params * BYTES_PER_PARAM[prec] / tp / bw, flops / (peak * eff.compute))
        model_us = 1e6 * (lin + gpu.layer_overhead_s)
        out.append({"gpu": gpu.key, "model": r["model"], "tp": tp, "tokens": tokens,
                    "measured_gemm_us": gemm, "measured_elementwise_us": elem,
                    "measured_gemm_efficiency": flops / (gemm * 1e-6) / peak,
                    "catalog_compute_efficiency": eff.compute,
                    "modelled_gemm_us": 1e6 * lin,
                    "gemm_error_pct": 100.0 * (1e6 * lin / gemm - 1.0),
                    "measured_layer_us": gemm + elem, "modelled_layer_us": model_us,
                    "layer_error_pct": 100.0 * (model_us / (gemm + elem) - 1.0)})
    return pd.DataFrame(out)


def allreduce_table(gpu: Gpu, spec: dict | None = None) -> pd.DataFrame:
    """One row per measured all-reduce of ``gpu``: GPUs, bytes, measured and modelled us,
    error %."""
    sp = spec or load_op_profiles()
    out = []
    for r in _rows(gpu, sp, "allreduce"):
        model_us = 1e6 * allreduce_time(gpu, int(r["gpus"]), float(r["bytes"]))
        out.append({"gpu": gpu.key, "gpus": int(r["gpus"]), "bytes": int(r["bytes"]), "measured_us": float(r["us"]),
                    "modelled_us": model_us, "error_pct": 100.0 * (model_us / r["us"] - 1.0)})
    return pd.DataFrame(out)


def _at(t: pd.DataFrame, col: str, x: float, val: str) -> float:
    """``val`` linearly interpolated in ``col`` at ``x``."""
    t = t.sort_values(col)
    return float(np.interp(x, t[col].to_numpy(float), t[val].to_numpy(float)))


def tp_excess(gpu: Gpu, model: str, layers: int, tp: int, tokens: float,
              spec: dict | None = None) -> dict:
    """What the measured operations add, per token, beyond the model at ``tp`` GPUs, less
    what they add at TP1 (the TP1 rows fit; whatever is common to both is already in the
    fitted factors): the layer's linear part (projections and elementwise kernels, the
    measured-minus-modelled layer time at ``tokens`` tokens, interpolated between profiled
    token counts) and the two all-reduces per layer of ``tokens`` BF16 hidden states
    (measured-minus-modelled, interpolated in message size). Seconds per token."""
    sp = spec or load_op_profiles()
    g = gemm_table(gpu, sp)
    g = g[g["model"] == model].assign(diff_us=lambda d: d["measured_layer_us"] - d["modelled_layer_us"])
    lin = {p: _at(g[g["tp"] == p], "tokens", tokens, "diff_us") for p in (1, tp)}
    linear = layers * (lin[tp] - lin[1]) * 1e-6 / tokens
    a = allreduce_table(gpu, sp)
    a = a[a["gpus"] == tp].assign(diff_us=lambda d: d["measured_us"] - d["modelled_us"])
    msg = tokens * sp["models"][model]["hidden"] * 2.0
    comm = 2 * layers * _at(a, "bytes", msg, "diff_us") * 1e-6 / tokens
    return {"linear_s_per_token": linear, "allreduce_s_per_token": comm,
            "total_s_per_token": linear + comm, "message_bytes": msg}
