"""A trace's columns parsed and checked: times (ISO 8601 datetimes or numbers in a unit)
as seconds from the first row, their order and equal times (:func:`check_order`), and token
counts as integers; each refusal names the file's line (``line_of``: the line of data row i).

Arrow casts whole columns (millions of rows in a second); a column it will not cast is
searched for its first bad row, and the reason is said in the user's terms.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.errors import InputError

MAX_TOKENS = 2**31 - 1  # a token count must fit the request log's 32-bit columns
MAX_TIMESTAMP_MS = 1e15  # assumption: a trace spans less than 30,000 years (plausibility)
UNIT_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_ZONE = r"(Z|[+-]\d\d:?\d\d)$"  # a UTC offset ending an ISO 8601 time (2024 trace: +00:00)
_TS_LIKE = "like 2023-11-16 18:17:03.9799600 or 2024-05-10 00:00:00.009930+00:00"
# an ISO time's date and time parsed to nanoseconds (Arrow's timestamp[ns], int64) spans
# 1677-09-21 to 2262-04-11; earlier or later years are refused, saying so
_NS_SPAN = "1677-09-21 to 2262-04-11"


def _cast(a, kind):
    """``a`` cast to ``kind``, else the same with spaces trimmed, else None."""
    for trim in (False, True):
        try:
            return pc.cast(pc.utf8_trim_whitespace(a) if trim else a, kind)
        except pa.ArrowInvalid:
            pass
    return None


def _first_uncast(a, kind) -> int:
    """The first row of ``a`` that will not cast to ``kind`` (one does)."""
    i, hi = 0, len(a)
    while hi - i > 1:  # rows [0, i) cast and [i, hi) holds one that does not: halve it
        mid = (i + hi) // 2
        i, hi = (mid, hi) if _cast(a[i:mid], kind) is not None else (i, mid)
    return i


def _why_not_iso(text: str, kind) -> str:
    """Why the ISO time ``text`` (which Arrow refused as ``kind``) is not read."""
    frac = re.search(r":\d\d[.,](\d+)", text)
    if frac and len(frac.group(1)) > 9:
        return (f"{len(frac.group(1))} fractional digits: times are read to the nanosecond, "
                "at most 9")
    if re.search(r"\d\d:\d\d:60", text):
        return "second 60 (a leap second): the reader's clock, as Python's, has none"
    whole = re.sub(r"(:\d\d)\.\d+", r"\1", text.strip())  # to the second: Arrow's widest span
    if _cast(pa.array([whole]), pa.timestamp("s", tz=kind.tz)) is not None:
        return f"outside {_NS_SPAN}, the dates a nanosecond time can hold"
    return f"expected {_TS_LIKE}"


def iso_times(ts, name: str, path: Path, line_of) -> np.ndarray:
    """Seconds from the first row: ISO 8601 times, all with a UTC offset (the 2024 trace;
    read as instants, so rows in other zones compare correctly) or all without (2023)."""
    zoned = re.search(_ZONE, ts[0].as_py().strip()) is not None
    kind = pa.timestamp("ns", tz="UTC" if zoned else None)
    ns = _cast(ts, kind)
    if ns is None:  # say which row, and why: a zone given or left out unlike the first row
        trimmed = pc.utf8_trim_whitespace(ts)
        mixed = pc.not_equal(pc.match_substring_regex(trimmed, _ZONE), zoned)
        i = pc.index(mixed, True).as_py()
        if i >= 0:
            raise InputError(f"{name} {trimmed[i].as_py()!r} {'lacks' if zoned else 'has'} a "
                             f"UTC offset, unlike the first row's {trimmed[0].as_py()!r}: give "
                             "every row one or none", path=str(path), line=line_of(i))
        i = _first_uncast(trimmed, kind)
        raise InputError(f"bad {name} {ts[i].as_py()!r} ({_why_not_iso(ts[i].as_py(), kind)})",
                         path=str(path), line=line_of(i))
    ns = ns.cast(pa.int64()).to_numpy()
    # offsets from the first row in int64 nanoseconds: beyond about 292 years they wrapped
    # (rows of 1700 and 2200 were "timestamps go backwards", December 2026)
    far = np.abs(ns.astype(np.float64) - float(ns[0])) >= 2.0**63
    if far.any():
        i = int(np.flatnonzero(far)[0])
        raise InputError(f"{name} {ts[i].as_py()!r} is about 292 years or more from the first "
                         f"row's {ts[0].as_py()!r}: a trace's times must span less (they are "
                         "counted in nanoseconds from its first row)", path=str(path),
                         line=line_of(i))
    return pd.to_timedelta(ns - ns[0], unit="ns").total_seconds().to_numpy()


def _plain_ints(a):
    """``a`` as int64 when every row is a decimal integer (Arrow's cast also takes hex,
    ``0x64``, which no trace writes), else None."""
    if pc.any(pc.match_substring(a, "x", ignore_case=True)).as_py():
        return None
    return _cast(a, pa.int64())


def origin_said(e: InputError, rows, line_of) -> InputError:
    """A time refused on the file's first or last row, which ``arrival.trace.where`` left out
    (``rows``: the origin row, the kept rows, the last row) yet whose time is read as the
    replay's origin or end: said why."""
    if rows is None or e.line not in (line_of(0), line_of(len(rows) - 1)):
        return e
    first = e.line == line_of(0)
    if (rows[0] if first else rows[-1]) in rows[1:-1]:  # a kept row: refused as such
        return e
    return InputError(e.message + "; this row is left out by arrival.trace.where, but its time "
                      "is read: times count from the file's first row and a loop's period ends "
                      "at its last (give it a time, or remove the row from the file)",
                      path=e.path, line=e.line)


