"""Readers for request traces, with validation that names the file and line.

Formats (see ../shared/traces/README.md):

* ``azure``: CSV ``TIMESTAMP,ContextTokens,GeneratedTokens`` with timestamps like
  ``2023-11-16 18:17:03.9799600`` (Azure LLM inference trace 2023, Patel et al., ISCA'24)
  or ``2024-05-10 00:00:00.009930+00:00`` (the 2024 week-long traces, Stojkovic et al.,
  DynamoLLM, HPCA'25);
* ``mooncake``: JSON lines (:mod:`sim.workload.trace_mooncake`).

A length column (field) is read only for the sides a tenant replays (``input`` / ``output``
of ``kind: trace``), whatever the format: a tenant drawing its lengths replays a file's
arrivals without reading, needing or checking its length columns.

Every reader returns seconds from the file's first row, input and output token counts; a CSV
reader keeps only the rows a ``where`` filter names (:mod:`sim.workload.trace_filter`).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sim.errors import InputError
from sim.filecache import by_content
from sim.paths import resolve
from sim.textfiles import (
    check_utf8,
    csv_row_line,
    csv_rows,
    read_bytes,
    read_head,
    read_text,
    unique_header,
)
from sim.workload.trace_columns import (  # noqa: F401  (MAX_TOKENS: imported from here too)
    MAX_TIMESTAMP_MS,
    MAX_TOKENS,
    UNIT_S,
    DuplicateTimes,
    check_order,
    ints,
    iso_times,
    no_lengths,
    origin_and_end,
    origin_said,
    seconds,
)
from sim.workload.trace_filter import (
    Where,
    WhereRefused,
    check_columns,
    kept_rows,
    where_spec,
)
from sim.workload.trace_mooncake import (  # noqa: F401  (imported from here too)
    MOONCAKE_BLOCK,
    MissingLength,
    Trace,
    read_mooncake,
)


class MissingColumns(InputError):
    """A CSV without its format's columns; ``own``: none of them, nor another format's."""

    def __init__(self, message: str, path: str, line: int, own: bool, missing: list):
        super().__init__(message, path=path, line=line)
        self.own, self.missing = own, missing


@dataclass(frozen=True)
class CsvFormat:
    """A CSV trace format: its time, prompt-token and output-token columns (others are not
    read; a length column None: not read), the fewest prompt tokens a row may give, and the
    slot over which ``spread`` spreads a last run of equal times."""
    name: str
    columns: tuple
    min_input: int
    slot_s: float
    header_hint: str
    unit: str = "s"  # of the times: s, ms, us, ns (numbers) or iso (ISO 8601 datetimes)


AZURE = CsvFormat("azure", ("TIMESTAMP", "ContextTokens", "GeneratedTokens"), 1, 1e-6,
                  "TIMESTAMP,ContextTokens,GeneratedTokens", "iso")
# BurstGPT (Wang et al., arXiv 2401.17644): whole seconds from the trace's start (equal times
# common: spread over 1 s by default); a failed request's 0 response tokens and rows of 0
# request tokens are kept (the length config raises them to one token and counts them)
BURSTGPT = CsvFormat("burstgpt", ("Timestamp", "Request tokens", "Response tokens"), 0, 1.0,
                     "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type")


def csv_format(time: str, input: str | None, output: str | None, unit: str) -> CsvFormat:
    """A user's own CSV (``format: csv``): the columns named (a length column None: not read,
    the tenant draws those lengths), a prompt of 0 tokens kept as recorded (the length config
    raises it to one and counts it), equal times spread over the unit's smallest step (an ISO
    time's microsecond) when ``duplicates: spread``."""
    cols = (time, input, output)
    return CsvFormat("csv", cols, 0, UNIT_S.get(unit, 1e-6),
                     ",".join(c for c in cols if c is not None), unit)


