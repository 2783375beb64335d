"""Tensor-parallel scaling against published TP sweeps (``conf/tp_sweeps.yaml``).

Each published figure is the latency of one batch (``batch`` requests of ``input`` prompt
tokens and ``output`` generated tokens) on ``tp`` GPUs. The prediction runs the same work
through :class:`sim.perf.RooflinePerf` with the catalog's factors: one prefill iteration of
``batch x input`` tokens (it yields the first token), then ``output - 1`` decode iterations
of ``batch`` sequences whose contexts grow by one token each. No factor is fitted to these
rows: they check how the model splits a step between work that shards over the GPUs
(weights, KV heads, FLOPs), work that does not (the per-iteration, per-layer and
per-sequence overheads) and the all-reduces that tensor parallelism adds.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd
import yaml

from sim.catalog import Catalog
from sim.perf import Deployment, RooflinePerf


def load_sweeps() -> dict:
    return yaml.safe_load(resources.files("sim.conf").joinpath("tp_sweeps.yaml").read_text())


def batch_latency_s(perf: RooflinePerf, batch: int, n_in: int, n_out: int) -> float:
    """Seconds for one static batch: its prefill, then ``n_out - 1`` decode iterations."""
    prefill = batch * n_in
    t = perf.step_time(0, prefill, 0, batch * n_in * (n_in + 1) / 2.0)
    for j in range(1, n_out):
        ctx = n_in + j - 1  # tokens already cached when the j-th decode iteration reads them
        t += perf.step_time(batch, 0, batch * ctx, batch * (ctx + 1))
    return t


def tp_table(catalog: Catalog, sweeps: dict | None = None) -> pd.DataFrame:
    """One row per published figure: gpu, batch, tp, published and predicted latency (ms),
    error %, and the speed-up over TP1 published and predicted (with its error %)."""
    sw = sweeps or load_sweeps()
    m = catalog.models[sw["model"]]
    rows = []
    for gpu, by_batch in sw["latency_ms"].items():
        g = catalog.gpus[gpu]
        for batch, lat in by_batch.items():
            pred = []
            for tp in sw["tp"]:
                dep = Deployment(m, g, sw["precision"], sw["precision"], int(tp), max_num_seqs=int(batch),
                                 max_batched_tokens=int(batch) * int(sw["input"]))
                pred.append(1e3 * batch_latency_s(RooflinePerf(dep), int(batch), int(sw["input"]),
                                                  int(sw["output"])))
            for tp, pub, pr in zip(sw["tp"], lat, pred):
                rows.append({"gpu": gpu, "batch": int(batch), "tp": int(tp), "published_ms": float(pub),
                             "predicted_ms": pr, "error_pct": 100.0 * (pr / pub - 1.0),
                             "speedup_published": lat[0] / pub, "speedup_predicted": pred[0] / pr})
    tab = pd.DataFrame(rows)
    tab["speedup_error_pct"] = 100.0 * (tab["speedup_predicted"] / tab["speedup_published"] - 1.0)
    return tab
