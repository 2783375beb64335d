"""User-facing errors.

Anything the user can fix (a config key, a trace file, an impossible deployment) raises
:class:`InputError` with a message that names the key, or the file and line. The command
line prints that message alone and exits with status 2; programming errors keep their
tracebacks.
"""

from __future__ import annotations

import re

from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException


class InputError(ValueError):
    """Bad input: a config key, a data file or a combination that cannot be simulated."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None,
                 line: int | None = None):
        self.key = key
        self.path = path
        self.line = line
        where = []
        if path is not None:
            where.append(f"{path}:{line}" if line is not None else str(path))
        if key is not None:
            where.append(f"config key '{key}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


def require(condition: bool, key: str, message: str) -> None:
    """Raise an :class:`InputError` about ``key`` unless ``condition`` holds."""
    if not condition:
        raise InputError(message, key=key)


class InvariantError(AssertionError):
    """A simulated run broke one of its own accounting invariants (a bug, not bad input)."""


def from_config_error(e: BaseException) -> InputError | None:
    """The :class:`InputError` for a Hydra/OmegaConf composition error (a wrong key, type,
    option or group, an unparsable override), or None if ``e`` is not one.

    Hydra prints these over several lines; the command line shows them as one, naming the
    key, like every other input error.
    """


    if not isinstance(e, (HydraException, OmegaConfBaseException)):
        return None
    cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else None
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if isinstance(e, MissingConfigException):
        m = re.search(r"Could not find '([^']+)/([^'/]+)'", str(e))
        options = ", ".join(getattr(e, "options", None) or [])
        if m:
            return InputError(f"unknown option {m.group(2)!r}" + (f"; known: {options}" if options else ""),
                              key=m.group(1))
        return InputError(first.removeprefix("In 'config': "))
    src = cause if cause is not None else e
    key = getattr(src, "full_key", None) or None
    detail = str(src).strip().splitlines()[0] if str(src).strip() else first
    m = re.search(r"use \+(\S+)$", str(e).strip()) or re.search(r"override (\S+)$", first)
    if m and detail != first:
        detail += f" (override {m.group(1)})"
    if "override_grammar" in str(e):
        detail = f"cannot parse an override: {first} (see the Hydra override grammar)"
    return InputError(detail, key=key)
