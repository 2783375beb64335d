"""Hydra and OmegaConf composition errors (a wrong key, type, option or group, an
unparsable override, a new map entry given field by field) as one-line InputErrors."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import stat
from pathlib import Path

import yaml
from hydra._internal.config_repository import IConfigRepository
from hydra.core.default_element import ConfigDefault, GroupDefault
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.config.open_dicts import OPEN_DICTS
from sim.config.yaml_guard import RefusedYAML
from sim.errors import InputError


def from_config_error(e: BaseException) -> InputError | None:
    """The :class:`InputError` for a Hydra/OmegaConf composition error (a wrong key, type,
    option or group, an unparsable override), or None if ``e`` is not one.

    Hydra prints these over several lines; the command line shows them as one, naming the
    key, like every other input error.
    """

    seen, cause = set(), e.__cause__ or e.__context__
    while cause is not None and id(cause) not in seen:  # a resolver's InputError, as it is
        if isinstance(cause, InputError):  # (${run_name:...}; OmegaConf wraps it twice)
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    if isinstance(e, RecursionError):  # a defaults list naming its own file (the fifteenth sweep:
        node = getattr(_frame_local(e, "root"), "node", None)  # a traceback of 2,500 lines)
        path = (node.get_config_path() if isinstance(node, (ConfigDefault, GroupDefault))
                else None)
        if path:
            return InputError(f"{path}.yaml: its defaults list includes the file itself (directly "
                              "or through another file), so Hydra would load it without end")
    file_error = _config_file_error(e)
    if file_error is not None:
        return file_error
    bad = re.match(r"Invalid defaults list in '([^']+)', (defaults must be a list \(got \w+\))",
                   str(e)) if isinstance(e, ValueError) else None
    if bad:  # defaults: null or a map in an experiment file: Hydra's ValueError traceback
        got = bad.group(2).replace("NoneType", "null")
        return InputError(f"{bad.group(1)}.yaml: its {got}: list entries such as '- override "
                          "/catalog: <option>' and '- _self_', or remove the key")
    if isinstance(e, ValueError) and _raised_in(e, "override_parser"):
        # a sweep's values that Hydra cannot expand: range(0,5,0) ...
        return InputError(f"cannot expand a sweep's values: {str(e).strip().splitlines()[0]}")
    if isinstance(e, (AttributeError, AssertionError, TypeError)) and _override_of(e) is not None:
        # OmegaConf failing inside Hydra as it applied an override: a map given to the
        # default sweeper's null hydra.sweeper.params ('NoneType' object has no attribute 'get')
        o = _override_of(e)
        return InputError(f"Hydra cannot apply {o.input_line!r} here ({type(e).__name__}: "
                          f"{str(e).strip().splitlines()[0] if str(e).strip() else 'no message'}); "
                          "sweep a key with key=a,b instead", key=o.key_or_group)
    if not isinstance(e, (HydraException, OmegaConfBaseException)):
        return None
    # Hydra chains a config file's error (an experiment's unknown key) as the context
    cause = next((c for c in (e.__cause__, e.__context__) if isinstance(c, OmegaConfBaseException)),
                 None)
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    amb = re.match(r"Ambiguous value for argument '(([^'=]+)=.*)'$", first)
    if amb:  # a sweep's values in a single run, saying neither the key nor -m (the twelfth sweep)
        return InputError(f"{first}: several values make a sweep; run it with -m (python -m sim "
                          "-m ...), or give one value", key=amb.group(2).lstrip("+~"))
    req = re.match(r"Sweep parameters '(([^'=]+)=.*)' requires --multirun$", first)
    if req:  # range(), choice(), glob(), interval() in a single run (the fifteenth sweep): as above
        return InputError(f"{req.group(1)!r} is a sweep; run it with -m (python -m sim -m ...), "
                          "or give one value", key=req.group(2).lstrip("+~"))
    twice = re.match(r"(\S+) appears more than once in the final defaults list$", first)
    if twice:  # a file's defaults list choosing a group config.yaml chooses: named no key or file
        return InputError("chosen twice in the defaults lists (config.yaml chooses it; an "
                          f"experiment file choosing another option writes '- override "
                          f"/{twice.group(1)}: <option>', and names it once)", key=twice.group(1))
    if isinstance(e, MissingConfigException):
        m = re.search(r"Could not find '([^']+)/([^'/]+)'", str(e))
        known = list(getattr(e, "options", None) or [])
        unread = _unread_option(e, m.group(1), m.group(2)) if m else None
        if unread is not None:
            return unread
        if m:
            close = difflib.get_close_matches(m.group(2), known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return InputError(f"unknown option {m.group(2)!r}{hint}"
                              + (f"; known: {', '.join(known)}" if known else ""), key=m.group(1))
        return InputError(first.removeprefix("In 'config': "))
    dd = _frame_local(e, "dd", GroupDefault) if first.startswith("Error resolving interpolation") else None
    if dd is not None and dd.is_interpolation():  # named Hydra's own key, '_dummy_'
        why = next((str(c).strip().splitlines()[0] for c in (e.__cause__, e.__context__)
                    if c is not None and str(c).strip()), first)
        return InputError(f"the option {dd.get_name()!r} cannot be resolved ({why}): a config "
                          "group's option may interpolate a set environment variable or another "
                          "group's choice; give the option's name", key=dd.get_group_path())
    src = cause if cause is not None else e
    key = _entry_key(e, src, getattr(src, "full_key", None) or getattr(e, "full_key", None) or None)
    if not key:  # OmegaConf names no key (the sweeper's refusal, a list where a map goes in
        o = _override_of(e)  # an entry of a list): the override's own
        key = o.key_or_group if o is not None else (_folder_key(e) or _merged_key(e))
    detail = str(src).strip().splitlines()[0] if str(src).strip() else first
    own_detail = detail
    m = re.search(r"use \+(\S+)$", str(e).strip()) or re.search(r"override (\S+)$", first)
    if m and detail != first:
        detail += f" (override {m.group(1)})"
    where = re.match(r"In '([^']+)': \w+ raised while composing", first)
    if where and detail != first:  # the config file that set it
        detail += f" (in {where.group(1)}.yaml)"
    if key == "experiment" and "Key 'experiment' not in" in detail:  # an empty file, or one
        detail += ("; an experiment file holds keys under its first line '# @package _global_' "
                   "(without it Hydra puts them under experiment.), and sets no key experiment "
                   "(to build on another, list it in its defaults: '- hybrid')")
    if "override_grammar" in str(e):
        detail, text = _unparsable(e, first)
        if text is not None:  # the twelfth sweep: "mismatched input '='" named no override
            key = key or text.split("=", 1)[0].strip().lstrip("+~") or None
    new = re.search(r"dict is not a subclass of \w+", detail)
    o = _override_of(e) if new else None
    found = _new_entry(o.input_line, key, own_detail) if o is not None else None
    if found is not None:  # from the override itself: its text's spacing no matter (a regex
        return found  # on Hydra's line took {kind:tool} for a value without braces)
    if new and m:
        return _new_entry_hint(m.group(1)) or InputError(detail, key=key)
    o = _override_of(e) if key and "is not a subclass of" in detail else None
    if o is not None and o.key_or_group.endswith("." + key):  # +tenants.x=5: OmegaConf named
        key = o.key_or_group  # the entry by its last part alone ('x')
    return InputError(detail, key=key)


def _folder_key(e: BaseException) -> str | None:
    """The folder key Hydra was resolving as it made a run's folder (``hydra.run.dir=${nope}``:
    "Interpolation key 'nope' not found", no key; the fifteenth sweep), or None."""
    return _frame_local(e, "job_dir_key", str)


def _merged_key(e: BaseException) -> str | None:
    """The key OmegaConf was merging when it refused a config file's value of the wrong kind
    (``tenants: !!omap [...]``, a list where a map goes: "Cannot merge DictConfig with
    ListConfig (in experiment/mine.yaml)", no key; the fifteenth sweep), or None."""
    found, tb = None, e.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_map_merge":
            found = tb.tb_frame.f_locals
        tb = tb.tb_next
    if found is None or not isinstance(found.get("key"), str):
        return None
    try:
        return found["dest"]._get_full_key(found["key"]) or None
    except Exception:  # noqa: BLE001 - no key rather than a second error
        return None


def _unparsable(e: BaseException, first: str) -> tuple[str, str | None]:
    """The message for an override Hydra's grammar refuses, naming the override and the
    reason (Hydra's first line is one or the other), and the override's text."""
    text = getattr(e, "override", None)
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and "override_grammar" not in ln]
    why = lines[1] if first.startswith("Error parsing override") and len(lines) > 1 else first
    hint = ""
    if isinstance(text, str) and "=" in text.partition("=")[2] and "input '='" in why:
        hint = " (an '=' inside a value needs quotes: key='a=b')"
    if not isinstance(text, str) or text in why:
        return f"cannot parse an override: {why}{hint} (see the Hydra override grammar)", text
    return (f"cannot parse the override {text!r}: {why}{hint} (see the Hydra override grammar)",
            text)


