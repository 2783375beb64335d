"""Calibration against published figures: each row simulated as its benchmark measures it.

Every row of ``conf/calibration_set.yaml`` (CALIBRATION.md section 3) is simulated with
the same engine and performance model as any other run: the row supplies the benchmark's
deployment (GPU, precision, TP, KV dtype, batch limits), its workload shape and its
scenario; the catalog supplies the efficiency factors, one set per GPU class and precision.

Each scenario is measured the way its benchmark reports it:

* offline with ``requests`` (trtllm-bench throughput): that many identical requests queued
  at once; total output tokens over the total time, ramp-up and drain included;
* offline without (MLPerf offline, runs of at least 600 s): a closed loop with enough
  clients to keep every sequence slot (or the KV cache) full, long enough to reach steady
  state (sim.metrics.steady; 20 and 40 requests per client agree within 1 %);
* concurrency (AIPerf): N clients started together, each sending its next request an
  exponential delay of mean ``CLIENT_TURNAROUND_S`` after its last token; mean TTFT, mean inter-token latency and
  aggregate output tokens/s in the second half of a 100-requests-per-client run. With
  identical requests a zero turnaround is a knife-edge (a client re-enters exactly at an
  iteration boundary and never waits out another's prefill); any value from 0.3 to 5 ms
  gives the same steady state, so the benchmark's unknown client delay does not matter as
  long as it is not exactly zero;
* server: Poisson arrivals; bisection on the rate for the highest one whose p99 TTFT and
  p99 TPOT meet the benchmark's bounds.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import yaml

from sim.config import compose
from sim.errors import InputError
from sim.metrics.steady import steady_rates
from sim.simulation.build import build_catalog, perf_factory
from sim.simulation.frames import run_frames


def _load() -> dict:
    return yaml.safe_load(resources.files("sim.conf").joinpath("calibration_set.yaml").read_text())


def load_rows() -> list[dict]:
    return _load()["rows"]


def engine_speed(row: dict) -> float:
    """The row's serving engine's speed relative to the tuned TensorRT-LLM runtime the
    catalog's factors describe (``engines`` in calibration_set.yaml; one value per engine)."""
    engines = _load()["engines"]
    name = row.get("engine", "tensorrt-llm")
    if name not in engines:
        raise InputError(f"unknown engine {name!r} in calibration row {row['id']}; "
                         f"known: {sorted(engines)}")
    return float(engines[name])


def _length(spec) -> str:
    if isinstance(spec, (int, float)):
        return f"{{kind: fixed, mean: {int(spec)}, max: {int(spec)}}}"
    parts = ", ".join(f"{k}: {v}" for k, v in spec.items())
    return "{" + parts + "}"


def _mean_len(spec) -> float:
    return float(spec) if isinstance(spec, (int, float)) else float(spec["mean"])


def row_overrides(row: dict, extra: list[str] | None = None) -> list[str]:
    m = row["model"]
    return [
        "setups=[dedicated]", "engine=fluid", "name=calibration", "drain_s=100000",
        "output.plots=false", "output.report=false",
        f"tenants.chat.model={m}",
        f"tenants.chat.input={_length(row['input'])}",
        f"tenants.chat.output={_length(row['output'])}",
        f"deployments={{{m}: {{gpu: {row['gpu']}, precision: {row['precision']}, tp: {row['tp']}, "
        f"kv_dtype: {row.get('kv_dtype', 'bf16')}, parallelism: {row.get('parallelism', 'tensor')}, "
        f"max_num_seqs: {row['max_num_seqs']}, "
        f"max_batched_tokens: {row['max_batched_tokens']}, "
        f"gpu_memory_utilization: {row['gpu_memory_utilization']}}}}}",
        f"dedicated.replicas.{m}=1", "dedicated.max_queue=100000000",
        f"dedicated.runtime_speedup={engine_speed(row)}",
        *(extra or []),
    ]