def _arrow_columns(raw: bytes, names) -> list | None:
    """The columns ``names`` (Arrow strings, rows in file order), or None when Arrow's CSV
    reader refuses the file (the exact reader then names the line)."""
    convert = pacsv.ConvertOptions(include_columns=list(names),
                                   column_types={c: pa.string() for c in names})
    # Arrow's block is 1 MB: a longer row (a log's prompt text) is read with one block for
    # the whole file (a block is at most 2 GiB)
    for block in [None] + ([len(raw) + 1] if len(raw) < 2**31 else []):
        try:
            table = pacsv.read_csv(pa.BufferReader(raw), convert_options=convert, read_options=(
                pacsv.ReadOptions(block_size=block) if block else None))
            return [table.column(c) for c in names]
        except pa.ArrowInvalid as e:
            if "straddl" not in str(e):
                return None
        except pa.ArrowKeyError:
            return None
    return None


def _exact_columns(path: Path, names):
    """The columns ``names`` and each row's line, by the exact CSV reader (quoted fields,
    blank lines skipped); its errors name the line."""
    header, lines, rows = csv_rows(read_text(path, "trace file"), path)
    at = [header.index(c) for c in names]
    return [pa.chunked_array([pa.array([r[j] for r in rows], pa.string())]) for j in at], lines


_LINE = re.compile(rb"([^\r\n]*)(\r\n|\r|\n|)")


def _header(raw: bytes, path: Path, fmt: CsvFormat) -> tuple[list[str], int]:
    """The header's names and line: the first line that is not blank (lines end in LF, CRLF
    or CR, as every CSV reader here takes)."""
    pos, head = 0, 1
    while True:
        m = _LINE.match(raw, pos)
        first = m.group(1).decode("utf-8", "replace").strip()
        if first or not m.group(2):
            break
        pos, head = m.end(), head + 1
    if not first:
        raise InputError("empty trace file", path=str(path), line=1)
    if first.startswith("{"):
        raise InputError(f"a JSON object, not the CSV header {fmt.header_hint} (format "
                         f"{fmt.name}); for a Mooncake trace set the tenant's "
                         "arrival.trace.format: mooncake", path=str(path), line=head)
    try:
        header = [h.strip() for h in next(csv.reader([first]))]
    except csv.Error as e:  # a NUL byte
        raise InputError(f"not a CSV header ({e})", path=str(path), line=head) from None
    unique_header(header, path, head)
    missing = [c for c in fmt.columns if c is not None and c not in header]
    if missing:
        other = next((f for f in (AZURE, BURSTGPT) if f is not fmt
                      and all(c in header for c in f.columns)), None)
        hint = (f" (the columns of a {other.name} trace: set the tenant's "
                f"arrival.trace.format: {other.name})" if other else "")
        raise MissingColumns(f"missing column(s) {missing}; header is {header}{hint}",
                             path=str(path), line=head, missing=missing,
                             own=len(missing) == sum(c is not None for c in fmt.columns) and not other)
    return header, head