def _entry_key(e: BaseException, src, key: str | None) -> str | None:
    """A bad field of an entry of a list of entries (``dedicated.variants=[{...}]``,
    ``dedicated.failures.script``): OmegaConf names the field alone (``pricing``), as the
    entry is checked before it joins the list; the full key, with the entry's index."""
    etype = getattr(src, "object_type", None)
    if key is None or not dataclasses.is_dataclass(etype):
        return key
    o = _override_of(e)
    if o is None:  # a config file's entry (an experiment's): where in the file's own keys
        loaded = _frame_local(e, "loaded") or _frame_local(src, "loaded")  # Hydra's loop
        cfg = getattr(loaded, "config", None)
        if cfg is None or not OmegaConf.is_dict(cfg):
            return key
        where = _bad_entry(OmegaConf.to_container(cfg, resolve=False), etype, "")
        return key if where is None else f"{where.lstrip('.')}.{key}"
    base = o.key_or_group
    if key == base or key.startswith((base + ".", base + "[")):
        return key
    where = _bad_entry(o.value(), etype, "")
    return key if where is None else f"{base}{where}.{key}"


def _frame_local(e: BaseException, name: str, kind: type = object):
    """The innermost value of type ``kind`` of the local ``name`` in the frames ``e`` was
    raised through."""
    found, tb = None, e.__traceback__
    while tb is not None:
        v = tb.tb_frame.f_locals.get(name)
        found = v if v is not None and isinstance(v, kind) else found
        tb = tb.tb_next
    return found


