"""The platform benchmark: ``python -m sim.bench --scenario platform``.

A shared serverless pool at a provider's scale, one setup per process (so each has its own
peak RSS): ``--models`` models, copies of four catalog models of different sizes (six in
ten Llama-3.1-8B on L40S, two Qwen3-32B on H100, one Mixtral-8x7B on H200, one
Llama-3.3-70B TP2 on H100; an assumption, not a measured mix), each copy its own catalog
entry and deployment so it loads, scales and is evicted on its own; ``--tenants``
synthetic background tenants (Zipf rates and model popularity, Gamma CV 3 arrivals on a
daily sinusoid peaking at 3x its trough, an assumption; ``--rate`` requests/s on average:
27.8 is the Azure 2024 LLM trace's daily volume, 2.4 M a day); a pool of about ``--gpus``
GPUs in 8-GPU nodes, half H100, a quarter each L40S and H200 (at least a node of each: the
printed ``gpus`` is the pool's own count); keep-alive, autoscaling and eviction as
configured by default; ``--hours`` of traffic; beside them one user tenant sends a tenth of the rate to the busiest copy (on
the pool; ``--setup hybrid`` places it on two reserved replicas, the rest staying on the
pool).

It prints one JSON line: requests, wall seconds, requests per second, peak RSS and its
growth per request, the run's p99 TTFT and the size of its ``requests.parquet``.
``--requests-output`` chooses what is kept per request (``output.requests``). The run writes
its files (summary, tables and, unless ``none``, ``requests.parquet``) into a temporary
folder, deleted afterwards, so wall time and peak RSS include writing them.
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BASES = [("llama31-8b", "L40S", 1)] * 6 + [("qwen3-32b", "H100", 1)] * 2 + [
    ("mixtral-8x7b", "H200", 1), ("llama33-70b", "H100", 2)]


def _catalog_models() -> dict:
    from importlib.resources import files

    return yaml.safe_load(files("sim.conf").joinpath("catalog/default.yaml").read_text())["models"]


def pool_nodes(gpus: int) -> dict[str, int]:
    """8-GPU nodes per class for about ``gpus`` GPUs: half H100, a quarter each L40S and H200,
    at least one node of each (so never fewer than 24 GPUs)."""
    nodes = max(1, gpus // 8)
    return {"H100": max(1, nodes // 2), "L40S": max(1, nodes // 4), "H200": max(1, nodes // 4)}


def pool_gpus(gpus: int) -> int:
    """The GPUs the pool really has for a request of ``gpus`` (printed, not the request)."""
    return 8 * sum(pool_nodes(gpus).values())


def scenario(hours: float, models: int, tenants: int, gpus: int, rate: float, setup: str,
             requests: str, percentiles: str = "exact") -> dict:
    """The run's config as a delta on the base config (an experiment's contents)."""
    catalog = _catalog_models()
    names, copies, deployments = [], {}, {}
    for k in range(models):
        src, gpu, tp = BASES[k % len(BASES)]
        name = f"{src}-p{k:03d}"
        names.append(name)
        copies[name] = {**{key: v for key, v in catalog[src].items() if key != "sources"}, "name": name}
        deployments[name] = {"gpu": gpu, "precision": "fp8", "tp": tp}
    anchor = names[0]  # a user tenant: a tenth of the traffic, on the busiest copy
    cfg = {
        "name": "platform_bench", "horizon_s": _g(hours * 3600), "setups": [setup],
        "catalog": {"models": copies}, "deployments": deployments,
        "tenants": {"anchor": {"model": anchor, "slo_ttft_s": 2,
                               "arrival": {"kind": "gamma", "rate_rps": _g(rate * 0.1), "cv": 2}}},
        "background": {"synthetic": {"tenants": tenants, "models": names, "rate_rps": _g(rate * 0.9),
                                     "peak_to_trough": 3, "period_s": 86400}},
        "serverless": {"start": "warm", "autoscaler": {"max_replicas": 64},
                       "pool": {g: {"nodes": n, "gpus_per_node": 8}
                                for g, n in pool_nodes(gpus).items()}},
        "output": {"plots": False, "report": False, "progress": False, "requests": requests},
    }
    if percentiles != "exact":
        cfg["output"]["percentiles"] = percentiles
    if setup == "hybrid":
        cfg["hybrid"] = {"placement": {anchor: "dedicated"}}
        cfg["dedicated"] = {"replicas": {anchor: 2}}
    return cfg


def _g(x: float) -> float:
    """``x`` to the 6 significant digits the benchmark has always given it."""
    return float(f"{x:g}")


def overrides(hours: float, models: int, tenants: int, gpus: int, rate: float, setup: str,
              requests: str, folder: str | os.PathLike, percentiles: str = "exact") -> list[str]:
    """Write the scenario as an experiment file under ``folder`` and return the overrides that
    run it. (As a hundred-odd command-line overrides, one per model and deployment, composing
    it took Hydra's override parser about 12 s, most of a short run.)"""
    path = Path(folder) / "experiment" / "platform_bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(scenario(hours, models, tenants, gpus, rate, setup, requests,
                                   percentiles),
                          sort_keys=False, width=10 ** 6)
    path.write_text("# @package _global_\n" + text)
    return [f"hydra.searchpath=[file://{Path(folder).resolve()}]", "experiment=platform_bench"]


