"""Jobs, results and output files. ``python -m sim`` and :func:`sim.run` both land here.

A job is a function ``(cfg, out_dir, progress) -> Result``; ``cfg.job`` picks it from
:data:`JOBS`. The default job, ``simulate``, generates the workload once and runs every
setup in ``cfg.setups`` on it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
from omegaconf import OmegaConf

from sim.build import build_catalog
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


def execute(cfg, out_dir=None, progress: bool = False) -> Result:
    name = cfg.job
    if name not in JOBS:
        _load_jobs()
    if name not in JOBS:
        raise InputError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}", key="job")
    res = JOBS[name](cfg, Path(out_dir) if out_dir is not None else None, progress)
    if out_dir is not None:
        res.out_dir = str(out_dir)
    return res


def _load_jobs() -> None:
    import importlib

    for mod in ("sim.jobs", "sim.calibration", "sim.dedicated_jobs", "sim.platform.serverless.jobs"):
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


def progress_printer(enabled: bool, label: str):
    """A tqdm bar over simulated time, shown only on a terminal."""
    if not enabled or not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", leave=False, file=sys.stderr,
               bar_format="{desc}: {percentage:3.0f}% |{bar}| sim {postfix}")

    def update(now: float, cap: float) -> None:
        bar.n = min(100, int(100 * now / cap)) if cap > 0 else 100
        bar.set_postfix_str(f"{now:,.0f}s")

    return update, bar.close
