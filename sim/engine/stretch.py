"""Boundaries inside a fluid plan whose iterations grow linearly.

A plan of ``k`` iterations with mean time ``dt`` whose iteration time grows by ``s`` each
(the KV reads and attention pairs grow linearly along a stretch, so the step time does
wherever it is linear in them): iteration ``i`` (from 0) takes ``dt - s ((k - 1) / 2 - i)``,
the first ``j`` take ``stretch_time`` and all ``k`` take ``k dt`` exactly. A stretch cut
short by a request joining mid-plan ends at the boundary of its own iteration, not at
``j dt`` (the average, until December 2026: late first tokens behind long prompts).
"""

from __future__ import annotations


def stretch_time(dt: float, s: float, k: int, j: int) -> float:
    """Time of the first ``j`` of ``k`` iterations."""
    return j * dt - s * 0.5 * j * (k - j)


def iters_at(t0: float, dt: float, now: float, up: bool, strict: bool = True) -> int:
    """Iterations of a constant ``dt`` from ``t0``: the first ``j`` whose boundary ``t0 + j dt``
    is after ``now`` (``up``; at or after it unless ``strict``), else the last at or before
    it, checked against those boundaries' own sums (a quotient alone is one off on a tie:
    (0.12 - 0.2) // 0.01 is -9, -8 for 0.2 + 1e-17; until December 2026 which boundary a
    request arriving at one took followed that)."""
    if up:
        j = int((now - t0) // dt) + 1
        if j > 1 and t0 + (j - 1) * dt > now:
            j -= 1
        elif t0 + j * dt <= now:
            j += 1
        if not strict and j > 0 and t0 + (j - 1) * dt == now:
            j -= 1  # the boundary at now itself
        return j
    j = int((now - t0) / dt)
    if t0 + (j + 1) * dt <= now:
        return j + 1
    return j - 1 if j > 0 and t0 + j * dt > now else j


def stretch_iters(dt: float, s: float, k: int, x: float, up: bool) -> int:
    """The first ``j`` with ``stretch_time(j) >= x`` (``up``), else the last with
    ``stretch_time(j) <= x``; at most ``k``. ``stretch_time(j) = A j^2 + B j`` with ``A > 0``:
    its root, then checked against the same sums the boundaries are built from."""
    h = s * 0.5
    b = dt - h * k  # stretch_time(j) = (h j + b) j; inlined below as it is written there
    d = (b * b + 4.0 * h * x) ** 0.5
    root = 2.0 * x / (b + d) if b > 0 else (d - b) / (2.0 * h)
    if root > k:
        root = k
    if up:
        j = int(-(-root // 1)) or 1
        while j < k and (j * dt - h * j * (k - j)) < x:
            j += 1
        while j > 1 and ((j - 1) * dt - h * (j - 1) * (k - j + 1)) >= x:
            j -= 1
    else:
        j = int(root)
        while j > 0 and (j * dt - h * j * (k - j)) > x:
            j -= 1
        while j < k and ((j + 1) * dt - h * (j + 1) * (k - j - 1)) <= x:
            j += 1
    return j
