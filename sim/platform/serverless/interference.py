"""Optional co-location interference: a replica sharing a node with others runs slower.

Each replica of a model whose node hosts ``k`` other warm replicas steps at
``base.step_time(...) x (1 + per_neighbour x k)``. The factor is updated when a neighbour
starts or stops; the fluid engine plans again from its next iteration boundary. Off by default
(``per_neighbour = 0``): the published evidence is thin. CALIBRATION.md §6: two LLM
replicas sharing one GPU under MPS: TPOT +19.5 % (vendor case study, weak evidence);
general MPS interference +-30 % (arXiv 2604.22430). Replicas here hold whole GPUs, so the
node-level value should sit below the same-GPU one.
"""

from __future__ import annotations


class InterferedPerf:
    """Wraps a performance model; ``factor`` multiplies every step time."""

    def __init__(self, base):
        self.base = base
        self.kv_capacity_tokens = base.kv_capacity_tokens
        self.factor = 1.0

    def step_time(self, decode_seqs, prefill_tokens, kv_tokens, attn_pairs) -> float:
        return self.base.step_time(decode_seqs, prefill_tokens, kv_tokens, attn_pairs) * self.factor

    @property
    def peak_bandwidth(self) -> float:
        return self.base.peak_bandwidth

    def bytes_per_gpu(self, decode_seqs, prefill_tokens, kv_tokens) -> float:
        return self.base.bytes_per_gpu(decode_seqs, prefill_tokens, kv_tokens)

    def saturated_tok_s(self, mean_in, mean_out, max_seqs) -> float:
        """Without neighbours: the replica's own capacity."""
        return self.base.saturated_tok_s(mean_in, mean_out, max_seqs)
