"""A replayed trace's rows (:class:`Trace`), and the Mooncake reader: JSON lines with
``timestamp`` (ms), ``input_length``, ``output_length`` (Mooncake, Qin et al., FAST'25). Its
conversation trace records arrivals in ~3 s slots, so equal timestamps are expected there and,
by default, spread evenly over the slot. The optional ``hash_ids`` are ids of the prompt's
512-token blocks (equal ids at the same position: a shared prefix; the last block may be
partial), kept as CSR arrays.

A length field is read only for the sides a tenant replays (``kind: trace``), as a CSV
trace's length columns are; ``input_length`` also on a line whose ``hash_ids`` are read,
since its last block's length comes from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import InputError
from sim.textfiles import parse_json, read_text, text_lines
from sim.workload.trace_columns import MAX_TIMESTAMP_MS, MAX_TOKENS, check_order


@dataclass(frozen=True)
class Trace:
    path: str
    t_s: np.ndarray  # seconds from the file's first row, non-decreasing
    # None: a length column (field) not read (the tenant draws those lengths)
    input_tokens: np.ndarray | None
    output_tokens: np.ndarray | None
    # Mooncake prompt blocks: row i's ids hash_ids[hash_ptr[i]:hash_ptr[i + 1]] (None: none)
    hash_ptr: np.ndarray | None = None
    hash_ids: np.ndarray | None = None
    # bool per row: its recorded time equals the row before's (None: no such row), and whether
    # ``duplicates: spread`` moved those rows (``keep``: replayed as recorded); counted in a note
    ties: np.ndarray | None = None
    spread: bool = False
    slot_s: float = 0.0  # the span ``spread`` gives the last run of equal times (its format's)
    # ``arrival.trace.where``: how many rows of how many it kept, by which filter (None: none)
    kept: str | None = None
    end_s: float | None = None  # a filtered trace: the file's last row's time (None: t_s[-1])
    # tokens of each row's last prompt block (0: no blocks), from its input_length
    last_block: np.ndarray | None = None
    # (side, count) per length column not read that the file lacks: count None, no such
    # column; else the Mooncake lines without the field (said in the drawn lengths' note)
    lacks: tuple = ()

    @property
    def duration_s(self) -> float:
        """From the file's first row to its last, as recorded (before ``spread`` moved the
        last run of equal times past it)."""
        if self.end_s is not None or not self.t_s.size:
            return self.end_s or 0.0
        last = -1 if not self.spread or self.ties is None else int(np.flatnonzero(~self.ties)[-1])
        return float(self.t_s[last])


SLOT_S = 3.0  # the conversation trace's slots are ~3 s wide (traces README)
MOONCAKE_BLOCK = 512  # tokens per hash_ids block (Mooncake FAST'25 traces README)
MAX_HASH_ID = 2**63 - 1  # block ids are kept as int64
FIELDS = {"input": "input_length", "output": "output_length"}


class MissingLength(InputError):
    """A line without the length field of a side the tenant replays (``side``): the caller
    that knows the tenant names its ``input.kind`` / ``output.kind``."""

    def __init__(self, message: str, side: str, path: str, line: int):
        super().__init__(message, path=path, line=line)
        self.side = side


def _number(obj: dict, k: str, path: Path, i: int) -> float:
    v = obj[k]
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        raise InputError(f"{k} must be a finite number, got {v!r}", path=str(path), line=i)
    return v


def _length(obj: dict, k: str, lo: int, path: Path, i: int) -> int:
    v = _number(obj, k, path, i)
    if v < lo or v > MAX_TOKENS or v != int(v):
        raise InputError(f"{k} must be an integer in [{lo}, {MAX_TOKENS}], got {v!r}",
                         path=str(path), line=i)
    return int(v)


def read_mooncake(path: str | Path, duplicates: str = "spread", with_blocks: bool = True,
                  sides: tuple = ("input", "output")) -> Trace:
    """A Mooncake trace; ``with_blocks`` False (``arrival.trace.prefixes: false``): its ``hash_ids``
    are neither read nor checked (a file written with blocks of another size replays);
    ``sides``: the length fields read (a side left out: its field neither needed nor checked)."""
    path = Path(path)
    text = read_text(path, "trace file")
    ts: list[float] = []
    lens: dict[str, list[int]] = {s: [] for s in sides}
    blocks: list[int] = []  # block ids of every line, one after the other
    counts: list[int] = []  # block ids per line
    tails: list[int] = []  # tokens of each line's last block (0: none)
    at: list[int] = []  # the file line of each record (blank lines are skipped)
    absent = {s: 0 for s in FIELDS if s not in sides}  # lines without a field not read
    any_blocks = False
    for i, ln in enumerate(text_lines(text), start=1):
        if not ln.strip():
            continue
        obj = parse_json(ln, path, i)
        if not isinstance(obj, dict):
            raise InputError("each line must be a JSON object", path=str(path), line=i)
        if "timestamp" not in obj:
            raise InputError("missing field 'timestamp'", path=str(path), line=i)
        for s in sides:
            if FIELDS[s] not in obj:
                raise MissingLength(f"missing field {FIELDS[s]!r}", s, str(path), i)
        for s in absent:
            absent[s] += FIELDS[s] not in obj
        stamp = _number(obj, "timestamp", path, i)
        if abs(stamp) > MAX_TIMESTAMP_MS:
            raise InputError(f"timestamp must be within +-{MAX_TIMESTAMP_MS:g} ms, got {stamp:g}",
                             path=str(path), line=i)
        for s in sides:
            lens[s].append(_length(obj, FIELDS[s], 1 if s == "input" else 0, path, i))
        n = 0
        if with_blocks and "hash_ids" in obj:  # optional; when present (even null) a list
            h = obj["hash_ids"]
            if "input_length" not in obj:
                raise InputError("missing field 'input_length', which the last of the line's "
                                 "hash_ids blocks takes its length from (the tenant's "
                                 "arrival.trace.prefixes: false reads no hash_ids)",
                                 path=str(path), line=i)
            inp = lens["input"][-1] if "input" in sides else _length(obj, "input_length", 1, path, i)
            _check_blocks(h, inp, path, i)
            any_blocks, n = True, len(h)
            blocks.extend(h)
            tails.append(inp - MOONCAKE_BLOCK * (n - 1) if n else 0)
        else:
            tails.append(0)
        counts.append(n)
        ts.append(float(stamp) / 1000.0)
        at.append(i)
        if len(ts) > 1 and ts[-1] < ts[-2]:
            raise InputError(f"timestamps go backwards ({ts[-2]:.6g} s then {ts[-1]:.6g} s); "
                             "sort the trace by time", path=str(path), line=i)
    if not ts:
        raise InputError("empty trace file", path=str(path), line=1)
    t = np.asarray(ts) - ts[0]
    t, ties = check_order(t, path, at.__getitem__, duplicates, slot_s=SLOT_S)
    ptr = ids = last = None
    if any_blocks:
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        ids = np.asarray(blocks, dtype=np.int64)
        last = np.asarray(tails, dtype=np.int64)
    col = {s: np.asarray(v, dtype=np.int64) for s, v in lens.items()}
    return Trace(str(path), t, col.get("input"), col.get("output"), ptr, ids, ties,
                 duplicates == "spread", slot_s=SLOT_S, last_block=last,
                 lacks=tuple((s, n) for s, n in absent.items() if n))


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
                         f"{n * MOONCAKE_BLOCK}; a trace written with blocks of another size "
                         "replays without them with the tenant's arrival.trace.prefixes: false)",
                         path=str(path), line=line)
