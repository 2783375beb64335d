"""Shared prompt prefixes: the leading segments of every request's prompt, with content ids.

A request's segments are the leading part of its prompt, in order (a system prompt, shared
documents, a conversation's history, a trace's prompt blocks); their lengths sum to at most
its ``input_tokens``, the rest of the prompt being text no other request has. Two requests
share the KV of their first k segments iff their first k (key, length) pairs are equal: a
key names a segment's content given the segments before it. Keys are unique per content
source across the whole workload: ``key = (source << SOURCE_SHIFT) | local id``, with one
source per trace file (two tenants replaying the same file share its content) and one per
tenant for the prefixes generated for it (:mod:`sim.workload.prompts`).

Columns, not objects (CSR): request i's segments are ``key[ptr[i]:ptr[i + 1]]``.
:func:`unbounded_hits` is the reference reuse of an unbounded cache, for tests and
cross-checks of the engines' caches.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

import numpy as np

SOURCE_SHIFT = 40  # local ids below 2**40 (a trillion segments); up to 2**23 sources


def source_key(source: int, local: np.ndarray) -> np.ndarray:
    """Global keys of a source's local ids."""
    return (np.int64(source) << np.int64(SOURCE_SHIFT)) | np.asarray(local, np.int64)


class Sources:
    """Source numbers in first-use order (the workload asks in sorted tenant order, so the
    numbering is deterministic): ``trace:<path>`` for a trace file, ``tenant:<name>`` for
    what is generated for a tenant."""

    def __init__(self) -> None:
        self._index: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        return self._index.setdefault(name, len(self._index))


def ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges ``[starts[i], starts[i] + counts[i])`` laid one after the other: their CSR
    pointer and the source index of each item."""
    counts = np.asarray(counts, np.int64)
    ptr = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    src = np.repeat(np.asarray(starts, np.int64) - ptr[:-1], counts) + np.arange(int(ptr[-1]),
                                                                                dtype=np.int64)
    return ptr, src


@dataclass
class Prefixes:
    ptr: np.ndarray  # int64, n + 1: request i's segments are key[ptr[i]:ptr[i + 1]], in prompt order
    key: np.ndarray  # int64 segment ids
    length: np.ndarray  # int32 tokens of each segment (>= 1)
    out_key: np.ndarray  # int64 per request: the id its answer gets once cached; -1: none

    def __len__(self) -> int:
        return int(self.ptr.size - 1)

    def segments(self, i: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Request ``i``'s segment keys and lengths (python ints)."""
        a, b = int(self.ptr[i]), int(self.ptr[i + 1])
        return tuple(self.key[a:b].tolist()), tuple(self.length[a:b].tolist())

    def rows(self, order, block: int = 1024) -> tuple[Iterator, list]:
        """The requests ``order``'s segments one after the other, as :meth:`segments` gives
        them (None for a request without any), and their ``out_key``: python objects for
        many requests at once (the run's arrival driver), built ``block`` requests at a time
        as they are taken, from python lists (cheaper than numpy slices per request, lighter
        than objects for them all). Requests of a block with the same segments share one
        object (a system prompt and popular documents: fewer allocations)."""
        part = self.take(order)

        def blocks():
            for s in range(0, len(part), block):
                ptr = part.ptr[s:s + block + 1]
                first, inv = _same_rows(ptr, part.key, part.length)
                keys = part.key[ptr[0]:ptr[-1]].tolist()
                lens = part.length[ptr[0]:ptr[-1]].tolist()
                ptr = (ptr - ptr[0]).tolist()
                objs = [(tuple(keys[ptr[i]:ptr[i + 1]]), tuple(lens[ptr[i]:ptr[i + 1]]))
                        if ptr[i + 1] > ptr[i] else None for i in first]
                yield [objs[i] for i in inv]

        return chain.from_iterable(blocks()), part.out_key.tolist()

    def counts(self) -> np.ndarray:
        """Segments per request."""
        return np.diff(self.ptr)

    def covered(self) -> np.ndarray:
        """Tokens per request its segments cover."""
        sums = np.zeros(len(self), np.int64)
        if self.key.size:
            req = np.repeat(np.arange(len(self)), self.counts())
            np.add.at(sums, req, self.length.astype(np.int64))
        return sums

    def take(self, order) -> Prefixes:
        """The requests ``order`` (indices, like ``arr[order]``), in that order."""
        rows = np.asarray(order, np.int64)
        ptr, src = ranges(self.ptr[rows], self.ptr[rows + 1] - self.ptr[rows])
        return Prefixes(ptr, self.key[src], self.length[src], self.out_key[rows])

    @staticmethod
    def concat(parts: list[Prefixes]) -> Prefixes:
        """The requests of ``parts`` one after the other."""
        ptrs, off = [np.zeros(1, np.int64)], 0
        for p in parts:
            ptrs.append(p.ptr[1:] + off)
            off += int(p.ptr[-1])
        return Prefixes(np.concatenate(ptrs),
                         np.concatenate([np.zeros(0, np.int64)] + [p.key for p in parts]),
                         np.concatenate([np.zeros(0, np.int32)] + [p.length for p in parts]),
                         np.concatenate([np.zeros(0, np.int64)] + [p.out_key for p in parts]))

    @staticmethod
    def empty(n: int) -> Prefixes:
        """``n`` requests without segments."""
        return Prefixes(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32),
                        np.full(n, -1, np.int64))


