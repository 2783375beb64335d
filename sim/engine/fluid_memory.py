"""The fluid engine's paged KV memory: counting decode tokens, preempting the newest
sequence when the next iteration has no room, and resuming a swapped-in sequence
(:class:`sim.engine.fluid.FluidReplica` mixes it in; its state is that class's)."""

from __future__ import annotations

import heapq


class FluidMemory:
    """Mixed into :class:`sim.engine.fluid.FluidReplica` (before :class:`ReplicaBase`)."""

    def _sync(self, r) -> None:
        """Paged: count the decode tokens ``r`` claimed since it was last counted."""
        if self.paged:
            r.kv_priv += self._it - r.kv_sync
            r.kv_sync = self._it

    def _decode(self, r, it: int, emitted: int) -> int:
        """``r`` decodes from boundary ``it`` with ``emitted`` tokens out; returns its context."""
        self._seq += 1
        r.hseq = self._seq
        r.tag = it + r.n_out - emitted
        r.gen = it - emitted + 1  # the (virtual) iteration of its first token
        r.kv_sync = it
        heapq.heappush(self._heap, (r.tag, self._seq, r))
        self._n_dec += 1
        ctx = r.pin + emitted - r.done_out - 1
        self._dec_ctx += ctx
        return ctx

    def _make_room(self) -> bool:
        """Paged: room for one more iteration of the decoding sequences, preempting the
        newest while short. True if anyone was preempted."""
        preempted = False
        it, now = self._it, self._t
        while self._n_dec and self.kv.room() < self._n_dec:
            r = self.newest()
            if r.hseq >= 0:  # decoding
                emitted = it - r.gen + 1
                ctx = r.pin + emitted - r.done_out - 1
                r.hseq = -1
                self._n_dec -= 1
                self._kv -= ctx
                self._dec_ctx -= ctx
                self._sync(r)
                self._preempt(r, now, ctx, emitted, True)
            else:
                self._pf.remove(r)
                self._pf_total -= r.pf_left
                self._kv -= r.pin - r.pf_left
                self._preempt(r, now, r.pin - r.pf_left, 0, False)
            preempted = True
        return preempted
