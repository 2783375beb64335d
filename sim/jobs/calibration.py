"""``experiment=calibration``: predicted versus published throughput and latency.

Runs the rows of ``conf/calibration_set.yaml`` (CALIBRATION.md section 3) chosen by
``calibration.rows`` through :mod:`sim.analysis.calibration` and reports each prediction
against its published figure (``calibration.csv``, ``plots/calibration``). It also predicts
the published tensor-parallel sweeps of ``conf/tp_sweeps.yaml`` with the run's catalog
(``tp_scaling.csv``: latency and speed-up over TP1, predicted against published) and the
published TP4 / TP1 batch latencies of ``conf/tp_latency.yaml`` (``tp_latency.csv``) and
the published saturated TP4 / TP1 throughputs of ``conf/tp_saturated.yaml``
(``tp_saturated.csv``) and the same source's online medians (``tp_online.csv``), and checks the perf model's terms one operation at a time against the
per-operation H100 and A100 times of ``conf/op_profiles.yaml`` (``op_gemm.csv``,
``op_allreduce.csv``, a ``gpu`` column naming the class).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import List

import pandas as pd
from omegaconf import OmegaConf

from sim.analysis.calibration import (
    calibration_table,
    error_summary,
    load_rows,
    select_rows,
)
from sim.analysis.op_profiles import (
    allreduce_table,
    gemm_table,
    load_op_profiles,
    profiled_gpus,
)
from sim.analysis.tp_latency import latency_rows, latency_table
from sim.analysis.tp_saturated import online_table, saturated_rows, saturated_table
from sim.analysis.tp_scaling import load_sweeps, tp_table
from sim.config import compose as compose_config
from sim.config.rules import fraction
from sim.config.variants import format_value
from sim.errors import InputError
from sim.jobs import OWN_SCENARIOS, check_distinct, job
from sim.records import Result
from sim.report.figures import calibration_scatter
from sim.report.outputs import write_outputs
from sim.simulation.build import build_catalog
from sim.simulation.unread import job_note


@dataclass
class CalibrationConfig:
    # rows of the calibration set to run ("all" or a list of ids)
    rows: List[str] = field(default_factory=lambda: ["all"])
    tolerance: float = fraction(0.25)


def check(cfg) -> None:
    wanted = list(cfg.calibration.rows)
    if not wanted:
        raise InputError("no rows to run: give row ids or [all]", key="calibration.rows")
    check_distinct(cfg, "calibration.rows")
    ids = {r["id"] for r in load_rows()}
    unknown = [w for w in wanted if w not in ids and wanted != ["all"]]
    if unknown:
        raise InputError(f"unknown calibration rows {unknown}; see conf/calibration_set.yaml",
                         key="calibration.rows")
    _check_catalog(cfg)


def _check_catalog(cfg) -> None:
    """The GPU classes and models the job's tables simulate are in the run's catalog, a GPU
    split over several has an interconnect (a KeyError, a ZeroDivisionError before) and a
    tensor-parallel group fits in its interconnect domain (``domain_gpus``)."""
    cat = build_catalog(cfg)
    sw = load_sweeps()
    uses = [(r["gpu"], r["model"], int(r["tp"]), r.get("parallelism", "tensor") == "tensor")
            for r in select_rows(cfg.calibration.rows)]
    uses += [(g, sw["model"], max(sw["tp"]), True) for g in sw["latency_ms"]]
    uses += [(r["gpu"], r["model"], int(r["tp"]), True) for r in (*latency_rows(), *saturated_rows())]
    uses += [(g, None, 2, True) for g in profiled_gpus()]  # the per-operation all-reduce rows
    for gpu, model, tp, tensor in uses:
        if gpu not in cat.gpus:
            raise InputError(f"the calibration job simulates GPU class {gpu}, which the catalog "
                             "does not have", key=f"catalog.gpus.{gpu}")
        if model is not None and model not in cat.models:
            raise InputError(f"the calibration job simulates model {model}, which the catalog "
                             "does not have", key=f"catalog.models.{model}")
        if tp > 1 and cat.gpus[gpu].interconnect_gbps <= 0:
            raise InputError(f"the calibration job splits a model over {tp} {gpu} GPUs, which "
                             "needs an interconnect", key=f"catalog.gpus.{gpu}.interconnect_gbps")
        if tensor and tp > cat.gpus[gpu].domain_gpus:  # published on one board: time it as one
            raise InputError(f"the calibration job times tensor parallelism over {tp} {gpu} GPUs "
                             f"(published on one board), more than one interconnect domain of "
                             f"{cat.gpus[gpu].domain_gpus}", key=f"catalog.gpus.{gpu}.domain_gpus")


def catalog_overrides(cfg) -> list[str]:
    """The run's catalog as overrides of the default one, for the scenarios the job composes
    itself (``catalog.gpus.H100.bandwidth_tbps=...``, a whole new entry, ``~`` a removed
    one): they simulated the shipped catalog, whatever the run's, unsaid."""
    base = OmegaConf.to_container(compose_config([]).catalog, resolve=True)
    mine = OmegaConf.to_container(cfg.catalog, resolve=True)
    out = []

    def walk(at: str, a, b) -> None:
        for k in b.keys() - a.keys():
            out.append(f"{at}.{k}={format_value(b[k])}")
        for k in a.keys() - b.keys():
            out.append(f"~{at}.{k}")
        for k in a.keys() & b.keys():
            if isinstance(a[k], dict) and isinstance(b[k], dict):
                walk(f"{at}.{k}", a[k], b[k])
            elif a[k] != b[k]:
                out.append(f"{at}.{k}={format_value(b[k])}")

    walk("catalog", base, mine)
    return sorted(out)


