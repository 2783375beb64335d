"""The shared pool: ``serverless`` (nodes, autoscaler, keep-alive, eviction, billing) and
``cold_start`` (stages and storage tiers of bringing a replica up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Dict, Optional

from omegaconf import MISSING

from sim.config.dedicated import CacheRouterConfig
from sim.config.rules import INT64, count, interval, nonneg, positive, probability, rule


@dataclass
class StorageTierSpec:
    """Effective bandwidth into GPU memory when loading weights from this tier."""

    optimized_gbps: float = positive(MISSING)  # a streaming / parallel loader
    stock_gbps: float = positive(MISSING)  # plain safetensors loading
    source: str = ""


class Loader(StrEnum):
    optimized = "optimized"  # a streaming / parallel loader
    stock = "stock"  # plain safetensors loading


class PreloadTier(StrEnum):
    remote = "remote"  # nothing on the nodes at t=0
    local_nvme = "local_nvme"
    host_dram = "host_dram"


@dataclass
class ColdStartConfig:
    """Stages of bringing a replica up; see sim/platform/coldstart.py."""

    # provisioning a GPU node when none is free (0 = capacity is on hand)
    node_provision_s: float = nonneg(120.0)
    container_start_s: float = nonneg(1.0)  # image cached on the node
    image_pull_s: float = nonneg(20.0)  # image not cached on the node
    engine_init_s: float = nonneg(25.0)  # compile, CUDA graphs, warm-up after the weights are in
    engine_init_s_by_model: Dict[str, float] = nonneg(factory=dict)  # model -> override
    snapshot_speedup: float = rule(10.0, ge=1)  # a GPU memory snapshot cuts engine init by this factor
    loader: Loader = Loader.optimized
    tiers: Dict[str, StorageTierSpec] = field(default_factory=lambda: {
        "gpu_snapshot": StorageTierSpec(52.0, 5.3, "host DRAM rates (CAL §4): a snapshot is restored from host memory"),
        "host_dram": StorageTierSpec(52.0, 5.3, "ServerlessLLM h100_2025 results (CAL §4): ~52 GB/s optimized, ~5.3 stock"),
        "local_nvme": StorageTierSpec(22.0, 3.4, "ServerlessLLM h100_2025 results (CAL §4): 20-24 GB/s optimized, 3.2-3.6 stock"),
        "block_storage": StorageTierSpec(2.1, 1.1, "Run:ai model streamer blog 2024-10 (CAL §4): io2 ~2.1, gp3 ~1.1 GB/s"),
        "object_storage": StorageTierSpec(6.0, 0.5, "Anyscale blog 2023-10 (CAL §4): S3 naive ~0.5, optimized 5-7 GB/s"),
    })
    # --- where weights are and how loads share bandwidth (used by the serverless pool)
    remote_tier: str = "object_storage"  # the tier of a load no node cache can serve
    # total throughput of the remote backend, shared max-min fairly by every concurrent load
    # (with each node's serverless.pool.<gpu>.storage_link_gbps and the tier's per-load rate)
    remote_backend_gbps: Optional[float] = positive(100.0, inf_ok=True, meaning="inf: the backend never binds")
    preloaded_tier: PreloadTier = PreloadTier.remote  # weights on every node at t=0: remote | local_nvme | host_dram
    image_cached_at_start: bool = True  # nodes on hand at t=0 hold the serving image
    snapshots: bool = False  # a replica that ran on a node leaves a GPU snapshot in host memory
    sources: Dict[str, str] = field(default_factory=lambda: {
        "container_start_s": "cached-image container start about 1 s (Modal docs, CAL §4)",
        "engine_init_s": "vLLM init after weights 25-60 s for small models (vllm #20264, CAL §4); low end",
        "snapshot_speedup": "GPU memory snapshots cut cold boots up to 10x (Modal blog 2025-07, CAL §4)",
        "node_provision_s": "assumption: a cloud GPU VM boot; no published figure in CALIBRATION.md",
        "image_pull_s": "assumption: pulling a ~10 GB serving image at ~0.5 GB/s",
        "remote_tier": "object storage with an optimized loader, 5-7 GB/s (Anyscale 2023-10, CAL §4)",
        "remote_backend_gbps": ("assumption: S3 scales with request prefixes (3,500 PUT / 5,500 GET "
                                "per second per prefix, S3 performance guidelines) and states no "
                                "bucket bandwidth; 100 GB/s is a finite ceiling of the order of a "
                                "large FSx for Lustre file system (~94 GiB/s into one P5en, AWS "
                                "GPUDirect Storage blog)"),
        "preloaded_tier": "assumption: a cold pool, nothing cached at t=0",
        "image_cached_at_start": "assumption: platforms pre-pull their serving image on nodes they own",
    })


class KeepAliveKind(StrEnum):
    fixed = "fixed"
    hybrid = "hybrid"  # Shahrad et al., ATC'20 hybrid histogram policy


class EvictionKind(StrEnum):
    lru = "lru"
    none = "none"


class ServerlessBilling(StrEnum):
    per_token = "per_token"
    gpu_second = "gpu_second"


@dataclass
class NodePoolConfig:
    """GPU nodes of one class in the shared pool."""

    nodes: int = count(2, lo=0)
    gpus_per_node: int = count(8, hi=64)
    max_nodes: Optional[int] = count(None, lo=0)  # > nodes: more can be provisioned (node_provision_s each)
    dram_cache_gb: float = nonneg(1000.0)
    nvme_cache_gb: float = nonneg(15000.0)
    # the node's link to remote storage, shared by the loads on that node
    storage_link_gbps: Optional[float] = positive(8.0, inf_ok=True, meaning="inf: the node link never binds")
    sources: Dict[str, str] = field(default_factory=lambda: {
        "nodes": "assumption: a small pool of two 8-GPU nodes",
        "dram_cache_gb": "assumption: half of an 8-GPU H100 node's 2 TB host memory as page cache",
        "nvme_cache_gb": "assumption: half of an 8-GPU H100 node's 30 TB local NVMe as model cache",
        "storage_link_gbps": ("8 GB/s: the highest S3 download throughput measured from one EC2 "
                              "instance, c5n.18xlarge 8,003 MB/s, p3dn.24xlarge (8 V100, 100 Gbps) "
                              "6,269 MB/s (dvassallo/s3-benchmark, 2019); a p5.48xlarge's 3,200 "
                              "Gbps is EFA between GPUs, and its S3 rate is not published: "
                              "assumption that it is of the same order"),
    })


@dataclass
class AutoscalerConfig:
    # in-flight requests per replica; at least Knative's own floor for a target (TargetMin =
    # 0.01, knative/serving pkg/apis/autoscaling/register.go): below it the desired replica
    # count (average concurrency / target) overflowed to inf, an OverflowError
    target_concurrency: float = rule(32.0, ge=0.01)
    stable_window_s: float = interval(60.0)
    panic_window_s: float = interval(6.0)
    panic_threshold: float = rule(2.0, ge=1)
    tick_s: float = interval(2.0)
    max_replicas: int = count(8, hi=INT64)  # per model
    min_replicas: Dict[str, int] = count(factory=dict, lo=0)  # model -> warm floor (0 = scale to zero)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "target_concurrency": "assumption: a batch of 32 keeps TTFT low (the brief's batch-32 figure, CAL §8)",
        "windows": "assumption: the documented defaults of Knative's pod autoscaler (60 s stable, 6 s panic, 200 %, 2 s tick)",
        "max_replicas": "assumption",
    })


@dataclass
class HybridKeepAliveConfig:
    bin_s: float = interval(60.0)
    range_s: float = positive(14400.0)
    head_pct: float = rule(5.0, ge=0, le=100)
    tail_pct: float = rule(99.0, ge=0, le=100)
    margin: float = rule(0.10, ge=0, lt=1)
    cv_threshold: float = nonneg(2.0)
    min_samples: int = count(10)
    max_oob_fraction: float = probability(0.5)
    source: str = ("Shahrad et al., Serverless in the Wild, USENIX ATC 2020: 1-minute bins, "
                   "4-hour range, 5th/99th percentiles, 10 % margins, CV threshold 2; "
                   "min_samples and max_oob_fraction are assumptions")


@dataclass
class KeepAliveConfig:
    kind: KeepAliveKind = KeepAliveKind.fixed
    idle_s: float = nonneg(60.0, inf_ok=True, meaning="inf: replicas never stop for idleness")  # the fixed idle timeout, and the hybrid policy's fallback
    hybrid: HybridKeepAliveConfig = field(default_factory=HybridKeepAliveConfig)
    source: str = "idle_s: default scale-down after 60 s idle (Modal, CAL §5); RunPod uses 5 s"


@dataclass
class RateLimitConfig:
    rpm: Optional[float] = positive(None, inf_ok=True, meaning="inf: no limit")  # requests per minute
    tpm: Optional[float] = positive(None, inf_ok=True, meaning="inf: no limit")  # prompt + output tokens per minute
    concurrency: Optional[int] = count(None)  # requests in flight


@dataclass
class InterferenceConfig:
    # slowdown per other warm replica on the same node (0 = off); CAL §6 reports +19.5 %
    # TPOT for two replicas sharing one GPU (weak evidence)
    per_neighbour: float = rule(0.0, ge=0, le=10)


class PoolStart(StrEnum):
    cold = "cold"  # the pool starts empty: the first request of each model waits a cold start
    warm = "warm"  # each model starts with the replicas its first stable window needs (sizing.py)


class ServerlessRouter(StrEnum):
    central = "central"  # one queue per model: the replica that can take the head first
    cache_aware = "cache_aware"  # among those with room, the longest cached prefix


@dataclass
class ServerlessConfig:
    pool: Dict[str, NodePoolConfig] = field(default_factory=lambda: {"H100": NodePoolConfig()})
    start: PoolStart = PoolStart.cold  # warm: replicas loaded at t=0 for the first stable window
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    keepalive: KeepAliveConfig = field(default_factory=KeepAliveConfig)
    eviction: EvictionKind = EvictionKind.lru
    max_wait_s: float = positive(300.0, inf_ok=True, meaning='inf: requests wait as long as it takes')  # a request waiting longer for a replica is rejected
    max_queue: int = count(100000, hi=INT64)  # per model
    router: ServerlessRouter = ServerlessRouter.central
    cache_router: CacheRouterConfig = field(default_factory=CacheRouterConfig)
    runtime_speedup: float = rule(1.0, gt=0, le=100)  # a generic engine (the dedicated tier may run a tuned one)
    billing: ServerlessBilling = ServerlessBilling.per_token
    min_increment_s: float = nonneg(1.0)  # gpu_second billing: shortest billed replica life
    rate_limits: Dict[str, RateLimitConfig] = field(default_factory=dict)  # tenant -> limits
    default_rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    interference: InterferenceConfig = field(default_factory=InterferenceConfig)
    # per-token billing of batch-tier tenants' requests (tenants.<t>.priority: batch): the
    # catalog's per-token prices times this factor
    batch_price_factor: float = rule(0.5, ge=0, le=1)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "batch_price_factor": ("Together Batch API: 50 % off the serverless per-token price, "
                               "24 h best-effort completion window (docs.together.ai, "
                               "batch-inference and inference/batch/overview; the catalog's "
                               "per-token prices are Together's); OpenAI's Batch API and "
                               "Anthropic's Message Batches also bill 50 %"),
        "max_wait_s": "assumption: a 5-minute client/gateway timeout",
        "billing": "per-token prices from the catalog (CAL §5); gpu_second uses the GPU's serverless $/s (CAL §5)",
        "min_increment_s": "per-second billing (RunPod, Modal: CAL §5)",
    })
