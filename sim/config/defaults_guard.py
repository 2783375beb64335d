"""Checks on an experiment file's defaults list that Hydra lets pass without a word.

``- override /experiment: hybrid`` inside an experiment file was ignored (the experiment
is chosen before its own file's defaults are read; the run went on with the other keys of
the file on the experiment the command line chose); ``- /experiment: hybrid`` looped, and
was said to include the file itself; ``- hybrid`` listed twice merged the same file twice,
unsaid. Each is refused as an :class:`InputError` naming the file (and
its line when it is a file on disk), as Hydra reads the file's defaults list.
"""

from __future__ import annotations

import os
import re

from hydra._internal.config_repository import ConfigRepository
from hydra.core.default_element import ConfigDefault, GroupDefault
from hydra.core.object_type import ObjectType

from sim.errors import InputError

GROUP = "experiment"


def _where(repo, config_path: str, pattern: str | None) -> str:
    """``file:line`` of the first line matching ``pattern`` in the file ``config_path`` (a
    file on a ``file://`` search path), else the file's path in its search path."""
    source = repo._find_object_source(config_path, ObjectType.CONFIG)
    name = f"{config_path}.yaml"
    if source is None or source.scheme() != "file":
        return name
    path = os.path.join(source.path, name)
    try:
        with open(path, encoding="utf-8-sig") as f:
            for i, line in enumerate(f, 1):
                if pattern is not None and re.match(pattern, line):
                    return f"{path}:{i}"
    except OSError:  # pragma: no cover - Hydra has just read it
        pass
    return path


def _absolute(config_path: str, path: str) -> str:
    """A defaults entry's config path from the repository's root."""
    full = path[1:] if path.startswith("/") else f"{os.path.dirname(config_path)}/{path}"
    return os.path.normpath(full.lstrip("/"))  # ``../experiment/x`` from experiment/: experiment/x


def check_defaults(repo, config_path: str, defaults: list) -> None:
    """Refuse an experiment file's defaults list overriding the experiment, or naming one
    config twice."""
    if not config_path.startswith(GROUP + "/"):
        return
    seen: set[str] = set()
    for d in defaults:
        if isinstance(d, GroupDefault) and _absolute(config_path, d.group) == GROUP:
            where = _where(repo, config_path, rf"\s*-\s*(override\s+)?/{GROUP}(@\S*)?\s*:")
            at = f"@{d.package}" if d.package else ""  # quoted as written
            what = ("is ignored by Hydra (the experiment is chosen before this file is read)"
                    if d.override else "chooses the experiment again (Hydra would load it "
                    "without end)")
            raise InputError(f"{where}: '- {'override ' if d.override else ''}/{GROUP}{at}: {d.value}' "
                             f"in an experiment's defaults list {what}: to build on {d.value}, "
                             f"list it as '- {d.value}'")
        if isinstance(d, ConfigDefault) and d.path is not None and d.path != "_self_":
            full = _absolute(config_path, d.path)
            if full in seen:
                where = _where(repo, config_path, None)
                name = full.removeprefix(GROUP + "/")
                raise InputError(f"{where}: its defaults list names {name!r} more than once; "
                                 "list it once")
            seen.add(full)


def install() -> None:
    """Make Hydra check each experiment file's defaults list as it reads it."""
    create = ConfigRepository._create_defaults_list
    if getattr(create, "guarded", False):
        return

    def _create_defaults_list(self, config_path, defaults):
        out = create(self, config_path, defaults)
        check_defaults(self, config_path, out)
        return out

    _create_defaults_list.guarded = True
    ConfigRepository._create_defaults_list = _create_defaults_list
