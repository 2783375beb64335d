"""What the fluid engine shows routers and pools between its planned state changes: the
load, the decoding sequences and the prompts in progress as of now, and the KV memory
brought up to now (:class:`sim.engine.fluid.FluidReplica` mixes it in; its state is that
class's)."""

from __future__ import annotations


class FluidViews:
    """Mixed into :class:`sim.engine.fluid.FluidReplica` (before :class:`ReplicaBase`)."""

    def load_now(self) -> tuple[float, int, float]:
        pf = self._pf_total - (self._p * self._ran() if self._p else 0)
        return (pf if pf > 0 else 0), self._n_dec, self._kv

    def decoding_left(self) -> list[tuple[int, int]]:
        it = self._it + self._ran()
        return [(tag - it, r.pin + r.n_out - r.done_out) for tag, seq, r in self._heap
                if seq == r.hseq]

    def prefilling(self):
        return self._pf

    def catch_up(self) -> None:
        """Paged, with sequences decoding: apply the iterations run by now (the KV memory
        they claimed, evicting cached prefixes as they go), then plan the rest again, so a
        router reads the memory of now (until December 2026 that of the stretch's start:
        least-expected-completion and cache-aware routing chose by stale room)."""
        if self.paged and self._n_dec and self._k and self.alive:
            j = self._ran()
            if 0 < j < self._k:
                cut = self._k < self._kf  # an admission waits for the next boundary
                self._advance(j)
                self._plan(True)
                if cut:
                    self._at_next_boundary()
