"""Jobs, results and output files. ``python -m sim`` and :func:`sim.run` both land here.

A job is a function ``(cfg, out_dir, progress) -> Result``; ``cfg.job`` picks it from
:data:`JOBS`. The default job, ``simulate``, generates the workload once and runs every
setup in ``cfg.setups`` on it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
from omegaconf import OmegaConf

from sim.errors import InputError


@dataclass
class Result:
    summary: pd.DataFrame
    requests: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # job-specific tables
    figures: list[str] = field(default_factory=list)  # files written, relative to out_dir
    out_dir: str | None = None
    notes: list[str] = field(default_factory=list)  # warnings and findings for the report


JOBS: dict[str, Callable] = {}


def job(name: str):
    def deco(fn):
        JOBS[name] = fn
        return fn
    return deco


# ------------------------------------------------------------------------------ compose
def variant(cfg, **dotted):
    """A copy of ``cfg`` with dotted keys set (validated by the schema)."""
    import copy

    from omegaconf import open_dict

    out = copy.deepcopy(cfg)
    with open_dict(out):
        for k, v in dotted.items():
            OmegaConf.update(out, k, v, merge=False)
    return out


def compose(overrides: list[str] | None = None):
    """Compose the same config as ``python -m sim <overrides>``."""
    from hydra import compose as hy_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    import sim.config  # noqa: F401  (registers the schema)

    gh = GlobalHydra.instance()
    was = gh.is_initialized()
    if was:
        gh.clear()  # pragma: no cover - only inside an already running Hydra app
    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        cfg = hy_compose(config_name="config", overrides=list(overrides or []))
    return cfg


def run(overrides: list[str] | None = None, output_dir: str | os.PathLike | None = None,
        progress: bool = False) -> Result:
    """Compose the config from ``overrides``, run its job and return the result.

    Files are written only when ``output_dir`` is given; the working directory never changes.
    """
    cfg = compose(overrides)
    return execute(cfg, output_dir, progress=progress)


def execute(cfg, out_dir=None, progress: bool = False, resume: bool = False) -> Result:
    """Run ``cfg.job`` (``cfg.replications`` times, over consecutive seeds, when above 1).

    With ``out_dir``, the outputs are written there and ``done.json`` last. With ``resume``,
    a folder whose ``done.json`` matches this config is read back instead of recomputed.
    """
    from sim.sweep import resume as marks

    name = cfg.job
    if name not in JOBS:
        _load_jobs()
    if name not in JOBS:
        raise InputError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}", key="job")
    reps = int(cfg.replications)
    if reps < 1:
        raise InputError("must be >= 1", key="replications")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        if resume:
            done = marks.load_finished(out, cfg)
            if done is not None:
                return done
        marks.clear(out)
    t0 = time.perf_counter()
    if reps == 1:
        res = JOBS[name](cfg, out, progress)
    else:
        from sim.sweep.replicate import run_replications

        res = run_replications(JOBS[name], cfg, reps, progress)
        if out is not None:
            write_outputs(res, cfg, out)
    if out is not None:
        from sim.sweep.objective import objective_value

        res.out_dir = str(out)
        marks.mark_done(out, cfg, objective_value(res.summary, cfg), time.perf_counter() - t0)
    return res


def _load_jobs() -> None:
    import importlib

    for mod in ("sim.jobs", "sim.calibration", "sim.dedicated_jobs", "sim.platform.serverless.jobs",
                "sim.breakeven", "sim.claims", "sim.pipeline_jobs"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # pragma: no cover
            if e.name != mod:
                raise


# ------------------------------------------------------------------------------ outputs
def atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see a
    half-written file and an interrupted run leaves none behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_frame_csv(df: pd.DataFrame, path: Path) -> None:
    atomic_write(path, lambda p: df.to_csv(p, index=False, float_format="%.9g"))


def write_outputs(res: Result, cfg, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_frame_csv(res.summary, out_dir / "summary.csv")
    for name, table in res.tables.items():
        write_frame_csv(table, out_dir / f"{name}.csv")
    if cfg.output.parquet and len(res.requests):
        atomic_write(out_dir / "requests.parquet",
                     lambda p: res.requests.to_parquet(p, index=False, engine="pyarrow",
                                                       compression="zstd"))
    if cfg.output.plots:
        from sim.report.figures import run_figures

        res.figures.extend(run_figures(res, out_dir))
    if cfg.output.report:
        from sim.report.markdown import run_report

        atomic_write(out_dir / "report.md", lambda p: p.write_text(run_report(res, cfg)))
    atomic_write(out_dir / "config.yaml", lambda p: p.write_text(OmegaConf.to_yaml(cfg)))


def progress_printer(enabled: bool, label: str, total_s: float | None = None, stream=None,
                     delay_s: float = 2.0, min_interval_s: float = 0.2):
    """A bar over simulated time for one setup's run: ``(update(now, cap), close())``.

    It shows only on a terminal and only once the run has lasted ``delay_s`` of wall time, so
    short runs, pipes, CI logs and parallel sweep jobs stay quiet. The bar covers the arrival
    horizon ``total_s`` (else the cap it is given); past it the run is draining the requests
    still in flight, which the bar says instead of overshooting.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not enabled or isatty is None or not isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=label, leave=False, file=stream, delay=delay_s,
               mininterval=min_interval_s, miniters=1,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def update(now: float, cap: float) -> None:
        total = total_s if total_s else cap
        frac = min(now / total, 1.0) if total > 0 else 1.0
        bar.set_description_str(f"{label}: sim {now:,.0f}/{total:,.0f} s"
                                + (" draining" if now > total else ""), refresh=False)
        bar.update(int(1000 * frac) - bar.n)

    return update, bar.close
