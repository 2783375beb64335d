"""The tenants' blocks of request columns, kept in memory or written to temporary files as
each tenant's are made, and merged by arrival time.

In memory (the default), the blocks are merged whole (:mod:`sim.workload.merge`): the
generation's peak is about twice the workload it makes (38.5 bytes a request against 21.1
kept, on the 12-hour platform benchmark). When a run's end is folded while it goes
(``output.requests=none`` with ``output.percentiles=sketch``: :func:`wanted`), each block is
written to a temporary file instead as soon as it is made, and the merge reads them back a
window of arrival times at a time into the workload's columns, themselves in temporary
files mapped read-only: the process holds the pages it reads, and gives them back as the
run seals its log (:func:`give_back`; a page given back is read again from the file if
asked for). The columns are those of the merge in memory, byte for byte: the blocks are
each sorted by time, a window holds every row of its times from every block, and a stable
sort of a window's rows taken block after block orders ties by block, then by row, as the
stable sort of all the blocks taken together does. A block with a NaN time (a closed loop's
placeholder) or out of order, think times or prompt segments send the blocks to the merge in
memory (read back from their files): the same columns, without the saving.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from sim.errors import InputError
from sim.logseal import release
from sim.workload.merge import scatter, sort_times

# the spilled columns and their types (tenant and model are one value per block)
_COLS = {"t": np.float64, "in": np.int32, "out": np.int32, "over": np.bool_, "moved": np.bool_}
_TYPES = {"t": np.float64, "tenant": np.int16, "model": np.int16, "in": np.int32,
          "out": np.int32, "over": np.bool_, "moved": np.bool_}
# rows merged at a time, about (an assumption: 2^17 rows are about 6.5 MB of a window's columns and
# sort; arrival windows are equal spans of time, so a diurnal peak's window holds more)
WINDOW_ROWS = 1 << 17


def wanted(cfg) -> bool:
    """Whether ``cfg``'s runs are folded while they go (sim/simulation/streamed.py), so that
    nothing reads the workload's columns whole after it is made but in blocks. Closed loops
    and pipelines keep their runs' logs whole (``unstreamed``) and their blocks would be
    read back whole (think times, NaN times): not written at all."""
    o = cfg.output
    if str(o.percentiles) != "sketch" or (o.parquet and str(o.requests) != "none"):
        return False
    return not any(str(t.arrival.kind) == "closed" or t.pipeline is not None
                   for t in cfg.tenants.values())


@dataclass
class _Block:
    n: int
    tenant: int
    model: str
    start: int  # its first row in the spilled files


# every SAMPLE-th time of a block kept in memory, to find where a window starts in its file
# with one read of at most SAMPLE times (an assumption: 8 KB reads, 1/1024 of the times kept)
SAMPLE = 1 << 10


class Blocks:
    """The blocks of request columns in tenant order (:meth:`add`), merged once
    (:meth:`merged`)."""

    def __init__(self, spill: bool):
        self.spill = spill
        self.blocks: list[_Block] = []
        self.rows = 0
        self.sorted = True  # every block's times ascending, no NaN
        self.last = 0.0  # the latest time of any block
        self._mem = {c: [] for c in _COLS}
        self._samples: list[np.ndarray] = []
        self.note = None  # why the columns were kept in memory though asked to spill
        self._files = None
        if spill:
            try:
                self._files = {c: _temp() for c in _COLS}
            except OSError as e:  # no temporary folder to write to: in memory, said
                self.spill = False
                self.note = (f"the workload's columns were kept in memory: no temporary file "
                             f"could be made in {_where()} ({e.strerror or e}); "
                             "set TMPDIR to a folder with room, about 40 bytes a request")

    def add(self, t, tenant: int, model: str, ins, outs, over, moved) -> None:
        n = int(t.size)
        self.blocks.append(_Block(n, tenant, model, self.rows))
        self.rows += n
        values = {"t": t, "in": ins, "out": outs, "over": over,
                  "moved": np.zeros(n, bool) if moved is None else moved}
        if not self.spill:
            for c, v in values.items():
                self._mem[c].append(v)
            return
        if n and not (bool(np.all(t[1:] >= t[:-1])) and not np.isnan(t[0])):  # NaN: False
            self.sorted = False
        if n:
            self.last = max(self.last, float(t[-1]))
        self._samples.append(np.array(t[::SAMPLE], np.float64))
        with _writing():
            for c, v in values.items():
                _write(self._files[c], np.ascontiguousarray(v, _COLS[c]))

    def merged(self, models: list[str], in_memory: bool = False) -> dict:
        """The columns sorted by time, stable (``t``, ``tenant``, ``model``, ``in``, ``out``,
        ``over``, ``moved``) and ``where`` (each row's place, for columns merged apart) or
        None when merged by windows. ``in_memory``: merge whole (others need ``where``)."""
        model_of = {m: i for i, m in enumerate(models)}
        if not self.blocks:
            return {"t": np.zeros(0), "where": np.zeros(0, np.int32),
                    **{c: np.zeros(0, d) for c, d in _TYPES.items() if c != "t"}}
        if self.spill and self.sorted and not in_memory:
            with _writing():
                return _merge_windows(self, model_of)
        lists = self._read_back() if self.spill else self._mem
        t, where = sort_times(np.concatenate(lists.pop("t")))
        out = {"t": t, "where": where}
        out["tenant"] = scatter([np.full(b.n, b.tenant, np.int16) for b in self.blocks], where)
        out["model"] = scatter([np.full(b.n, model_of[b.model], np.int16)
                                for b in self.blocks], where)
        for c in ("in", "out", "over", "moved"):
            out[c] = scatter(lists.pop(c), where)
        return out

    def read(self, c: str, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the spilled column ``c`` (a read, no mapping: a mapped
        file's pages are read ahead 16 at a time and stay counted until given back)."""
        size = np.dtype(_COLS[c]).itemsize
        if stop <= start:
            return np.zeros(0, _COLS[c])
        buf = os.pread(self._files[c].fileno(), (stop - start) * size, start * size)
        return np.frombuffer(buf, _COLS[c])

    def before(self, j: int, cut: float) -> int:
        """How many of block ``j``'s times are below ``cut`` (its sample, then one read)."""
        b, s = self.blocks[j], self._samples[j]
        i = int(np.searchsorted(s, cut, side="left"))
        if i == 0:
            return 0
        lo, hi = (i - 1) * SAMPLE + 1, min(i * SAMPLE, b.n)
        seg = self.read("t", b.start + lo, b.start + hi)
        return lo + int(np.searchsorted(seg, cut, side="left"))

    def _read_back(self) -> dict:
        return {c: [self.read(c, b.start, b.start + b.n) for b in self.blocks] for c in _COLS}


def _temp():
    # unbuffered: a write that fails (a full disk) raises there, not at a later flush;
    # numpy's tofile writes through a C stream of its own and did not say so
    return tempfile.TemporaryFile(prefix="servesim-workload-", buffering=0)


def _where() -> str:
    """The temporary folder, named without failing (``tempfile.gettempdir`` raises when no
    folder it tries is writable)."""
    return tempfile.tempdir or os.environ.get("TMPDIR") or "the temporary folder"


def _write(f, a: np.ndarray) -> None:
    view = memoryview(np.ascontiguousarray(a)).cast("B")
    while view.nbytes:
        view = view[f.write(view):]


@contextmanager
def _writing():
    """A full disk or a folder gone while the columns are written: one line, not a traceback."""
    try:
        yield
    except OSError as e:
        raise InputError(f"writing the workload's columns to a temporary file in "
                         f"{_where()} failed ({e.strerror or e}): set TMPDIR to a "
                         "folder with room (about 40 bytes a request while they are merged), or "
                         "keep per-request rows (the columns then stay in memory)",
                         key="output.requests") from None


def _merge_windows(blocks: Blocks, model_of: dict) -> dict:
    n = blocks.rows
    windows = 2 * max(1, -(-n // WINDOW_ROWS))
    cuts = [blocks.last * k / windows for k in range(1, windows)] + [np.inf]
    outs = {c: _temp() for c in _TYPES}
    lo = [0] * len(blocks.blocks)
    any_over = False
    for cut in cuts:
        rows, tenant, model, parts = [], [], [], {c: [] for c in _COLS}
        for j, b in enumerate(blocks.blocks):
            if lo[j] == b.n:
                continue
            hi = b.n if cut == np.inf else blocks.before(j, cut)
            if hi > lo[j]:
                for c in _COLS:
                    parts[c].append(blocks.read(c, b.start + lo[j], b.start + hi))
                rows.append(hi - lo[j])
                tenant.append(b.tenant)
                model.append(model_of[b.model])
            lo[j] = hi
        if not rows:
            continue
        tw = np.concatenate(parts.pop("t"))
        order = np.argsort(tw, kind="stable")
        _write(outs["t"], tw[order])
        del tw
        _write(outs["tenant"], np.repeat(np.array(tenant, np.int16), rows)[order])
        _write(outs["model"], np.repeat(np.array(model, np.int16), rows)[order])
        for c, p in parts.items():
            v = np.concatenate(p)[order]
            any_over |= c == "over" and bool(v.any())
            _write(outs[c], v)
    for f in blocks._files.values():
        f.close()
    out = {}
    for c, f in outs.items():  # unbuffered: every write is in the file already
        out[c] = (np.frombuffer(mmap.mmap(f.fileno(), n * np.dtype(_TYPES[c]).itemsize,
                                          access=mmap.ACCESS_READ), _TYPES[c])
                  if n else np.zeros(0, _TYPES[c]))
        f.close()  # the mapping keeps the file
    out["where"] = None
    out["any_over"] = any_over
    return out


_WORKLOAD_COLS = ("arrival_s", "tenant", "model", "input_tokens", "output_tokens",
                  "over_context", "changed_req")


def give_back(workload, below: int) -> None:
    """Give back the pages of ``workload``'s mapped columns holding only rows below
    ``below`` (read again from their files if asked for; nothing for columns in memory)."""
    for name in _WORKLOAD_COLS:
        col = getattr(workload, name, None)
        if isinstance(col, np.ndarray):
            release(col, below)


def count_finite(col: np.ndarray, block: int = 1 << 16) -> int:
    """How many of ``col``'s values are not NaN, a block at a time, each block's pages given
    back when ``col`` is mapped (read whole, the 24-hour platform benchmark's arrival times
    held 19 MB at the run's start)."""
    n = 0
    for a in range(0, col.size, block):
        b = min(a + block, col.size)
        n += int(np.count_nonzero(~np.isnan(col[a:b])))
        release(col, b)
    return n
