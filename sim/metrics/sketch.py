"""A figure's values as a streaming quantile sketch (``output.percentiles: sketch``): the
store :class:`SketchValues`, with the interface of :class:`~sim.metrics.rows.ExactValues`,
backed by DataDog's DDSketch (the ``ddsketch`` package), so that a summary folded over
blocks of request ids keeps a few thousand bucket counts per row and figure, not every
request's value.

The guarantee (Masson, Rim and Lee, "DDSketch", VLDB 2019, section 2): for a sketch of
relative accuracy ``alpha``, the value it returns for a rank is within ``alpha`` (relative)
of the value of that rank among the sorted values (the rank-defined quantile; the library
ranks ``floor(q (n - 1))``, 0-based). The exact path's percentiles (``np.percentile``)
interpolate linearly between the values of ranks ``floor(q (n - 1))`` and the next; so does
:meth:`SketchValues.stats`, between the sketch's values of those two ranks, and a weighted
mean of two values each within ``alpha`` of its exact one is within ``alpha`` of the exact
percentile (the figures are never negative). Taking the rank-defined value alone instead
would be within ``alpha`` of the lower rank's value only: on a row of 1,851 requests the
p99 read 38 % below ``np.percentile``'s, whose two bracketing values lay far apart.

Each block's values are mapped to the library's bucket keys with numpy (the library's own
``mapping.key`` is one Python call per value; values within a hair of a bucket edge, where
numpy's logarithm and the C library's could round apart, are keyed by ``mapping.key``
itself), counted per distinct key and added to the library's stores as one weighted add per
key. Quantiles, merging and the count are the library's; the count, minimum, maximum and
mean (from a float64 running sum, block by block) are kept exactly beside it, and a
quantile is clamped to the exact minimum and maximum (which only brings it closer: the
rank-defined quantile lies between them).
"""

from __future__ import annotations

import math

import numpy as np
from ddsketch.ddsketch import BaseDDSketch
from ddsketch.mapping import LogarithmicMapping
from ddsketch.store import DenseStore

# The relative accuracy, alpha (an assumption): 0.5 %, half the library's default of 1 %,
# so that a percentile moves by less than the 1 % steps the README's comparisons of setups
# quote; it costs about 1,400 buckets a figure for values spanning 1 ms to 10 min (log
# base (1 + alpha) / (1 - alpha) of 600,000), a few tens of kB a row and figure.
RELATIVE_ACCURACY = 0.005

_LN2 = math.log(2.0)
# a key whose unrounded log (the key before its ceiling) lies this close to an integer is
# computed by the library itself: numpy's logarithm may differ from the C library's in the
# last bit, an error in that log of under 1e-10 for any finite double at alpha 0.005
# (|log| below 75,000), far inside this margin, which about 2 values a million fall within
_EDGE = 1e-6
# values keyed at a time (an assumption: 2^16 keeps the keys' temporaries near 2 MB, below
# the block's own columns, at a few numpy calls a chunk)
_CHUNK = 1 << 16


def bucket_keys(mapping: LogarithmicMapping, x: np.ndarray) -> np.ndarray:
    """``mapping.key(v)`` for every ``v`` of ``x`` (positive, finite), as int64: the same
    keys as the library's, by numpy (``math.log(v, 2)`` is ``log(v) / log(2)``), values near
    a bucket edge keyed by ``mapping.key`` itself."""
    y = np.log(x)
    y /= _LN2
    y *= mapping._multiplier  # the library's 1 / log2(gamma), its one parameter of the key
    up = np.ceil(y)
    y -= up  # in (-1, 0]: how far below its key's edge
    edge = (y >= -_EDGE) | (y <= _EDGE - 1)
    del y
    keys = up.astype(np.int64)
    del up
    if mapping._offset:  # the library adds its offset (0 for a mapping made by accuracy)
        keys += int(mapping._offset)
    for i in np.flatnonzero(edge).tolist():
        keys[i] = mapping.key(float(x[i]))
    return keys


