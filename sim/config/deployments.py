"""How a model is served: ``deployments.<model>`` (GPU, precision, parallelism, engine limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Optional



class PerfKind(StrEnum):
    roofline = "roofline"
    table = "table"


class Parallelism(StrEnum):
    tensor = "tensor"  # every GPU holds a shard of every layer; all-reduce per layer
    pipeline = "pipeline"  # each GPU holds a range of layers (a stage); one hand-off per stage


@dataclass
class PerfConfig:
    kind: PerfKind = PerfKind.roofline
    # table: CSV with columns decode_seqs, prefill_tokens, step_time_s (a grid), interpolated
    table_path: Optional[str] = None
    # table: KV-cache capacity in tokens (the roofline derives it from memory)
    kv_capacity_tokens: Optional[int] = None


@dataclass
class DeploymentConfig:
    """How one model is served: GPU class, precision, tensor parallelism, engine limits."""

    gpu: str = "H100"
    precision: str = "fp8"
    kv_dtype: str = "bf16"
    tp: int = 1  # GPUs per replica: tensor-parallel degree, or stages with parallelism: pipeline
    parallelism: Parallelism = Parallelism.tensor
    max_num_seqs: int = 256
    max_batched_tokens: int = 8192
    gpu_memory_utilization: float = 0.9
    activation_reserve_gb: float = 2.0
    perf: PerfConfig = field(default_factory=PerfConfig)
