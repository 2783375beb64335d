"""Hydra's ``shuffle()`` sweep and list function, given a fixed seed."""

from __future__ import annotations

import random
from contextlib import contextmanager


@contextmanager
def seeded_shuffle(seed: int = 0):
    """Hydra's ``shuffle()`` draws its order from Python's ``random``, seeded by the system:
    the same command gave another list order or job numbering each time (and a resumed
    sweep's jobs could be matched to other values). While a command line is parsed the
    generator is seeded with ``seed`` (0: an assumption, any fixed value does), and the
    caller's state is given back after."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)