def _store_of(mapping, x: np.ndarray) -> DenseStore:
    """A store holding the values ``x`` (positive), counted per key :data:`_CHUNK` values
    at a time, then one weighted add per key: the smallest and largest first, so the store
    sizes its bins once, not at each new key."""
    store = DenseStore()
    if not x.size:
        return store
    low, high = bucket_keys(mapping, np.array([x.min(), x.max()])).tolist()
    counts = np.zeros(high - low + 1, np.int64)  # a store spans its keys densely anyway
    for a in range(0, x.size, _CHUNK):
        keys = bucket_keys(mapping, x[a:a + _CHUNK])
        keys -= low
        counts += np.bincount(keys, minlength=counts.size)
    keys = np.flatnonzero(counts)
    counts = counts[keys].tolist()
    keys = (keys + low).tolist()
    for i in (0, len(keys) - 1, *range(1, len(keys) - 1)) if len(keys) > 1 else (0,):
        store.add(keys[i], float(counts[i]))
    return store


class SketchValues:
    """A figure's values over the blocks as a DDSketch of relative accuracy ``alpha``
    (:data:`RELATIVE_ACCURACY`): the methods of :class:`~sim.metrics.rows.ExactValues`
    (``add``, ``stats``) and ``count``, with NaNs as the exact path takes them: counted in
    ``count``, left out of the percentiles, making the mean NaN (numpy's mean of an array
    that holds one)."""

    def __init__(self, alpha: float = RELATIVE_ACCURACY):
        self.mapping = LogarithmicMapping(alpha)
        self.sketch = BaseDDSketch(self.mapping, DenseStore(), DenseStore(), 0.0)
        self.nan = 0  # NaN values added
        self.total = 0.0  # the running sum of the values, block by block
        self.lo, self.hi = math.inf, -math.inf  # the exact minimum and maximum

    def add(self, x: np.ndarray) -> None:
        """Fold in one block's values (not kept)."""
        x = np.asarray(x, np.float64)
        nan = np.isnan(x)
        if nan.any():
            self.nan += int(np.count_nonzero(nan))
            x = x[~nan]
        if not x.size:
            return
        if not np.isfinite(x).all():  # no figure is infinite: a bug upstream, not a value
            raise ValueError("an infinite value given to a quantile sketch")
        self.total += float(x.sum())
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))
        tiny = self.mapping.min_possible  # the library's zero: at most this far from 0
        small = x <= tiny
        if small.any():  # zeros (a TTFT can be 0) or negatives: apart, as the library does
            pos, neg = x[~small], -x[x < -tiny]
            zeros = int(np.count_nonzero(small)) - neg.size
        else:  # the common case: no copy of the block's values
            pos, neg, zeros = x, x[:0], 0
        del small
        block = BaseDDSketch(self.mapping, _store_of(self.mapping, pos),
                             _store_of(self.mapping, neg), float(zeros))
        self.sketch.merge(block)

    def merge(self, other: SketchValues) -> None:
        """Fold in another sketch's values (of the same accuracy)."""
        self.sketch.merge(other.sketch)
        self.nan += other.nan
        self.total += other.total
        self.lo, self.hi = min(self.lo, other.lo), max(self.hi, other.hi)

    def count(self) -> int:
        """The values added, NaNs included."""
        return int(self.sketch.count) + self.nan

    def at_rank(self, k: int) -> float:
        """The sketch's value of rank ``k`` (0-based, of the non-NaN values in order): within
        the relative accuracy of the exact one (the library's guarantee), clamped to the exact
        minimum and maximum. The library ranks ``q (n - 1)`` down, so ``k + 1/2`` is asked
        for (``k`` itself could come back as ``k - 1`` after rounding ``q``)."""
        n = int(self.sketch.count)
        q = min(1.0, (k + 0.5) / (n - 1)) if n > 1 else 0.0
        return min(max(float(self.sketch.get_quantile_value(q)), self.lo), self.hi)

    def stats(self, qs, mean: bool = False) -> list[float]:
        """``[mean] + percentiles`` (NaN when empty), as :class:`ExactValues` gives them:
        each percentile ``np.percentile``'s linear interpolation between the values of ranks
        ``floor(q (n - 1))`` and the next, each of them the sketch's, so within the relative
        accuracy of the exact percentile (a weighted mean of two values each within it)."""
        n = int(self.sketch.count)
        head = []
        if mean:
            head = [math.nan if self.nan or not n else self.total / n]
        out = []
        for q in qs:
            if not n:
                out.append(math.nan)
                continue
            r = q / 100 * (n - 1)
            k = min(int(math.floor(r)), n - 1)
            t = r - k
            a = self.at_rank(k)
            if t <= 0 or k + 1 > n - 1:
                out.append(a)
                continue
            b = self.at_rank(k + 1)
            # numpy's lerp (from whichever end is nearer)
            out.append(a + (b - a) * t if t < 0.5 else b - (b - a) * (1 - t))
        return head + out