def run_row(row, extra: list[str]) -> pd.DataFrame:
    """The per-request frame of the row's benchmark run with ``extra`` overrides; every
    request must complete."""
    _, requests = run_frames(compose(row_overrides(row, extra)))
    done = int((requests["outcome"] == "completed").sum())
    if done < len(requests):  # the run's catalog (extra) may be one no GPU serves in time
        raise InputError(f"calibration row {row['id']}: {done:,} of {len(requests):,} requests "
                         "completed within its run (the row needs every one)",
                         key=f"catalog.gpus.{row['gpu']}")
    return requests


def _slots(row, extra: list[str]) -> int:
    """Sequences one replica can hold: the batch limit or the KV cache, whichever binds."""
    cfg = compose(row_overrides(row, extra))
    _, perf_for = perf_factory(cfg, build_catalog(cfg))
    perf = perf_for(row["model"])
    per_seq = _mean_len(row["input"]) + _mean_len(row["output"])
    return int(min(row["max_num_seqs"], perf.kv_capacity_tokens / per_seq))


MLPERF_REQUESTS_PER_CLIENT = 20
CONCURRENCY_REQUESTS_PER_CLIENT = 100
CLIENT_TURNAROUND_S = 1e-3  # a client's delay between a last token and its next request
STEADY_WINDOW = (0.5, 0.95)  # completion quantiles of a fixed-concurrency run


def offline(row, requests_per_client: int = MLPERF_REQUESTS_PER_CLIENT,
            extra: list[str] | None = None) -> dict:
    extra = list(extra or [])
    closed = ["tenants.chat.arrival.kind=closed", "horizon_s=1"]
    if "requests" in row:
        n = int(row["requests"])
        r = run_row(row, [*extra, *closed, f"tenants.chat.arrival.concurrency={n}",
                       "tenants.chat.arrival.requests_per_client=1"])
        return {"output_tok_s": float(r["output_tokens"].sum() / r["finish_s"].max())}
    clients = max(8, int(1.5 * _slots(row, extra)))
    r = run_row(row, [*extra, *closed, f"tenants.chat.arrival.concurrency={clients}",
                   f"tenants.chat.arrival.requests_per_client={requests_per_client}"])
    _, tok_s = steady_rates(r["finish_s"].to_numpy(), r["output_tokens"].to_numpy())
    return {"output_tok_s": tok_s}


def concurrency(row, requests_per_client: int = CONCURRENCY_REQUESTS_PER_CLIENT,
                extra: list[str] | None = None, turnaround_s: float = CLIENT_TURNAROUND_S) -> dict:
    c = int(row["concurrency"])
    think = [f"tenants.chat.arrival.think_s={turnaround_s}"] if turnaround_s > 0 else []
    r = run_row(row, ["tenants.chat.arrival.kind=closed", f"tenants.chat.arrival.concurrency={c}",
                   f"tenants.chat.arrival.requests_per_client={requests_per_client}",
                   "horizon_s=1", *think, *(extra or [])])
    out = r["output_tokens"].to_numpy()
    finish = r["finish_s"].to_numpy()
    _, tok_s = steady_rates(finish, out, *STEADY_WINDOW)
    # latencies of requests sent and finished inside the same window: the clients all start
    # at once, and the loop takes tens of cycles to forget it
    lo, hi = np.quantile(finish, STEADY_WINDOW)
    w = (r["arrival_s"].to_numpy() >= lo) & (finish <= hi)
    if w.sum() < 3:
        raise InputError(f"calibration row {row['id']}: too few requests in the steady window",
                         key=f"catalog.gpus.{row['gpu']}")
    rw = r[w]
    ow = rw["output_tokens"].to_numpy()
    itl = ((rw["finish_s"] - rw["first_token_s"]) / np.maximum(ow - 1, 1))[ow > 1]
    return {"ttft_s": float(rw["ttft_s"].mean()), "itl_s": float(itl.mean()), "output_tok_s": tok_s}


