"""The application: compose a config, run its job, write its folder.

``python -m sim`` and :func:`sim.run` both land in :func:`execute`, which picks the job
named by ``cfg.job`` from the registry (:mod:`sim.jobs`), runs it (``cfg.replications``
times over consecutive seeds when above 1) and marks its folder finished.
"""

from __future__ import annotations

import errno
import os
import threading
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.config import Config, _compose_raw, hydra_section, register
from sim.config import compose as compose_config
from sim.config.given import RUN_NOTES
from sim.config.messages import from_config_error
from sim.config.overrides import check_once, override_list
from sim.config.shuffle import seeded_shuffle
from sim.config.variants import blame_variant
from sim.errors import InputError
from sim.filecache import next_run
from sim.io import prepare_folder, shared_folder
from sim.jobs import (
    AS_RUN,
    CHECKS,
    CONFIGS,
    GIVEN,
    OWN_SCENARIOS,
    check_own_settings,
    check_unread,
    discover,
)
from sim.metrics.summary import SUMMARY_COLUMNS
from sim.records import Result
from sim.report.outputs import FIGURES_ONLY, add_run_notes, write_outputs
from sim.report.replicated import fewer_seeds_notes
from sim.report.style import kept_settings
from sim.simulation.build import (
    build,
    check_objective,
    check_unchosen,
    expand_tenants,
    typed_once,
)
from sim.simulation.unread import experiment_keys, recording, with_variant
from sim.sweep import resume as marks
from sim.sweep.objective import objective_value
from sim.sweep.replicate import run_replications

# conf/hydra/launcher/ray.yaml and conf/hydra/sweeper/basic.yaml share their names with the
# plugins' own schemas on purpose (`hydra/launcher=ray` then means the fixed preset, and the
# default sweeper is ours); Hydra validates each against that schema and warns about the
# name match on every run. Set here, not in sim/__main__.py: a sweep's worker processes get
# the task function pickled by value (it lives in __main__) and import this module, not that one
warnings.filterwarnings("ignore", message="(?s).*validated against ConfigStore schema with the same name")

# the schema Hydra validates against: the core config plus every job's own config class
discover()
register(CONFIGS)

# Hydra's composition and matplotlib's settings are the process's, one at a time: runs (and
# composes) called from several threads take turns (the second raised Hydra's "GlobalHydra is
# already initialized")
_ONE_AT_A_TIME = threading.RLock()

# numpy's print options as a fresh process has them: matplotlib names an SVG's clip paths by
# a hash of str() of numpy values, so a caller's np.set_printoptions(legacy="1.25") changed
# the bytes of plots/*.svg (until December 2026); sim.run runs under these, then the
# caller's are back
NUMPY_PRINT = dict(edgeitems=3, threshold=1000, floatmode="maxprec", precision=8,
                   suppress=False, linewidth=75, nanstr="nan", infstr="inf", sign="-",
                   formatter=None, legacy=False)


def check_working_dir() -> None:
    """Hydra records the working directory: one deleted under the process was a
    FileNotFoundError traceback."""
    try:
        os.getcwd()
    except FileNotFoundError:
        raise InputError("the working directory no longer exists (deleted after the shell "
                         "entered it): cd into an existing folder and run again") from None


def run(overrides: list[str] | None = None, output_dir: str | os.PathLike | None = None,
        progress: bool = False) -> Result:
    """Compose the config from ``overrides``, run its job and return the result.

    Files are written only when ``output_dir`` is given; the working directory and the
    process's matplotlib settings never change. ``progress``: the command line's bar over
    simulated time (``output.progress``), on a terminal.
    """
    if output_dir is not None and not isinstance(output_dir, (str, os.PathLike)):
        raise InputError(f"output_dir must be a path, got {type(output_dir).__name__} {output_dir!r}")
    if output_dir is not None and not str(output_dir).strip():
        # Path("") is the working directory: its files would be mixed with the run's
        raise InputError("output_dir is empty: give a folder, or None to write no files")
    if output_dir is not None and shared_folder(output_dir):  # "." or "/", as "" above
        raise InputError(f"output_dir {str(output_dir)!r} is {shared_folder(output_dir)}: give "
                         "a folder of the run's own (its files would mix with the folder's others)")
    if output_dir is not None and str(output_dir).startswith("~"):  # made a folder named "~"
        raise InputError(f"output_dir {str(output_dir)!r} starts with '~', which only a shell "
                         "expands: give os.path.expanduser(...) or an absolute path")
    if not isinstance(progress, bool):  # "no" was taken as true
        kind = type(progress)  # numpy's boolean is named "bool" too: its module said
        raise InputError(f"progress must be True or False, got "
                         f"{'' if kind.__module__ == 'builtins' else kind.__module__ + '.'}"
                         f"{kind.__name__} {progress!r}")
    for text in overrides if isinstance(overrides, (list, tuple)) else ():
        key = text.split("=", 1)[0].lstrip("+~") if isinstance(text, str) else ""
        if key in ("hydra.run.dir", "hydra.sweep.dir"):  # unread: nothing was written, unsaid
            raise InputError("sim.run writes into its output_dir argument (None: no files), not "
                             "a Hydra folder: give output_dir=... instead", key=key)
        if key.startswith(("hydra.", "hydra/")) and key != "hydra.searchpath":
            raise InputError("sim.run runs no Hydra job (no launcher, sweeper, logging or "  # ran
                             "working-directory change), so it would be ignored silently; of "  # unsaid
                             "Hydra's keys only hydra.searchpath is read", key=key)
    with _ONE_AT_A_TIME, kept_settings(), np.printoptions(**NUMPY_PRINT):
        cfg = compose(overrides)
        return execute(cfg, output_dir, progress=progress, overrides=overrides,
                       notes=hydra_section.api_notes(_compose_raw, list(overrides or ())))


