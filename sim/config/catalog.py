"""GPU classes and models: the schema of ``catalog.gpus.<g>`` and ``catalog.models.<m>``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Optional

from omegaconf import MISSING


@dataclass
class EfficiencySpec:
    """Achieved fraction of peak for one GPU class and precision (one set for all shapes)."""

    memory: float = 0.55
    compute: float = 0.45


@dataclass
class GpuSpec:
    name: str = MISSING
    memory_gb: float = MISSING
    bandwidth_tbps: float = MISSING
    # dense peak TFLOPS per precision (bf16, fp8, fp4 where the GPU has it)
    tflops: Dict[str, float] = field(default_factory=dict)
    # per-GPU interconnect for tensor-parallel all-reduce, GB/s in one direction
    interconnect_gbps: float = 0.0
    allreduce_latency_s: float = 1.0e-5
    efficiency: Dict[str, EfficiencySpec] = field(default_factory=dict)
    step_overhead_s: float = 0.001  # per iteration: scheduling, sampling
    layer_overhead_s: float = 5.0e-5  # per layer per iteration: kernel launches and gaps
    seq_overhead_s: float = 1.0e-5  # per sequence in the batch per iteration: sampling, bookkeeping
    on_demand_usd_per_hour: float = MISSING
    reserved_usd_per_hour: float = MISSING
    serverless_usd_per_s: Optional[float] = None
    sources: Dict[str, str] = field(default_factory=dict)


@dataclass
class ModelSpec:
    name: str = MISSING
    kind: str = "llm"  # llm | embedding | reranker (the last two are prefill-only)
    params_b: float = MISSING
    active_params_b: Optional[float] = None  # MoE: parameters used per token
    layers: int = MISSING
    hidden: int = MISSING
    attn_heads: int = MISSING
    kv_heads: int = MISSING
    head_dim: int = MISSING
    experts: int = 0
    experts_per_token: int = 0
    expert_params_b: float = 0.0  # parameters inside the expert FFNs (all experts)
    max_context: int = 131072
    weights_gb: Dict[str, float] = field(default_factory=dict)  # published sizes per precision
    price_in_usd_per_mtok: Optional[float] = None
    price_out_usd_per_mtok: Optional[float] = None
    sources: Dict[str, str] = field(default_factory=dict)


@dataclass
class CatalogConfig:
    gpus: Dict[str, GpuSpec] = field(default_factory=dict)
    models: Dict[str, ModelSpec] = field(default_factory=dict)
