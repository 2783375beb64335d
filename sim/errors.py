"""User-facing errors.

Anything the user can fix (a config key, a trace file, an impossible deployment) raises
:class:`InputError` with a message that names the key, or the file and line. The command
line prints that message alone and exits with status 2; programming errors keep their
tracebacks.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from contextlib import contextmanager
from pathlib import Path


class InputError(ValueError):
    """Bad input: a config key, a data file or a combination that cannot be simulated."""

    def __init__(self, message: str, *, key: str | None = None, path: str | None = None,
                 line: int | None = None):
        self.key = key
        self.path = path
        self.line = line
        self.message = message  # without the place: a caller may say it again under its key
        where = []
        if path is not None:
            shown = str(path) if str(path).strip() == str(path) != "" else repr(str(path))  # ' '
            where.append(f"{shown}:{line}" if line is not None else shown)
        if key is not None:
            where.append(f"config key '{key}'")
        prefix = ", ".join(where)
        message = _shortened(message)
        super().__init__(one_line(f"{prefix}: {message}" if prefix else message))


class WorkerLost(Exception):
    """A sweep launcher's worker process died (killed by the OS) before its job returned:
    the sweep stops, its message one line (``sim/__main__.py``: exit status 1)."""


MESSAGE_CHARS = 2000  # assumption: a line a terminal shows in a few rows


def _shortened(message: str) -> str:
    """``message`` cut in the middle when longer than MESSAGE_CHARS (it may quote a whole
    line or header of a file: a 300,000-column header made a 3 MB line), saying how much."""
    if len(message) <= MESSAGE_CHARS:
        return message
    head, tail = MESSAGE_CHARS * 2 // 3, MESSAGE_CHARS // 3
    return (f"{message[:head]} [... {len(message) - head - tail:,} characters left out ...] "
            f"{message[-tail:]}")


_BREAKS = {c: repr(chr(c))[1:-1] for c in [*range(32), 127, 0x85, 0x2028, 0x2029] if c != 9}
# characters a terminal shows as nothing or as a plain space: a key 'horizon_s\u200b' (a
# zero-width space) or 'horizon\u00a0s' (a no-break space) printed as 'horizon_s' or
# 'horizon s', "not in 'ServesimConfig'", with nothing visibly wrong (the fifteenth sweep)
_UNSEEN = {c: f"\\u{c:04x}" for c in [0xA0, 0xAD, 0x61C, 0x1680, 0x180E, *range(0x2000, 0x2010),
                                      *range(0x202A, 0x2030), *range(0x205F, 0x2065),
                                      *range(0x2066, 0x2070), 0x3000, 0xFEFF]}


def one_line(text: str) -> str:
    """``text`` with its line breaks and other control characters written as escapes
    (``\\n``): a file name or value may hold one (``$SERVESIM_TRACES``, a path typed with a
    line break), and the message must stay one line; so are characters a terminal shows as
    nothing or as a space (``\\u200b``, ``\\u00a0``)."""
    return text.translate(_BREAKS).translate(_UNSEEN)


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

    def parse_known_args(self, args=None, namespace=None):
        self._refuse_repeated(list(sys.argv[1:] if args is None else args))
        return super().parse_known_args(args, namespace)

    def _refuse_repeated(self, argv: list[str]) -> None:
        """A flag that takes a value, given twice with two values: argparse keeps the last,
        unsaid (``--requests 10 --requests 20``), where the config refuses a key given twice."""
        seen: dict[argparse.Action, tuple[str, str]] = {}
        for i, tok in enumerate(argv):
            if tok == "--":
                break
            if not tok.startswith("-") or tok == "-":
                continue
            found = self._parse_optional(tok)
            if isinstance(found, list):  # newer Pythons: every match of an abbreviation
                found = found[0] if len(found) == 1 else None
            if not found or not isinstance(found[0], argparse._StoreAction):
                continue
            action, _, explicit = found[0], found[1], found[2]
            value = explicit if explicit is not None else (argv[i + 1] if i + 1 < len(argv) else "")
            if action in seen and seen[action][1] != value:
                first = seen[action]
                self.error(f"argument {'/'.join(action.option_strings)}: given twice, {first[1]!r} "
                           f"(as {first[0]}) and {value!r} (as {tok.split('=', 1)[0]}); the last "
                           "would win silently: give it once")
            seen.setdefault(action, (tok.split("=", 1)[0], value))


def ascii_number(kind):
    """An argparse ``type``: ``kind`` (int or float) of a number written in ASCII digits
    (``int()`` and ``float()`` also take ``1_0`` and any script's digits, ``\u0662``)."""

    def parse(text: str):
        if not text.isascii() or "_" in text:
            raise ValueError(text)
        return kind(text)

    parse.__name__ = kind.__name__  # argparse's "invalid int value: ..."
    return parse


def number_arg(kind, low: float, low_open: bool = True, high: float | None = None):
    """An argparse ``type``: a finite ``kind`` (int or float) above ``low`` (at least ``low``
    when not ``low_open``), at most ``high``; else the flag's one-line error."""

    def parse(text: str):
        try:
            v = ascii_number(kind)(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}")
        if not math.isfinite(v) or v < low or (low_open and v == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if low_open else '>='} {low:g}, got {text}")
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(f"must be <= {high:g}, got {text}")
        if v != 0 and abs(v) < sys.float_info.min:  # as a config key's (sim/config/rules.py):
            # its reciprocal overflows (sim.bench --load 1e-320: a numpy warning line first)
            raise argparse.ArgumentTypeError(f"must be 0 or at least {sys.float_info.min:.3g} in "
                                             f"magnitude, got {text} (a subnormal number)")
        return v

    return parse


def folder_arg(text: str):
    """An argparse ``type`` for a folder: a ``Path``, but not an empty or blank name, which
    ``Path`` reads as the working folder (a sweep's tables and figures were written there)."""

    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is empty: give a folder ('.' for this one)")
    return Path(text)


def access_error(e: OSError) -> InputError:
    """The file or folder an ``OSError`` (a permission refused, as a user other than the
    files' owner meets it) was about, and whether it could not be read or written: the
    nearest part of the path that exists decides (a folder that cannot be entered hides what
    is below it)."""
    p = Path(e.filename) if e.filename else None
    if p is None:
        return InputError(e.strerror or str(e))
    q = p
    while q != q.parent and not os.path.lexists(q):
        q = q.parent
    why = e.strerror or type(e).__name__
    if q.is_dir() and not os.access(q, os.R_OK | os.X_OK):
        return InputError(f"cannot read this folder ({why})", path=str(q))
    if q.is_file() and not os.access(q, os.R_OK):
        return InputError(f"cannot read this file ({why})", path=str(q))
    if q != p:
        return InputError(f"cannot write in this folder ({why})", path=str(q))
    return InputError(f"cannot write it ({why})", path=str(p))


# a process stopped by SIGPIPE exits 128 + 13: what ``python -m sim ... | head`` gives when
# head has read enough, the way other Unix tools end
STDOUT_CLOSED_EXIT = 141


def stdout_closed():
    """The reader of stdout went away (``| head``): what was written stays written (a run's
    folder is complete before its table is printed); exit :data:`STDOUT_CLOSED_EXIT` without a
    traceback, stdout pointed at ``/dev/null`` so that Python's flush at exit stays quiet."""
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, sys.stdout.fileno())
    sys.exit(STDOUT_CLOSED_EXIT)


@contextmanager
def stdout_may_close():
    """A command's body: a closed stdout ends it as :func:`stdout_closed` says (until
    December 2026 a BrokenPipeError traceback, exit 1)."""
    try:
        yield
    except BrokenPipeError:
        stdout_closed()
