"""Readers memoised by the bytes of the file they read (traces, length PMFs, ServeGen client
windows).

A reader decorated with :func:`by_content` returns what it returned before for the same
arguments only while the file holds the same bytes (a BLAKE2b digest of the file, taken
before and after the read): a file edited between two runs of one process (``sim.run``
twice, a sweep worker's next job) is read again, and a file that did not change is not
parsed again, so a sweep of many jobs over one large trace parses it once per worker
process instead of once per job. Digesting costs a read of the raw bytes (about 0.1-0.2 s
per 200 MB from the page cache); parsing costs far more (about 9 s for 5 M rows of an Azure
trace).

What a reader returns is shared by every run that reads the same bytes, so its arrays are
made read-only: a caller that changed one in place would change the next run's input.
:func:`next_run` (called as a run starts) drops what the previous run did not read, so a
worker holds at most the files of two consecutive runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from functools import wraps

import numpy as np

from sim.textfiles import is_file

_READERS: list = []
_RUN = [0]


def digest(path: str) -> bytes | None:
    """The file's content digest; None for anything but a readable regular file (the reader
    itself then says what is wrong: a FIFO is never opened here)."""
    if not is_file(path):
        return None
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    except OSError:
        return None
    return h.digest()


def _freeze(value):
    items = (value if isinstance(value, tuple) else
             [getattr(value, f.name) for f in dataclasses.fields(value)]
             if dataclasses.is_dataclass(value) else [value])
    for a in items:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return value


def by_content(maxsize: int):
    """Memoise ``reader(path, *args)`` by its arguments and the bytes at ``path``."""

    def deco(reader):
        cache: OrderedDict = OrderedDict()  # (path, *args) -> (digest, value, run)

        @wraps(reader)
        def read(path, *args):
            before = digest(path)
            if before is None:
                return reader(path, *args)
            key = (path, *args)
            hit = cache.get(key)
            if hit is not None and hit[0] == before:
                cache[key] = (before, hit[1], _RUN[0])
                cache.move_to_end(key)
                return hit[1]
            value = _freeze(reader(path, *args))
            if digest(path) == before:  # not rewritten while it was read
                cache[key] = (before, value, _RUN[0])
                cache.move_to_end(key)
                while len(cache) > maxsize:
                    cache.popitem(last=False)
            return value

        read.cache_clear = cache.clear
        read.cache_entries = cache.__len__
        _READERS.append(cache)
        return read

    return deco


def next_run() -> None:
    """A run starts: drop the entries the previous run did not read."""
    _RUN[0] += 1
    for cache in _READERS:
        for key in [k for k, v in cache.items() if v[2] < _RUN[0] - 1]:
            del cache[key]
