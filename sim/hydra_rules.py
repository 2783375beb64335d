"""Hydra's own keys whose bad values its plugins meet with a traceback or a silent mix-up:
each with its check and the message when it fails (the command line reads them,
sim/__main__.py, before Hydra's launcher or sweeper sees them)."""

from __future__ import annotations

import os
import re


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


CORES = os.cpu_count() or 1
HYDRA_RULES = {
    # each worker is a process of about 150 MB: 1,000 of them on 2 cores ran a 2-job sweep
    # past 2 minutes (an assumption: beyond 4 a core they only contend); joblib took -1000
    # for 1, unsaid
    "hydra.launcher.n_jobs": (lambda v: not _whole(v) or (v != 0 and -CORES <= v <= 4 * CORES),
                              f"must be the number of jobs run at once, 1 to {4 * CORES} (4 a "
                              f"core, {CORES} cores here), or -1 to -{CORES} (-1: one a core, -2: "
                              "all but one ...)"),
    # Hydra's joblib launcher sets backend=loky whatever is given (another was ignored,
    # unsaid); joblib refuses a batch size below 1, and a timeout <= 0 expires at once (both
    # tracebacks)
    "hydra.launcher.backend": (lambda v: v in (None, "loky"),
                               "Hydra's joblib launcher always uses loky (another is ignored)"),
    "hydra.launcher.batch_size": (lambda v: v == "auto" or (_whole(v) and v >= 1),
                                  "must be 'auto' or a whole number >= 1"),
    "hydra.launcher.timeout": (lambda v: v is None or (isinstance(v, (int, float))
                                                        and not isinstance(v, bool) and v > 0),
                               "must be null (no limit) or a number of seconds > 0"),
    "hydra.sweeper.n_trials": (lambda v: not _whole(v) or v >= 1,
                               "an optimising sweep needs at least one trial"),
    # Optuna's sweeper divided by the trials of a batch of 0 (a ZeroDivisionError traceback)
    "hydra.sweeper.n_jobs": (lambda v: not _whole(v) or v >= 1,
                             "must be the trials run at once, a whole number >= 1"),
    # every job's value is a cost plus a penalty for a missed SLO (sim/sweep/objective.py):
    # maximised, the search chose the worst SLO miss as the best trial, unsaid
    "hydra.sweeper.direction": (lambda v: v is None or v == "minimize",
                                "must be minimize: each job's value is its cost plus a penalty "
                                "for a missed SLO, lower is better"),
    # the twelfth sweep: joblib's ValueError or KeyError tracebacks for these (prefer=threads
    # and a mmap_mode it does not know were ignored: loky is always set, unsaid)
    "hydra.launcher.prefer": (lambda v: v in (None, "processes"),
                              "Hydra's joblib launcher always runs jobs in loky processes"),
    "hydra.launcher.pre_dispatch": (lambda v: (_whole(v) and v >= 1) or (isinstance(v, str) and re.fullmatch(
        r"all|(\d+\s*\*\s*)?n_jobs", v.strip()) is not None),
        "must be a whole number >= 1, 'all', 'n_jobs' or 'K*n_jobs'"),
    "hydra.launcher.max_nbytes": (lambda v: v is None or (_whole(v) and v >= 0) or (
        isinstance(v, str) and re.fullmatch(r"\d+[KMG]", v.strip()) is not None),
        "must be null, a byte count >= 0 or a size such as '1M'"),
    "hydra.launcher.mmap_mode": (lambda v: v in (None, "r+", "r", "w+", "c"),
                                 "must be null, r+, r, w+ or c"),
    "hydra.sweeper.max_batch_size": (lambda v: v is None or not _whole(v) or v >= 1,
                                     "must be null or a whole number >= 1"),
    # Hydra's logging setup asserts these (an AssertionError traceback)
    "hydra.verbose": (lambda v: isinstance(v, (bool, str)) or (isinstance(v, list) and all(
        isinstance(x, str) for x in v)), "must be true, false, a logger's name or a list of them"),
    # the job's log file is <run folder>/<name>.log: a '/' names a folder that is not there
    "hydra.job.name": (lambda v: not isinstance(v, str) or ("/" not in v and "\\" not in v),
                       "names the job's log file: no '/' or '\\'"),
    # each job needs a folder of its own inside the sweep's: ${hydra.job.num} (the default)
    "hydra.sweep.subdir": (lambda v: not isinstance(v, str) or (
        "${" in v and not v.startswith("/") and ".." not in v.replace("\\", "/").split("/")),
        "must give each job its own folder inside the sweep's (an interpolation such as "
        "${hydra.job.num}, not absolute, no '..'): else jobs write over one another"),
}
