"""The sweep-root table: every finished job's summary rows, a column per overridden key.

Hydra runs ``on_multirun_end`` once, in the process that launched the sweep, after every
job has returned, whatever the launcher (joblib processes, Ray workers, SLURM nodes). The
jobs' results are therefore read from their folders, never from memory: each numbered job
folder holds ``.hydra/overrides.yaml`` (its command-line overrides, sweep values included),
``summary.csv`` and, when finished, ``done.json``. While the sweep runs, each job adds its
own rows to the root's ``summary.csv`` and ``jobs.csv`` as it ends (``on_job_end``, in the
job's process: :mod:`sim.sweep.live`); the end rewrites them whole, in job order.

Writes at the sweep root: ``summary.csv`` (key columns first: the job number, then one
column per overridden key, the keys that vary across jobs first), ``summary.md``,
``report.md`` with the sweep figures, and ``jobs.csv`` (each job's state). Run it again on
a folder with ``python -m sim.sweep SWEEP_DIR``. ``command.txt`` keeps the command that ran
(as typed, quoted for a shell), which summary.md and report.md show.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import OmegaConf
from omegaconf.errors import InterpolationResolutionError

from sim.config.variants import KEY, MAP, format_value
from sim.errors import InputError
from sim.io import atomic_write, write_frame_csv
from sim.report.question import report_question
from sim.report.sweep import sweep_figures, sweep_markdown
from sim.sweep import live
from sim.sweep.consistency import column_notes, repeats
from sim.sweep.jobfiles import load_yaml as _load
from sim.sweep.jobfiles import (
    parse_overrides,
    read_error,
    read_overrides,
    read_summary,
    recorded_rows,
    run_notes,
)
from sim.sweep.jobrecord import (
    JOBS_RECORD,
    add_folder,
    foreign_entries,
    job_dirs,
    recorded_jobs,
    start_record,
)
from sim.sweep.listprice import _list_price, unpriced_note
from sim.sweep.objective import describe_objective
from sim.sweep.resume import DONE, ERROR, read_done

# set in the launching process after each sweep, read by ``python -m sim`` for its exit code
LAST_SWEEP: dict = {}
# the arguments ``python -m sim`` was given, as typed (set by its main() while it runs): the
# sweep's recorded command. Hydra's own record of the overrides holds them after
# sim/config/overrides.py rewrote them (``tenants.x={...}`` -> ``tenants={x: ...}``), which
# a re-run would read as another override (``tenants={...}`` replaces the tenants)
ARGV: list[str] = []
COMMAND = "command.txt"  # the recorded command, at the sweep root (read back on re-aggregation)
# what write_sweep may draw at the sweep root (sim/report/sweep.py: sweep_figures)
DRAWN = ("breakeven.csv", *(f"plots/{stem}.{ext}" for stem in ("p99_ttft_vs_x", "cost_vs_x")
                            for ext in ("png", "svg")))
@dataclass
class SweepJobs:
    table: pd.DataFrame  # the aggregated summary rows
    jobs: pd.DataFrame  # one row per job folder: job, state, overrides, message
    keys: list[str] = field(default_factory=list)  # every overridden key, varying ones first
    varying: list[str] = field(default_factory=list)
    constant: dict = field(default_factory=dict)  # key -> its single value
    notes: dict = field(default_factory=dict)  # the experiment's notes (from a job's config)
    # a variant sweep (``variant=a,b``, sim/config/variants.py): the keys its variants set,
    # each a column after ``variant`` holding the value the job ran with
    paired: list[str] = field(default_factory=list)
    run_notes: dict = field(default_factory=dict)  # job -> the notes its report.md lists
    question: str | None = None  # the question line of the first finished job's report.md
    # jobs whose summary.csv lacks columns every run writes (sim/sweep/consistency.py)
    column_notes: list[str] = field(default_factory=list)


def _numeric(s: pd.Series) -> pd.Series:
    try:
        return pd.to_numeric(s)
    except (ValueError, TypeError):
        return s


def _variant_values(d: Path, ov: dict, ran: dict) -> dict[str, object]:
    """The keys the job's variant sets, with the values the job ran with (its ``config.yaml``,
    written after the variant was applied) or, for a job that did not finish, the values
    the variant declares (``.hydra/config.yaml``, the config Hydra composed for it)."""
    name = ov.get(KEY)
    if name is None:
        return {}
    declared = ((_load(d / ".hydra" / "config.yaml").get(MAP) or {}).get(str(name))) or {}
    conf = OmegaConf.create(ran) if ran else None

    def ran_with(key: str, value):
        # a map declared is read back at the keys it declares (the pool's other GPUs and
        # fields are not the variant's); a leaf or list whole
        if isinstance(value, dict):
            return {k: ran_with(f"{key}.{k}", v) for k, v in value.items()}
        got = OmegaConf.select(conf, key, default=value) if conf is not None else value
        return OmegaConf.to_container(got) if OmegaConf.is_config(got) else got

    return {str(key): ran_with(str(key), value) for key, value in declared.items()}


@dataclass
class JobRead:
    """One job folder as the sweep table sees it."""

    row: dict  # job, state, overrides, message (a row of jobs.csv)
    overrides: dict  # key -> value, the variant's keys right after ``variant``
    summary: pd.DataFrame | None  # its summary rows, ``job`` first; None unless done
    notes: dict = field(default_factory=dict)  # the experiment's notes, when done
    objective: str | None = None  # what its objective column is, when it has one
    paired: list[str] = field(default_factory=list)  # the keys its variant sets
    run_notes: list[str] = field(default_factory=list)  # its run's notes (report.md)
    question: str | None = None  # the question line its report.md opens with


def read_job(d: Path) -> JobRead:
    """Read one job folder: its overrides, state and (when finished) summary rows."""
    ov = read_overrides(d)
    given = " ".join(f"{k}={v}" for k, v in ov.items())
    done = read_done(d)
    cfg = _load(d / "config.yaml") if done is not None else {}
    pairs = _variant_values(d, ov, cfg)
    if pairs:  # the variant's keys right after it
        at = list(ov).index(KEY) + 1
        items = [(k, v) for k, v in ov.items() if k not in pairs]
        ov = dict(items[:at] + list(pairs.items()) + items[at:])
    state, message = "missing", ""
    # a summary.csv its done.json records gone is read, and refused, as one damaged
    if done is not None and ((d / "summary.csv").is_file()
                             or recorded_rows(done, d / "summary.csv") is not None):
        state = "done"
    elif (d / ERROR).is_file():
        state = "failed"
        message = read_error(d / ERROR)
    out = JobRead(row={"job": d.name, "state": state, "overrides": given, "message": message},
                  overrides=ov, summary=None, paired=list(pairs))
    if state != "done":
        return out
    out.notes = dict(cfg.get("notes") or {})
    out.run_notes = run_notes(d)
    if (d / "report.md").is_file():
        out.question = report_question((d / "report.md").read_bytes().decode("utf-8", "replace"))
    s = read_summary(d / "summary.csv", done)
    s.insert(0, "job", d.name)
    if "setup" in s.columns and "tenant" in s.columns:
        s["list_price_usd_per_mtok_out"] = _list_price(d, s, cfg.get("catalog"), done)
    if done.get("objective") is not None and (cfg.get("objective") or {}).get("slo_max") is not None:
        s["objective"] = done["objective"]
        out.objective = describe_objective(cfg)
    out.summary = s
    return out


def with_keys(s: pd.DataFrame, keys: list[str], ov: dict, clash=()) -> pd.DataFrame:
    """``s`` with one column per overridden key after ``job`` (``override:KEY`` when the
    summary has a column of that name, or when another job's has: ``clash``)."""
    s = s.copy()
    for i, k in enumerate(keys):
        col = k if k not in s.columns and k not in clash else f"override:{k}"
        v = ov.get(k)
        # a map or list (a variant's `serverless.pool: {...}`) as an override writes it: given
        # as is, pandas took a dict as an index map and the column was NaN on every row
        s.insert(1 + i, col, format_value(v) if isinstance(v, (dict, list, tuple)) else v)
    return s


def collect(sweep_dir, since: float | None = None) -> SweepJobs:
    """Read every job folder of a sweep (those rewritten after ``since``, if given)."""
    sweep_dir = Path(sweep_dir)
    frames, jobs, values, notes, paired, said = [], [], [], {}, [], {}
    question = None
    defined = None  # what the objective column is, said in summary.md
    for d in job_dirs(sweep_dir, since):
        j = read_job(d)
        paired += [k for k in j.paired if k not in paired]
        jobs.append(j.row)
        values.append(j.overrides)
        if j.summary is None:
            continue
        notes = notes or j.notes
        question = question or j.question
        if j.run_notes:
            said[j.row["job"]] = j.run_notes
        defined = j.objective or defined
        frames.append((j.summary, j.overrides))
    repeated, again = repeats([(r["job"], ov) for r, ov in zip(jobs, values)])
    for job, note in again.items():  # listed in summary.md with the job's own notes
        said[job] = [note, *said.get(job, [])]
    n = recorded_jobs(sweep_dir)
    if n is not None:  # jobs of the record without a folder: counted (they went unsaid)
        have = {r["job"] for r in jobs}
        gone = [str(i) for i in range(n) if str(i) not in have]
        jobs += [{"job": g, "state": "missing", "overrides": "", "message": "no job folder (the "
                  "job never started, or its folder was removed or is not a folder)"}
                 for g in gone]
        jobs.sort(key=lambda r: int(r["job"]) if r["job"].isdigit() else -1)
    keys: list[str] = []
    for ov in values:
        keys += [k for k in ov if k not in keys]
    varying = [k for k in keys if len({json.dumps(ov.get(k), default=str) for ov in values}) > 1]
    constant = {k: values[0].get(k) for k in keys if k not in varying} if values else {}
    keys = varying + [k for k in keys if k not in varying]
    # a key that is also a summary column of some job (replications=1,2: a replicated job's
    # summary has a replications column) is override:KEY in every job's rows (until December
    # 2026 one job's was KEY and another's override:KEY, and summary.md showed both garbled)
    clash = {k for k in keys if any(k in s.columns for s, _ in frames)}
    rows = [with_keys(s, keys, ov, clash) for s, ov in frames]
    keys = [f"override:{k}" if k in clash else k for k in keys]  # as the table's columns
    varying = [f"override:{k}" if k in clash else k for k in varying]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["job"] + keys)
    table = table[live.column_order(table.columns, keys)]  # as the live table has them
    for k in keys:
        if k in table.columns:
            table[k] = _numeric(table[k])
    if unpriced := unpriced_note(table):  # said under summary.md's table
        notes = {**notes, "unpriced": unpriced}
    return SweepJobs(table=table, jobs=pd.DataFrame(jobs, columns=["job", "state", "overrides",
                                                                   "message"]),
                     keys=keys, varying=varying, constant=constant,
                     notes={**notes, "objective": defined} if defined else notes, paired=paired,
                     run_notes=said, question=question,
                     column_notes=repeated + column_notes([f for f, _ in frames]))


