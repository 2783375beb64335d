"""A run's files: summary.csv, one CSV per table, requests.parquet, figures, report.md."""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from sim.config.given import GIVEN, RUN_NOTES
from sim.config.variants import replaced_notes
from sim.io import (
    ROW_GROUP,
    atomic_write,
    write_frame_csv,
    write_parquet,
    write_parquet_blocks,
    write_table_csv,
)
from sim.metrics.requests import RequestRows
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.records import Result
from sim.report.figures import run_figures, waterfall_note
from sim.report.markdown import run_report

# set while the first seed of a replicated run runs (sim/app.py): its write_outputs draws the
# figures alone, the study's own where it has them; the replicated tables are written after
FIGURES_ONLY: ContextVar[bool] = ContextVar("figures_only", default=False)


def write_outputs(res: Result, cfg, out_dir: Path, figures=None, generic_plots: bool = True,
                  reads: tuple | None = None) -> None:
    """Write every file of a finished job into ``out_dir``. ``figures(out_dir)`` draws the
    job's own figures (when ``output.plots``); ``generic_plots=False`` skips the per-setup
    figures of a plain run (a job whose rows are variants of one setup would pool them);
    ``reads``: the top-level keys of the config the job reads, if not all (report.md's
    header names only those)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if FIGURES_ONLY.get():
        _figures(res, cfg, out_dir, figures, generic_plots)
        return
    add_run_notes(res, cfg)
    _figures(res, cfg, out_dir, figures, generic_plots)
    # a job with no summary rows (a plan that bought nothing, calibration, claims) still
    # writes the header: until December 2026 the file was one newline, which pandas and
    # csv readers refuse ("No columns to parse")
    summary = res.summary if len(res.summary.columns) else pd.DataFrame(columns=SUMMARY_COLUMNS)
    write_frame_csv(summary, out_dir / "summary.csv")
    for name in res.tables:
        unbuilt = res.tables.unbuilt(name)  # a long run's replica lives and events
        if unbuilt is None:
            write_frame_csv(res.tables[name], out_dir / f"{name}.csv")
        else:
            write_table_csv(unbuilt, out_dir / f"{name}.csv")
    rows = res.unbuilt()  # not built yet: written from the logs a row group at a time
    if cfg.output.parquet and rows is not None and len(rows):
        write_parquet_blocks(rows.empty(), rows.blocks(ROW_GROUP), out_dir / "requests.parquet")
    elif cfg.output.parquet and rows is None and len(res.requests):
        write_parquet(res.requests, out_dir / "requests.parquet")
    if cfg.output.report:
        atomic_write(out_dir / "report.md", lambda p: p.write_text(run_report(res, cfg, reads)))
    atomic_write(out_dir / "config.yaml", lambda p: p.write_text(OmegaConf.to_yaml(cfg)))


def add_run_notes(res: Result, cfg) -> None:
    """The notes the run's config makes, first in ``res.notes`` (once): a variant's key the
    overrides also set (which value ran: until December 2026 on the console only, then in
    the files alone, not in ``sim.run``'s result without output_dir), and those the run was
    given (:data:`RUN_NOTES`: a sweep experiment run as one job, unsaid by ``sim.run``)."""
    mine = [*replaced_notes(cfg, list(GIVEN.get())), *RUN_NOTES.get()]
    res.notes[:0] = [n for n in dict.fromkeys(mine) if n not in res.notes]


def _figures(res: Result, cfg, out_dir: Path, figures, generic_plots: bool) -> None:
    """The job's own figures (``figures``), then the generic per-setup ones when
    ``generic_plots``, and what they could not show."""
    if figures is not None and cfg.output.plots:
        res.figures.extend(figures(out_dir))
    if cfg.output.plots and generic_plots:
        rows = res.unbuilt()
        offered = rows.offered if isinstance(rows, RequestRows) else None
        res.figures.extend(run_figures(res, out_dir))
        res.notes += figure_notes(res, cfg, offered)


def figure_notes(res: Result, cfg, offered: int | None = None) -> list[str]:
    """What the per-setup figures could not show, said (until December 2026 a figure drawn
    from a 1 % sample, or none drawn, went unsaid). A sample's count is of the rows kept
    against ``offered``, the rows the runs' logs hold (:attr:`RequestRows.offered`:
    background and warm-up requests too, as the sample is drawn from them; None when the
    job gave a built frame, and the note gives the fraction instead). Until December 2026
    the total was the ``__all__`` rows', user requests past warm-up alone: a 20 % sample
    was said as "300 of 1,236" for 300 of 1,502, and a 90 % one, 1,351, went unsaid."""
    kept, mode = len(res.requests), str(cfg.output.requests)
    if not cfg.output.parquet or mode == "none":
        s = res.summary
        total = (int(s.loc[s["tenant"] == "__all__", "requests"].sum())
                 if {"tenant", "requests"} <= set(s.columns) else kept)
        why = "output.parquet=false" if not cfg.output.parquet else "output.requests=none"
        had = res.tables.get("pipelines")  # a run with pipeline requests draws one
        pipes = " and the pipeline waterfall" if had is not None and len(had) else ""
        return [f"no per-request figure is drawn (TTFT CDF, timeline{pipes}): they are drawn from "
                f"the per-request rows, which {why} keeps none of; summary.csv's figures are every "
                "request's"] if total or offered else []
    if mode == "sample" and kept == 0 and offered:  # a sample that drew no row of them
        return [f"no per-request figure is drawn and no requests.parquet written: the sample "
                f"(output.requests_sample={float(cfg.output.requests_sample):g}, chosen by "
                f"request id) kept none of the {offered:,} requests the runs' logs hold; "
                "summary.csv's figures are every request's"]
    out = [n for n in [waterfall_note(res)] if n]
    if mode == "sample" and (offered is None or kept < offered):
        of = (f"{kept:,} of the {offered:,} requests the runs' logs hold"
              if offered is not None else
              f"{kept:,} rows, about {float(cfg.output.requests_sample):.3g} of each setup's "
              "requests, chosen by request id")
        out.append(f"the per-request figures are drawn from the sample of rows kept "
                   f"(output.requests=sample: {of}): their percentiles are the "
                   "sample's; summary.csv's are every request's")
    if kept and "outcome" in res.requests.columns and not (
            res.requests["outcome"] == "completed").any():
        out.append("the TTFT CDF is not drawn: no request kept completed")
    return out