def _override_of(e: BaseException) -> Override | None:
    """The override Hydra was applying when it raised ``e`` (its loop's local)."""
    return _frame_local(e, "override", Override)


def _bad_entry(value, etype: type, path: str) -> str | None:
    """Where in an override's value (``[1]``, ``.script[0]``) the first entry that is not a
    valid ``etype`` stands, or None."""
    if isinstance(value, dict):
        for k, v in value.items():
            got = _bad_entry(v, etype, f"{path}.{k}")
            if got is not None:
                return got
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict):
                try:
                    OmegaConf.merge(OmegaConf.structured(etype), v)
                except Exception:  # noqa: BLE001 - any refusal marks the entry
                    return f"{path}[{i}]"
    return None


def _raised_in(e: BaseException, part: str) -> bool:
    """Whether ``e`` was raised within a module whose path contains ``part``."""
    tb = e.__traceback__
    while tb is not None:
        if part in tb.tb_frame.f_code.co_filename and tb.tb_next is None:
            return True
        tb = tb.tb_next
    return False


def _unread_option(e: BaseException, group: str, name: str) -> InputError | None:
    """Why Hydra did not find the option ``group/name`` when a file of that name is in a
    folder of its search path (a FIFO, a folder, a device, a link to none, one Hydra may not
    read, a ``.yml``): Hydra lists regular ``.yaml`` files alone, so it said "unknown option"
    with the file in plain sight (the twenty-second sweep); None when there is no such file."""
    repo = _frame_local(e, "repo", IConfigRepository)  # Hydra's, as it looked for the option
    for src in repo.get_sources() if repo is not None else ():
        if src.scheme() != "file":
            continue
        base = Path(src.path) / group
        for folder in (base.parent, base):  # one Hydra may not list: it lists nothing in it
            if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
                return InputError(f"cannot read this folder (Permission denied), so "
                                  f"{group}={name} is unknown", path=str(folder))
        for p in (base / f"{name}.yaml", base / f"{name}.yml"):
            if not os.path.lexists(p):
                continue
            if p.suffix == ".yml":
                return InputError(f"Hydra reads config files named .yaml only: rename it "
                                  f"{name}.yaml", path=str(p))
            try:
                mode = p.stat().st_mode
            except OSError as err:  # a link to nothing, a loop of links
                return InputError(f"a link that leads to no file ({err.strerror}): Hydra does not "
                                  f"list it, so {group}={name} is unknown", path=str(p))
            what = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
                    if stat.S_ISSOCK(mode) else None)
            if what:
                return InputError(f"{what}, not a regular file: Hydra does not list it, so "
                                  f"{group}={name} is unknown", path=str(p))
    return None