def command_from_overrides(hydra_overrides: list[str], task: list[str]) -> str:
    """The command line of a sweep rebuilt from Hydra's record of its overrides (quoted for a
    POSIX shell; ``hydra.mode=MULTIRUN`` is the ``-m``)."""
    extra = [o for o in hydra_overrides if not o.startswith("hydra.mode=")]
    return shlex.join(["python", "-m", "sim", "-m", *extra, *task])


def recorded_command(sweep_dir: Path) -> str | None:
    """The command a sweep folder recorded (``command.txt``), else one rebuilt from its
    ``multirun.yaml`` (Hydra's record of the overrides), else None."""
    p = sweep_dir / COMMAND
    if p.is_file():
        return p.read_bytes().decode("utf-8", "replace").strip() or None  # shown, never parsed
    over = ((_load(sweep_dir / "multirun.yaml").get("hydra") or {}).get("overrides") or {})
    if not over:
        return None
    return command_from_overrides([str(o) for o in over.get("hydra") or []],
                                  [str(o) for o in over.get("task") or []])


def write_sweep(sweep_dir, since: float | None = None, command: str | None = None) -> SweepJobs:
    """Aggregate a sweep folder and write its summary.csv, summary.md, jobs.csv, report.md;
    ``command``: the command that ran (default: the one the folder recorded)."""

    sweep_dir = Path(sweep_dir)
    if command is None:
        command = recorded_command(sweep_dir)
    sj = collect(sweep_dir, since)
    write_frame_csv(sj.table, sweep_dir / "summary.csv")
    write_frame_csv(sj.jobs, sweep_dir / "jobs.csv")
    atomic_write(sweep_dir / "summary.md",
                 lambda p: p.write_text(sweep_markdown(sj, command=command, figures=[])))
    for name in DRAWN:  # an earlier sweep's in this folder: drawn again below, or gone
        (sweep_dir / name).unlink(missing_ok=True)
    figures = sweep_figures(sj, sweep_dir) if len(sj.table) else []
    if (sweep_dir / "plots").is_dir() and not any((sweep_dir / "plots").iterdir()):
        (sweep_dir / "plots").rmdir()
    atomic_write(sweep_dir / "report.md",
                 lambda p: p.write_text(sweep_markdown(sj, command=command, figures=figures)))
    return sj


