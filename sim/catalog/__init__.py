"""GPU classes and models as immutable runtime objects, with the quantities derived from them.

The numbers live in ``conf/catalog/default.yaml`` (each with a source); this module turns a
composed catalog into :class:`Gpu` and :class:`Model` objects and derives weight bytes per
precision and KV-cache bytes per token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# Bytes per parameter when a model card gives no published size. FP4 (NVFP4) stores 4-bit
# values plus one 8-bit scale per 16 values: 4.5 bits.
BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp4": 0.5625}
KV_BYTES_PER_ELEMENT = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}


@dataclass(frozen=True)
class Efficiency:
    memory: float
    compute: float


@dataclass(frozen=True)
class Gpu:
    key: str
    name: str
    memory_gb: float
    bandwidth_tbps: float
    tflops: Mapping[str, float]
    interconnect_gbps: float
    allreduce_latency_s: float
    host_link_gbps: float
    efficiency: Mapping[str, Efficiency]
    step_overhead_s: float
    layer_overhead_s: float
    seq_overhead_s: float
    on_demand_usd_per_hour: float
    reserved_usd_per_hour: float
    serverless_usd_per_s: float | None
    spot_usd_per_hour: float | None = None  # None: no spot offer known
    sources: Mapping[str, str] = field(default_factory=dict)
    allreduce_step_latency_s: float = 0.0
    allreduce_efficiency: float = 1.0
    interconnect_links: int = 0  # 0: switched (or a shared bus); n: a direct mesh of n links
    domain_gpus: int = 8  # GPUs of one interconnect domain: the largest tensor-parallel group
    allreduce_ll_fraction: float = 1.0  # < 1: a bulk protocol besides (sim.perf.allreduce_time)
    allreduce_simple_latency_s: float = 0.0
    allreduce_simple_step_latency_s: float = 0.0
    allreduce_nvls_min_gpus: int = 0  # > 0: NVLink SHARP from this group size (sim.perf)
    allreduce_nvls_latency_s: float = 0.0
    allreduce_nvls_efficiency: float = 1.0
    allreduce_nvls_channels: int = 0  # > 0: NVLS pipeline fill over that many channels

    def peak_flops(self, precision: str) -> float:
        """Dense peak FLOP/s at ``precision`` (the build layer checks the GPU has it)."""
        return self.tflops[precision] * 1e12

    def efficiency_for(self, precision: str) -> Efficiency:
        return self.efficiency[precision]


@dataclass(frozen=True)
class Model:
    key: str
    name: str
    kind: str
    params_b: float
    active_params_b: float
    layers: int
    hidden: int
    attn_heads: int
    kv_heads: int
    head_dim: int
    experts: int
    experts_per_token: int
    expert_params_b: float
    max_context: int
    weights_gb: Mapping[str, float]
    price_in_usd_per_mtok: float | None
    price_out_usd_per_mtok: float | None
    price_cached_in_usd_per_mtok: float | None  # None: cached input tokens at the input price
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefill_only(self) -> bool:
        """Embedding models and rerankers produce no tokens: a request ends with its prefill."""
        return self.kind in ("embedding", "reranker")

    def weight_bytes(self, precision: str) -> float:
        if precision in self.weights_gb:
            return self.weights_gb[precision] * 1e9
        return self.params_b * 1e9 * BYTES_PER_PARAM[precision]

    def kv_bytes_per_token(self, kv_dtype: str = "bf16") -> float:
        """2 (K and V) x layers x KV heads x head dim x bytes per element."""
        return 2.0 * self.layers * self.kv_heads * self.head_dim * KV_BYTES_PER_ELEMENT[kv_dtype]


@dataclass(frozen=True)
class Catalog:
    gpus: Mapping[str, Gpu]
    models: Mapping[str, Model]


def catalog_from_config(cat) -> Catalog:
    """Build a :class:`Catalog` from the composed ``catalog`` config node."""
    gpus = {}
    for key, g in cat.gpus.items():
        gpus[key] = Gpu(
            key=key, name=g.name, memory_gb=float(g.memory_gb),
            bandwidth_tbps=float(g.bandwidth_tbps),
            tflops={k: float(v) for k, v in g.tflops.items()},
            interconnect_gbps=float(g.interconnect_gbps),
            allreduce_latency_s=float(g.allreduce_latency_s),
            allreduce_step_latency_s=float(g.allreduce_step_latency_s),
            allreduce_efficiency=float(g.allreduce_efficiency),
            interconnect_links=int(g.interconnect_links),
            domain_gpus=int(g.domain_gpus),
            allreduce_ll_fraction=float(g.allreduce_ll_fraction),
            allreduce_simple_latency_s=float(g.allreduce_simple_latency_s),
            allreduce_simple_step_latency_s=float(g.allreduce_simple_step_latency_s),
            allreduce_nvls_min_gpus=int(g.allreduce_nvls_min_gpus),
            allreduce_nvls_latency_s=float(g.allreduce_nvls_latency_s),
            allreduce_nvls_efficiency=float(g.allreduce_nvls_efficiency),
            allreduce_nvls_channels=int(g.allreduce_nvls_channels),
            host_link_gbps=float(g.host_link_gbps),
            efficiency={k: Efficiency(float(e.memory), float(e.compute))
                        for k, e in g.efficiency.items()},
            step_overhead_s=float(g.step_overhead_s),
            layer_overhead_s=float(g.layer_overhead_s),
            seq_overhead_s=float(g.seq_overhead_s),
            on_demand_usd_per_hour=float(g.on_demand_usd_per_hour),
            reserved_usd_per_hour=float(g.reserved_usd_per_hour),
            serverless_usd_per_s=None if g.serverless_usd_per_s is None else float(g.serverless_usd_per_s),
            spot_usd_per_hour=None if g.spot_usd_per_hour is None else float(g.spot_usd_per_hour),
            sources=dict(g.sources),
        )
    models = {}
    for key, m in cat.models.items():
        models[key] = Model(
            key=key, name=m.name, kind=str(m.kind), params_b=float(m.params_b),
            active_params_b=float(m.active_params_b if m.active_params_b is not None else m.params_b),
            layers=int(m.layers), hidden=int(m.hidden), attn_heads=int(m.attn_heads),
            kv_heads=int(m.kv_heads), head_dim=int(m.head_dim), experts=int(m.experts),
            experts_per_token=int(m.experts_per_token), expert_params_b=float(m.expert_params_b),
            max_context=int(m.max_context),
            weights_gb={k: float(v) for k, v in m.weights_gb.items()},
            price_in_usd_per_mtok=m.price_in_usd_per_mtok,
            price_out_usd_per_mtok=m.price_out_usd_per_mtok,
            price_cached_in_usd_per_mtok=m.price_cached_in_usd_per_mtok,
            sources=dict(m.sources),
        )
    return Catalog(gpus=gpus, models=models)
