"""User-facing errors.

Anything the user can fix (a config key, a trace file, an impossible deployment) raises
:class:`InputError` with a message that names the key, or the file and line. The command
line prints that message alone and exits with status 2; programming errors keep their
tracebacks.
"""

from __future__ import annotations

import argparse
import sys


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
        message = _shortened(message)
        super().__init__(f"{prefix}: {message}" if prefix else message)


MESSAGE_CHARS = 2000  # assumption: a line a terminal shows in a few rows


def _shortened(message: str) -> str:
    """``message`` cut in the middle when longer than MESSAGE_CHARS (it may quote a whole
    line or header of a file: a 300,000-column header made a 3 MB line), saying how much."""
    if len(message) <= MESSAGE_CHARS:
        return message
    head, tail = MESSAGE_CHARS * 2 // 3, MESSAGE_CHARS // 3
    return (f"{message[:head]} [... {len(message) - head - tail:,} characters left out ...] "
            f"{message[-tail:]}")


def require(condition: bool, key: str, message: str) -> None:
    """Raise an :class:`InputError` about ``key`` unless ``condition`` holds."""
    if not condition:
        raise InputError(message, key=key)


class InvariantError(AssertionError):
    """A simulated run broke one of its own accounting invariants (a bug, not bad input)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the project's rule for bad input: one line ``error: <flag>: <message>``
    on stderr and exit status 2, instead of the usage block (``--help`` still shows it)."""

    def error(self, message: str):
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)