def none_finished(sj: SweepJobs, sweep_dir: Path) -> int | None:
    """When jobs ran and none finished: one line saying so, on stderr, and the exit status
    (2 if every job was refused for its input, else 1); else None. Said alike by the sweep's
    end and ``python -m sim.sweep`` (until December 2026 the end printed "0 of 1 jobs
    finished; .../summary.csv (0 rows)" where ``python -m sim.sweep`` refused)."""
    n = len(sj.jobs)
    if not n or (sj.jobs["state"] == "done").any():
        return None
    text = f"every job failed or did not finish ({n} of {n}); each job folder's {ERROR} says why"
    print(f"error: {InputError(text, path=str(sweep_dir))}", file=sys.stderr)
    return 2 if sj.jobs["message"].str.startswith("InputError").sum() == n else 1


def add_to_live_tables(job_dir: Path, sweep_dir: Path) -> None:
    """Job ``job_dir``'s rows into the sweep root's ``summary.csv``, its state into
    ``jobs.csv`` (sim/sweep/live.py): as a job ends, or as a resumed sweep reads it back."""
    j = read_job(job_dir)
    with live.locked(sweep_dir):
        # its state first: a job whose rows are in summary.csv is in jobs.csv too, even when
        # the sweep is stopped between the two writes
        live.merge_rows(sweep_dir / "jobs.csv", pd.DataFrame([j.row]), j.row["job"])
        if j.summary is not None:  # the sweep's varying keys first, as its end puts them
            swept = live.swept_keys(sweep_dir)
            swept |= set(j.paired) if KEY in swept else set()  # what a swept variant sets
            keys = sorted(j.overrides, key=lambda k: k not in swept)
            rows = with_keys(j.summary, keys, j.overrides)
            live.merge_rows(sweep_dir / "summary.csv", rows, j.row["job"],
                            list(rows.columns[1:1 + len(keys)]))