def read_csv_trace(path: str | Path, duplicates: str, fmt: CsvFormat, where: Where = ()) -> Trace:
    """A CSV trace of format ``fmt``, any legal CSV (quoted fields, CRLF, a byte-order mark,
    blank lines, gzip-compressed), its rows filtered by ``where`` (see
    :mod:`sim.workload.trace_filter`) before anything else is read of them. Read by Arrow's
    CSV reader (millions of rows in seconds); a file it refuses goes through the exact reader,
    which names the line at fault."""
    path = Path(path)
    raw, skip = read_bytes(path, "trace file")
    check_utf8(raw, path, skip)  # first: Arrow skips bad bytes in unread columns; a bad header
    header, head = _header(raw, path, fmt)
    check_columns(where, header, str(path), head)
    own = tuple(c for c in fmt.columns if c is not None)  # the columns read
    names = own + tuple(dict.fromkeys(c for c, _ in where if c not in own))
    cols, lines = _arrow_columns(raw, names), None
    del raw
    if cols is not None and pc.any(pc.equal(pc.utf8_trim_whitespace(cols[0]), "")).as_py():
        cols = None  # a blank row (bare commas) the exact reader skips, or an empty time it names
    if cols is None:
        cols, lines = _exact_columns(path, names)
    if not len(cols[0]):
        raise InputError("trace has a header but no requests", path=str(path), line=head + 1)
    rows = kept = end = None  # rows kept by the filter (None: all), the file's end
    if where:
        rows, kept = kept_rows(where, dict(zip(names, cols)), str(path))
        # the file's first and last rows' times are read too: the clock's origin and a loop's
        # end, so tenants that split one file keep its timing
        rows = np.concatenate([[0], rows, [len(cols[0]) - 1]])
        cols = [c.take(pa.array(rows)) for c in cols[:len(own)]]

    def line_of(i: int) -> int:  # the file line of data row i (found again only on an error)
        row = i if rows is None else int(rows[i])
        if lines is not None:
            return lines[row]
        line = csv_row_line(path, row)
        return line if line is not None else _exact_columns(path, own)[1][row]

    try:  # the first (and last) row left out by where, named as such when refused
        t = (iso_times(cols[0], fmt.columns[0], path, line_of) if fmt.unit == "iso"
             else seconds(cols[0], fmt.columns[0], path, line_of, UNIT_S[fmt.unit]))
    except InputError as e:
        raise origin_said(e, rows, line_of) from None
    if rows is not None:  # the first and last rows' times read, the rows themselves dropped
        (t, end), rows = origin_and_end(t, path, line_of), rows[1:-1]
        cols = [c.slice(1, len(rows)) for c in cols]
    inp, out = (None if c is None else ints(cols[own.index(c)], c, path, line_of, lo)
                for c, lo in zip(fmt.columns[1:], (fmt.min_input, 0)))
    t, ties = check_order(t, path, line_of, duplicates, slot_s=fmt.slot_s)
    return Trace(str(path), t, inp, out, ties=ties, spread=duplicates == "spread",
                 slot_s=fmt.slot_s, kept=kept, end_s=end)


def sided(fmt: CsvFormat, sides: tuple) -> CsvFormat:
    """``fmt`` reading the length columns of ``sides`` alone (another's None: not read)."""
    time, *lengths = fmt.columns
    return replace(fmt, columns=(time, *(c if s in sides else None
                                         for s, c in zip(("input", "output"), lengths))))


def read_azure(path: str | Path, duplicates: str = "keep", where: Where = (),
               sides: tuple = ("input", "output")) -> Trace:
    """An Azure LLM inference trace (``TIMESTAMP,ContextTokens,GeneratedTokens``, others not
    read), timestamps as the 2023 trace writes them or with a UTC offset as 2024's do."""
    return read_csv_trace(path, duplicates, sided(AZURE, sides), where)


def read_burstgpt(path: str | Path, duplicates: str = "spread", where: Where = (),
                  sides: tuple = ("input", "output")) -> Trace:
    """A BurstGPT trace: ``Timestamp`` (seconds), ``Request tokens``, ``Response tokens``
    (``Model``, ``Log Type`` and the third release's session columns are read by ``where``
    alone)."""
    return read_csv_trace(path, duplicates, sided(BURSTGPT, sides), where)


def trace_format(path: str) -> str:
    """The format of a trace file read for its lengths alone: ``.jsonl`` (or ``.jsonl.gz``)
    Mooncake; a CSV with BurstGPT's columns BurstGPT; else Azure."""
    if str(path).endswith((".jsonl", ".jsonl.gz")):
        return "mooncake"
    try:  # the header only: the file is read whole once, by the reader
        _header(read_head(path), Path(path), BURSTGPT)
        return "burstgpt"
    except InputError:  # not BurstGPT's header: the Azure reader says what is wrong
        return "azure"


