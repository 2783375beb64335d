"""A run's request log sealed in blocks of consecutive request ids while the run goes.

A block is sealed once every request of it that the run serves has ended; blocks are sealed
in id order, each once, and handed to a hook (``hook(log, a, b)``: ids ``a .. b - 1``), which
folds it (counts, sums, a sketch) so that nothing has to read it again. A sealed log keeps
its columns in anonymous mapped pages (:func:`mapped`): a page takes memory only once a
request's value is written in it, and the pages of sealed blocks are given back
(:func:`release`), so the log's memory follows the requests in flight, not the horizon.

Its columns then start as zeros, not NaN: the times of a request that did not complete
(admission, first token, finish) and its replica (-1) are written when its block is sealed,
before the hook reads it, so the hook sees what a log held whole has at the end of the run.
"""

from __future__ import annotations

import mmap
import sys
from collections import deque

import numpy as np

PAGE = mmap.PAGESIZE


def mapped(n: int, dtype) -> np.ndarray:
    """``n`` zeros of ``dtype`` in private anonymous mapped pages (resident once written;
    private, so that a page given back is freed, not kept by a shared mapping). Windows has
    no such pages: a plain array there, never given back."""
    dtype = np.dtype(dtype)
    if sys.platform == "win32":  # pragma: no cover - not tested here
        return np.zeros(n, dtype)
    mm = mmap.mmap(-1, max(n * dtype.itemsize, 1),
                   flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(mm, dtype, count=n)


def _mapping(col: np.ndarray):
    """The mmap object under a column made by :func:`mapped` (None for another array)."""
    base = col.base
    return base.obj if isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap) else None


def release(col: np.ndarray, done: int) -> None:
    """Give back the whole pages of ``col`` (made by :func:`mapped`) holding only rows below
    ``done``; they read as zeros afterwards, so nothing may read those rows again."""
    mm = _mapping(col)
    if mm is None:
        return
    end = done * col.dtype.itemsize // PAGE * PAGE
    if end > 0:
        mm.madvise(mmap.MADV_DONTNEED, 0, end)


