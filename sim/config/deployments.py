"""How a model is served: ``deployments.<model>`` (GPU, precision, parallelism, engine limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Optional

from sim.config.rules import INT64, count, fraction, nonneg


class Precision(StrEnum):
    """Weights (and compute) precision; each GPU class lists the peaks it has."""

    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"
    fp4 = "fp4"


class KvDtype(StrEnum):
    bf16 = "bf16"
    fp16 = "fp16"
    fp8 = "fp8"


class Admission(StrEnum):
    reserve = "reserve"  # prompt + every output token reserved when admitted; no preemption
    paged = "paged"  # admitted when the prompt fits; decode grows; preempt when memory runs out


class Preemption(StrEnum):
    recompute = "recompute"  # recompute it when admitted again; its KV stays cached meanwhile
    # (vLLM V1: freed blocks keep their hashes), so the recompute may hit what is left of it
    retract = "retract"  # the same, but its KV beyond the prefix it matched is freed (SGLang)
    swap = "swap"  # copy it to host memory and back over the host link


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
    kv_capacity_tokens: Optional[int] = count(None)


@dataclass
class DeploymentConfig:
    """How one model is served: GPU class, precision, tensor parallelism, engine limits."""

    gpu: str = "H100"
    precision: Precision = Precision.fp8
    kv_dtype: KvDtype = KvDtype.bf16
    tp: int = count(1, hi=64)  # GPUs per replica: tensor-parallel degree, or stages with parallelism: pipeline
    parallelism: Parallelism = Parallelism.tensor
    max_num_seqs: int = count(256, hi=INT64)
    max_batched_tokens: int = count(8192, hi=100_000_000)
    gpu_memory_utilization: float = fraction(0.9)
    activation_reserve_gb: float = nonneg(2.0)
    perf: PerfConfig = field(default_factory=PerfConfig)
    # KV cache (sim/engine/kv.py). Prefix caching is on by default in vLLM V1 (blog
    # "vLLM V1", 2025-01-27), SGLang (RadixAttention; --disable-radix-cache defaults to
    # False) and TensorRT-LLM (KvCacheConfig.enable_block_reuse=True)
    prefix_caching: bool = True
    # tokens per KV block: what a hit reuses is whole blocks. vLLM sets 16 on CUDA
    # (Platform.check_and_update_config); TensorRT-LLM 32, SGLang 1
    block_size: int = count(16, hi=1 << 20)
    # reserve: the calibration rows were fitted with it (TensorRT-LLM's default
    # GUARANTEED_NO_EVICT behaves so); paged: vLLM and SGLang
    admission: Admission = Admission.reserve
    preemption: Preemption = Preemption.recompute  # vLLM V1's default (docs: optimization)
    swap_gb: float = nonneg(4.295)  # host swap space per GPU: vLLM's swap_space default, 4 GiB
    # host-memory tier for evicted prefix blocks, per replica (0: none). LMCache's CPU
    # backend defaults to 5 GB (max_local_cpu_size) when enabled
    host_cache_gb: float = nonneg(0.0)