TABLE_COLUMNS = ["row", "role", "scenario", "gpu", "shape", "metric", "published", "predicted",
                 "error_pct", "assumed"]


def _notes(table, tolerance: float) -> list[str]:
    bad = table[~table["within_tolerance"]]
    err = table["error_pct"].abs()
    notes = [f"{len(table) - len(bad)} of {len(table)} published figures within "
             f"{100 * tolerance:.0f} %; median |error| {err.median():.1f} %, worst "
             f"{err.max():.1f} % ({table.loc[err.idxmax(), 'row']})."]
    for role, what in (("fitted", "fitted (set the factors)"), ("check", "held out (checks)")):
        t = err[table["role"] == role]
        if len(t):
            notes.append(f"{what}: {len(t)} figures, median |error| {t.median():.1f} %, "
                         f"max {t.max():.1f} %")
    for _, b in bad.iterrows():
        notes.append(f"outside tolerance: {b['row']} {b['metric']} predicted {b['predicted']:.4g} "
                     f"vs published {b['published']:.4g} ({b['error_pct']:+.1f} %)")
    return notes


def _op_note(key: str, gemm: pd.DataFrame, allreduce: pd.DataFrame) -> str:
    big = gemm[(gemm["model"] == "llama2-70b") & (gemm["tokens"] >= 512)]
    eff = big.loc[big["tokens"] >= 1024, "measured_gemm_efficiency"]
    return (f"{key} per-operation profiles (Vidur): GEMM efficiency {eff.min():.2f}-{eff.max():.2f} "
            f"of the BF16 peak at 1,024+ tokens (catalog {big['catalog_compute_efficiency'].iloc[0]:.2f}); "
            f"a 70B layer's linear time within {big['layer_error_pct'].abs().max():.1f} % at 512+ "
            f"tokens, TP 1-8; all-reduce {allreduce['error_pct'].min():+.0f} to "
            f"{allreduce['error_pct'].max():+.0f} % (op_gemm.csv, op_allreduce.csv)")


@job("calibration", config=CalibrationConfig, check=check, own_scenarios=True, reads=("catalog",),
     hint="each row of conf/calibration_set.yaml sets its own workload and hardware; "
          "calibration.rows=[...] chooses the rows")
def calibration_job(cfg, out_dir, progress) -> Result:
    rows = select_rows(cfg.calibration.rows)
    tolerance = float(cfg.calibration.tolerance)
    extra = catalog_overrides(cfg)
    with _catalog_blamed(extra):
        return _calibration(cfg, out_dir, rows, tolerance, extra)


