"""Resolving data paths given in config (traces, rate curves, PMFs, perf tables)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_traces_dir() -> str:
    """``$SERVESIM_TRACES``, else ``../shared/traces`` next to the project checkout."""
    env = os.environ.get("SERVESIM_TRACES")
    if env:
        return env
    for parent in PROJECT_ROOT.parents:  # a git worktree may sit one level deeper
        if (parent / "shared" / "traces").is_dir():
            return str((parent / "shared" / "traces").resolve())
    return str((PROJECT_ROOT.parent / "shared" / "traces").resolve())


def resolve(path: str) -> str:
    """A relative path is taken from the working directory (the one the command started in,
    when Hydra has changed into the run folder: ``hydra.job.chdir=true``), else from the
    project root."""
    p = Path(os.path.expanduser(path))
    launch = _launch_dir()
    if launch is not None and not p.is_absolute():
        p = launch / p
    if p.is_absolute() or _exists(p):
        return str(p)
    alt = PROJECT_ROOT / p
    return str(alt) if _exists(alt) else str(p)


def _launch_dir() -> Path | None:
    """The folder ``python -m sim`` started in, while a job runs in its run folder after
    Hydra changed into it (``hydra.job.chdir=true``); else None."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return None
        hc = HydraConfig.get()
        # Hydra's record outlives the job: only while the process is in that job's folder
        if not hc.job.chdir or Path.cwd() != Path(hc.runtime.output_dir).resolve():
            return None
        return Path(hc.runtime.cwd)
    except Exception:  # no Hydra run, or a record without these keys
        return None


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the system: the reader says so
        return False
