"""Command-line overrides that Hydra alone would merge where the user means to replace or add.

Hydra merges a dict given on the command line into the node it names, and refuses a new
typed map entry given as ``map.name={...}`` ("dict is not a subclass of TenantConfig").
:func:`expand` rewrites two forms before Hydra composes, for ``python -m sim`` and
:func:`sim.compose` alike, so ``--cfg job`` prints exactly what runs:

- ``tenants={x: {...}}`` REPLACES the tenants the experiment (or the default experiment)
  defines: it becomes ``~tenants.<t>`` for each tenant present at that point, then the
  same override, which fills the now empty, still typed map.
- ``<map>.<name>={...}`` for a map of ``sim.config.OPEN_DICTS`` (``tenants.x={...}``,
  ``catalog.models.m={...}``, ``deployments.m={...}`` ...) becomes ``<map>={<name>: {...}}``,
  a merge: it adds the entry, or updates it when it exists (what the dotted form does for
  an existing entry).

On the command line, several braces overrides of one map end up as one
(``tenants.a={...} tenants.b={...}`` is ``tenants={a: ..., b: ...}``): a sweep keeps one
override per key. Anything else (sweeps,
``+``/``~`` overrides, dotted fields) passes through unchanged.

A key the command line sets twice, with different values, is refused (:func:`check_twice`):
Hydra would keep the last one silently. :func:`sim.compose` is not held to it: code that
builds override lists (a variant over its sweep's keys) relies on the last one winning.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Callable

from hydra.core.override_parser.types import (
    OverrideType,
    ValueType,
)

from sim.config.repeats import (
    _is_dict_change,
    _key_twice,
    _parse,
    check_sweep_size,
    check_twice,
)
from sim.config.variants import format_value
from sim.errors import InputError

REPLACING = ("tenants",)  # maps a whole-map override replaces instead of merging into



def override_list(overrides) -> list[str]:
    """``sim.compose``/``sim.run``'s overrides: a list (or tuple) of ``key=value`` strings;
    anything else (one string, a dict, a number in the list) is said, not a traceback."""
    if overrides is None:
        return []
    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, (list, tuple)):
        raise InputError(f"overrides must be a list of strings such as ['horizon_s=60'], got "
                         f"{type(overrides).__name__} {str(overrides)[:60]!r}")
    bad = [o for o in overrides if not isinstance(o, str)]
    if bad:
        raise InputError(f"overrides must be strings such as 'horizon_s=60', got "
                         f"{type(bad[0]).__name__} {bad[0]!r}")
    return list(overrides)


_SETS = (OverrideType.CHANGE, OverrideType.ADD)  # key=value and +key=value


def _check_option(key: str, o) -> None:
    """A config group's option (or each a sweep lists): a name, not a list (Hydra merges them:
    ``catalog=[default]``), ``null`` or ``1`` (a sweep's: a traceback), empty ("Could not find
    'experiment/'") or a file name (``experiment=default.yaml`` ran under another name)."""
    sweep = o.value_type in (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP)
    if o.value_type == ValueType.RANGE_SWEEP:  # numbers, which Hydra refused by a traceback
        raise InputError(f"must name options of the config group conf/{key}/ (files there, "
                         f"without .yaml), got a range of numbers: list the names "
                         f"({key}=a,b; a name that is a number quoted, {key}='2026')", key=key)
    if not sweep and o.value_type != ValueType.ELEMENT:
        return  # a glob or interval: the sweeper's own business
    values = list(o.value().list) if sweep else [o.value()]
    for v in values:
        v = getattr(v, "text", v)  # a quoted option
        if isinstance(v, list):
            raise InputError(f"one option of conf/{key}/ at a time, got {v!r} (Hydra would merge "
                             "them into one config)", key=key)
        if isinstance(v, (bool, int, float)):
            raise _not_a_name(key, v, None if sweep else o.input_line.split("=", 1)[1])
        if not isinstance(v, str) or not v.strip() or v.endswith((".yaml", ".yml")):
            raise InputError(f"must name an option of the config group conf/{key}/ (a file there, "
                             f"without .yaml), got {v!r}", key=key)


def _not_a_name(key: str, v, raw: str | None) -> InputError:
    """A group's option Hydra read as a number or a boolean (``raw`` as typed, when known):
    ``experiment=2026`` of a file 2026.yaml said "must name an option" of a folder holding
    it; given quoted, it is chosen."""
    if not isinstance(v, (bool, int, float)):
        return InputError(f"must name an option of the config group conf/{key}/ (a file there, "
                          f"without .yaml), got {v!r}", key=key)
    raw = raw if raw is not None else str(v).lower() if isinstance(v, bool) else str(v)
    return InputError(f"must name an option of the config group conf/{key}/ (a file there, "
                      f"without .yaml), got {raw}, which Hydra reads as "
                      f"{'a boolean' if isinstance(v, bool) else 'a number'}: an option named "
                      f"{raw} (a file {raw}.yaml) is given quoted, {key}='{raw}'", key=key)


def check_keys(overrides: list[str], open_dicts: tuple[str, ...], schema: type | None = None) -> None:
    """An override with nothing before ``=`` (``=5``), which Hydra would take for a config
    group and fail with a traceback; a deletion (``~horizon_s``) of a key of the schema,
    which would silently bring back its default over a value set before it (deleting an
    entry of a map, ``~tenants.chat``, is how an entry goes); with ``schema`` (the config's
    root dataclass), a number other than 0 or 1 for a key it declares boolean."""
    for text in overrides:
        o = _parse(text) if not text.startswith("-") else None
        if o is None:
            continue
        key = o.key_or_group
        if not key:
            raise InputError(f"the override {text!r} has no key before '=' (write key=value)")
        if (o.type in _SETS and o.value_type == ValueType.ELEMENT and _is_group(key)
                and not isinstance(o.value(), (str, list))):  # Hydra: a ValueError traceback
            raise _not_a_name(key, o.value(), text.split("=", 1)[1])
        if (o.type in _SETS and o.value_type == ValueType.ELEMENT and _is_group(key)
                and isinstance(o.value(), str) and _leaves_group(o.value())):
            # Hydra joins the path to the group's folder: experiment=../catalog/default loaded
            # the catalog as an experiment ("no tenants"), ../config named 'experiment/experiment'
            raise InputError(f"must name an option of the config group conf/{key}/ (a file there, "
                             f"without .yaml), got the path {o.value()!r}", key=key)
        if key == "experiment" and o.type == OverrideType.CHANGE and o.value_type == ValueType.ELEMENT \
                and isinstance(o.value(), list):
            raise InputError(f"one experiment is run at a time, got {o.value()!r} (Hydra would "
                             "merge them into one config): give one name, or sweep them with -m "
                             "experiment=a,b", key=key)
        if o.type == OverrideType.CHANGE and _is_group(key):
            _check_option(key, o)
        v = o.value() if o.value_type == ValueType.ELEMENT and o.type != OverrideType.DEL else None
        if (isinstance(v, (int, float)) and not isinstance(v, bool) and v not in (0, 1)
                and _schema_type(key, schema) is bool):
            raise InputError(f"must be true or false, got the number {v!r} (OmegaConf would take "
                             "any number but 0 as true)", key=key)
        if (o.type == OverrideType.CHANGE and isinstance(v, dict) and not v and key != "tenants"
                and not key.startswith("hydra.")):
            # a map in braces merges into the one there: an empty one changed nothing, unsaid
            raise InputError(f"an empty map {{}} changes nothing in {key}: a map given whole "
                             f"merges into what is there{_how_to_change(key, open_dicts, schema)}, "
                             "and a list is given in brackets ([a, b], [] for none)", key=key)
        twice = _key_twice(text)
        if twice is not None:
            raise InputError(f"{twice.rsplit('.', 1)[-1]!r} is given twice in {{...}} (the first "
                             "value would be dropped silently): give it once",
                             key=f"{key}.{twice}")
        if (o.type == OverrideType.DEL and not key.startswith("hydra.") and not _is_group(key)
                and not any(key == d or key.startswith(d + ".") for d in open_dicts)):
            raise InputError(f"'~{key}' would delete a key of the schema (its default would come "
                             f"back silently): set it instead; only entries of a map "
                             f"(~tenants.<name> ...) can be deleted", key=key)


def _how_to_change(key: str, open_dicts, schema) -> str:
    """The hint of an empty ``{}``: an entry of a map the user extends is removed with ``~``;
    a key of the schema cannot be (``~tenants.chat.arrival.<name>`` was hinted, and refused)."""
    import dataclasses
    import typing

    t = _schema_type(key, schema)
    if key in open_dicts:
        return f" (remove an entry with ~{key}.<name>)"
    if typing.get_origin(t) in (list, tuple):
        return f" ({key} is a list)"
    if dataclasses.is_dataclass(t):
        return f" (set one of its keys with {key}.<key>=value)"
    return ""  # a job's own key (keepalive.fixed_idle_s, a list): not in the schema given


def _schema_type(key: str, schema: type | None):
    """The type ``schema`` (``sim.config.Config``, passed in by the package, which imports
    this module) declares for the dotted ``key``, through dataclass fields and the values of
    typed maps; None when the key is not in it (or no schema is given)."""
    import dataclasses
    import typing

    t = schema
    if t is None:
        return None
    for part in key.lstrip("+").split("."):
        if dataclasses.is_dataclass(t):
            t = typing.get_type_hints(t).get(part)
        elif typing.get_origin(t) is dict:
            t = typing.get_args(t)[1]
        else:
            return None
        if typing.get_origin(t) is typing.Union:  # Optional[X]
            args = [a for a in typing.get_args(t) if a is not type(None)]
            t = args[0] if len(args) == 1 else None
    return t


def _is_group(key: str) -> bool:
    """``experiment``, ``catalog``: a config group (a folder of conf/), whose choice Hydra
    deletes with ``~``."""
    return "." not in key and files("sim.conf").joinpath(key).is_dir()


def _leaves_group(option: str) -> bool:
    """Whether a config group's option is a path out of (or around) its folder: a leading
    '/', or a '.' or '..' part (an option in a subfolder, ``sub/name``, is a name)."""
    return option.startswith("/") or any(part in (".", "..") for part in option.split("/"))


def _is_sweep(o) -> bool:
    return o is not None and o.value_type not in (None, ValueType.ELEMENT)


def expand(overrides: list[str], compose_raw: Callable[[list[str]], object],
           open_dicts: tuple[str, ...], done: list[str] = (), schema: type | None = None) -> list[str]:
    """``overrides`` with the two forms above rewritten; ``compose_raw`` composes a list of
    final overrides (to learn which tenants a replacing override removes); ``open_dicts``
    are the maps new entries may be added to. ``done``: overrides expanded already, which
    come first (returned as they are, followed by the expansion of ``overrides``)."""

    check_keys(overrides, open_dicts, schema)
    out: list[str] = list(done)
    for text in overrides:
        o = _parse(text)
        if not _is_dict_change(o):
            out.append(text)
            continue
        key, value = o.key_or_group, text.split("=", 1)[1]
        if o.package is not None and not _is_group(key):  # the rewrite below dropped it, unsaid
            raise InputError(f"{key}@{o.package}={{...}}: a package (@...) places a config "
                             f"group's file, and {key} is a key, not a group: write "
                             f"{key}={{...}}", key=key)
        if key in REPLACING:
            if any(_is_sweep(p) and p.key_or_group == "experiment" for p in map(_parse, out)):
                raise InputError(f"{key}={{...}} replaces one experiment's {key}; with a swept "
                                 f"experiment give them one by one ({key}.<name>={{...}})", key=key)
            fixed = [p for p in out if not _is_sweep(_parse(p))]
            present = list(compose_raw(fixed)[key].keys())
            out += [f"~{key}.{name}" for name in present] + [text]
            continue
        parent = next((d for d in sorted(open_dicts, key=len, reverse=True)
                       if key.startswith(d + ".") and "." not in key[len(d) + 1:]), None)
        out.append(f"{parent}={{{key[len(parent) + 1:]}: {value}}}" if parent else text)
    return out


def _deep_merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) \
            else v
    return out