class AggregateSweep(Callback):
    """Hydra callback: aggregate the sweep's folders when the sweep ends."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.started: float | None = None

    def on_multirun_start(self, config, **kwargs) -> None:
        self.started = time.time()
        try:
            sweep_dir = Path(str(config.hydra.sweep.dir))
        except InterpolationResolutionError:  # a bad name= in it: the sweeper says so next
            return
        try:
            again = sweep_dir.is_dir()
        except OSError:  # a name the system refuses: Hydra's mkdir says so, in one line
            again = False
        if self.enabled and again:  # a sweep re-run in its folder: refilled as jobs end
            if mine := foreign_entries(sweep_dir):
                names = ", ".join(mine[:5]) + (", ..." if len(mine) > 5 else "")
                print(f"note: the sweep folder {sweep_dir} already holds {len(mine)} "
                      f"{'entry' if len(mine) == 1 else 'entries'} no sweep writes ({names}): "
                      "the sweep writes beside them and leaves them as they are")
            live.remove(sweep_dir, ("summary.csv", "jobs.csv", JOBS_RECORD))
            start_record(sweep_dir, config)

    def on_job_start(self, config, **kwargs) -> None:
        """In the job's process, as a job starts in a sweep re-run in its folder whose job
        folders are not named by number: its folder into the record, so the sweep's end and
        ``python -m sim.sweep`` take this sweep's folders, not those an earlier one left."""
        if not self.enabled or OmegaConf.select(config, "hydra.mode") != RunMode.MULTIRUN:
            return
        if OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir") == "${hydra.job.num}":
            return  # numbered: the sweeper records a count (sim/sweep/skip.py)
        sweep_dir = Path(str(config.hydra.sweep.dir))
        name = Path(str(config.hydra.runtime.output_dir)).name
        with live.locked(sweep_dir):
            add_folder(sweep_dir, name)

    def on_job_end(self, config, **kwargs) -> None:
        """In the job's process, as each job of a sweep ends: its rows into the sweep root's
        ``summary.csv`` and its state into ``jobs.csv`` (sim/sweep/live.py)."""
        if not self.enabled or OmegaConf.select(config, "hydra.mode") != RunMode.MULTIRUN:
            return
        job_dir = Path(str(config.hydra.runtime.output_dir))
        if (job_dir / ".hydra" / "overrides.yaml").is_file():
            add_to_live_tables(job_dir, Path(str(config.hydra.sweep.dir)))

    def on_multirun_end(self, config, **kwargs) -> None:
        LAST_SWEEP.clear()
        if not self.enabled:
            return
        sweep_dir = Path(str(config.hydra.sweep.dir))
        if not sweep_dir.is_dir():
            return
        if ARGV:  # the arguments as typed, quoted so a shell gives the same ones back
            command = shlex.join(["python", "-m", "sim", *ARGV])
        else:  # launched some other way: rebuilt from Hydra's record
            command = command_from_overrides(
                list(OmegaConf.select(config, "hydra.overrides.hydra", default=[]) or []),
                list(OmegaConf.select(config, "hydra.overrides.task", default=[]) or []))
        atomic_write(sweep_dir / COMMAND, lambda p: p.write_text(command + "\n"))
        sj = write_sweep(sweep_dir, since=self.started, command=command)
        counts = sj.jobs["state"].value_counts().to_dict()
        failed = int(counts.get("failed", 0)) + int(counts.get("missing", 0))
        input_errors = int(sj.jobs["message"].str.startswith("InputError").sum())
        LAST_SWEEP.update(dir=str(sweep_dir), done=int(counts.get("done", 0)), failed=failed,
                          input_errors=input_errors)
        if none_finished(sj, sweep_dir) is not None:
            return
        print(f"sweep: {counts.get('done', 0)} of {len(sj.jobs)} jobs finished; "
              f"{sweep_dir / 'summary.csv'} ({len(sj.table)} rows), {sweep_dir / 'report.md'}")
        for note in sj.column_notes:
            print(note)
        # a job refused for its input printed its error as it ended: not again here
        for _, j in sj.jobs[sj.jobs["state"] != "done"].iterrows():
            if not j["message"].startswith("InputError"):
                print(f"sweep: job {j['job']} {j['state']}: {j['message'] or j['overrides']}")


__all__ = ["AggregateSweep", "collect", "write_sweep", "parse_overrides", "LAST_SWEEP", "DONE"]
