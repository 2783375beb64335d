"""GPU classes and models: the schema of ``catalog.gpus.<g>`` and ``catalog.models.<m>``."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Dict, Optional

from omegaconf import MISSING

from sim.config.rules import count, fraction, nonneg, positive, price


class ModelKind(StrEnum):
    llm = "llm"
    embedding = "embedding"  # prefill only
    reranker = "reranker"  # prefill only


@dataclass
class EfficiencySpec:
    """Achieved fraction of peak for one GPU class and precision (one set for all shapes)."""

    memory: float = fraction(0.55)
    compute: float = fraction(0.45)


@dataclass
class GpuSpec:
    name: str = MISSING
    memory_gb: float = positive(MISSING)
    bandwidth_tbps: float = positive(MISSING)
    # dense peak TFLOPS per precision (bf16, fp8, fp4 where the GPU has it)
    tflops: Dict[str, float] = positive(factory=dict)
    # per-GPU interconnect for tensor-parallel all-reduce, GB/s in one direction
    interconnect_gbps: float = nonneg(0.0)
    # links of a direct mesh (a group of tp GPUs uses min(tp - 1, links) of them); 0: a
    # switch or a shared bus, the full rate at any group size
    interconnect_links: int = count(0, lo=0)
    # GPUs of one interconnect domain (an NVLink/NVSwitch board, a full Infinity Fabric mesh,
    # one host's PCIe): the largest tensor-parallel group the all-reduce above describes; a
    # deployment's tp above it is refused. 8 for a class not in the shipped catalog is an
    # assumption (the 8-GPU HGX/DGX boards and MI300X platforms every shipped class has)
    domain_gpus: int = count(8)
    # one all-reduce over p GPUs: allreduce_latency_s + 2 (p - 1) allreduce_step_latency_s
    # + 2 (p - 1) / p x bytes / (interconnect rate x allreduce_efficiency)  (sim.perf)
    allreduce_latency_s: float = nonneg(1.0e-5)
    allreduce_step_latency_s: float = nonneg(0.0)
    allreduce_efficiency: float = fraction(1.0)
    # below 1: two protocols, as NCCL's: the one above (low latency, LL) moves data at this
    # fraction of the rate; a bulk one (Simple) pays allreduce_simple_latency_s + 2 (p - 1)
    # allreduce_simple_step_latency_s at the full rate; an all-reduce takes the faster
    allreduce_ll_fraction: float = fraction(1.0)
    allreduce_simple_latency_s: float = nonneg(0.0)
    allreduce_simple_step_latency_s: float = nonneg(0.0)
    # NVLink SHARP (NVLS, in-switch reduction), for groups of at least allreduce_nvls_min_gpus
    # (0: none): allreduce_nvls_latency_s + bytes / (rate x allreduce_nvls_efficiency x
    # p / (p + 1)); an all-reduce takes the fastest protocol the group has
    allreduce_nvls_min_gpus: int = count(0, lo=0)
    allreduce_nvls_latency_s: float = nonneg(0.0)
    allreduce_nvls_efficiency: float = fraction(1.0)
    # NVLS channels (NCCL's NVLS_NCHANNELS); > 0 adds the fill of each channel's pipeline of
    # size-dependent chunks (sim.perf.nvls_chunk_bytes); 0: none
    allreduce_nvls_channels: int = count(0, lo=0)
    # GPU <-> host memory, GB/s in one direction per GPU (KV swap, host-tier loads)
    host_link_gbps: float = nonneg(0.0)
    efficiency: Dict[str, EfficiencySpec] = field(default_factory=dict)
    step_overhead_s: float = nonneg(0.001)  # per iteration: scheduling, sampling
    layer_overhead_s: float = nonneg(5.0e-5)  # per layer per iteration: kernel launches and gaps
    seq_overhead_s: float = nonneg(1.0e-5)  # per sequence in the batch per iteration: sampling, bookkeeping
    on_demand_usd_per_hour: float = price(MISSING)
    reserved_usd_per_hour: float = price(MISSING)
    serverless_usd_per_s: Optional[float] = price(None)
    spot_usd_per_hour: Optional[float] = price(None)  # None: no spot offer known
    sources: Dict[str, str] = field(default_factory=dict)


@dataclass
class ModelSpec:
    name: str = MISSING
    kind: ModelKind = ModelKind.llm
    params_b: float = positive(MISSING)
    active_params_b: Optional[float] = positive(None)  # MoE: parameters used per token
    layers: int = count(MISSING)
    hidden: int = count(MISSING)
    attn_heads: int = count(MISSING)
    kv_heads: int = count(MISSING)
    head_dim: int = count(MISSING)
    experts: int = count(0, lo=0)
    experts_per_token: int = count(0, lo=0)
    expert_params_b: float = nonneg(0.0)  # parameters inside the expert FFNs (all experts)
    max_context: int = count(131072, lo=2)
    weights_gb: Dict[str, float] = positive(factory=dict)  # published sizes per precision
    price_in_usd_per_mtok: Optional[float] = price(None)
    price_out_usd_per_mtok: Optional[float] = price(None)
    # cached input tokens (a prefix-cache hit), per-token billing; None: the input price
    price_cached_in_usd_per_mtok: Optional[float] = price(None)
    sources: Dict[str, str] = field(default_factory=dict)


@dataclass
class CatalogConfig:
    gpus: Dict[str, GpuSpec] = field(default_factory=dict)
    models: Dict[str, ModelSpec] = field(default_factory=dict)
