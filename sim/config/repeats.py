"""What an override sets, and the command line's checks of values given more than once.

:func:`check_twice` refuses a key the command line sets twice with two values, and a sweep
that lists one value twice (compared as the schema's type of the key reads them:
``seed=1,01`` is one seed); :func:`check_sweep_size` refuses a sweep of too many jobs;
:func:`leaf_keys` lists the dotted keys an override sets, through a ``{...}`` value
(the notes of keys a run does not read).
"""

from __future__ import annotations

import math
import sys
from typing import Callable

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.overrides_visitor import HydraOverrideVisitor
from hydra.core.override_parser.types import (
    ChoiceSweep,
    OverrideType,
    RangeSweep,
    ValueType,
)

from sim.config.variants import format_value
from sim.errors import InputError

# assumption: a sweep of more jobs is a typo (range(0,100000000)); Hydra lists every job
# before the first starts, and 1e8 of them filled memory for minutes (a hang)
MAX_SWEEP_JOBS = 100_000


class _Twice(Exception):
    """A key given twice in one ``{...}`` of an override (its dotted path inside it)."""


class _StrictVisitor(HydraOverrideVisitor):
    """Hydra's visitor, but a ``{...}`` that names a key twice is refused instead of keeping
    the last value (Hydra builds the dict with ``dict(...)``, dropping the first)."""

    path: tuple = ()

    def visitDictContainer(self, ctx):
        seen: dict = {}
        for i in range(1, ctx.getChildCount() - 1, 2):
            pair = ctx.getChild(i)
            k = self.visitDictKey(pair.getChild(0))
            if k in seen:
                raise _Twice(".".join(map(str, (*self.path, k))))
            outer, self.path = self.path, (*self.path, k)
            try:
                seen[k] = self.visitElement(pair.getChild(2))
            finally:
                self.path = outer
        return seen


def _key_twice(text: str) -> str | None:
    """The dotted path of a key that a ``{...}`` in the override ``text`` gives twice."""
    if "{" not in text:
        return None
    from antlr4 import CommonTokenStream, InputStream
    from hydra.core.override_parser.overrides_visitor import HydraErrorListener
    from hydra.grammar.gen.OverrideLexer import OverrideLexer
    from hydra.grammar.gen.OverrideParser import OverrideParser

    lexer = OverrideLexer(InputStream(text))
    parser = OverrideParser(CommonTokenStream(lexer))
    for x in (lexer, parser):
        x.removeErrorListeners()
        x.addErrorListener(HydraErrorListener())
    try:
        _StrictVisitor(OverridesParser.create().functions).visit(parser.override())
    except _Twice as e:
        return str(e)
    except Exception:  # unparsable: Hydra reports it itself
        return None
    return None


def _count(n: int) -> str:
    """A count as digits up to a trillion, beyond in powers of ten (``range(1,2,1e-300)``
    printed its 1e300 jobs as 400 characters of digits)."""
    return f"{n:,}" if n < 10**12 else f"{float(n):.3g}"


def _parse(text: str):
    try:
        return OverridesParser.create().parse_override(text)
    except ValueError as e:  # an integer of over 4300 digits: Python's int() refuses to read
        if "integer string conversion" not in str(e):  # it, which Hydra said as "cannot
            return None  # expand a sweep's values", naming no key, for a single value too
        raise InputError(f"a number of more than {sys.get_int_max_str_digits():,} digits, "
                         f"which no value of the config is (in {text[:40]!r}...)",
                         key=text.split("=", 1)[0].lstrip("+~") or None) from None
    except Exception:  # Hydra reports unparsable overrides itself, with the grammar
        return None


def _is_dict_change(o) -> bool:
    return (o is not None and o.type == OverrideType.CHANGE and o.value_type == ValueType.ELEMENT
            and isinstance(o.value(), dict))


def _leaves(o, text: str) -> list[tuple[str, object, str]]:
    """What the override ``o`` (typed as ``text``) sets: (dotted key, value, value as shown)
    per key, a ``{...}`` value flattened down to its leaves (an empty one is a leaf)."""
    key = o.key_or_group + (f"@{o.package}" if o.package else "")
    shown = text.split("=", 1)[1] if "=" in text else ""
    if not _is_dict_change(o) or not o.value():
        return [(key, o.value() if o.value_type == ValueType.ELEMENT else shown, shown)]
    out = []

    def walk(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict) and v:
                walk(f"{prefix}.{k}", v)
            else:
                out.append((f"{prefix}.{k}", v, format_value(v)))

    walk(key, o.value())
    return out


