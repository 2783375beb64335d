"""What a replica's KV cache and engine did over its life (:class:`KvStats`), one per row of
the usage ledger (:class:`sim.records.UsageRow`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OCC_BINS = 100  # KV occupancy histogram: 1 % bins (p99 to that resolution)


def spread(hist: list, lo: float, hi: float, dt: float) -> None:
    """Add ``dt`` seconds to the 1 % occupancy histogram ``hist``, evenly over the
    occupancies ``lo`` to ``hi`` (fractions of the capacity; ``lo < hi``): a stretch whose
    KV memory grows linearly."""
    a, b = lo * OCC_BINS, hi * OCC_BINS
    ia, ib = int(a), int(b)
    if ia >= OCC_BINS:
        hist[OCC_BINS] += dt
        return
    if ia == ib:
        hist[ia] += dt
        return
    w = dt / (b - a)
    hist[ia] += (ia + 1 - a) * w
    top = ib if ib < OCC_BINS else OCC_BINS
    for i in range(ia + 1, top):
        hist[i] += w
    hist[top] += (b - top) * w


@dataclass(slots=True)
class KvStats:
    """What a replica's KV cache did (sim/engine/kv.py), summed over the replicas a ledger
    row stands for: prompt tokens admitted, the part found cached, the part loaded from the
    host tier, tokens evicted from the GPU, and preemptions. A row outlives its replicas (a
    long serverless run starts one per ~150 requests): :meth:`close` makes it small."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    loaded_tokens: int = 0
    evicted_tokens: int = 0
    preemptions: int = 0
    # preemptions under ``preemption: swap`` recomputed instead: the swap space (swap_gb)
    # was full, or the sequence was still in its prefill (nothing decoded to keep)
    swap_recomputes: int = 0
    # the engine's load (sim/engine): integrals over the busy time of the replicas
    occupancy_s: float = 0.0  # integral of KV memory held by sequences / capacity, dt
    # s per 1 % of occupancy: a list while replicas write it; once closed, the non-zero bins
    # as bytes (int16 bins, then float64 seconds: :meth:`hist_bins` reads them)
    occupancy_hist: list | bytes = field(default_factory=lambda: [0.0] * (OCC_BINS + 1))
    bytes_per_gpu: float = 0.0  # HBM bytes one GPU read (the perf model's count)
    peak_bandwidth: float = float("nan")  # bytes/s of one GPU
    served: int = 0  # requests finished, their prompt and output tokens
    served_in: int = 0
    served_out: int = 0
    # (perf model, max_num_seqs) of the replicas, set by the pool that owns the row: output
    # tok/s of one replica flat out on a mix (:meth:`saturated_tok_s`)
    saturation: tuple | None = None
    # caches holding anonymous tokens implicitly (KvCache.hold), by id: their evictions are
    # counted when they sync, at the latest when the run ends (settle); None when there are none
    pending: dict | None = field(default=None, repr=False, compare=False)

    def settle(self) -> None:
        for kv in list((self.pending or {}).values()):
            kv.sync()

    def close(self) -> None:
        """No replica writes this row any more: count what its caches held implicitly and
        keep the occupancy histogram's non-zero bins only (the same seconds)."""
        self.settle()
        hist = self.occupancy_hist
        if isinstance(hist, list):
            # one bytes object, not two arrays in a tuple: about 100 bytes a closed row, not
            # 360 (a 24-hour platform run closes some 12,800 rows)
            bins = np.flatnonzero(hist).astype(np.int16)
            self.occupancy_hist = bins.tobytes() + np.array(hist)[bins].tobytes()

    def hist_bins(self) -> tuple[np.ndarray, np.ndarray]:
        """A closed histogram's non-zero bins and their seconds."""
        hist = self.occupancy_hist
        n = len(hist) // 10  # 2 + 8 bytes a bin
        return (np.frombuffer(hist, np.int16, n),
                np.frombuffer(hist, np.float64, n, offset=2 * n))

    def add_hist(self, into: np.ndarray) -> None:
        """Add the occupancy histogram's seconds into ``into`` (``OCC_BINS + 1`` bins)."""
        hist = self.occupancy_hist
        if isinstance(hist, list):
            into += hist
        else:
            bins, seconds = self.hist_bins()
            into[bins] += seconds

    def saturated_tok_s(self, mean_in: float, mean_out: float) -> float:
        perf, max_seqs = self.saturation
        return perf.saturated_tok_s(mean_in, mean_out, max_seqs=max_seqs)
