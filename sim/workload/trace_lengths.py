"""The recorded lengths of one column of a trace file, for ``kind: empirical`` with ``column``
(lengths resampled, not replayed), the file's form told by its first bytes, not its name.

* JSON lines (a first line opening ``{``, whatever the suffix: Mooncake's ``.jsonl``, the
  same records saved as ``.json``, ServeGen's offline traces): each record's
  ``input_length`` (``column: input_tokens``) or ``output_length`` (``output_tokens``), and
  nothing else of it: ServeGen's offline records have no ``timestamp`` (a batch job's
  requests), and their ``hash_ids`` count 16-token blocks where Mooncake's count 512;
* a CSV with BurstGPT's columns: ``Request tokens`` / ``Response tokens``;
* any other CSV: Azure's ``ContextTokens`` / ``GeneratedTokens``.

Every refusal names the length config's key as well as the file and line.
"""

from __future__ import annotations

import math
import re

import numpy as np

from sim.errors import InputError
from sim.filecache import by_content
from sim.textfiles import parse_json, read_head, read_text, text_lines
from sim.workload.traces import MAX_TOKENS, load_trace, trace_format

# the JSON field of each column, and the fewest tokens a record may give (as Mooncake's reader)
FIELDS = {"input_tokens": ("input_length", 1), "output_tokens": ("output_length", 0)}
CSV_HINT = ("lengths from a trace column are read from JSON lines with input_length and "
            "output_length (Mooncake, ServeGen offline), or from a CSV with Azure's "
            "ContextTokens and GeneratedTokens or BurstGPT's Request tokens and Response tokens")


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


def column_lengths(path: str, column: str, key: str) -> np.ndarray:
    """The lengths ``column`` (``input_tokens`` or ``output_tokens``) of the trace file at
    ``path``; ``key`` is the length config's (``tenants.<t>.input``), which a refusal names."""
    try:
        if is_json_lines(path):
            return json_lengths(path, *FIELDS[column])
        tr = load_trace(path, trace_format(path), "keep")
    except InputError as e:
        hint = f" ({CSV_HINT})" if e.message.startswith("missing column") else ""
        raise InputError(e.message + hint, key=key + ".path", path=e.path, line=e.line) from None
    return tr.input_tokens if column == "input_tokens" else tr.output_tokens