def _unquoted(v):
    """An override's value with each quoted string its text, inside maps and lists too."""
    if isinstance(v, dict):
        return {k: _unquoted(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unquoted(x) for x in v]
    return getattr(v, "text", v)


def _as_read(v, t):
    """A sweep's value as the schema's type ``t`` of its key reads it (``01`` is the int 1,
    ``5`` the float 5.0, ``yes`` true); a value that does not convert is left (the run
    refuses it); a quoted text is its text."""
    from omegaconf.nodes import BooleanNode, FloatNode, IntegerNode

    node = {int: IntegerNode, float: FloatNode, bool: BooleanNode}.get(t)
    v = _unquoted(v)
    try:
        if node is None:  # a text key, or one the schema does not know: as text
            return str(v) if t is None or (isinstance(t, type) and issubclass(t, str)) else v
        return node(value=v)._value()
    except Exception:
        return v


def leaf_keys(text: str) -> list[str]:
    """The dotted keys the override ``text`` sets (``a={b: {c: 1}}`` sets ``a.b.c``); none
    for a deletion or an unparsable override."""
    o = _parse(text) if not text.startswith(("-", "~")) else None
    return [] if o is None or o.type == OverrideType.DEL else [k for k, _, _ in _leaves(o, text)]


def check_twice(overrides: list[str], schema_type: Callable[[str], object] = lambda key: None,
                where: str = "on the command line") -> None:
    """A key the command line sets twice with different values (``horizon_s=10 horizon_s=20``,
    also through ``{...}`` or ``+``/``++``): Hydra keeps the last silently, so it is refused.
    A deletion in between (``~tenants.chat`` then ``tenants.chat={...}``) starts the key afresh;
    the same value given twice changes nothing and passes. A sweep listing one value twice,
    in any spelling the key's type (``schema_type``) reads alike (``seed=1,01``), is refused."""
    seen: dict[str, tuple[object, str, str]] = {}
    for text in overrides:
        o = _parse(text) if not text.startswith("-") else None
        if o is None:
            continue
        if o.type == OverrideType.DEL:
            gone = o.key_or_group
            seen = {k: v for k, v in seen.items()
                    if not (k == gone or k.startswith(gone + ".") or k.startswith(gone + "/"))}
            continue
        if o.value_type in (ValueType.CHOICE_SWEEP, ValueType.SIMPLE_CHOICE_SWEEP):
            shown = list(o.sweep_string_iterator())
            t = schema_type(o.key_or_group)
            read = [_as_read(v, t) for v in o.value().list]
            again = next(((shown[j], shown[i]) for i in range(len(read)) for j in range(i)
                          if _same_value(read[j], read[i])), None)
            if again is not None:
                spelt = (f"{again[0]} twice" if again[0] == again[1] else
                         f"one value twice, as {again[0]} and {again[1]}"
                         + (f" (the same {t.__name__})" if t in (int, float, bool) else ""))
                raise InputError(f"the sweep {text!r} lists {spelt}: the same job would run "
                                 "twice and count twice in the sweep's summary", key=o.key_or_group)
        for key, value, shown in _leaves(o, text):
            if key in seen and not _same_value(seen[key][0], value):
                raise InputError(f"given twice {where}, {seen[key][1]} (in "
                                 f"{seen[key][2]!r}) and {shown} (in {text!r}); Hydra would keep "
                                 "the last silently: give it once", key=key)
            seen[key] = (value, shown, text)


def _sweep_size(o) -> int | None:
    """How many values the sweep override ``o`` lists (a range counted, not listed), or None
    (a glob, an interval: a sweeper's own business)."""
    v = o.value() if o is not None else None
    if isinstance(v, RangeSweep) and v.step:
        n = (v.stop - v.start) / v.step
        if not math.isfinite(n):  # range(0,1e400): an OverflowError traceback
            raise InputError(f"{o.input_line!r}: a range's start, stop and step must be finite",
                             key=o.key_or_group)
        return max(math.ceil(n), 0)
    if isinstance(v, ChoiceSweep):
        return len(v.list)
    return None


def check_sweep_size(overrides: list[str]) -> None:
    """A sweep of more than :data:`MAX_SWEEP_JOBS` jobs, refused before Hydra lists them,
    naming the key that lists the most values."""
    sizes = {}
    for text in overrides:
        n = _sweep_size(_parse(text) if not text.startswith("-") else None)
        if n is not None:
            sizes[text.split("=", 1)[0].lstrip("+~")] = n
    total = math.prod(sizes.values())
    if total > MAX_SWEEP_JOBS:
        key = max(sizes, key=sizes.get)
        raise InputError(f"the sweep would run {_count(total)} jobs ({key} lists {_count(sizes[key])} values); "
                         f"at most {MAX_SWEEP_JOBS:,} (sim/config/repeats.py)", key=key)


def _same_value(a, b) -> bool:
    try:
        return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)
    except Exception:  # values that do not compare: taken as different
        return False
