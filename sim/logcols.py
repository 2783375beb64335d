"""Request-log columns that take memory only where written: a column of zeros in no memory
until its first non-zero value (:func:`zeros`), and a few columns written for a small share
of the requests, kept as the ids and values written (:class:`SparseColumns`); names stored
as small codes (:class:`Codes`)."""

from __future__ import annotations

from array import array

import numpy as np


def zeros(n: int, dtype) -> np.ndarray:
    """``n`` zeros of ``dtype`` in no memory (a read-only view of one zero; a plain array
    for fewer than two)."""
    return np.broadcast_to(np.zeros(1, dtype), (n,)) if n > 1 else np.zeros(n, dtype)


def is_zeros(col: np.ndarray) -> bool:
    """Whether ``col`` is still a column of :func:`zeros` (never written)."""
    return isinstance(col, np.ndarray) and col.ndim == 1 and col.size > 1 and col.strides == (0,)


def holding(col: np.ndarray, values) -> np.ndarray:
    """``col`` (a written column), or a copy of it in an integer type that holds ``values``:
    a request's tries or preemptions beyond an int8 or int16 column are kept exact, the column
    widening only in a run that needs it (until December 2026 they were stored clipped, at 127
    tries and 32,767 preemptions, unsaid)."""
    if col.dtype.kind != "i" or not np.size(values):
        return col
    top = int(np.max(values))
    if top <= np.iinfo(col.dtype).max:
        return col
    return col.astype(np.promote_types(col.dtype, np.min_scalar_type(-top)))


_TYPECODES = {np.dtype(np.float64): "d", np.dtype(np.int8): "b"}


class SparseColumns:
    """Columns of ``n`` rows, zero except at the rows written, written together: each write
    appends the row id and its values (8 bytes plus each value's size a write, where a
    dense column costs its size at every row). A row written again takes its last values.
    Read whole (:meth:`dense`) or at some rows (:meth:`at`)."""

    def __init__(self, n: int, **dtypes):
        self.n = n
        self.dtypes = {k: np.dtype(d) for k, d in dtypes.items()}
        self._ids = array("q")
        self._vals = {k: array(_TYPECODES[d]) for k, d in self.dtypes.items()}
        self._read = None  # (sorted unique ids, {name: values}) since the last write

    def write(self, row: int, *values) -> None:
        self._ids.append(row)
        for col, v in zip(self._vals.values(), values):
            col.append(v)
        self._read = None

    def written(self) -> tuple[np.ndarray, dict]:
        """The rows written (ascending, each once) and each column's values at them."""
        if self._read is None:
            ids = np.array(self._ids, np.int64)
            last = ids.size - 1 - np.unique(ids[::-1], return_index=True)[1]  # a row's last write
            self._read = (ids[last], {k: np.array(v, self.dtypes[k])[last]
                                      for k, v in self._vals.items()})
        return self._read

    def dense(self, name: str) -> np.ndarray:
        """The whole column (a new array)."""
        ids, vals = self.written()
        out = np.zeros(self.n, self.dtypes[name])
        out[ids] = vals[name]
        return out

    def at(self, name: str, rows) -> np.ndarray:
        """The column at ``rows``: None (every row), a slice, a boolean mask of every row,
        or row ids (any order)."""
        if rows is None:
            return self.dense(name)
        ids, vals = self.written()
        v = vals[name]
        if isinstance(rows, slice):
            a, b, _ = rows.indices(self.n)
            lo, hi = np.searchsorted(ids, (a, b))
            out = np.zeros(max(b - a, 0), v.dtype)
            out[ids[lo:hi] - a] = v[lo:hi]
            return out
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        out = np.zeros(rows.size, v.dtype)
        if ids.size:
            k = np.minimum(np.searchsorted(ids, rows), ids.size - 1)
            hit = ids[k] == rows
            out[hit] = v[k[hit]]
        return out

    def values_in(self, name: str, mask: np.ndarray, start: int = 0) -> np.ndarray:
        """The column's written values at the rows ``mask`` selects, in row order: what
        :meth:`at` gives there less its unwritten zeros, without a temporary the size of the
        selection. ``mask``: a boolean mask of the rows from ``start`` on (every row, or a
        block of them)."""
        ids, vals = self.written()
        lo, hi = np.searchsorted(ids, (start, start + mask.size))
        return vals[name][lo:hi][mask[ids[lo:hi] - start]]


class Codes:
    """Small registry of names (tiers, reasons, storage tiers) stored as int8 codes."""

    def __init__(self, *names: str):
        self.names: list[str] = list(names)
        self._index = {n: i for i, n in enumerate(self.names)}

    def code(self, name: str) -> int:
        i = self._index.get(name)
        if i is None:
            i = self._index[name] = len(self.names)
            self.names.append(name)
        return i
