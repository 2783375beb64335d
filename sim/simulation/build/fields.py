"""Every number of the config within its field's declared range (:mod:`sim.config.rules`).

:func:`typed` turns the composed config into its dataclasses (a missing mandatory value
becomes an :class:`~sim.errors.InputError` naming the key); :func:`check_fields` walks them
and checks each number against the rule of the field it belongs to (on a list or dict field,
each element). Numbers of fields without a rule must be finite, and integers must fit 64
bits (every number is held to the magnitude cap of :mod:`sim.config.rules` unless its
rule declares an upper bound). Free-form fields (typed ``Any``: notes, override maps) are skipped.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.config.rules import Rule
from sim.errors import InputError

_FINITE = Rule()

# the run's config and its typed, checked form, kept while one job runs (:func:`typed_once`)
_KEPT: ContextVar[list | None] = ContextVar("typed_kept", default=None)


@contextmanager
def typed_once(cfg):
    """While the block runs, :func:`checked` converts ``cfg`` (this object) once and hands
    each later caller a deep copy of its typed form: a run builds its config several times
    (the up-front check, then once per setup), and with hundreds of tenants the conversion
    was most of the run's own time. The block must not change ``cfg`` in place (no job
    does: a variant is a copy, a new object, converted afresh)."""
    token = _KEPT.set([cfg, None])
    try:
        yield
    finally:
        _KEPT.reset(token)


def checked(cfg):
    """:func:`typed` then :func:`check_fields`, once per run for the run's own config."""
    kept = _KEPT.get()
    if kept is None or kept[0] is not cfg:
        t = typed(cfg)
        check_fields(t)
        return t
    if kept[1] is None:
        t = typed(cfg)
        check_fields(t)
        kept[1] = t
    return copy.deepcopy(kept[1])  # a fresh object each time, as a conversion gave


def typed(cfg):
    """The composed DictConfig as its dataclass instances (enums as members)."""

    if not isinstance(cfg, DictConfig):
        return cfg  # already typed
    _no_added_keys(cfg, "")
    try:
        return OmegaConf.to_object(cfg)
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None) or None
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Missing mandatory value" in msg:
            msg = "a value is required here (it is ??? in the schema)"
        raise InputError(msg, key=key) from None


def _no_added_keys(node, path: str) -> None:
    """Hydra's ``+key=value`` / ``++key=value`` add a key the schema does not have, and the
    dataclasses would carry it unread: refuse it, naming it."""
    kind = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(kind):
        fields = {f.name: f for f in dataclasses.fields(kind)}
        for k in node.keys():
            key = f"{path}.{k}" if path else str(k)
            if k not in fields:
                close = difflib.get_close_matches(str(k), list(fields), n=1, cutoff=0.6)
                raise InputError("not a key of the config (added with '+'?)"
                                 + (f"; did you mean {close[0]!r}?" if close else ""), key=key)
            if "Any" in str(fields[k].type):
                continue  # free-form
            child = node._get_node(k)
            if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
                _no_added_keys(child, key)
    else:  # a map of typed entries (tenants, deployments ...)
        for k in node.keys():
            child = node._get_node(k)
            if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
                _no_added_keys(child, f"{path}.{k}" if path else str(k))


# a list or map field of plain values (``List[str]``, ``Dict[str, float]``): Hydra's merge of
# an override puts a list or map in an item unchecked (``setups=[[dedicated]]``)
_PLAIN_ITEMS = re.compile(r"(?:Optional\[)?(List|Dict)\[(?:str, )?(str|int|float|bool)\]\]?")

_CONTAINER = re.compile(r"(?:typing\.)?(?:Optional\[)?(?:typing\.)?(List|Dict)\[")

_WORD = {"str": "a name or text", "int": "an integer", "float": "a number", "bool": "true or false"}


def check_fields(obj, path: str = "") -> None:
    """Raise an :class:`InputError` naming the full key of the first number out of range
    (or the first list or map inside a list or map of plain values)."""
    for f in dataclasses.fields(obj):
        if "Any" in str(f.type):
            continue  # free-form
        key = f"{path}.{f.name}" if path else f.name
        plain = _PLAIN_ITEMS.fullmatch(str(f.type))
        v = getattr(obj, f.name)
        whole = _CONTAINER.match(str(f.type))
        if whole and v is not None and not isinstance(v, (list, dict)):
            # an interpolation's value is not checked against a list or map field's type
            # (dedicated.replicas: ${oc.env:X,x} was an AttributeError traceback; a text
            # setups read letter by letter: the seventeenth sweep)
            raise InputError(f"must be a {'list' if whole.group(1) == 'List' else 'map'}, got "
                             f"{type(v).__name__} {v!r} (from an interpolation?)", key=key)
        if plain and isinstance(v, (list, dict)):
            for k, x in (v.items() if isinstance(v, dict) else enumerate(v)):
                if isinstance(x, (list, dict, tuple)):
                    raise InputError(f"each {'value' if isinstance(v, dict) else 'item'} must be "
                                     f"{_WORD[plain.group(2)]}, got {x!r}",
                                     key=f"{key}.{k}" if isinstance(v, dict) else f"{key}[{k}]")
        _check(v, key, f.metadata.get("rule"))


def _check(v, key: str, rule: Rule | None) -> None:
    if v is None or isinstance(v, (bool, str, Enum)):
        return
    if dataclasses.is_dataclass(v):
        check_fields(v, key)
    elif isinstance(v, dict):
        for k, x in v.items():
            _check(x, f"{key}.{k}", rule)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check(x, f"{key}[{i}]", rule)
    elif isinstance(v, (int, float)):
        why = (rule or _FINITE).check(v)
        if why:
            raise InputError(why, key=key)