def compose(overrides: list[str] | None = None):
    """The config ``python -m sim <overrides>`` composes (``--cfg job`` prints it). A wrong
    key, type, option or override is an :class:`InputError` with the command line's one
    line."""
    check_working_dir()
    try:
        # a hydra.searchpath folder that is not there: an error, as on the command line (a
        # warning on stderr and a run without it before)
        with _ONE_AT_A_TIME, warnings.catch_warnings():
            warnings.filterwarnings("error", message=r"provider=hydra\.searchpath")
            with seeded_shuffle():  # a shuffle() parsed draws from Python's random
                check_once(override_list(overrides), Config, "in the overrides")
            return compose_config(overrides)
    except Exception as e:  # noqa: BLE001 - those from_config_error does not know go on
        err = from_config_error(e)
        if err is None:
            raise
        raise err from None


def _run_job(fn, cfg, out, reps: int, progress: bool) -> Result:
    if reps == 1:
        return fn(cfg, out, progress)
    # the first seed draws its figures into the folder (a study's own; until December 2026 a
    # generic TTFT CDF and timeline were drawn from its rows instead, pooling its variants)
    first = []

    def seed(c, _, prog):
        if first or out is None:
            return fn(c, None, prog)
        token = FIGURES_ONLY.set(True)
        try:
            first.append(fn(c, out, prog))
        finally:
            FIGURES_ONLY.reset(token)
        return first[0]

    res = run_replications(seed, cfg, reps, progress)
    res.notes[-1:-1] = fewer_seeds_notes(res.tables["replications"], reps)
    if out is not None:
        res.figures = list(first[0].figures)
        write_outputs(res, cfg, out, generic_plots=False)
    return res


def execute(cfg, out_dir=None, progress: bool = False, resume: bool = False,
            sweep_job: bool = False, job_key: str | None = None, overrides=None,
            notes=(), hydra_job: bool = False) -> Result:
    """Run ``cfg.job`` (``cfg.replications`` times, over consecutive seeds, when above 1).

    With ``out_dir``, the outputs are written there and ``done.json`` last. With ``resume``,
    a folder whose ``done.json`` matches this config is read back instead of recomputed.
    ``output.plots`` left unset (None) becomes ``not sweep_job``: one job of a sweep draws
    no figures of its own unless asked. ``job_key`` (a sweep job's, sim/sweep/resume.py) goes
    into ``done.json``. ``overrides`` (the ones ``cfg`` was composed from): refused when the
    job would not read them (:func:`sim.jobs.check_unread`). ``notes``: what the config
    says before the run (a sweep run as one job), put first in the run's notes with the
    variant's (:func:`run_notes`), whether files are written or not. ``hydra_job``: run by
    Hydra (``python -m sim``), which wrote its own files in ``out_dir``; else those of an
    earlier command-line run there are cleared with its outputs.
    """

    next_run()  # readers see the files as they are now (sim/filecache.py)
    if out_dir is not None and not sweep_job:
        refuse_sweep_folder(Path(out_dir))
    name = cfg.job
    JOBS = _known_job(name)
    cfg = expand_tenants(cfg)  # tenants generated from data (tenants_from), once
    if cfg.output.plots is None:
        cfg.output.plots = not sweep_job
    with typed_once(cfg):  # converted to its dataclasses once, not once per build
        notes_set = RUN_NOTES.set(tuple(notes))
        try:
            return _execute(JOBS, name, cfg, out_dir, progress, resume, job_key, overrides,
                            hydra_job)
        finally:
            RUN_NOTES.reset(notes_set)