def origin_and_end(t: np.ndarray, path: Path, line_of) -> tuple[np.ndarray, float]:
    """The kept rows' times and the file's end, from the times of the file's first row, the
    rows ``arrival.trace.where`` kept and the file's last row, in that order (each counted
    from the first): a kept row outside the file's first and last is refused."""
    if t[1] < 0 or t[-2] > t[-1]:
        i, how = (1, f"first row kept by arrival.trace.where is {-t[1]:.9g} s before the file's "
                  "first row, whose time is the replay's origin") if t[1] < 0 else (
            len(t) - 2, f"last row kept by arrival.trace.where is {t[-2] - t[-1]:.9g} s after "
            "the file's last row, whose time ends a loop's pass")
        raise InputError(f"the {how}; sort the trace by time", path=str(path), line=line_of(i))
    return t[1:-1], float(t[-1])


def seconds(ts, name: str, path: Path, line_of, unit_s: float = 1.0) -> np.ndarray:
    """Seconds from the first row, of a column of numeric times in units of ``unit_s``.
    Integers are subtracted exactly before they become floats: nanoseconds since 1970
    (1.7e18) are 256 ns apart as float64, so times 100 ns apart read as equal."""
    v = _cast(ts, pa.float64())
    if v is None:  # (Arrow's float cast, unlike its integer cast, takes no hex)
        i = _first_uncast(ts, pa.float64())
        unit = {1.0: "seconds", 1e-3: "milliseconds", 1e-6: "microseconds"}.get(unit_s,
                                                                                 "nanoseconds")
        raise InputError(f"{name} must be a number of {unit}, got {ts[i].as_py()!r}",
                         path=str(path), line=line_of(i))
    v = v.to_numpy()
    bad = ~np.isfinite(v) | (np.abs(v) * unit_s > MAX_TIMESTAMP_MS / 1000.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{name} must be a finite time within +-{MAX_TIMESTAMP_MS / 1000:g} s, "
                         f"got {ts[i].as_py()!r}", path=str(path), line=line_of(i))
    need = np.abs(v).max() * 2.0**-52 > 1e-9 / unit_s  # float64 is coarser than 1e-9 a unit
    exact = _exact_offsets(ts) if need else None
    if need and exact is None:  # float64 would round it, merging rows the file tells apart
        i = _first_uncast(ts, pa.decimal128(36, 9))
        raise InputError(f"{name} {ts[i].as_py()!r}: at this size a time is read exactly to 9 "
                         "fraction digits of its unit, and beyond them float64 rounds it, so "
                         "rows the file tells apart could read as equal: round the times to 9 "
                         "fraction digits", path=str(path), line=line_of(i))
    v = exact if exact is not None else v - v[0]
    return v if unit_s == 1.0 else v * unit_s