@by_content(maxsize=16)
def load_trace(path: str, fmt: str, duplicates: str = "default", columns: tuple = (),
               where: Where = (), blocks: bool = True, sides: tuple = ("input", "output")) -> Trace:
    """The trace at ``path`` in format ``fmt``; ``columns`` (time, input, output, unit) for
    ``csv``, the user's own (see :func:`csv_columns`); ``where``, the rows kept of a CSV;
    ``sides``, the length columns read (a side left out: its column neither needed nor read,
    its ``Trace`` lengths None), whatever the format."""
    if fmt == "mooncake":
        if where:  # its records have no columns beyond the three it reads and hash_ids
            raise WhereRefused("a row filter applies to CSV traces (azure, burstgpt, csv), not "
                               "to Mooncake's JSON lines", None, str(path))
        return read_mooncake(path, "spread" if duplicates == "default" else duplicates, blocks,
                             sides)
    if fmt == "csv":
        tr = read_csv_trace(path, "error" if duplicates == "default" else duplicates,
                            sided(csv_format(*columns), sides), where)
    elif fmt == "azure":
        tr = read_azure(path, "keep" if duplicates == "default" else duplicates, where, sides)
    else:
        tr = read_burstgpt(path, "spread" if duplicates == "default" else duplicates, where, sides)
    form = csv_format(*columns) if fmt == "csv" else AZURE if fmt == "azure" else BURSTGPT
    try:  # the header again (its first 64 KiB), for the columns not read that it lacks
        header = _header(read_head(path), Path(path), sided(form, ()))[0]
    except InputError:  # a header longer than that: nothing said of them
        header = form.columns
    lacks = tuple((s, None) for s, c in zip(("input", "output"), form.columns[1:])
                  if s not in sides and c is not None and c not in header)
    return replace(tr, lacks=lacks) if lacks else tr


def length_columns(t) -> tuple:
    """The time, input and output columns (or fields) of a tenant's ``arrival.trace`` ``t``
    in its format (a ``csv`` column said null: None)."""
    fmt = str(t.format)
    if fmt == "csv":
        return tuple(None if c is None else str(c) for c in (t.csv.time, t.csv.input, t.csv.output))
    if fmt == "mooncake":
        return ("timestamp", "input_length", "output_length")
    return (AZURE if fmt == "azure" else BURSTGPT).columns


def tenant_trace(t, key: str, sides: tuple = ("input", "output")) -> Trace:
    """The trace a tenant's ``arrival.trace`` ``t`` replays; ``key`` is that config key
    (``tenants.<name>.arrival.trace``), which a refusal of its ``where`` names; ``sides``
    (:func:`trace_sides`): the length columns read, in every format; a tenant reading lengths
    the file lacks is refused naming its ``input.kind`` / ``output.kind`` and the file."""
    tenant, fmt = key.rsplit(".arrival.", 1)[0], str(t.format)
    time, *cols = length_columns(t)
    col = dict(zip(("input", "output"), cols))
    fix = (f"name the file's column in {key}.csv.{{side}}" if fmt == "csv" else
           f"replay it with {key}.format: csv and {key}.csv naming its columns" if fmt != "mooncake"
           else "")
    for s in sides if fmt == "csv" else ():
        if col[s] is None:
            raise InputError(no_lengths(key, s, f"whose {key}.csv.{s} is null (no such "
                                         "column)", fix.format(side=s)), key=f"{tenant}.{s}.kind")
    try:
        return load_trace(resolve(str(t.path)), fmt, str(t.duplicates), csv_columns(t),
                          where_spec(t.where), bool(t.prefixes), tuple(sides))
    except WhereRefused as e:
        raise InputError(e.message, key=f"{key}.where" + (f".{e.column}" if e.column else ""),
                         path=e.path, line=e.line) from None
    except DuplicateTimes as e:
        raise InputError(e.message, key=f"{key}.duplicates", path=e.path, line=e.line) from None
    except MissingLength as e:  # a Mooncake line without the field
        raise InputError(e.message + "; " + no_lengths(key, e.side, "which has no field "
                         f"{col[e.side]} on this line", fix), key=f"{tenant}.{e.side}.kind",
                         path=e.path, line=e.line) from None
    except MissingColumns as e:
        side = next((s for s in sides if col[s] in e.missing), None)
        if side and time not in e.missing:
            raise InputError(e.message + "; " + no_lengths(key, side, "which has no column "
                             f"{col[side]}", fix.format(side=side)), key=f"{tenant}.{side}.kind",
                             path=e.path, line=e.line) from None
        if not e.own or fmt == "csv":
            raise
        raise InputError(e.message + f" (a log of other columns replays with {key}.format: csv "
                         f"and {key}.csv: {{time, input, output}} naming them)", path=e.path,
                         line=e.line) from None