def server(row, offline_tok_s: float, min_duration_s: float = 600.0, steps: int = 8,
           extra: list[str] | None = None) -> dict:
    """Bisection on the Poisson rate between 0 and the offline rate; each trial runs at
    least 600 s of arrivals, MLPerf's minimum server-scenario duration, so a rate slightly
    above capacity shows its growing queue."""
    out_mean = _mean_len(row["output"])
    hi = offline_tok_s / out_mean * 1.05
    lo = 0.0
    for _ in range(steps):
        rate = (lo + hi) / 2
        _, r = run_frames(compose(row_overrides(row, [
            *(extra or []), "tenants.chat.arrival.kind=poisson",
            f"tenants.chat.arrival.rate_rps={rate}", f"horizon_s={min_duration_s}",
            "output.parquet=true"])))
        ok = (r["outcome"] == "completed").all() \
            and r["ttft_s"].quantile(0.99) <= row["ttft_p99_s"] \
            and r["tpot_s"].quantile(0.99) <= row["tpot_p99_s"]
        lo, hi = (rate, hi) if ok else (lo, rate)
    return {"output_tok_s": lo * out_mean}


def predict(row: dict, extra: list[str] | None = None) -> dict:
    """The row's metrics simulated as its benchmark measures them; ``extra`` overrides apply
    to every run (fitting, what-if studies)."""
    sc = row["scenario"]
    if sc == "offline":
        pred = offline(row, extra=extra)
    elif sc == "concurrency":
        pred = concurrency(row, extra=extra)
    elif sc == "server":
        pred = server(row, offline(row, extra=extra)["output_tok_s"], extra=extra)
    else:
        raise InputError(f"unknown scenario {sc!r} in calibration row {row['id']}")
    if row.get("per_gpu"):
        pred["output_tok_s"] /= row["tp"]
    return pred


ROLES = ("fitted", "check")


def row_role(row: dict) -> str:
    """``fitted`` (the row set the catalog's factors) or ``check`` (held out)."""
    role = row.get("role", "fitted")
    if role not in ROLES:
        raise InputError(f"calibration row {row['id']}: role must be one of {list(ROLES)}, "
                         f"not {role!r}")
    return role


def row_shape(row: dict) -> str:
    """The workload shape: mean input/output tokens (``~`` marks a distribution)."""
    def one(spec):
        return f"{int(spec)}" if isinstance(spec, (int, float)) else f"~{int(spec['mean'])}"
    return f"{one(row['input'])}/{one(row['output'])}"


def calibration_table(rows: list[dict], tolerance: float = 0.25,
                      overrides: list[str] | None = None) -> pd.DataFrame:
    out = []
    for row in rows:
        pred = predict(row, overrides)
        for metric, published in row["metrics"].items():
            p = pred[metric]
            out.append({
                "row": row["id"], "role": row_role(row), "source": row["source"],
                "gpu": row["gpu"], "shape": row_shape(row),
                "precision": row["precision"], "tp": row["tp"], "scenario": row["scenario"],
                "metric": metric, "published": float(published), "predicted": float(p),
                "error_pct": 100.0 * (p / published - 1.0),
                "within_tolerance": bool(abs(p / published - 1.0) <= tolerance),
                "assumed": row.get("assumed", ""),
            })
    return pd.DataFrame(out)


def error_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Median and largest absolute error (%) of the figures, overall, by role, by GPU class and
    by workload shape (one row per group)."""
    out = []
    groups = [("all", pd.Series("all", index=table.index)), ("role", table["role"]),
              ("gpu", table["gpu"]), ("shape", table["shape"])]
    for by, keys in groups:
        for key, t in table.groupby(keys, sort=True):
            err = t["error_pct"].abs()
            worst = t.loc[err.idxmax()]
            out.append({"by": by, "group": str(key), "figures": len(t),
                        "fitted": int((t["role"] == "fitted").sum()),
                        "check": int((t["role"] == "check").sum()),
                        "median_abs_error_pct": float(err.median()),
                        "max_abs_error_pct": float(err.max()),
                        "worst": f"{worst['row']} {worst['metric']}"})
    return pd.DataFrame(out)


def select_rows(wanted) -> list[dict]:
    """The rows named in ``wanted`` (``["all"]``: every row), in file order."""
    rows = load_rows()
    wanted = list(wanted)
    return rows if wanted == ["all"] else [r for r in rows if r["id"] in wanted]
