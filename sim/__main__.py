"""``python -m sim [experiment=NAME] [key=value ...]``: the Hydra application.

One run prints the comparison table. In a multirun (``-m``) each job writes its folder and
prints one line; a job that fails writes ``error.txt`` instead of stopping the sweep, and a
job whose folder already holds its finished result (``done.json``) is not recomputed. The
value returned to the sweeper is the job's objective (``sim/sweep/objective.py``), which an
optimising sweeper minimises.

Exit status: 0 done; 2 bad input (one line ``error: <key or file:line>: <message>``, no
traceback), also for a sweep whose every failed job failed on bad input; 1 a sweep with a
job that hit a bug (its traceback is in that job's ``error.txt``) or whose worker process
was killed; 130 interrupted (SIGINT
or SIGTERM: finished jobs keep their ``done.json``, so re-running the same command resumes).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import sys
import time
import traceback
import warnings
from multiprocessing import TimeoutError as MpTimeoutError
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

import sim.app  # noqa: F401  (registers the schema, with every job's config)
from sim import cli_help
from sim.app import check_working_dir, execute
from sim.config import (
    apply_variant_in_app,
    expand_command_line,
    seeded_shuffle,
    variant_split,
)
from sim.config.messages import from_config_error
from sim.config.variants import replaced_notes, unswept_note
from sim.errors import InputError, WorkerLost, stdout_closed, stdout_may_close
from sim.hydra_rules import HYDRA_RULES
from sim.io import remove_empty_up_to_cwd, shared_folder
from sim.report.console import print_result
from sim.sweep.aggregate import ARGV, LAST_SWEEP
from sim.sweep.objective import describe_objective, objective_value
from sim.sweep.resume import ERROR, clear, job_key, read_done, record_failure

log = logging.getLogger("sim")
_STARTED_NS = time.time_ns()


def _drop_empty_run_folder(out_dir: str) -> None:
    """A single run that stopped on bad input leaves no folder behind: remove what Hydra made
    for it (``.hydra/`` and the log, written by this process) and the folder if then empty."""
    d = Path(out_dir)
    made = [d / ".hydra", *d.glob("*.log")]
    others = [p for p in d.iterdir() if p not in made] if d.is_dir() else [d]
    if others or any(p.stat().st_mtime_ns < _STARTED_NS - 1_000_000_000 for p in made if p.exists()):
        return
    for p in made:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    # then the parents Hydra made for it (``results/<name>/``) that are left empty, up to
    # the folder the command ran in
    remove_empty_up_to_cwd(d)


def _task(hc) -> list[str]:
    """The job's overrides as typed: reading Hydra's list resolves a ``${...}`` in their text
    (``horizon_s=${nope}`` failed there, with a message naming no key)."""
    from omegaconf import OmegaConf

    return list(OmegaConf.to_container(hc.overrides.task, resolve=False))


def _apply_variant(cfg, hc):
    """``cfg`` with its ``variant`` applied (sim/config/variants.py): composed again from the
    job's overrides, the variant's spliced in; a bad variant key is an InputError."""
    try:
        return apply_variant_in_app(cfg, _task(hc), hc.job.config_name)
    except InputError:
        raise
    except Exception as e:
        err = from_config_error(e)
        if err is None:
            raise
        raise err from None


@hydra.main(version_base="1.3", config_path="pkg://sim.conf", config_name="config")
def app(cfg):
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    if hc.mode != RunMode.MULTIRUN:
        from omegaconf import OmegaConf

        swept = OmegaConf.select(hc, "sweeper.params", default=None)
        # a sweep experiment run without -m: what it did not sweep, in the run's notes
        # (report.md too; until December 2026 printed here alone) and printed with them, as
        # a variant's replaced value is (printed here too until then: twice)
        note = unswept_note(list(swept or ()), _task(hc))
        try:
            cfg = _apply_variant(cfg, hc)
            res = execute(cfg, out_dir, progress=bool(cfg.output.progress),
                          overrides=_task(hc), notes=[note.removeprefix("note: ")] if note else (),
                          hydra_job=True)
            value = objective_value(res.summary, cfg)
        except Exception as e:
            # a config error met inside a job (a study's own list of overrides, composed or
            # set there): one line here, before Hydra adds its "Error executing job" line
            err = e if isinstance(e, InputError) else from_config_error(e)
            if err is None:
                raise
            _drop_empty_run_folder(out_dir)
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        try:
            print_result(res, cfg)
        except BrokenPipeError:  # | head: the folder is written; not a failed job
            stdout_closed()
        return value
    # one job of a sweep: never take the sweep down, leave the reason in the job's folder
    label = f"job {hc.job.num} ({' '.join(_task(hc))})"
    t_start = time.time_ns()
    try:
        cfg = _apply_variant(cfg, hc)
        for n in replaced_notes(cfg, _task(hc)):
            print(f"{label}: note: {n}")
        key = job_key(hc.job.config_name, _task(hc), hc.runtime.config_sources)
        res = execute(cfg, out_dir, progress=False, resume=bool(cfg.output.resume),
                      sweep_job=True, job_key=key, overrides=_task(hc), hydra_job=True)
        value = _objective(res, cfg, out_dir)
    except InputError as e:
        _record_refusal(out_dir, t_start, f"InputError: {e}")  # stopped before it ran: why
        print(f"{label}: error: {e}", file=sys.stderr)
        return math.inf
    except Exception:  # a bug: its traceback is in the job's error.txt (written by execute)
        _record_refusal(out_dir, t_start, traceback.format_exc())
        print(f"{label}: failed, see {out_dir}/{ERROR}", file=sys.stderr)
        return math.inf
    state = "already finished" if _read_back(res) else "done"
    extra = (f", objective {value:.6g} = {describe_objective(cfg)}" if value is not None
             else "")
    print(f"{label}: {state}{extra}")
    return value


def _read_back(res) -> bool:
    return any("not recomputed" in n for n in res.notes)


def _objective(res, cfg, out_dir) -> float | None:
    """The job's objective: for a finished job read back, the exact value its ``done.json``
    records (as the grid sweeper's skip does); its summary.csv holds 9 significant digits, so
    a re-run or resumed Optuna study returned 0.171698803 where the run had 0.1716988030063487
    (its best_value changed, and TPE's history took the rounded values)."""
    done = read_done(Path(out_dir)) if _read_back(res) else None
    recorded = (done or {}).get("objective", "")
    if recorded is None or type(recorded) in (float, int):  # else damaged or absent: computed
        return recorded
    return objective_value(res.summary, cfg)


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _register_sweeper() -> None:
    """Hydra finds plugins by walking the folders of the ``hydra_plugins`` package, which
    misses ours (the sweeper; the Ray launcher that keeps SIGTERM an interrupt) when ``pip install -e .`` maps it by an import hook instead of a folder on the
    path (the sweep then fails with "Unknown plugin class"): register it by hand."""
    from hydra.core.plugins import Plugins

    plugins = Plugins.instance()  # first: its scan re-executes Hydra's own plugin modules
    from hydra_plugins.servesim_sweeper.grid import GridSweeper
    from hydra_plugins.servesim_sweeper.ray_launcher import _PluginRayLauncher

    plugins.register(GridSweeper)
    if _PluginRayLauncher is not None:  # the Ray extra is installed
        from hydra_plugins.servesim_sweeper.ray_launcher import RayLauncher

        plugins.register(RayLauncher)


def _check_flags(argv: list[str]) -> None:
    """Hydra's own flags (``--cfg``, ``-m`` ...) parsed as ``hydra.main`` will parse them, but
    a bad one is the project's one line and exit status 2 (argparse prints its usage block)."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message: str):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)

    parser.error = error
    args = parser.parse_args(argv)
    modes = [f for f, on in (("--run", args.run), ("--multirun", args.multirun),
                             ("--cfg", args.cfg is not None), ("--info", args.info is not None),
                             ("--shell-completion", args.shell_completion)) if on]
    if len(modes) > 1:  # Hydra raises a ValueError (a traceback) for these
        error(f"{', '.join(modes)}: give only one of --run, --multirun (-m), --cfg, --info and "
              "--shell-completion")
    if args.shell_completion:
        _check_completion(args.overrides, error)
    cp = args.config_path
    if cp is not None and not cp.startswith("pkg://"):  # Hydra: "Primary config directory not found."
        folder = Path(cp) if Path(cp).is_absolute() else Path(__file__).parent / cp
        if not folder.is_dir():
            error(f"--config-path {cp}: no such folder ({folder}; a relative path is read from "
                  "the sim package's folder)")
    cd = args.config_dir  # Hydra: "Additional config directory ... not found", naming no flag
    if cd is not None and not Path(cd).is_dir():
        error(f"--config-dir {cd}: " + ("not a folder" if Path(cd).exists() else "no such folder"))
    if args.package is not None and args.cfg is None:  # Hydra reads it with --cfg alone
        error(f"--package {args.package}: selects what --cfg prints; give it with --cfg")
    if args.experimental_rerun is not None:  # Hydra ignores every other argument, with a warning
        error(f"--experimental-rerun {args.experimental_rerun}: not supported (runs write no "
              "config.pickle); re-run the command in the run folder's .hydra/overrides.yaml, or "
              "a sweep's command.txt")
    from hydra.core.override_parser.overrides_parser import OverridesParser

    slurm = [o for o in args.overrides if o in ("hydra/launcher=slurm", "hydra/launcher=submitit_slurm")]
    if slurm and args.multirun and shutil.which("srun") is None:  # submitit's RuntimeError
        error(f"config key 'hydra/launcher': {slurm[-1]} submits with srun, which this machine "
              "does not have (not a Slurm cluster): use joblib (the default), basic or ray")
    for text in args.overrides:
        key = text.split("=", 1)[0]
        if key not in ("hydra.run.dir", "hydra.sweep.dir", "hydra.output_subdir", *HYDRA_RULES):
            continue
        try:
            value = OverridesParser.create().parse_override(text).value()
        except Exception:  # Hydra reports an unparsable override itself
            continue
        if key == "hydra.output_subdir":  # a sweep's jobs are found by .hydra/overrides.yaml
            if args.multirun and value != ".hydra":  # a sweep of "0 of 0 jobs", exit 0
                error(f"config key '{key}': a sweep finds, resumes and aggregates its jobs by "
                      f"their .hydra/ folders: keep the default .hydra, got {value!r}")
        elif key in HYDRA_RULES:
            ok, why = HYDRA_RULES[key]
            if not ok(value):
                error(f"config key '{key}': {why}, got {value!r}")
        elif isinstance(value, str) and not value.strip():  # Hydra takes "" for the cwd
            error(f"config key '{key}': empty: give a folder for the "
                  "run's files (\"\" would mix them with the working directory's)")
        elif isinstance(value, str) and shared_folder(value):  # "." or "/": the same mix
            error(f"config key '{key}': {value!r} is {shared_folder(value)}: give a folder "
                  "of the run's own (its files would mix with the folder's others)")


SHELLS = ("bash", "zsh", "fish")  # Hydra's completion plugins


def _check_completion(overrides: list[str], error) -> None:
    """``--shell-completion`` (``-sc``) needs one of ``install=``, ``uninstall=`` or
    ``query=`` a shell Hydra has a plugin for; a query is the shell's own call, with
    ``COMP_LINE`` set (Hydra raised a ValueError or a KeyError for each, tracebacks)."""
    given = [o.split("=", 1) for o in overrides if "=" in o]
    actions = [(k, v) for k, v in given if k in ("install", "uninstall", "query")]
    if len(actions) != 1 or len(given) != len(overrides) or len(given) != 1:
        error(f"--shell-completion: give one of install=SHELL, uninstall=SHELL or query=SHELL "
              f"(SHELL: {', '.join(SHELLS)}), got {' '.join(overrides) or 'nothing'}")
    what, shell = actions[0]
    if shell not in SHELLS:
        error(f"--shell-completion: {what}={shell}: no completion for {shell!r}; known: "
              f"{', '.join(SHELLS)}")
    if what == "query" and "COMP_LINE" not in os.environ:
        error(f"--shell-completion: query={shell} is the shell's own call as you press Tab "
              f"(COMP_LINE is unset); install it with install={shell}")


def _check_cfg(argv: list[str]) -> bool:
    """``--cfg job`` (or ``all``): the config is checked as a run checks it before any work
    (:func:`sim.app.validate`; until December 2026 ``horizon_s=-1`` printed); with
    ``--package P``, P must name a node of the composed config (Hydra printed "package 'P'
    not found in config" and exited 1). A config of another ``--config-dir``, ``--config-path``
    or ``--config-name`` is printed unchecked (composed here it would be the package's).

    With ``variant=NAME``, ``--cfg job`` prints the config composed here, the variant applied
    as the run applies it (Hydra printed it without: True is returned, Hydra is not called),
    in Hydra's layout; ``--cfg all`` prints Hydra's, and says the variant is not in it."""
    from hydra._internal.utils import get_args_parser
    from omegaconf import OmegaConf

    from sim.app import validate
    from sim.config import compose

    args = get_args_parser().parse_args(argv)
    if args.cfg not in ("job", "all") or (args.config_dir, args.config_path, args.config_name) != (None,) * 3:
        return False
    overrides = [o for o in args.overrides if not o.startswith("hydra.") or o.startswith("hydra.searchpath=")]
    with warnings.catch_warnings():  # a hydra.searchpath folder that is not there: an error
        warnings.filterwarnings("error", message=r"provider=hydra\.searchpath")
        cfg = compose(overrides)
    validate(cfg, [o for o in overrides if not o.startswith("hydra.")])
    package = None if args.package in (None, "_global_") else args.package
    node = cfg if package is None else OmegaConf.select(cfg, package, default=None)
    if package is not None and args.cfg == "job" and node is None:
        print(f"error: --package {args.package}: no such key in the composed config (a dotted "
              f"key such as tenants.chat)", file=sys.stderr)
        sys.exit(2)
    if variant_split(cfg, overrides) is None:
        return False
    if args.cfg == "all":
        print("note: --cfg all prints the config before its variant is applied; --cfg job "
              "prints it as the run takes it", file=sys.stderr)
        return False
    if not OmegaConf.is_config(node):  # a leaf, as Hydra prints one
        print(node)
        return True
    if args.resolve:
        OmegaConf.resolve(node)
    sys.stdout.write((f"# @package {package}\n" if package else "") + OmegaConf.to_yaml(node))
    return True


def _record_refusal(out_dir, t_ns: int, text: str) -> None:
    """A sweep job that failed: unless its run wrote its own ``error.txt`` since ``t_ns``, it
    stopped before it ran, so the files an earlier run left in the folder (and its
    ``error.txt``) are removed and ``text`` recorded, the folder holding this job alone
    (until December 2026 a job refused on a re-run kept the earlier run's summary.csv and
    report.md beside its error.txt, or the earlier error.txt instead of its own)."""
    p = Path(out_dir) / ERROR
    if p.is_file() and p.stat().st_mtime_ns >= t_ns:
        return
    clear(Path(out_dir))
    record_failure(out_dir, text)




def main() -> None:
    if cli_help.wanted(sys.argv[1:]):
        with stdout_may_close():
            print(cli_help.text())
        return
    _register_sweeper()
    # Hydra prints composition errors (a wrong key, type or option, in a run or in a sweep's
    # values) over several lines and exits 1; let them reach us instead and print one line
    # naming the key, exit 2, like every other input error. A user who sets
    # HYDRA_FULL_ERROR=1 still gets Hydra's full traceback.
    own = "HYDRA_FULL_ERROR" not in os.environ
    if own:
        os.environ["HYDRA_FULL_ERROR"] = "1"
    signal.signal(signal.SIGTERM, _interrupt)  # a scheduler's stop ends the run like Ctrl-C
    ARGV[:] = sys.argv[1:]  # the sweep's recorded command, as typed
    try:
        check_working_dir()
        # tenants={...} replaces the experiment's tenants; <map>.<name>={...} adds an entry
        sys.argv[1:] = expand_command_line(sys.argv[1:])
        _check_flags(sys.argv[1:])
        with warnings.catch_warnings():  # a hydra.searchpath folder that is not there: an error
            warnings.filterwarnings("error", message=r"provider=hydra\.searchpath")
            with seeded_shuffle():  # Hydra's shuffle(): the same order for the same command
                if not _check_cfg(sys.argv[1:]):
                    app()
    except KeyboardInterrupt:
        print("interrupted: finished runs keep their done.json, unfinished ones have none (and "
              "an error.txt saying so where their process could write it); re-run the same "
              "command (a sweep: with hydra.sweep.dir=<its folder>) to resume", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # stdout closed by its reader (| head)
        stdout_closed()
    except WorkerLost as e:  # joblib's TerminatedWorkerError, its jobs marked (sim/sweep/skip.py)
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:
        err = e if isinstance(e, InputError) else from_config_error(e)
        if own and err is None and isinstance(e, OSError) and e.filename:  # Hydra's mkdir
            err = f"{e.filename}: cannot write the run folder ({e.strerror})"
        if own and err is None and isinstance(e, MpTimeoutError):  # joblib's, as it expired
            err = ("config key 'hydra.launcher.timeout': a job ran longer than it allows "
                   "(finished jobs keep their done.json; re-run with a longer one to resume)")
        if not own or err is None:
            raise
        if "Cannot find primary config" in str(err) or "Primary config module" in str(err):
            err = f"--config-name/--config-path: {err}"  # Hydra's, naming no flag
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    finally:
        ARGV.clear()
        if own:
            os.environ.pop("HYDRA_FULL_ERROR", None)
    if LAST_SWEEP.get("failed"):
        sys.exit(2 if LAST_SWEEP.get("input_errors") == LAST_SWEEP["failed"] else 1)


if __name__ == "__main__":
    main()