def csv_columns(trace_cfg) -> tuple:
    """What :func:`load_trace` needs of a tenant's ``arrival.trace`` besides its path,
    format and duplicates: the ``csv`` columns (a column said null: None) and unit when its
    format is ``csv``."""
    if str(trace_cfg.format) != "csv":
        return ()
    return (*length_columns(trace_cfg), str(trace_cfg.csv.time_unit))


def drawn_lengths_note(name: str, tc, trace: Trace) -> list[str]:
    """A trace replayed with lengths drawn from the tenant's length configs rather than the
    rows' recorded ones: said, since the recorded lengths are what a user replaying a trace
    usually means (the configs' defaults are fixed 1,024 and 256 tokens); a side the file
    does not record (a ``csv`` column said null, a column not in the header, a Mooncake field
    missing on some lines) is said so, and not offered as ``kind: trace``."""
    sides = (("input", tc.input), ("output", tc.output))
    drawn = [f"{side} ({lc.kind}, " + (f"mean {lc.mean:g})" if str(lc.kind) != "empirical" else
                                       f"from {lc.path}" + (f", column {lc.column})" if lc.column else ")"))
             for side, lc in sides if str(lc.kind) != "trace"]
    if not drawn:
        return []
    _, *cols = length_columns(tc.arrival.trace)
    col, gone = dict(zip(("input", "output"), cols)), dict(trace.lacks)
    lines = trace.t_s.size
    why_none = {s: (f"tenants.{name}.arrival.trace.csv.{s}: null" if col[s] is None else
                    f"no column {col[s]}" if gone[s] is None else
                    f"no field {col[s]} on {gone[s]:,} of its {lines:,} lines" if gone[s] < lines
                    else f"no field {col[s]}")
                for s, lc in sides if str(lc.kind) != "trace" and (col[s] is None or s in gone)}
    rest = [s for s, lc in sides if str(lc.kind) != "trace" and s not in why_none]
    refused = _refused(name, tc, rest)  # a column there whose replay is refused: not offered
    rest = [s for s in rest if s not in refused]
    some = any(n is not None and n < lines for n in gone.values())
    offer = "".join(f"; its {s} lengths are not read (set tenants.{name}.{s}.kind=trace to "
                    "replay them)" for s in rest)
    bad = f"its recorded lengths cannot be replayed ({'; '.join(refused.values())})"
    if why_none:
        why = (("the log does not record them all (" if some else "the log records none (")
               + ", ".join(why_none.values()) + ")" + (f"; {bad}" if refused else "") + offer)
    else:
        why = bad + offer if refused else (f"not the lengths the trace records (set tenants.{name}"
                                           ".input.kind=trace and output.kind=trace to replay those)")
    return [f"tenant {name}: the trace gives the arrival times only; its requests' lengths come from "
            f"tenants.{name}.{' and '.join(drawn)}, {why}"]


def _refused(name: str, tc, sides: list) -> dict:
    """The ``sides`` of a CSV trace whose replay (``kind: trace``) is refused, each with why
    (``empty.csv:2: prompt is empty``): the drawn lengths' note offered it for a column of
    empty fields until December 2026, and the offer taken was refused. Mooncake's missing
    fields are counted as it is read (``lacks``)."""
    out = {}
    for s in sides if str(tc.arrival.trace.format) != "mooncake" else ():
        try:
            tenant_trace(tc.arrival.trace, f"tenants.{name}.arrival.trace", (s,))
        except InputError as e:
            where = f"{Path(e.path).name}:{e.line}: " if e.path and e.line else ""
            out[s] = where + e.message.split(": ")[0]
    return out
