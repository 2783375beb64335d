"""Paired sweep values: ``variant=NAME`` applies a named set of overrides that move together.

A sweep over ``a=1,2,3 b=x,y,z`` runs every combination (nine jobs). When keys belong
together (a GPU, its tensor parallelism and the replica count that holds the load), an
experiment names each combination once under ``variants``::

    variants:
      h100x4: {deployments.llama31-8b.gpu: H100, dedicated.replicas.llama31-8b: 4}
      b200x1: {deployments.llama31-8b.gpu: B200, deployments.llama31-8b.tp: 2, ...}

and the sweep runs ``variant=h100x4,b200x1``: one job per variant, with every Hydra
sweeper and launcher (it is an ordinary key). A job's variant becomes command-line
overrides, ``key=value`` each, put where ``variant=NAME`` stands among the job's overrides
(later overrides win, as on the command line), and the config is composed again from
them: a variant's keys get the same validation, messages and ``<map>.<name>={...}``
forms as the command line. The composed config keeps ``variant`` and ``variants``, so a
job's ``config.yaml`` says which variant ran and what it set.
"""

from __future__ import annotations

import math

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf

from sim.errors import InputError

KEY = "variant"
MAP = "variants"


def _parse_value(text: str):
    try:
        return OverridesParser.create().parse_override(f"k={text}").value()
    except Exception:  # noqa: BLE001 - Hydra's grammar errors: this form does not parse
        return _UNPARSABLE


_UNPARSABLE = object()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _quote(s: str) -> str:
    # Hydra's quoted strings: a quote inside is \', and backslashes right before a quote
    # (or the closing one) are doubled
    out, run = [], 0
    for ch in s:
        if ch == "\\":
            run += 1
            continue
        if ch == "'":
            out.append("\\" * (2 * run) + "\\'")
        else:
            out.append("\\" * run + ch)
        run = 0
    out.append("\\" * (2 * run))
    return "'" + "".join(out) + "'"


def format_value(value) -> str:
    """``value`` (from YAML: a scalar, list or map) written as a Hydra override value that
    parses back to the same value."""

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") \
            if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return value if _same(_parse_value(value), value) else _quote(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_value(str(k))}: {format_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as an override value")


def variant_overrides(cfg) -> tuple[str, list[str]] | None:
    """(name, ``key=value`` overrides) of the config's chosen variant; None when it chose none."""

    name = OmegaConf.select(cfg, KEY, default=None)
    if name is None:
        return None
    name = str(name)
    table = OmegaConf.select(cfg, MAP, default=None)
    known = list(table.keys()) if isinstance(table, DictConfig) else []
    if name not in known:
        raise InputError(f"unknown variant {name!r}; "
                         + (f"known: {', '.join(map(str, known))}" if known else
                            "the config defines no variants (an experiment's `variants:` map)"),
                         key=KEY)
    sets = OmegaConf.to_container(table[name], resolve=False)
    if not isinstance(sets, dict) or not sets:
        raise InputError(f"variant {name!r} must be a map of dotted keys to values "
                         "(e.g. {deployments.llama31-8b.gpu: H200})", key=f"{MAP}.{name}")
    out = []
    for key, value in sets.items():
        key = str(key)
        if not key or key.startswith(("hydra", KEY + "=", MAP)) or key in (KEY, MAP):
            raise InputError(f"variant {name!r} cannot set {key!r}", key=f"{MAP}.{name}")
        text = f"{key}={format_value(value)}"
        try:
            parsed = OverridesParser.create().parse_override(text)
        except Exception:  # noqa: BLE001 - a key Hydra's grammar refuses
            raise InputError(f"variant {name!r}: cannot write {key!r} as an override ({text})",
                             key=f"{MAP}.{name}") from None
        back = parsed.value()
        if not (back == value if isinstance(value, (list, dict)) else _same(back, value)):
            raise InputError(f"variant {name!r}: the value of {key!r} does not survive as an "
                             f"override ({text})", key=f"{MAP}.{name}")
        out.append(text)
    return name, out