def _exact_offsets(ts) -> np.ndarray | None:
    """Each time less the first, in the column's unit, subtracted before rounding to float64
    (whose step is coarser than a nanosecond here: 256 ns at 1.7e18 ns, 238 ns at 1.7e9 s) as
    Arrow decimals of 9 fraction digits (integers too); None where a time has more digits,
    which keeps float64's subtraction. About 0.3 s for 5 million times."""
    d = _cast(ts, pa.decimal128(36, 9))
    return None if d is None else pc.cast(pc.subtract(d, d[0]), pa.float64()).to_numpy()


def _check_ints(values: pd.Series, name: str, path: Path, line_of, minimum: int) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce").astype(float)
    bad = (~np.isfinite(num) | (num < minimum) | (num != np.floor(num)) | (num > MAX_TOKENS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        v = values.iloc[i]
        if v is None or not str(v).strip():  # a log that did not record this row's count
            raise InputError(f"{name} is empty: every replayed row needs the token counts read "
                             "(fill the field in or leave the row out of the file; a trace's "
                             "length columns are read only for a tenant's input or output of "
                             "kind: trace)", path=str(path), line=line_of(i))
        raise InputError(f"{name} must be an integer in [{minimum}, {MAX_TOKENS}], got "
                         f"{v!r}", path=str(path), line=line_of(i))
    return num.to_numpy().astype(np.int64)


def ints(a, name: str, path: Path, line_of, minimum: int) -> np.ndarray:
    v = _plain_ints(a)
    if v is not None:
        v = v.to_numpy()
        if v.size and minimum <= v.min() and v.max() <= MAX_TOKENS:
            return v
    # not plain integers in range: the checks below say which row
    return _check_ints(pd.Series(a.to_pylist(), dtype=object), name, path, line_of, minimum)


def trace_sides(tc) -> tuple[str, ...]:
    """The sides of a tenant's lengths read from its trace (``input``, ``output``: ``kind:
    trace``), the only length columns (fields) read of a trace file, whatever its format; a
    pipeline tenant's lengths are its stages'."""
    if tc.pipeline is not None:
        return ()
    return tuple(s for s in ("input", "output") if str(getattr(tc, s).kind) == "trace")


def no_lengths(key: str, side: str, why: str, fix: str = "") -> str:
    """Why a tenant reading its ``side`` lengths from a log (``key``: its arrival.trace) cannot;
    ``fix``: how to name the column in its format (none: draw the lengths)."""
    tenant = key.rsplit(".arrival.", 1)[0]
    return (f"{tenant}.{side}.kind: trace reads each request's {side} length from the log, "
            f"{why}: {fix + ', or d' if fix else 'd'}raw the lengths "
            f"({tenant}.{side}.kind: fixed, lognormal, geometric or empirical)")


class DuplicateTimes(InputError):
    """Equal times refused by ``duplicates: error``: :func:`tenant_trace` names the key."""


def check_order(t: np.ndarray, path: Path, line_of, duplicates: str,
                 slot_s: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The checked times, and which rows share the time of the row before (None when none)."""
    d = np.diff(t)
    if (d < 0).any():
        i = int(np.flatnonzero(d < 0)[0]) + 1
        raise InputError(f"timestamps go backwards ({t[i - 1]:.9g} s then {t[i]:.9g} s); "
                         "sort the trace by time", path=str(path), line=line_of(i))
    if duplicates == "error" and (d == 0).any():
        i = int(np.flatnonzero(d == 0)[0]) + 1
        n = int(np.count_nonzero(d == 0))
        raise DuplicateTimes(f"duplicate timestamp ({n:,} row(s) in all share the time of the "
                             "row before); set the trace's `duplicates` to keep (the times as "
                             "recorded) or spread to accept them", path=str(path), line=line_of(i))
    if not (d == 0).any():
        return t, None
    return _spread(t, slot_s) if duplicates == "spread" else t, np.concatenate([[False], d == 0])


def _spread(t: np.ndarray, slot_s: float) -> np.ndarray:
    """Spread each run of equal timestamps evenly over the gap to the next distinct one."""
    out = t.astype(float).copy()
    uniq, start, count = np.unique(t, return_index=True, return_counts=True)
    nxt = np.append(uniq[1:], uniq[-1] + slot_s)
    for u, s, c, n in zip(uniq, start, count, nxt):
        if c > 1:
            out[s: s + c] = u + (n - u) * np.arange(c) / c
    return out