def _one_per_key(out: list[str]) -> list[str]:
    """Several ``K={...}`` overrides of one map (``tenants.a={...} tenants.b={...}`` become
    two ``tenants={...}``) merged into one, at the last one's place: a sweep keeps one
    override per key (Hydra's sweepers keep the last), so the first would be lost. Left as
    they are when an override in between deletes from that map (``~K.x``)."""
    parsed = [_parse(t) for t in out]
    where: dict[str, list[int]] = {}
    for i, o in enumerate(parsed):
        if _is_dict_change(o) and o.package is None:
            where.setdefault(o.key_or_group, []).append(i)
    drop: set[int] = set()
    for key, idx in where.items():
        if len(idx) < 2 or any(t.startswith(f"~{key}.") or t == f"~{key}"
                               for t in out[idx[0]:idx[-1]]):
            continue
        merged: dict = {}
        for i in idx:
            merged = _deep_merge(merged, parsed[i].value())
        out = list(out)
        out[idx[-1]] = f"{key}={format_value(merged)}"
        drop.update(idx[:-1])
    return [t for i, t in enumerate(out) if i not in drop]


def check_once(overrides: list[str], schema: type | None,
               where: str = "on the command line") -> None:
    """A key set twice with two values in ``overrides`` (the command line's, or ``sim.run``'s
    and ``sim.compose``'s list): refused, as Hydra keeps the last silently (:func:`check_twice`;
    until December 2026 ``sim.run(['horizon_s=10', 'horizon_s=20'])`` ran 20 s, unsaid)."""
    check_twice(overrides, lambda key: _schema_type(key, schema), where)


