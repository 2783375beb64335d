"""Named random streams owned by the run.

Each stream is ``SeedSequence(seed, spawn_key=(crc32(name),))``: independent of every other
stream, stable across Python processes (never ``hash()``), and independent of the order in
which streams are created, so adding a tenant does not change another tenant's requests.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    ss = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(name.encode("utf-8")),))
    return np.random.Generator(np.random.PCG64(ss))