def _config_file_error(e: BaseException) -> InputError | None:
    """A config file of a group (an experiment, a catalog on ``hydra.searchpath``) that is
    not YAML, or whose YAML is not a mapping, or a ``hydra.searchpath`` folder that does not
    exist (Hydra's warning, made an error by the command line): the file and line, or the
    key."""
    if isinstance(e, UserWarning) and "hydra.searchpath" in str(e):
        m = re.search(r"path=(.*?) is not available", str(e))
        return InputError(f"{m.group(1) if m else 'a path'} is not available (no such folder, or "
                          "no config in it)", key="hydra.searchpath")
    path = None
    tb = e.__traceback__
    while tb is not None:  # Hydra's file config source, which read the file: its path
        path = tb.tb_frame.f_locals.get("full_path", path)
        tb = tb.tb_next
    if isinstance(e, PermissionError) and _raised_in(e, "config_source"):  # Hydra reading
        # a config file or listing a group's folder; it was said as the run folder not written
        what = "folder" if os.path.isdir(e.filename or "") else "config file"
        return InputError(f"cannot read this {what} ({e.strerror})", path=e.filename or path)
    if isinstance(e, yaml.YAMLError):
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).strip().splitlines()[0]
        what = "" if isinstance(e, RefusedYAML) else "not valid YAML: "
        return InputError(f"{what}{problem}", path=path or getattr(mark, "name", None),
                          line=mark.line + 1 if mark is not None else None)
    if path is not None and isinstance(e, UnicodeDecodeError):
        return InputError(f"not UTF-8 text (byte {e.start}: {e.reason})", path=path)
    if path is not None and isinstance(e, OSError) and "Invalid loaded object type" in str(e):
        return InputError("a config file must hold a mapping of keys, not a single "
                          + str(e).rsplit(": ", 1)[-1], path=path)
    return None


def _new_entry(override: str, key: str | None, detail: str) -> InputError | None:
    """A new entry of a typed map that Hydra's override could not type: ``override`` as typed
    (``+tenants.x={...}``, ``pipelines.rag.stages.extra={...}``, ``tenants.x.model=m``) and
    ``key``, the entry OmegaConf named (its last part alone). The form that works: through
    the map that types the entry (``<map>.<name>={...}`` is rewritten so for the maps of
    OPEN_DICTS), whole when fields below it were given; None when ``key`` is not in the path."""
    plus = override[:len(override) - len(override.lstrip("+"))]
    path, _, value = override[len(plus):].partition("=")
    parts = path.split(".")
    if not key or key not in parts[1:]:
        return None
    i = len(parts) - 1 - parts[::-1].index(key)
    parent, entry = ".".join(parts[:i]), ".".join(parts[:i + 1])
    braces = value
    for part in reversed(parts[i + 1:]):
        braces = f"{{{part}: {braces}}}"
    form = f"{entry}={braces}" if parent in OPEN_DICTS else f"{parent}={{{key}: {braces}}}"
    whole = "" if i == len(parts) - 1 else (f"{entry} does not exist yet, so its fields cannot "
                                             f"be set one by one ({path}): add the entry whole, "
                                             "in braces (with every field it needs): ")
    if plus:
        return InputError(f"a new entry of a map is added without {plus!r} (Hydra's {plus!r} "
                          f"cannot give it its type): {whole}write {form}", key=path)
    if whole:  # the entry that does not exist yet is the key (catalog.models.m, not its .x)
        return InputError(f"{whole}{form}", key=entry)
    return InputError(f"{detail}: a new entry of a typed map is added through the map, which "
                      f"types it: write {form}", key=entry)


def _new_entry_hint(override: str) -> InputError | None:
    """``tenants.x.model=m`` when ``tenants.x`` does not exist yet: a new entry of a map is
    added whole, in braces; say so, with the form to use."""
    path, _, value = override.partition("=")
    parts = path.lstrip("+").split(".")
    index = next((i for i, p in enumerate(parts) if p.isdigit()), None)
    if index is not None and index > 0:  # dedicated.variants.5.replicas=2: no entry 5
        lst = ".".join(parts[:index])
        return InputError(f"{lst} has no entry {parts[index]} (entries are counted from 0), so "
                          f"its fields cannot be set one by one: give the list whole, "
                          f"{lst}=[{{...}}, ...]", key=f"{lst}[{parts[index]}]")
    for d in sorted(OPEN_DICTS, key=len, reverse=True):
        if path.startswith(d + "."):
            entry, _, rest = path[len(d) + 1:].partition(".")
            if not rest:
                return None
            braces = value
            for part in reversed(rest.split(".")):
                braces = f"{{{part}: {braces}}}"
            return InputError(f"{d}.{entry} does not exist yet, so its fields cannot be set one "
                              f"by one: add the entry whole, in braces: {d}.{entry}={braces} "
                              "(with every field it needs)", key=path)
    return None
