"""Logs for ``python -m sim.fit`` tests: an H100 FP8 deployment whose factors were changed
by hand (issue 18: memory efficiency x0.85, compute x1.1, the three overheads x1.5), so a
fit starts away from its answer, and the per-request CSV the engine's results are written
as."""

import csv
import dataclasses

from helpers.engine import make_perf
from sim.catalog import Efficiency
from sim.perf import RooflinePerf

PERTURB = {"memory": 0.85, "compute": 1.1, "overhead": 1.5}
DEPLOY = ["--model", "llama31-8b", "--gpu", "H100", "--precision", "fp8", "--tp", "1",
          "--kv-dtype", "bf16", "--max-num-seqs", "256", "--max-batched-tokens", "8192"]


def perturbed_truth(catalog):
    """The H100 FP8 deployment on a GPU with the perturbed factors: (deployment, its
    performance model, the GPU)."""
    dep, _ = make_perf(catalog)
    g = dep.gpu
    e = g.efficiency["fp8"]
    k = PERTURB["overhead"]
    gpu = dataclasses.replace(
        g, efficiency={**g.efficiency, "fp8": Efficiency(e.memory * PERTURB["memory"],
                                                         e.compute * PERTURB["compute"])},
        step_overhead_s=g.step_overhead_s * k, layer_overhead_s=g.layer_overhead_s * k,
        seq_overhead_s=g.seq_overhead_s * k)
    dep = dataclasses.replace(dep, gpu=gpu)
    return dep, RooflinePerf(dep), gpu


def write_log_csv(path, reqs, out):
    """Write (id, t, n_in, n_out) requests and the engine's {id: (t_first, t_done)} as a
    log of arrival, tokens, TTFT and end-to-end latency."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["arrival_s", "input_tokens", "output_tokens", "ttft_s", "e2e_s"])
        for rid, t, a, b in reqs:
            first, done = out[rid]
            w.writerow([f"{t:.9f}", a, b, f"{first - t:.9f}", f"{done - t:.9f}"])