def run_platform(hours: float, models: int, tenants: int, gpus: int, rate: float, setup: str,
                 requests: str, percentiles: str = "exact") -> dict:
    from sim.app import run

    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with tempfile.TemporaryDirectory(prefix="platform-bench-") as out:
        t0, c0 = time.perf_counter(), time.process_time()
        ov = overrides(hours, models, tenants, gpus, rate, setup, requests,
                       os.path.join(out, "conf"), percentiles)
        res = run(ov, output_dir=out)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        parquet = os.path.join(out, "requests.parquet")
        parquet_mb = os.path.getsize(parquet) / 2 ** 20 if os.path.exists(parquet) else 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    s = res.summary
    rows = s[s["tenant"].isin(["__all__", "__background__"]) & (s["setup"] == setup)]
    n = int(rows["requests"].sum())
    bg = s[(s["tenant"] == "__background__")]
    return {"scenario": "platform", "setup": setup, "hours": hours, "models": models,
            "tenants": tenants, "gpus": pool_gpus(gpus), "requests": n,
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "requests_per_s": round(n / wall),
            "peak_rss_mb": round(peak, 1),
            # no request, no per-request figure (the growth over max(n, 1) was printed as one)
            "bytes_per_request": round((peak - before) * 1024 * 1024 / n) if n else None,
            # none when no background request completed (NaN is not JSON)
            "background_ttft_p99_s": _finite(bg["ttft_p99_s"].iloc[0]) if len(bg) else None,
            "requests_output": requests, "percentiles": percentiles,
            "requests_parquet_mb": round(parquet_mb, 1)}


def _finite(x) -> float | None:
    x = float(x)
    return round(x, 3) if math.isfinite(x) else None


def main(a) -> None:
    if a.doubling:
        print(json.dumps(doubling(a)), flush=True)
        return
    print(json.dumps(run_platform(a.hours, a.models, a.tenants, a.gpus, a.rate, a.setup,
                                  a.requests_output, a.percentiles)), flush=True)


def doubling(a) -> dict:
    """The scenario at ``a.hours`` and at twice that, each in a fresh process (a process's
    peak RSS only grows): both lines and the peak's growth (issue 17's test: under 10 % with
    ``--requests-output none``)."""
    runs = []
    for hours in (a.hours, 2 * a.hours):
        argv = [sys.executable, "-m", "sim.bench", "--scenario", "platform", "--hours", repr(hours),
                "--models", str(a.models), "--tenants", str(a.tenants), "--gpus", str(a.gpus),
                "--rate", repr(a.rate), "--setup", a.setup, "--requests-output", a.requests_output,
                "--percentiles", a.percentiles]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:  # its own message, not a CalledProcessError traceback
            err = proc.stderr.strip()
            if proc.returncode == 2 and err:  # bad input: its one line, naming the doubled run
                err = err.splitlines()[-1] + ("" if hours == a.hours
                                              else f" (the doubled run: --hours {hours!r})")
            print(err or f"the run at --hours {hours!r} ended with exit status {proc.returncode}",
                  file=sys.stderr, flush=True)
            raise SystemExit(proc.returncode)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    one, two = (r["peak_rss_mb"] for r in runs)
    return {"scenario": "platform doubling", "hours": [r["hours"] for r in runs],
            "requests": [r["requests"] for r in runs], "peak_rss_mb": [one, two],
            "wall_s": [r["wall_s"] for r in runs],
            "peak_growth": round(two / one - 1.0, 4), "requests_output": a.requests_output,
            "percentiles": a.percentiles}
