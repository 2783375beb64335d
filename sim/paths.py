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
    """A relative path is taken from the working directory, else from the project root."""
    p = Path(os.path.expanduser(path))
    if p.is_absolute() or _exists(p):
        return str(p)
    alt = PROJECT_ROOT / p
    return str(alt) if _exists(alt) else str(p)


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # a name too long for the system: the reader says so
        return False