@contextmanager
def _catalog_blamed(extra: list[str]):
    """A refusal naming a key of a scenario the job composes itself (its own ``deployments``,
    ``tenants``) is the run's catalog's doing (``extra``: the shipped one runs every table):
    it leads with the catalog key the user gave, the one the message names if any
    (``catalog.gpus.H100.memory_gb=41`` led with 'deployments.llama33-70b', a key the job adds)."""
    try:
        yield
    except InputError as e:
        if e.key is None or e.key.split(".")[0] == "catalog" or e.path is not None or not extra:
            raise
        given = sorted({t.lstrip("~").split("=", 1)[0] for t in extra}, key=len, reverse=True)
        key = next((k for k in given if k in e.message), given[0] if len(given) == 1 else "catalog")
        raise InputError(f"{e.message} ({e.key} is of a scenario the calibration job composes "
                         f"itself, on this run's catalog: {', '.join(sorted(given))})",
                         key=key) from None


def _calibration(cfg, out_dir, rows, tolerance: float, extra: list[str]) -> Result:
    table = calibration_table(rows, tolerance, extra)
    summary = error_summary(table)
    cat = build_catalog(cfg)
    tp = tp_table(cat)
    notes = _notes(table, tolerance)
    for gpu, t in tp.groupby("gpu", sort=False):
        notes.append(f"TP sweep ({gpu}, TP 1-8): speed-up over TP1 within "
                     f"{t['speedup_error_pct'].abs().max():.1f} % of published, latency within "
                     f"{t['error_pct'].abs().max():.1f} % (tp_scaling.csv)")
    lat = latency_table(extra=extra)
    notes.append(f"70B TP4 / 8B TP1 batch latency (vLLM benchmark, batch 8): ratio within "
                 f"{lat['ratio_error_pct'].abs().max():.1f} % of published, latency within "
                 f"{lat['error_pct'].abs().max():.1f} % (tp_latency.csv)")
    sat = saturated_table(extra=extra)
    tp4 = sat[sat["tp"] > 1]
    notes.append(f"70B TP4 / 8B TP1 saturated throughput (SGLang / vLLM, 5000 ShareGPT prompts): "
                 f"TP4 rows {tp4['error_pct'].min():+.1f} to {tp4['error_pct'].max():+.1f} %, "
                 f"TP1 rows within {sat.loc[sat['tp'] == 1, 'error_pct'].abs().max():.1f} % "
                 f"(tp_saturated.csv; the open TP4 gap of issue 18)")
    online = online_table(extra=extra)
    notes.append(f"SGLang online runs (Poisson 4 and 8 req/s, 8B TP1 A100, 70B TP4 H100): median "
                 f"TTFT and TPOT {online['error_pct'].min():+.1f} to {online['error_pct'].max():+.1f} % "
                 f"(tp_online.csv)")
    ops = load_op_profiles()
    gemms, allreduces = [], []
    for key in profiled_gpus(ops):
        gemm, allreduce = gemm_table(cat.gpus[key], ops), allreduce_table(cat.gpus[key], ops)
        gemms.append(gemm)
        allreduces.append(allreduce)
        notes.append(_op_note(key, gemm, allreduce))
    gemm, allreduce = pd.concat(gemms, ignore_index=True), pd.concat(allreduces, ignore_index=True)
    res = Result(summary=pd.DataFrame(), requests=pd.DataFrame(),
                 tables={"calibration": table, "calibration_summary": summary, "tp_scaling": tp,
                         "tp_latency": lat, "tp_saturated": sat, "tp_online": online,
                         "op_gemm": gemm, "op_allreduce": allreduce},
                 notes=notes,
                 full_tables={"calibration": TABLE_COLUMNS,
                              "calibration_summary": list(summary.columns)})
    res.notes = job_note("calibration") + res.notes  # keys no run of it read
    if out_dir is not None:
        write_outputs(res, cfg, out_dir, figures=lambda d: calibration_scatter(table, d, tolerance),
                      reads=OWN_SCENARIOS["calibration"][0])  # the header: no seed nor horizon
    return res