def split(cfg, overrides: list[str]) -> tuple[list[str], list[str], list[str]] | None:
    """Where the chosen variant of ``cfg`` (composed from ``overrides``) goes among them:
    (the overrides up to ``variant=NAME``, the variant's overrides, the overrides after it);
    a variant chosen by the config itself, not by an override, goes last. None when the
    config chose no variant."""

    chosen = variant_overrides(cfg)
    if chosen is None:
        return None
    _, expansion = chosen
    out = list(overrides)
    for i in range(len(out) - 1, -1, -1):
        try:
            o = OverridesParser.create().parse_override(out[i])
        except Exception:  # noqa: BLE001 - Hydra reports unparsable overrides itself
            continue
        if o.key_or_group == KEY and not o.is_delete():
            return out[:i + 1], expansion, out[i + 1:]
    return out, expansion, []


def _parsed(text: str):
    try:
        o = OverridesParser.create().parse_override(text)
    except Exception:  # noqa: BLE001 - Hydra reports unparsable overrides itself
        return None
    return None if o.is_delete() else (o.key_or_group, o.value())


def replaced_notes(cfg, overrides: list[str]) -> list[str]:
    """Notes for the chosen variant's keys that the command line also sets with another
    value: given after ``variant=NAME`` the command line's value runs (the variant's is
    replaced), given before it the variant's does (the command line's is). Either way one
    of the two values is dropped, which the run says (it did not)."""

    parts = split(cfg, overrides)
    if parts is None:
        return []
    head, own, tail = parts
    name = str(OmegaConf.select(cfg, KEY))
    mine = [p for p in map(_parsed, own) if p is not None]
    out = []
    for side, after in ((head, False), (tail, True)):
        for text in side:
            p = _parsed(text)
            if p is None or p[0] == KEY:
                continue
            key, value = p
            for vkey, vvalue in mine:
                if not (key == vkey or key.startswith(vkey + ".") or vkey.startswith(key + ".")):
                    continue
                if key == vkey and (value == vvalue or _same(value, vvalue)):
                    continue
                was = f"{vkey}={format_value(vvalue)}"
                out.append(f"variant {name!r} sets {was}; {text}, given after it, replaces it"
                           if after else
                           f"variant {name!r} sets {was}, which replaces {text} given before it")
    return list(dict.fromkeys(out))


def blame_variant(cfg, err: InputError) -> InputError:
    """``err`` saying which variant set its key, when the chosen variant set the value it
    refuses (one the schema takes but a later check does not: an unknown GPU, a value out of
    range); else ``err``. A value the command line set again after the variant is its own."""

    try:
        chosen = variant_overrides(cfg)
    except InputError:
        return err
    if chosen is None or err.key is None or "(set by variant " in str(err):
        return err
    name = chosen[0]
    sets = OmegaConf.to_container(OmegaConf.select(cfg, MAP)[name], resolve=False)
    for key, value in sets.items():
        key = str(key)
        if not (err.key == key or err.key.startswith((key + ".", key + "["))
                or key.startswith(err.key + ".")):
            continue
        now = OmegaConf.select(cfg, key, default=None)
        if isinstance(now, (DictConfig, ListConfig)):
            now = OmegaConf.to_container(now, resolve=False)
        if now == value or _same(now, value):  # 5 given, 5.0 composed: the same value
            out = InputError(f"{err} (set by variant {name!r})")
            out.key, out.path, out.line = err.key, err.path, err.line
            return out
    return err


def unswept_note(swept: list, task: list[str]) -> str | None:
    """The note of a sweep experiment run without ``-m``: the keys it sweeps that this run
    leaves at the experiment's base value. A swept key the command line sets (``variant=b``
    of ``experiment=sweep_variants``) runs with the value given, so it is not named (the
    note said every swept key ran with its base value); None when none is left."""
    given = {p[0] for p in map(_parsed, task) if p is not None}
    left = [str(k) for k in swept if str(k) not in given]
    if not left:
        return None
    return (f"note: this config defines a sweep over {', '.join(left)}; "
            "without -m one job runs with the base values (add -m to sweep)")


__all__ = ["KEY", "MAP", "blame_variant", "format_value", "replaced_notes", "split", "unswept_note",
           "variant_overrides"]
