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

import importlib
import pkgutil
from typing import Callable

JOBS: dict[str, Callable] = {}
CONFIGS: dict[str, type] = {}  # job name (= its config key) -> config dataclass
CHECKS: dict[str, Callable] = {}  # job name -> check(cfg) of its own keys' cross-key rules
# jobs that compose their own scenarios (calibration rows, claims' experiments) and never run
# the config's tenants: their config needs none
OWN_SCENARIOS: set[str] = set()


def job(name: str, config: type | None = None, check: Callable | None = None,
        own_scenarios: bool = False):
    """Register ``fn`` as the job ``name``, with ``config`` as the schema of key ``name``
    (its numbers' ranges declared on the fields, :mod:`sim.config.rules`) and ``check(cfg)``
    for rules that involve other keys; both are applied before the job runs.
    ``own_scenarios``: the job composes its own configs and ignores ``tenants``."""
    def deco(fn):
        if name in JOBS and JOBS[name] is not fn:
            raise ValueError(f"job {name!r} registered twice")
        JOBS[name] = fn
        if config is not None:
            CONFIGS[name] = config
        if check is not None:
            CHECKS[name] = check
        if own_scenarios:
            OWN_SCENARIOS.add(name)
        return fn
    return deco


def discover() -> dict[str, Callable]:
    """Import every job module of this package (recursively) and return the registry."""
    for info in pkgutil.walk_packages(__path__, prefix=__name__ + "."):
        importlib.import_module(info.name)
    return JOBS
