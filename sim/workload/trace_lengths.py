"""The recorded lengths of one column of a trace file, for ``kind: empirical`` with ``column``
(lengths resampled, not replayed), the file's form told by its first bytes, not its name.

* JSON lines (a first line opening ``{``, whatever the suffix: Mooncake's ``.jsonl``, the
  same records saved as ``.json``, ServeGen's offline traces): each record's
  ``input_length`` (``column: input_tokens``) or ``output_length`` (``output_tokens``), and
  nothing else of it: ServeGen's offline records have no ``timestamp`` (a batch job's
  requests), and their ``hash_ids`` count 16-token blocks where Mooncake's count 512;
* a CSV with BurstGPT's columns: ``Request tokens`` / ``Response tokens``;
* any other CSV: Azure's ``ContextTokens`` / ``GeneratedTokens``;
* any other ``column``: that column of a CSV, or that field of JSON lines, by its own name
  (Vidur's lengths-only ``num_prefill_tokens,num_decode_tokens`` files, splitwise-sim's
  ``prompt_size``); a 0 there is kept and raised to one token by the length config (counted).

Every refusal names the length config's key as well as the file and line.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from sim.errors import InputError
from sim.filecache import by_content
from sim.textfiles import (
    check_utf8,
    csv_row_line,
    parse_json,
    read_bytes,
    read_head,
    read_text,
    text_lines,
)
from sim.workload.trace_columns import ints
from sim.workload.traces import (
    AZURE,
    MAX_TOKENS,
    CsvFormat,
    _arrow_columns,
    _exact_columns,
    _header,
    load_trace,
    trace_format,
)

# the JSON field of each column, and the fewest tokens a record may give (as Mooncake's reader)
FIELDS = {"input_tokens": ("input_length", 1), "output_tokens": ("output_length", 0)}
CSV_HINT = ("input_tokens and output_tokens are read from JSON lines' input_length and "
            "output_length (Mooncake, ServeGen offline), or from a CSV with Azure's "
            "ContextTokens and GeneratedTokens or BurstGPT's Request tokens and Response tokens; "
            "give another file's column by its own name")


def is_json_lines(path: str) -> bool:
    first = next((ln.strip() for ln in re.split(rb"\r\n|\r|\n", read_head(path)) if ln.strip()),
                 b"")
    return first.startswith(b"{")


@by_content(maxsize=16)
def json_lengths(path: str, name: str, minimum: int) -> np.ndarray:
    """Field ``name`` of every JSON-lines record of ``path`` (blank lines skipped)."""
    out = []
    for i, ln in enumerate(text_lines(read_text(path, "trace file")), start=1):
        if not ln.strip():
            continue
        obj = parse_json(ln, path, i)
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=path, line=i)
        if name not in obj:
            raise InputError(f"missing field {name!r}", path=path, line=i)
        v = obj[name]
        if (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v)
                or v != int(v) or not minimum <= v <= MAX_TOKENS):
            raise InputError(f"{name} must be an integer in [{minimum}, {MAX_TOKENS}], got {v!r}",
                             path=path, line=i)
        out.append(int(v))
    if not out:
        raise InputError("empty trace file", path=path, line=1)
    return np.asarray(out, dtype=np.int64)


def _has_columns(path: str, fmt: CsvFormat) -> bool:
    try:
        _header(read_head(path), Path(path), fmt)
    except InputError:
        return False
    return True


@by_content(maxsize=16)
def csv_lengths(path: str, column: str) -> np.ndarray:
    """Column ``column`` of the CSV at ``path`` as token counts (0 or more)."""
    fmt = CsvFormat("lengths", (column,), 0, 1.0, column)
    raw, skip = read_bytes(path, "trace file")
    _header(raw, Path(path), fmt)
    check_utf8(raw, path, skip)
    cols, lines = _arrow_columns(raw, (column,)), None
    del raw
    if cols is not None and pc.any(pc.equal(pc.utf8_trim_whitespace(cols[0]), "")).as_py():
        cols = None  # a blank row the exact reader skips, or an empty field it names
    if cols is None:
        cols, lines = _exact_columns(Path(path), (column,))
    if not len(cols[0]):
        raise InputError("a header but no rows", path=path, line=2)

    def line_of(i: int) -> int:
        return lines[i] if lines is not None else (csv_row_line(path, i) or 0)
    return ints(cols[0], column, Path(path), line_of, 0)


def column_lengths(path: str, column: str, key: str) -> np.ndarray:
    """The lengths ``column`` (``input_tokens``, ``output_tokens`` or a column's own name) of
    the trace file at ``path``; ``key`` is the length config's (``tenants.<t>.input``), which a
    refusal names."""
    try:
        if is_json_lines(path):
            return json_lengths(path, *FIELDS.get(column, (column, 0)))
        fmt = trace_format(path)
        if column not in FIELDS or (fmt == "azure" and not _has_columns(path, AZURE)):
            return csv_lengths(path, column)  # by its own name (format csv's input_tokens too)
        side = "input" if column == "input_tokens" else "output"  # the other column not read
        tr = load_trace(path, fmt, "keep", (), (), True, (side,))
    except InputError as e:
        hint = (f" ({CSV_HINT})" if e.message.startswith("missing column") and column in FIELDS
                else "")
        part = ".column" if column not in FIELDS and e.message.startswith("missing c") else ".path"
        raise InputError(e.message + hint, key=key + part, path=e.path, line=e.line) from None
    return tr.input_tokens if column == "input_tokens" else tr.output_tokens
