"""A run's files: summary.csv, one CSV per table, requests.parquet, figures, report.md."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from sim.io import atomic_write, write_frame_csv
from sim.records import Result


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
