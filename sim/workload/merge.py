"""Merging the tenants' blocks of request columns into the workload's, sorted by arrival.

The blocks are in tenant order and each in its own order, so a stable sort by time alone
breaks ties by tenant, then by each tenant's order; NaN (a closed loop's placeholder) sorts
last. :func:`sort_times` sorts the times in place and returns where each row went (the
inverse permutation, 4 bytes a request while the workload has fewer than 2^31 requests);
:func:`scatter` puts each block's values straight where they go, block by block, freeing
each as it is placed. The columns are those of concatenating the blocks and taking them in
the sorted order (``np.concatenate(blocks)[order]``), without the concatenation or the
8-byte order kept beside them: on the 12-hour platform benchmark (1.2 M requests) the
generation's traced peak fell from 39.0 to 38.5 bytes a request (21.1 kept; the sort's own
buffers are now the peak) and its resident peak at 24 hours (2.4 M) from 254 to 236 MB.
"""

from __future__ import annotations

import numpy as np

_CHUNK = 1 << 20  # the inverse permutation's positions made at a time


def sort_times(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted times, where)``: ``sorted[where[i]] == t[i]``; stable, NaN last."""
    has_nan = bool(np.isnan(t).any())
    if has_nan:  # NaN sorts as +inf would, by position (no arrival time is infinite)
        order = np.argsort(np.where(np.isnan(t), np.inf, t), kind="stable")
        t = t[order]
    else:
        order = np.argsort(t, kind="stable")
    n = order.size
    where = np.empty(n, np.int32 if n < 2 ** 31 else np.int64)
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        where[order[a:b]] = np.arange(a, b, dtype=where.dtype)
    del order
    if not has_nan:
        t.sort(kind="stable")  # equal times are equal floats: the same array as t[order]
    return t, where


def scatter(blocks: list[np.ndarray], where: np.ndarray) -> np.ndarray:
    """``np.concatenate(blocks)[order]`` for the order :func:`sort_times` gave ``where`` of;
    ``blocks`` is emptied as each block is placed."""
    out = np.empty(where.size, np.result_type(*blocks) if blocks else np.float64)
    off = 0
    blocks.reverse()  # popped from the end: first block first
    while blocks:
        block = blocks.pop()
        out[where[off:off + block.size]] = block
        off += block.size
    return out


def order_of(where: np.ndarray) -> np.ndarray:
    """The sorted order (``order[where[i]] == i``) back from ``where``, 8 bytes a request."""
    order = np.empty(where.size, np.int64)
    order[where] = np.arange(where.size, dtype=np.int64)
    return order