def expand_argv(argv: list[str], compose_raw: Callable[[list[str]], object],
                open_dicts: tuple[str, ...], schema: type | None = None) -> list[str]:
    """``argv`` (``python -m sim``'s arguments) with its overrides expanded: flags (``-m``,
    ``--cfg job`` ...) first, in their order (Hydra reads them anywhere), then the overrides."""

    check_keys(argv, open_dicts, schema)
    # a deletion (~key) is an override too, even without a value: it keeps its place
    is_override = [not a.startswith("-") and ("=" in a or a.startswith("~")) for a in argv]
    check_once([a for a, ov in zip(argv, is_override) if ov], schema)
    if "-m" in argv or "--multirun" in argv:
        check_sweep_size([a for a, ov in zip(argv, is_override) if ov])
    flags = [a for a, ov in zip(argv, is_override) if not ov]
    if not any(_is_dict_change(_parse(a)) for a, ov in zip(argv, is_override) if ov):
        # the common case: nothing to compose; flags still first (Hydra's parser takes the
        # overrides as one run of positionals, and stops with its usage on a flag after one)
        return flags + [a for a, ov in zip(argv, is_override) if ov]
    return flags + _one_per_key(expand([a for a, ov in zip(argv, is_override) if ov],
                                       compose_raw, open_dicts, schema=schema))
