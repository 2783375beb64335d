"""Readers for request traces, with validation that names the file and line.

Formats (see ../shared/traces/README.md):

* ``azure``: CSV ``TIMESTAMP,ContextTokens,GeneratedTokens`` with timestamps like
  ``2023-11-16 18:17:03.9799600`` (Azure LLM inference trace 2023, Patel et al., ISCA'24);
* ``mooncake``: JSON lines with ``timestamp`` (ms), ``input_length``, ``output_length``
  (Mooncake, Qin et al., FAST'25). Its conversation trace records arrivals in ~3 s slots,
  so equal timestamps are expected there and, by default, spread evenly over the slot.
  The optional ``hash_ids`` are ids of the prompt's 512-token blocks (equal ids at the same
  position: a shared prefix; the last block may be partial), kept as CSR arrays.

Every reader returns seconds from the first request, input and output token counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.textfiles import parse_json, read_text, unique_header


@dataclass(frozen=True)
class Trace:
    path: str
    t_s: np.ndarray  # seconds from the first request, non-decreasing
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    # Mooncake prompt blocks: row i's block ids are hash_ids[hash_ptr[i]:hash_ptr[i + 1]]
    # (int64); None when the file has none
    hash_ptr: np.ndarray | None = None
    hash_ids: np.ndarray | None = None
    # bool per row: its recorded time equals the row before's and ``duplicates: spread``
    # moved it (None: no row moved); the replay counts them in a note
    spread: np.ndarray | None = None

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1]) if self.t_s.size else 0.0


MAX_TOKENS = 2**31 - 1  # a token count must fit the request log's 32-bit columns
MAX_TIMESTAMP_MS = 1e15  # assumption: a trace spans less than 30,000 years (plausibility)
MOONCAKE_BLOCK = 512  # tokens per hash_ids block (Mooncake FAST'25 traces README)
MAX_HASH_ID = 2**63 - 1  # block ids are kept as int64


def _check_ints(values: pd.Series, name: str, path: Path, first_line: int, minimum: int) -> np.ndarray:
    num = pd.to_numeric(values, errors="coerce").astype(float)
    bad = (~np.isfinite(num) | (num < minimum) | (num != np.floor(num)) | (num > MAX_TOKENS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{name} must be an integer in [{minimum}, {MAX_TOKENS}], got "
                         f"{values.iloc[i]!r}", path=str(path), line=first_line + i)
    return num.to_numpy().astype(np.int64)


def _check_order(t: np.ndarray, path: Path, first_line: int, duplicates: str,
                 slot_s: float) -> tuple[np.ndarray, np.ndarray | None]:
    """The checked times, and which rows ``spread`` moved (None when none)."""
    d = np.diff(t)
    if (d < 0).any():
        i = int(np.flatnonzero(d < 0)[0]) + 1
        raise InputError(f"timestamps go backwards ({t[i - 1]:.9g} s then {t[i]:.9g} s); "
                         "sort the trace by time", path=str(path), line=first_line + i)
    if duplicates == "error" and (d == 0).any():
        i = int(np.flatnonzero(d == 0)[0]) + 1
        raise InputError("duplicate timestamp; set the trace's `duplicates` option to keep or "
                         "spread to accept it", path=str(path), line=first_line + i)
    if duplicates == "spread" and (d == 0).any():
        return _spread(t, slot_s), np.concatenate([[False], d == 0])
    return t, None


def _spread(t: np.ndarray, slot_s: float) -> np.ndarray:
    """Spread each run of equal timestamps evenly over the gap to the next distinct one."""
    out = t.astype(float).copy()
    uniq, start, count = np.unique(t, return_index=True, return_counts=True)
    nxt = np.append(uniq[1:], uniq[-1] + slot_s)
    for u, s, c, n in zip(uniq, start, count, nxt):
        if c > 1:
            out[s: s + c] = u + (n - u) * np.arange(c) / c
    return out


def read_azure(path: str | Path, duplicates: str = "error") -> Trace:
    path = Path(path)
    text = read_text(path, "trace file")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError("empty trace file", path=str(path), line=1)
    if lines[0].lstrip().startswith("{"):  # the format key defaults to azure
        raise InputError("a JSON object, not the Azure CSV header TIMESTAMP,ContextTokens,"
                         "GeneratedTokens; for a Mooncake trace set the tenant's "
                         "arrival.trace.format: mooncake", path=str(path), line=1)
    header = [h.strip() for h in lines[0].split(",")]
    unique_header(header, path)
    need = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
    missing = [c for c in need if c not in header]
    if missing:
        raise InputError(f"missing column(s) {missing}; header is {header}", path=str(path), line=1)
    if len(lines) < 2:
        raise InputError("trace has a header but no requests", path=str(path), line=2)
    rows = [ln.split(",") for ln in lines[1:]]
    width = len(header)
    for i, r in enumerate(rows):
        if len(r) != width:
            raise InputError(f"expected {width} fields, found {len(r)}", path=str(path), line=i + 2)
    df = pd.DataFrame(rows, columns=header)
    ts = pd.to_datetime(df["TIMESTAMP"].str.strip(), format="%Y-%m-%d %H:%M:%S.%f", errors="coerce")
    if ts.isna().any():
        i = int(np.flatnonzero(ts.isna().to_numpy())[0])
        raise InputError(f"bad TIMESTAMP {df['TIMESTAMP'].iloc[i]!r} "
                         "(expected like 2023-11-16 18:17:03.9799600)", path=str(path), line=i + 2)
    t = (ts - ts.iloc[0]).dt.total_seconds().to_numpy()
    inp = _check_ints(df["ContextTokens"], "ContextTokens", path, 2, 1)
    out = _check_ints(df["GeneratedTokens"], "GeneratedTokens", path, 2, 0)
    t, moved = _check_order(t, path, 2, duplicates, slot_s=1e-6)
    return Trace(str(path), t, inp, out, spread=moved)


def read_mooncake(path: str | Path, duplicates: str = "spread") -> Trace:
    path = Path(path)
    text = read_text(path, "trace file")
    ts, ins, outs = [], [], []
    blocks: list[int] = []  # block ids of every line, one after the other
    counts: list[int] = []  # block ids per line
    any_blocks = False
    for i, ln in enumerate(text.splitlines(), start=1):
        if not ln.strip():
            continue
        obj = parse_json(ln, path, i)
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=str(path), line=i)
        for k in ("timestamp", "input_length", "output_length"):
            if k not in obj:
                raise InputError(f"missing field {k!r}", path=str(path), line=i)
        vals = (obj["timestamp"], obj["input_length"], obj["output_length"])
        for k, v in zip(("timestamp", "input_length", "output_length"), vals):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise InputError(f"{k} must be a finite number, got {v!r}", path=str(path), line=i)
        if abs(vals[0]) > MAX_TIMESTAMP_MS:
            raise InputError(f"timestamp must be within +-{MAX_TIMESTAMP_MS:g} ms, got {vals[0]:g}",
                             path=str(path), line=i)
        for k, v, lo in (("input_length", vals[1], 1), ("output_length", vals[2], 0)):
            if v < lo or v > MAX_TOKENS or v != int(v):
                raise InputError(f"{k} must be an integer in [{lo}, {MAX_TOKENS}], got {v!r}",
                                 path=str(path), line=i)
        if "hash_ids" in obj:  # optional; when present (even null) it must be a list
            _check_blocks(obj["hash_ids"], int(vals[1]), path, i)
            any_blocks = True
            blocks.extend(obj["hash_ids"])
        counts.append(len(obj["hash_ids"]) if "hash_ids" in obj else 0)
        ts.append(float(vals[0]) / 1000.0)
        ins.append(int(vals[1]))
        outs.append(int(vals[2]))
        if len(ts) > 1 and ts[-1] < ts[-2]:
            raise InputError(f"timestamps go backwards ({ts[-2]:.6g} s then {ts[-1]:.6g} s); "
                             "sort the trace by time", path=str(path), line=i)
    if not ts:
        raise InputError("empty trace file", path=str(path), line=1)
    t = np.asarray(ts) - ts[0]
    # the conversation trace's slots are ~3 s wide (traces README)
    t, moved = _check_order(t, path, 1, duplicates, slot_s=3.0)
    ptr = ids = None
    if any_blocks:
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        ids = np.asarray(blocks, dtype=np.int64)
    return Trace(str(path), t, np.asarray(ins, dtype=np.int64), np.asarray(outs, dtype=np.int64),
                 ptr, ids, moved)


def _check_blocks(h, input_length: int, path: Path, line: int) -> None:
    """``hash_ids``: a list of integer ids in [0, 2**63 - 1], as many as the prompt has
    512-token blocks (the last may be partial); an empty list means none are known."""
    if not isinstance(h, list) or not all(type(x) is int for x in h):
        raise InputError(f"hash_ids must be a list of integers, got {str(h)[:60]}", path=str(path),
                         line=line)
    if h and (min(h) < 0 or max(h) > MAX_HASH_ID):
        bad = min(h) if min(h) < 0 else max(h)
        raise InputError(f"hash_ids must be integers in [0, 2**63 - 1], got {bad}", path=str(path),
                         line=line)
    n = len(h)
    if n and not (n - 1) * MOONCAKE_BLOCK < input_length <= n * MOONCAKE_BLOCK:
        raise InputError(f"hash_ids has {n} blocks of {MOONCAKE_BLOCK} tokens but input_length is "
                         f"{input_length} (needs {(n - 1) * MOONCAKE_BLOCK + 1} to "
                         f"{n * MOONCAKE_BLOCK})", path=str(path), line=line)


def trace_format(path: str) -> str:
    """The format a trace file's name implies: ``.jsonl`` Mooncake, else Azure CSV."""
    return "mooncake" if str(path).endswith(".jsonl") else "azure"


@lru_cache(maxsize=16)
def load_trace(path: str, fmt: str, duplicates: str = "default") -> Trace:
    if fmt == "azure":
        return read_azure(path, "error" if duplicates == "default" else duplicates)
    return read_mooncake(path, "spread" if duplicates == "default" else duplicates)