class Sealer:
    """Counts the requests of each block not yet ended and seals blocks in id order.
    ``served``: the requests the run serves (a boolean mask; None: all), the others never
    end; ``hook(log, a, b)``: called once per block, in order, once every served request of it
    ended (an empty block too, so the hook sees every block)."""

    def __init__(self, n: int, block: int, hook, served: np.ndarray | None = None):
        self.n, self.block, self.hook = n, block, hook
        nb = -(-n // block)
        if served is None:
            self.open = np.full(nb, block, np.int64)
            if nb:
                self.open[-1] = n - (nb - 1) * block
        else:
            self.open = np.add.reduceat(served.astype(np.int64), np.arange(0, n, block)) \
                if n else np.zeros(0, np.int64)
        self.next = 0  # the first block not yet sealed

    def ended(self, ids: np.ndarray, log) -> None:
        """Requests ``ids`` ended (their values written in ``log``): seal what is complete."""
        if ids.size:
            self.open -= np.bincount(ids // self.block, minlength=self.open.size)
        nb = self.open.size
        while self.next < nb and self.open[self.next] == 0:
            a = self.next * self.block
            b = min(a + self.block, self.n)
            log.settle_block(a, b)
            self.hook(log, a, b)
            self.next += 1
            log.release_below(b)

    @property
    def done(self) -> bool:
        return self.next == self.open.size


# the columns a sealed log keeps in mapped pages (made so at the start, or at their first
# non-zero value for the columns that start as zeros in no memory)
_MAPPED = ("admit_s", "first_s", "finish_s", "replica", "tier", "outcome", "reason",
           "attempts", "spilled", "cached", "preempts", "preempt_s")
_TIMES = ("admit_s", "first_s", "finish_s")
_ENDED_BUFFER = 8192  # ends of requests that did not complete, sealed at the next flush


class SealableLog:
    """What :class:`sim.records.RequestLog` needs to be sealed in blocks (module doc):
    :meth:`seal_in_blocks` before the run's first write; the log then counts ends per block
    at each flush of its buffered completions."""

    _sealer: Sealer | None = None
    _flush_at: int
    _completed_code = 1  # sim.records.COMPLETED (not imported: records imports this module)

    def seal_in_blocks(self, hook, block: int, served: np.ndarray | None = None) -> None:
        """From now on, hand each block to ``hook`` once sealed, then give its pages back."""
        for name in _TIMES + ("replica", "tier"):
            col = getattr(self, name)
            if _mapping(col) is None:  # made whole: mapped pages instead (made so: kept)
                setattr(self, name, mapped(self.n, col.dtype))
        self._map_outcome()
        self._sealer = Sealer(self.n, block, hook, served)
        self._other_ended: list[int] = []
        # admissions of requests cut in service, in id order (the run's end fails them so)
        self._cut_admit: deque[tuple[int, float]] = deque()
        # a block seals only once its completions are written: flushed at most a block apart
        self._flush_at = max(1, min(self._flush_at, block))

    def _map_outcome(self) -> None:
        """Move the outcome column (over the bytearray ``_ended``) to mapped pages, which
        give back a sealed block's outcomes too (1 byte a request: 2.4 MB kept to the end of
        the 24-hour platform benchmark until December 2026). A mapping reads and writes
        single bytes as ints, like the bytearray. Kept as it is where pages are not mapped."""
        col = mapped(self.n, np.int8)
        mm = _mapping(col)
        if mm is None:  # pragma: no cover - Windows
            return
        col[:] = self.outcome
        self.outcome, self._ended = col, mm

    @property
    def sealed_below(self) -> int:
        """The requests below this id are in sealed blocks (0 when the log is not sealed in
        blocks): their columns may read zeros, their pages given back."""
        if self._sealer is None:
            return 0
        return min(self._sealer.next * self._sealer.block, self.n)

    def _new_col(self, dtype) -> np.ndarray:
        """A written column's memory: mapped pages once the log is sealed in blocks."""
        return np.zeros(self.n, dtype) if self._sealer is None else mapped(self.n, dtype)

    def _note_ended(self, rid: int) -> None:
        """A request ended without completing (a sealed log counts it at the next flush)."""
        if self._sealer is not None:
            self._other_ended.append(rid)
            if len(self._other_ended) >= min(_ENDED_BUFFER, self._flush_at):
                self.flush()

    def _seal_step(self, completed_ids) -> None:
        if self._sealer is None:
            return
        other = np.array(self._other_ended, np.int64)
        self._other_ended.clear()
        ids = other if completed_ids is None else np.concatenate([completed_ids, other])
        self._sealer.ended(ids, self)

    @property
    def sealed_all(self) -> bool:
        """Every block sealed (True when the log is not sealed in blocks)."""
        return self._sealer is None or self._sealer.done

    def cut_in_service(self, rid: int, admit_s: float) -> None:
        """The admission of a request the run's end cut while it ran (its only time besides
        its arrival: a log held whole keeps it as written, a sealed one through its block's
        settling, which clears the others' times)."""
        self.admit_s[rid] = admit_s
        if self._sealer is not None:
            self._cut_admit.append((rid, admit_s))

    def settle_block(self, a: int, b: int) -> None:
        """Write what a log held whole has for the requests ``a .. b - 1`` that did not
        complete: no times (NaN) but a cut request's admission, no replica (-1)."""
        bad = self.outcome[a:b] != self._completed_code
        for name in _TIMES:
            getattr(self, name)[a:b][bad] = np.nan
        kept = self._cut_admit
        while kept and kept[0][0] < b:  # blocks settle in id order
            rid, t = kept.popleft()
            self.admit_s[rid] = t
        self.replica[a:b][bad] = -1

    def release_below(self, done: int) -> None:
        for name in _MAPPED:
            release(getattr(self, name), done)