def _same_rows(ptr: np.ndarray, key: np.ndarray, length: np.ndarray) -> tuple[list, list]:
    """Requests ``ptr`` (a CSR pointer into ``key``/``length``) grouped by identical segments:
    one request of each group (python ints) and, per request, the index of its group in
    that list. Requests are compared within their segment count, each count's rows as one
    table of that width, so the tables hold the block's segments twice over (until December
    2026 one table as wide as the longest prompt for every request: a Mooncake line of
    300,000 hash_ids among short ones took 1.8 GB)."""
    m = ptr.size - 1
    count = np.diff(ptr)
    base = ptr[:-1]
    first: list = []
    inv = np.empty(m, np.int64)
    for c in np.unique(count).tolist():
        idx = np.flatnonzero(count == c)
        if idx.size == 1 or c == 0:  # one request, or none with segments: one group
            inv[idx] = len(first)
            first.append(int(idx[0]))
            continue
        cols = base[idx][:, None] + np.arange(c)  # each request's segments, one row each
        table = np.ascontiguousarray(np.concatenate([key[cols], length[cols].astype(np.int64)],
                                                    axis=1))
        # each row as one opaque value: equal rows are equal bytes
        _, one, group = np.unique(table.view(np.dtype((np.void, 16 * c))).ravel(),
                                  return_index=True, return_inverse=True)
        inv[idx] = len(first) + group.ravel()
        first += idx[one].tolist()
    return first, inv.tolist()


def truncate(p: Prefixes, limit: np.ndarray) -> Prefixes:
    """Each request's segments cut to cover at most ``limit[i]`` tokens: segments starting
    at or beyond it dropped, the one it falls in shortened. A request whose segments were
    cut loses its ``out_key`` (its answer no longer follows the prompt it was given)."""
    n = len(p)
    lim = np.asarray(limit, np.int64)
    req = np.repeat(np.arange(n), p.counts())
    cum = np.concatenate([[0], np.cumsum(p.length, dtype=np.int64)])
    start = cum[:-1] - cum[p.ptr[:-1]][req]  # offset of each segment in its prompt
    if not (start + p.length > lim[req]).any():
        return p
    keep = start < lim[req]
    length = np.minimum(p.length.astype(np.int64), lim[req] - start)[keep].astype(np.int32)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(req[keep], minlength=n), out=ptr[1:])
    cut = np.zeros(n, bool)
    cut[req[start + p.length > lim[req]]] = True
    return Prefixes(ptr, p.key[keep], length, np.where(cut, -1, p.out_key))


def unbounded_hits(wl, block: int) -> np.ndarray:
    """Tokens each request of ``wl`` finds cached (int64 per request) with a cache that holds
    every segment of every earlier request in workload order (its prompt's segments and, when
    they cover its whole prompt, its answer under ``out_key``, of ``output_tokens`` tokens,
    after the last one): the longest chain of its leading segments seen before, floored to
    whole blocks and leaving at least one prompt token to compute, so
    ``min(floor(matched / block), floor((input_tokens - 1) / block)) * block``. (vLLM caches
    full blocks only and recomputes the last prompt token on a full hit: vLLM
    docs/design/prefix_caching.md, ``KVCacheManager.get_computed_blocks``.)"""
    n = len(wl)
    hits = np.zeros(n, np.int64)
    p = wl.prefixes
    if p is None:
        return hits
    root: dict = {}
    ins = wl.input_tokens.tolist()
    outs = wl.output_tokens.tolist()
    keys, lens, ptr, out_key = p.key.tolist(), p.length.tolist(), p.ptr.tolist(), p.out_key.tolist()
    for i in range(n):
        node, matched, a, b = root, 0, ptr[i], ptr[i + 1]
        j = a
        while j < b and (keys[j], lens[j]) in node:  # the chain seen before
            node = node[(keys[j], lens[j])]
            matched += lens[j]
            j += 1
        for k in range(j, b):  # the rest of the chain, now seen
            node = node.setdefault((keys[k], lens[k]), {})
        covered = sum(lens[a:b])
        if out_key[i] >= 0 and b > a and covered == ins[i] and outs[i] > 0:
            node.setdefault((out_key[i], outs[i]), {})
        hits[i] = min(matched // block, (ins[i] - 1) // block) * block
    return hits