def refuse_sweep_folder(out: Path) -> None:
    """A single run into a sweep's folder: refused (until December 2026 it replaced the
    sweep's summary.csv and report.md and left its summary.md, jobs.csv, figures and job
    folders beside them, unsaid, and a later re-aggregation replaced the run's files)."""
    if not check_new_folder(out):
        return
    marks_of = [n for n in ("multirun.yaml", ".sweep_jobs.json") if (out / n).is_file()]
    if marks_of:
        raise InputError(f"is a sweep's folder (it holds {marks_of[0]}): a run there would "
                         "write over the sweep's summary and leave its job folders and "
                         "summary.md beside its own files; give the run a folder of its own",
                         path=str(out))


def check_new_folder(out: Path) -> bool:
    """A name too long or a path through a file: the command line's one line (Hydra's mkdir
    said it), before anything is made (Path.is_file raised the OSError, a traceback, and a
    missing parent was made before the too-long name under it failed). True when ``out``
    exists."""
    missing = []
    for p in (out, *out.parents):
        try:
            p.stat()
        except FileNotFoundError:
            missing.append(p.name)
            continue
        except ValueError:  # a NUL byte: prepare_folder says it
            return False
        except OSError as e:
            raise InputError(f"cannot write the run folder ({e.strerror})", path=str(out)) from None
        limit = os.pathconf(p, "PC_NAME_MAX") if p.is_dir() else 255
        if any(len(os.fsencode(n)) > limit for n in missing):
            raise InputError(f"cannot write the run folder ({os.strerror(errno.ENAMETOOLONG)})",
                             path=str(out))
        return not missing
    return False


def _known_job(name) -> dict:
    JOBS = discover()  # the modules are imported already: this returns the registry
    if name not in JOBS:
        raise InputError(f"unknown job {name!r}; known: {', '.join(sorted(JOBS))}", key="job")
    return JOBS


def validate(cfg, overrides) -> None:
    """The checks a run makes of ``cfg`` (composed from ``overrides``) before any work,
    without running it: ``python -m sim --cfg job`` makes them before it prints the config."""
    next_run()
    name = cfg.job
    _known_job(name)
    cfg = expand_tenants(cfg)
    with typed_once(cfg):
        _check(name, cfg)
        check_unread(name, overrides)
        check_own_settings(name, cfg, overrides)


def _check(name, cfg) -> None:
    # every key of the config (the job's own ranges too), before any work; the tenants too
    # unless the job builds its own scenarios
    if str(cfg.output.percentiles) != "exact" and name != "simulate":
        # the other jobs compare runs' percentiles (and say none of a sketch's bound)
        raise InputError("approximate percentiles are for the simulate job's summary; the "
                         f"{name} job compares runs by their exact percentiles",
                         key="output.percentiles")
    try:
        build(AS_RUN[name](cfg) if name in AS_RUN else cfg, workload=name not in OWN_SCENARIOS)
        if name not in OWN_SCENARIOS:
            check_objective(cfg)
            check_unchosen(cfg)
        if name in CHECKS:
            CHECKS[name](cfg)
    except InputError as e:  # a value a variant set: say which variant
        raise blame_variant(cfg, e) from None


def _execute(JOBS, name, cfg, out_dir, progress, resume, job_key, overrides,
             hydra_job) -> Result:
    _check(name, cfg)
    check_unread(name, overrides)
    check_own_settings(name, cfg, overrides)
    reps = int(cfg.replications)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        prepare_folder(out, skip=(() if cfg.output.plots is not False else ("plots",))
                       + (() if cfg.output.parquet else ("requests.parquet",)))
        if resume:
            done = marks.load_finished(out, cfg)
            if done is not None:
                marks.set_job_key(out, job_key)  # read back for other overrides: theirs now
                return done
        marks.clear(out, hydra_files=not hydra_job)
    t0 = time.perf_counter()
    # file times are coarser than the clock: a second of slack (the folder was just cleared)
    t0_ns = time.time_ns() - 1_000_000_000
    given = GIVEN.set(tuple(overrides or ()))
    try:
        with recording(with_variant(cfg, overrides or ()), experiment_keys(cfg, overrides or ())):
            res = _run_job(JOBS[name], cfg, out, reps, progress)
            add_run_notes(res, cfg)  # written into report.md already when out is given
    except BaseException as e:  # interrupted, bad input met mid-run, or a bug: mark the folder
        if out is not None:
            why = ("interrupted (SIGINT or SIGTERM) before the run finished; re-run to redo it"
                   if isinstance(e, KeyboardInterrupt) else f"InputError: {e}"
                   if isinstance(e, InputError) else traceback.format_exc())
            marks.record_failure(out, why, t0_ns)
        raise
    finally:
        GIVEN.reset(given)
    if not len(res.summary.columns):  # a job without summary rows (a plan buying nothing,
        # calibration, claims): the columns its summary.csv has, where Result.summary had none
        res.summary = pd.DataFrame(columns=SUMMARY_COLUMNS)
    if out is not None:
        res.out_dir = str(out)
        marks.mark_done(out, cfg, objective_value(res.summary, cfg), time.perf_counter() - t0,
                        t0_ns, job_key, res.notes)
    return res
