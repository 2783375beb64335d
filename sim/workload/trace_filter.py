"""A CSV trace's row filter (``arrival.trace.where``): the rows a replay keeps, by the text of
named columns.

A row is kept when, for every column of the filter, its field equals one of the values
listed for that column: compared as text, exactly (case counts), after surrounding
whitespace is stripped from both. The reader applies the filter before it parses times and
lengths and checks their order, so rows left out are not checked; times count from the
file's first row (its time is read too), so tenants that split one file keep its timing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.errors import InputError

Where = tuple  # ((column, (value, ...)), ...): hashable, so the memoised reader keys on it


class WhereRefused(InputError):
    """A refusal of the filter by a reader, which knows the file but not the tenant: the
    caller that knows the tenant's key says it again under that key (see ``tenant_trace``)."""

    def __init__(self, message: str, column: str | None, path: str, line: int | None = None):
        self.message, self.column = message, column
        super().__init__(message, key="arrival.trace.where" + (f".{column}" if column else ""),
                         path=path, line=line)


def where_spec(where) -> Where:
    """The config's ``where`` map as the reader takes it: each value text stripped, a single
    value as a list of one, repeated values once (an empty map: no filter)."""
    out = []
    for col, vals in (where or {}).items():
        vals = [vals] if isinstance(vals, (str, int)) else list(vals)
        out.append((str(col), tuple(dict.fromkeys(str(v).strip() for v in vals))))
    return tuple(out)


def value_problem(vals) -> str | None:
    """Why ``vals`` is not a filter's value (text or an integer) or a non-empty list of
    them, or None."""
    one = (lambda v: isinstance(v, (str, int)) and not isinstance(v, bool))
    if isinstance(vals, Mapping) or isinstance(vals, (bytes, float, bool)) or vals is None:
        return f"must be a value or a list of values, got {vals!r}" + (
            " (quote a number with a fraction, or true/false, to compare it as text)"
            if isinstance(vals, (float, bool)) else "")
    if one(vals):
        return None
    vals = list(vals)
    if not vals:
        return "an empty list keeps no row; list the values to keep"
    bad = [v for v in vals if not one(v)]
    if bad:
        return (f"each value must be text or an integer, got {bad[0]!r} (quote a number with a "
                "fraction, or true/false, to compare it as text)")
    return None


def describe(where: Where) -> str:
    return " and ".join(f"{c} is {' or '.join(v)}" for c, v in where)


def check_columns(where: Where, header: list[str], path: str, line: int) -> None:
    for col, _ in where:
        if col not in header:
            raise WhereRefused(f"the filter's column {col!r} is not in the trace file (its header "
                               f"is {header})", col, path, line)


def kept_rows(where: Where, columns: dict, path: str) -> tuple[np.ndarray, str]:
    """The indices of the rows ``where`` keeps (``columns``: each filtered column's text, Arrow
    strings) and the note saying how many of how many; a filter keeping none is refused."""
    n = len(next(iter(columns.values())))
    keep = None
    for col, vals in where:
        hit = pc.is_in(pc.utf8_trim_whitespace(columns[col]), value_set=pa.array(vals, pa.string()))
        keep = hit if keep is None else pc.and_(keep, hit)
        if not pc.any(hit).as_py():  # this column alone keeps none: say what it holds
            seen = pc.unique(pc.utf8_trim_whitespace(columns[col])).to_pylist()
            shown = ", ".join(repr(s) for s in sorted(seen)[:8]) + (", ..." if len(seen) > 8 else "")
            raise WhereRefused(f"no row of the {n:,} has {col} {' or '.join(map(repr, vals))} "
                               f"(its values: {shown}); the filter keeps no request", col, path)
    idx = np.flatnonzero(np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool))
    if not idx.size:
        raise WhereRefused(f"no row of the {n:,} has all of {describe(where)}; the filter "
                           "keeps no request", None, path)
    return idx, f"kept {idx.size:,} of {n:,} rows where {describe(where)}"
