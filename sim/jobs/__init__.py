"""The job registry: ``cfg.job`` names a function registered here with :func:`job`.

A job is one module (or package) in this folder with a decorated function
``fn(cfg, out_dir, progress) -> Result`` and, if it has knobs of its own, a config
dataclass passed to the decorator: it becomes the config key named like the job
(``breakeven.load_fractions``, ``claims.quick`` ...), and a ``check`` of its keys' cross-key
rules. The app checks the whole config (:func:`sim.simulation.build.build`) and then the
job's own keys before running it. :func:`discover` imports every module of the folder, so
a new job needs no other edit.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
from typing import Callable

from sim.config.given import GIVEN  # noqa: F401 - the jobs read it from here

JOBS: dict[str, Callable] = {}
CONFIGS: dict[str, type] = {}  # job name (= its config key) -> config dataclass
CHECKS: dict[str, Callable] = {}  # job name -> check(cfg) of its own keys' cross-key rules
# jobs that compose their own scenarios (calibration rows, claims' experiments) and never run
# the config's tenants: their config needs none. Each maps to the top-level keys it reads
# besides its own key and READ_BY_EVERY_JOB, and a hint for the keys it does not read
OWN_SCENARIOS: dict[str, tuple[tuple[str, ...], str]] = {}
# what every job honours: how its run is named, written and repeated, and Hydra's own keys
READ_BY_EVERY_JOB = ("experiment", "job", "name", "notes", "output", "replications", "variant",
                     "variants", "hydra")
# jobs that choose their setups themselves: name -> (the ``setups`` value they run as given,
# what they run instead); and the keys a job sets itself in each of its runs: name -> sets(cfg),
# {dotted key, or "key=value" when that value alone is replaced: what the job does instead}.
# An override of either would be ignored or replaced unsaid: check_own_settings
OWN_SETUPS: dict[str, tuple] = {}
SETS: dict[str, Callable] = {}
# jobs that run the config with some keys replaced: name -> as_run(cfg), the config as the
# job's first run has it, which the checks before any work build (prefix_cache replays its
# traces as the tenant's path, so the experiment's own path is never read)
AS_RUN: dict[str, Callable] = {}


def job(name: str, config: type | None = None, check: Callable | None = None,
        own_scenarios: bool = False, reads: tuple[str, ...] = (), hint: str = "",
        own_setups: tuple | None = None, sets: Callable | None = None,
        as_run: Callable | None = None):
    """Register ``fn`` as the job ``name``, with ``config`` as the schema of key ``name``
    (its numbers' ranges declared on the fields, :mod:`sim.config.rules`) and ``check(cfg)``
    for rules that involve other keys; both are applied before the job runs.
    ``own_scenarios``: the job composes its own configs and ignores ``tenants``; ``reads``
    the other top-level keys it takes from the run's config (an override of any other key
    is refused, :func:`check_unread`), ``hint`` what to do instead. ``own_setups``: ``(runs,
    text)``, the setups the job runs whatever ``setups`` says (a tuple, or a function of the
    config) and how to say them: a ``setups`` override giving others is refused; ``sets(cfg)``: keys it sets itself in every run ({key: how}),
    refused when given. ``as_run(cfg)``: the config the checks before any work build instead
    of ``cfg`` (the keys the job replaces in its runs, replaced)."""
    def deco(fn):
        if name in JOBS and JOBS[name] is not fn:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = fn
        if config is not None:
            CONFIGS[name] = config
        if check is not None:
            CHECKS[name] = check
        if own_scenarios:
            OWN_SCENARIOS[name] = ((name, *reads), hint)
        if own_setups is not None:
            OWN_SETUPS[name] = own_setups
        if sets:
            SETS[name] = sets
        if as_run is not None:
            AS_RUN[name] = as_run
        return fn
    return deco


def check_unread(name: str, overrides) -> None:
    """An override the job ``name`` would not read (``tenants.x={...}`` for ``claims``, which
    composes its scenarios from experiment files; ``plan.tp=[1]`` for any job but ``plan``): an
    InputError naming the first, listing all, instead of a run that ignores them silently. Jobs
    that run the config itself read the rest of it."""
    from sim.errors import InputError

    for t in overrides or ():
        key = t.lstrip("+~").split("=", 1)[0]
        top = re.split(r"[./@]", key)[0]
        if top in CONFIGS and top != name:
            raise InputError(f"read by the {top} job only (experiment={top}, or job={top}); this "
                             f"run's job is {name}, so it would be ignored silently", key=key)
    if name not in OWN_SCENARIOS:
        return
    reads, hint = OWN_SCENARIOS[name]
    keys = [t.lstrip("+~").split("=", 1)[0] for t in overrides or ()]
    unread = list(dict.fromkeys(k for k in keys if re.split(r"[./@]", k)[0]
                                not in (*reads, *READ_BY_EVERY_JOB)))
    if unread:
        raise InputError(f"not read by the {name} job, which builds its own scenarios (so "
                         f"{', '.join(unread)} would be ignored silently): of the run's config it "
                         f"reads {', '.join(reads)}, name and output only"
                         f"{'; ' + hint if hint else ''}", key=unread[0])


def check_own_settings(name: str, cfg, overrides) -> None:
    """An override of ``setups`` for a job that chooses its own setups (``job=burst
    setups=[serverless]`` ran the dedicated setup, unsaid), or of a key the job sets itself in
    every run (``job=keepalive serverless.keepalive.idle_s=30``, overwritten by each policy):
    an InputError naming it."""
    from omegaconf import OmegaConf

    from sim.config.repeats import leaf_keys
    from sim.errors import InputError

    for text in overrides or ():
        for key in (k.lstrip("+") for k in leaf_keys(text)):
            if key == "setups" and name in OWN_SETUPS:
                spec, runs = OWN_SETUPS[name]
                got = [str(s) for s in cfg.setups]
                # what the job runs (until December 2026 one fixed list for every job, so
                # experiment=plan setups=[dedicated] ran its placements with setups ignored)
                if got != (list(spec(cfg)) if callable(spec) else list(spec)):
                    raise InputError(f"the {name} job runs {runs}, whatever setups says, so {got} "
                                     "would be ignored silently (job=simulate runs the setups "
                                     "listed)", key="setups")
            for own, how in (SETS[name](cfg) if name in SETS else {}).items():
                own, _, only = own.partition("=")  # "key=value": that value alone is replaced
                if (key == own or key.startswith(own + ".")) and (
                        not only or str(OmegaConf.select(cfg, own)) == only):
                    raise InputError(f"the {name} job sets this itself in each of its runs, so the "
                                     f"value given would be replaced unsaid; {how}", key=key)
    if name in SETS:  # the same keys set by an experiment file (or a variant), not typed
        _check_file_settings(name, cfg)


def _check_file_settings(name: str, cfg) -> None:
    """A key the job ``name`` sets itself whose value in ``cfg`` differs from the schema's
    default (``job: keepalive`` with ``serverless.keepalive: {kind: hybrid}`` in an experiment
    file): an InputError naming it, as on the command line (the value was replaced unsaid)."""
    from omegaconf import OmegaConf

    from sim.errors import InputError

    for own, how in SETS[name](cfg).items():
        own, _, only = own.partition("=")
        parent, _, leaf = own.rpartition(".")  # its default: the field's, in its node's schema
        node, got = OmegaConf.select(cfg, parent), OmegaConf.select(cfg, own)
        if not dataclasses.is_dataclass(OmegaConf.get_type(node)):  # not in the config: unset
            continue
        default = getattr(OmegaConf.structured(OmegaConf.get_type(node)), leaf)
        got, default = (OmegaConf.to_container(c, resolve=True) if OmegaConf.is_config(c) else c
                        for c in (got, default))
        if str(got) != str(default) and (not only or str(got) == only):
            raise InputError(f"set to {got} by the config (an experiment file), but the {name} "
                             f"job sets this itself in each of its runs, so that value would be "
                             f"replaced unsaid; {how} (leave it out of the file)", key=own)


def check_distinct(cfg, *keys: str, nonempty: bool = True) -> None:
    """Each list ``keys`` of a job's config (dotted) holds no value twice (the job would run it
    twice, or merge the two silently) and, with ``nonempty``, at least one value."""
    from omegaconf import OmegaConf

    from sim.errors import InputError

    for key in keys:
        values = list(OmegaConf.select(cfg, key) or [])
        if nonempty and not values:
            raise InputError("needs at least one value", key=key)
        # numbers compared by value: -0.0 is 0.0 (keepalive.fixed_idle_s=[0.0,-0.0] ran one
        # timeout twice, the second labelled "-0 s"; a background level merged unsaid)
        seen = [repr(float(v) + 0.0) if isinstance(v, (int, float)) and not isinstance(v, bool)
                else str(v) for v in values]
        twice = next((i for i, v in enumerate(seen) if v in seen[:i]), None)
        if twice is not None:  # the repeat named by its index, as a wrong entry is
            first = seen.index(seen[twice])
            raise InputError(f"{values[twice]} is given twice in {values}"
                             + (f" (the same number as {values[first]})"
                                if str(values[first]) != str(values[twice]) else ""),
                             key=f"{key}[{twice}]")


def discover() -> dict[str, Callable]:
    """Import every job module of this package (recursively) and return the registry."""
    for info in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        importlib.import_module(info.name)
    return JOBS
