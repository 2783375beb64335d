"""Config schemas: dataclasses registered in Hydra's ConfigStore.

Hydra merges ``conf/config.yaml`` (and the experiment chosen on the command line) into
:class:`Config`, so a wrong key, a wrong type or an unknown option fails at compose time
with the key's name. Options with a closed set of values are Enums. Checks that need
more than one key (a model that does not fit its GPU, a rate that must be positive for one
arrival kind only) happen in :mod:`sim.simulation.build`, which is the only module that reads config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


# ---------------------------------------------------------------------------- catalog
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


# ------------------------------------------------------------------------ deployments
class PerfKind(Enum):
    roofline = "roofline"
    table = "table"


class Parallelism(Enum):
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


# --------------------------------------------------------------------------- workload
class ArrivalKind(Enum):
    poisson = "poisson"
    gamma = "gamma"
    onoff = "onoff"
    trace = "trace"
    closed = "closed"  # fixed-concurrency closed loop (calibration, offline benchmarks)


class RateCurve(Enum):
    none = "none"
    sinusoid = "sinusoid"
    file = "file"


class TraceFormat(Enum):
    azure = "azure"
    mooncake = "mooncake"


class DuplicatePolicy(Enum):
    default = "default"  # azure: error, mooncake: spread (its timestamps are 3 s slots)
    error = "error"
    keep = "keep"
    spread = "spread"


@dataclass
class TraceConfig:
    path: Optional[str] = None
    format: TraceFormat = TraceFormat.azure
    time_scale: float = 1.0  # stretch (>1) or compress (<1) the trace's time axis
    rate_scale: float = 1.0  # thin (<1) or superpose shifted copies (>1), keeping its shape
    start_s: float = 0.0  # skip this much of the trace
    loop: bool = False  # repeat the trace to fill the horizon
    duplicates: DuplicatePolicy = DuplicatePolicy.default


@dataclass
class ArrivalConfig:
    kind: ArrivalKind = ArrivalKind.poisson
    rate_rps: float = 1.0  # long-run mean rate for every synthetic kind
    cv: float = 1.0  # gamma: coefficient of variation of inter-arrival times
    on_s: float = 60.0  # onoff: mean duration of an on period (exponential)
    off_s: float = 240.0  # onoff: mean duration of an off period (exponential)
    off_rate_fraction: float = 0.0  # onoff: rate when off, as a fraction of the on rate
    curve: RateCurve = RateCurve.none  # modulates poisson/gamma/onoff by a rate curve
    period_s: float = 86400.0  # sinusoid period
    peak_to_trough: float = 3.0  # sinusoid peak/trough ratio
    phase_s: float = 0.0  # sinusoid: time of the trough
    curve_path: Optional[str] = None  # file curve: CSV time_s,rate (relative shape)
    concurrency: int = 1  # closed: number of clients, each sends again when served
    think_s: float = 0.0  # closed: mean think time (exponential) before a client sends again
    trace: TraceConfig = field(default_factory=TraceConfig)


class LengthKind(Enum):
    fixed = "fixed"
    lognormal = "lognormal"
    geometric = "geometric"
    empirical = "empirical"  # from a PMF file (value,probability) or a trace's column
    trace = "trace"  # the lengths recorded with each replayed trace request


@dataclass
class LengthConfig:
    kind: LengthKind = LengthKind.fixed
    mean: float = 512.0
    cv: float = 1.0
    min: int = 1
    max: int = 32768
    path: Optional[str] = None  # empirical: a PMF CSV (value,probability) or a trace file
    column: Optional[str] = None  # empirical from a trace file: input_tokens | output_tokens


@dataclass
class TenantConfig:
    model: str = MISSING
    arrival: ArrivalConfig = field(default_factory=ArrivalConfig)
    input: LengthConfig = field(default_factory=lambda: LengthConfig(mean=1024))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(mean=256))
    slo_ttft_s: float = 2.0
    # requirements a shared multi-tenant pool cannot meet (sim/signals.py): the
    # recommendation then excludes setups that serve this tenant from the shared pool
    custom_weights: bool = False
    data_residency: bool = False
    # send requests of this pipeline (``pipelines.<p>``) instead of single calls; ``model``,
    # ``input`` and ``output`` are then the stages' (sim/pipeline.py)
    pipeline: Optional[str] = None


# -------------------------------------------------------------------------- pipelines
class StageKind(Enum):
    model = "model"  # a call to a catalog model (LLM: prefill and decode; embedding/reranker: prefill only)
    tool = "tool"  # no GPU: a latency drawn from `latency` (a SQL executor, a vector search)


class LatencyKind(Enum):
    fixed = "fixed"
    exponential = "exponential"
    lognormal = "lognormal"


@dataclass
class LatencyConfig:
    kind: LatencyKind = LatencyKind.fixed
    mean_s: float = 0.05
    cv: float = 1.0  # lognormal


@dataclass
class StageConfig:
    """One stage of a pipeline: ``fanout`` parallel calls once every stage in ``after`` has
    ended, run with ``probability`` (else skipped: its successors go on at once)."""

    kind: StageKind = StageKind.model
    model: Optional[str] = None  # kind=model: a catalog model
    after: List[str] = field(default_factory=list)
    fanout: int = 1
    probability: float = 1.0
    input: LengthConfig = field(default_factory=lambda: LengthConfig(mean=512))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(mean=256))
    latency: LatencyConfig = field(default_factory=LatencyConfig)  # kind=tool


@dataclass
class PipelineConfig:
    """A DAG of stages a tenant sends as one request (compound AI: RAG, agents)."""

    stages: Dict[str, StageConfig] = field(default_factory=dict)
    # coordinated pre-warm: at each pipeline request's arrival, every stage's model with no
    # replica warm or loading starts one at once (setups that scale to zero)
    prewarm: bool = False


# ----------------------------------------------------------------------------- setups
class EngineKind(Enum):
    fluid = "fluid"
    step = "step"


class RouterKind(Enum):
    central = "central"  # one queue per model, replicas pull when they have room
    jsq = "jsq"  # join the replica with the fewest outstanding requests
    round_robin = "round_robin"


class PriceMode(Enum):
    on_demand = "on_demand"
    reserved = "reserved"


@dataclass
class RemoteBurstConfig:
    """Burst replicas borrowed from another region once the local burst pool is full."""

    max_replicas: int = 0  # 0 = no borrowing
    rtt_s: float = 0.08  # network round trip added to TTFT and end-to-end of requests served there


@dataclass
class BurstConfig:
    """Elastic on-demand replicas added to a dedicated pool when its queue wait grows.

    See sim/platform/burst.py for the wait estimator and the scale-up/drain rules."""

    enabled: bool = False
    max_replicas: int = 2  # per model, local region
    wait_threshold_s: float = 1.0  # scale up when the estimated queue wait exceeds this
    rate_window_s: float = 30.0  # completions counted over this window for the service rate
    check_interval_s: float = 1.0  # how often the controller looks
    scale_up_interval_s: float = 5.0  # at most one new replica per interval while above threshold
    idle_window_s: float = 60.0  # wait at or below threshold this long before one replica drains
    drain_fill: float = 0.75  # ... and only if the rest stay below this fill of measured capacity
    price_multiplier: float = 1.25  # over the GPU's on-demand $/GPU-hour
    min_billed_s: float = 0.0  # each burst replica is billed at least this long
    storage_tier: str = "object_storage"  # where a fresh node loads the weights from
    need_node: bool = True  # a node is provisioned for each burst replica
    image_cached: bool = False  # a fresh node has no serving image cached
    remote: RemoteBurstConfig = field(default_factory=RemoteBurstConfig)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "price_multiplier": "assumption within CAL §5: one provider's per-second flex H100 price "
                            "($0.00116/s = $4.18/h) is 1.05-1.55x its on-demand $2.69-3.99/h",
        "idle_window_s": "default scale-down after 60 s idle (Modal, CAL §5)",
        "min_billed_s": "per-second billing (RunPod flex, Modal; CAL §5)",
        "storage_tier": "assumption: a freshly provisioned node streams weights from object storage",
        "wait_threshold_s": "assumption: a queue wait that alone spends a 1 s TTFT SLO",
        "rate_window_s": "assumption", "check_interval_s": "assumption",
        "scale_up_interval_s": "assumption", "drain_fill": "assumption",
        "remote.rtt_s": "assumption: an inter-continental round trip of about 80 ms",
    })


class FailureMode(Enum):
    none = "none"
    random = "random"  # exponential times between failures and repairs
    script = "script"  # the failures listed in `script`


@dataclass
class FailureEventConfig:
    model: str = ""  # "" = the first model (alphabetical)
    replica: int = 0  # index of the reserved replica of that model
    at_s: float = MISSING
    down_s: float = MISSING  # until the replica serves again (repair and reload included)


@dataclass
class FailureConfig:
    """Reserved replicas fail and recover; in-flight requests are retried or failed."""

    mode: FailureMode = FailureMode.none
    mtbf_gpu_hours: float = 50000.0  # per GPU; a replica of `tp` GPUs fails tp times as often
    mttr_s: float = 600.0  # mean repair time (exponential), before the reload
    reload_tier: str = "local_nvme"  # the repaired replica reloads its weights from here
    max_attempts: int = 3  # tries per request, the first included; then it fails
    sla: float = 0.999  # availability target reported against
    script: List[FailureEventConfig] = field(default_factory=list)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "mtbf_gpu_hours": "Llama 3 paper (Dubey et al. 2024, sec. 3.3.4): 419 unexpected "
                          "interruptions in 54 days on 16,384 H100s, about 50,700 GPU-hours each",
        "mttr_s": "assumption: detection, restart or node swap of one replica",
        "reload_tier": "assumption: the weights are still on the node's disk",
        "max_attempts": "assumption",
        "sla": "the brief's 99.9 % uptime SLA (CAL §8)",
    })


@dataclass
class DedicatedConfig:
    # model -> number of replicas (each replica uses `tp` GPUs); unlisted models get 1
    replicas: Dict[str, int] = field(default_factory=dict)
    router: RouterKind = RouterKind.central
    # iteration-time divisor of the dedicated runtime relative to the catalog perf model
    runtime_speedup: float = 1.0
    pricing: PriceMode = PriceMode.reserved
    max_queue: int = 100000  # per model; requests beyond it are rejected (queue_full)
    burst: BurstConfig = field(default_factory=BurstConfig)
    failures: FailureConfig = field(default_factory=FailureConfig)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "runtime_speedup": "1.0: the catalog's efficiency factors are fitted to published "
                           "figures of tuned runtimes (CAL §3: TensorRT-LLM, MLPerf, NIM), so the "
                           "perf model already is a tuned runtime; a generic stack is slower by "
                           "about 1.13x (CAL §3: the same engine on the same H100 FP8 gained "
                           "15,220 / 13,411 tok/s between two releases). The brief's 'up to 2x' "
                           "(CAL §8) is an upper bound that also counts quantisation, which "
                           "`precision` models",
    })


@dataclass
class StorageTierSpec:
    """Effective bandwidth into GPU memory when loading weights from this tier."""

    optimized_gbps: float = MISSING  # a streaming / parallel loader
    stock_gbps: float = MISSING  # plain safetensors loading
    source: str = ""


@dataclass
class ColdStartConfig:
    """Stages of bringing a replica up; see sim/platform/coldstart.py."""

    # provisioning a GPU node when none is free (0 = capacity is on hand)
    node_provision_s: float = 120.0
    container_start_s: float = 1.0  # image cached on the node
    image_pull_s: float = 20.0  # image not cached on the node
    engine_init_s: float = 25.0  # compile, CUDA graphs, warm-up after the weights are in
    engine_init_s_by_model: Dict[str, float] = field(default_factory=dict)  # model -> override
    snapshot_speedup: float = 10.0  # a GPU memory snapshot cuts engine init by this factor
    loader: str = "optimized"  # optimized | stock
    tiers: Dict[str, StorageTierSpec] = field(default_factory=lambda: {
        "gpu_snapshot": StorageTierSpec(52.0, 5.3, "host DRAM rates (CAL §4): a snapshot is restored from host memory"),
        "host_dram": StorageTierSpec(52.0, 5.3, "ServerlessLLM h100_2025 results (CAL §4): ~52 GB/s optimized, ~5.3 stock"),
        "local_nvme": StorageTierSpec(22.0, 3.4, "ServerlessLLM h100_2025 results (CAL §4): 20-24 GB/s optimized, 3.2-3.6 stock"),
        "block_storage": StorageTierSpec(2.1, 1.1, "Run:ai model streamer blog 2024-10 (CAL §4): io2 ~2.1, gp3 ~1.1 GB/s"),
        "object_storage": StorageTierSpec(6.0, 0.5, "Anyscale blog 2023-10 (CAL §4): S3 naive ~0.5, optimized 5-7 GB/s"),
    })
    # --- where weights are and how loads share bandwidth (used by the serverless pool)
    remote_tier: str = "object_storage"  # the tier of a load no node cache can serve
    # total bandwidth of the remote tier shared by all concurrent loads (processor sharing);
    # null: the remote tier's per-load figure (assumption: the published per-load rate is
    # what the platform's storage gives in total)
    remote_shared_gbps: Optional[float] = None
    preloaded_tier: str = "remote"  # weights on every node at t=0: remote | local_nvme | host_dram
    image_cached_at_start: bool = True  # nodes on hand at t=0 hold the serving image
    snapshots: bool = False  # a replica that ran on a node leaves a GPU snapshot in host memory
    sources: Dict[str, str] = field(default_factory=lambda: {
        "container_start_s": "cached-image container start about 1 s (Modal docs, CAL §4)",
        "engine_init_s": "vLLM init after weights 25-60 s for small models (vllm #20264, CAL §4); low end",
        "snapshot_speedup": "GPU memory snapshots cut cold boots up to 10x (Modal blog 2025-07, CAL §4)",
        "node_provision_s": "assumption: a cloud GPU VM boot; no published figure in CALIBRATION.md",
        "image_pull_s": "assumption: pulling a ~10 GB serving image at ~0.5 GB/s",
        "remote_tier": "object storage with an optimized loader, 5-7 GB/s (Anyscale 2023-10, CAL §4)",
        "remote_shared_gbps": "assumption: the remote tier's per-load figure is the platform total",
        "preloaded_tier": "assumption: a cold pool, nothing cached at t=0",
        "image_cached_at_start": "assumption: platforms pre-pull their serving image on nodes they own",
    })


# ------------------------------------------------------------------------- serverless
class KeepAliveKind(Enum):
    fixed = "fixed"
    hybrid = "hybrid"  # Shahrad et al., ATC'20 hybrid histogram policy


class EvictionKind(Enum):
    lru = "lru"
    none = "none"


class ServerlessBilling(Enum):
    per_token = "per_token"
    gpu_second = "gpu_second"


@dataclass
class NodePoolConfig:
    """GPU nodes of one class in the shared pool."""

    nodes: int = 2
    gpus_per_node: int = 8
    max_nodes: Optional[int] = None  # > nodes: more can be provisioned (node_provision_s each)
    dram_cache_gb: float = 1000.0
    nvme_cache_gb: float = 15000.0
    sources: Dict[str, str] = field(default_factory=lambda: {
        "nodes": "assumption: a small pool of two 8-GPU nodes",
        "dram_cache_gb": "assumption: half of an 8-GPU H100 node's 2 TB host memory as page cache",
        "nvme_cache_gb": "assumption: half of an 8-GPU H100 node's 30 TB local NVMe as model cache",
    })


@dataclass
class AutoscalerConfig:
    target_concurrency: float = 32.0  # in-flight requests per replica
    stable_window_s: float = 60.0
    panic_window_s: float = 6.0
    panic_threshold: float = 2.0
    tick_s: float = 2.0
    max_replicas: int = 8  # per model
    min_replicas: Dict[str, int] = field(default_factory=dict)  # model -> warm floor (0 = scale to zero)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "target_concurrency": "assumption: a batch of 32 keeps TTFT low (the brief's batch-32 figure, CAL §8)",
        "windows": "assumption: the documented defaults of Knative's pod autoscaler (60 s stable, 6 s panic, 200 %, 2 s tick)",
        "max_replicas": "assumption",
    })


@dataclass
class HybridKeepAliveConfig:
    bin_s: float = 60.0
    range_s: float = 14400.0
    head_pct: float = 5.0
    tail_pct: float = 99.0
    margin: float = 0.10
    cv_threshold: float = 2.0
    min_samples: int = 10
    max_oob_fraction: float = 0.5
    source: str = ("Shahrad et al., Serverless in the Wild, USENIX ATC 2020: 1-minute bins, "
                   "4-hour range, 5th/99th percentiles, 10 % margins, CV threshold 2; "
                   "min_samples and max_oob_fraction are assumptions")


@dataclass
class KeepAliveConfig:
    kind: KeepAliveKind = KeepAliveKind.fixed
    idle_s: float = 60.0  # the fixed idle timeout, and the hybrid policy's fallback
    hybrid: HybridKeepAliveConfig = field(default_factory=HybridKeepAliveConfig)
    source: str = "idle_s: default scale-down after 60 s idle (Modal, CAL §5); RunPod uses 5 s"


@dataclass
class RateLimitConfig:
    rpm: Optional[float] = None  # requests per minute
    tpm: Optional[float] = None  # prompt + output tokens per minute
    concurrency: Optional[int] = None  # requests in flight


@dataclass
class InterferenceConfig:
    # slowdown per other warm replica on the same node (0 = off); CAL §6 reports +19.5 %
    # TPOT for two replicas sharing one GPU (weak evidence)
    per_neighbour: float = 0.0


@dataclass
class ServerlessJobsConfig:
    """Knobs of the serverless experiment jobs (keepalive, noisy_neighbour)."""

    fixed_idle_s: List[float] = field(default_factory=lambda: [5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0])
    background_levels: List[float] = field(default_factory=lambda: [0.0, 0.5, 1.0])


@dataclass
class ServerlessConfig:
    pool: Dict[str, NodePoolConfig] = field(default_factory=lambda: {"H100": NodePoolConfig()})
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    keepalive: KeepAliveConfig = field(default_factory=KeepAliveConfig)
    eviction: EvictionKind = EvictionKind.lru
    max_wait_s: float = 300.0  # a request waiting longer for a replica is rejected
    max_queue: int = 100000  # per model
    runtime_speedup: float = 1.0  # a generic engine (the dedicated tier may run a tuned one)
    billing: ServerlessBilling = ServerlessBilling.per_token
    min_increment_s: float = 1.0  # gpu_second billing: shortest billed replica life
    rate_limits: Dict[str, RateLimitConfig] = field(default_factory=dict)  # tenant -> limits
    default_rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    interference: InterferenceConfig = field(default_factory=InterferenceConfig)
    jobs: ServerlessJobsConfig = field(default_factory=ServerlessJobsConfig)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "max_wait_s": "assumption: a 5-minute client/gateway timeout",
        "billing": "per-token prices from the catalog (CAL §5); gpu_second uses the GPU's serverless $/s (CAL §5)",
        "min_increment_s": "per-second billing (RunPod, Modal: CAL §5)",
    })


@dataclass
class SyntheticBackgroundConfig:
    """A synthetic population: tenant rates follow Zipf over tenants, each tenant calls one
    model drawn with Zipf popularity over ``models``, arrivals are Gamma renewals."""

    tenants: int = 0
    models: List[str] = field(default_factory=list)  # empty: the user's models
    model_zipf_s: float = 1.0
    tenant_zipf_s: float = 1.0
    rate_rps: float = 1.0  # total over all synthetic tenants
    cv: float = 3.0  # inter-arrival coefficient of variation (bursty)
    input: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=1024, max=16000))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=256, max=4096))
    source: str = "assumption: Zipf popularity (s=1) and bursty Gamma arrivals (CV 3)"


@dataclass
class ServeGenBackgroundConfig:
    """ServeGen client windows replayed: each client a tenant, each 600 s window a Gamma or
    Weibull renewal process with the fitted shape, scaled to the window's rate."""

    path: Optional[str] = None  # e.g. ../shared/traces/servegen/m-large_client_windows.csv.gz
    clients: int = 0  # the busiest N clients over the replayed span
    client_ids: List[int] = field(default_factory=list)  # or exactly these
    start_s: float = 0.0  # offset into the 14 days
    rate_scale: float = 1.0
    models: List[str] = field(default_factory=list)  # clients cycle over these; empty: the user's
    input: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=1024, max=16000))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=256, max=4096))


@dataclass
class BackgroundConfig:
    """Background tenants: the rest of a shared platform. Only setups with a shared pool
    serve them; the user's requests are the same with or without them."""

    scale: float = 1.0  # keep this fraction of background requests (nested thinning)
    slo_ttft_s: float = 2.0
    synthetic: SyntheticBackgroundConfig = field(default_factory=SyntheticBackgroundConfig)
    servegen: ServeGenBackgroundConfig = field(default_factory=ServeGenBackgroundConfig)


@dataclass
class OutputConfig:
    parquet: bool = True
    report: bool = True
    plots: bool = True
    progress: bool = True  # a bar over simulated time, on a terminal, for runs over ~2 s
    # multirun: a job whose folder holds a done.json for the same config is not re-run
    resume: bool = True


@dataclass
class ObjectiveConfig:
    """The number a job returns to an optimising sweeper (``experiment=optimize``): the cost of
    one setup, plus a penalty when its SLO is missed or requests are left unserved."""

    setup: Optional[str] = None  # None: the first of `setups`
    tenant: str = "__all__"  # a summary row: a tenant or __all__
    cost: str = "cost_usd"  # the summary column minimised
    slo_metric: str = "ttft_p99_s"  # the summary column held under slo_max
    slo_max: Optional[float] = None  # None: no SLO, the objective is the cost alone
    # added (times 1 + the relative violation) when the SLO is missed; far above any cost
    penalty: float = 1.0e4


@dataclass
class CalibrationConfig:
    # rows of the calibration set to run ("all" or a list of ids)
    rows: List[str] = field(default_factory=lambda: ["all"])
    tolerance: float = 0.25
    closed_loop_requests_per_client: int = 6


# ----------------------------------------------------------------------------- hybrid
class HybridTier(Enum):
    dedicated = "dedicated"
    serverless = "serverless"


@dataclass
class SpilloverConfig:
    """When a dedicated-tier request goes to the serverless pool instead (sim/platform/hybrid.py)."""

    enabled: bool = True
    # spill when the dedicated pool's estimated queue wait exceeds this
    wait_threshold_s: float = 2.0
    # ... or when that pool's queue holds this many requests (None: no bound)
    max_queue: Optional[int] = None
    rate_window_s: float = 30.0  # completions counted over this window for the service rate
    # spill only when the pool would serve sooner: its model warm, loading for less than the
    # dedicated wait, or a whole cold start shorter than that wait
    cold_aware: bool = False
    sources: Dict[str, str] = field(default_factory=lambda: {
        "wait_threshold_s": "assumption: a queue wait that alone spends a 2 s TTFT SLO",
        "rate_window_s": "assumption, as dedicated.burst.rate_window_s",
    })


@dataclass
class HybridConfig:
    """``setups: [hybrid]``: critical models on dedicated replicas, the rest on the shared
    serverless pool, spillover from the first to the second (sim/platform/hybrid.py)."""

    # model or tenant name -> dedicated | serverless; a tenant entry wins over its model's
    placement: Dict[str, HybridTier] = field(default_factory=dict)
    default_tier: HybridTier = HybridTier.serverless  # models/tenants not in the table
    spillover: SpilloverConfig = field(default_factory=SpilloverConfig)
    # fraction of dedicated-tier requests mirrored to serverless for comparison (never billed)
    shadow_fraction: float = 0.0


# ------------------------------------------------------------------ break-even, claims
@dataclass
class BreakevenSetupConfig:
    """One curve of the break-even sweep: a registered setup with a few keys changed."""

    label: str = MISSING
    setup: str = MISSING
    overrides: Dict[str, Any] = field(default_factory=dict)  # dotted key -> value


@dataclass
class BreakevenConfig:
    """``experiment=breakeven``: sustained load swept as fractions of the dedicated fleet's
    measured capacity; see sim/breakeven.py."""

    tenant: Optional[str] = None  # the tenant whose load is swept (None: the only one)
    load_fractions: List[float] = field(default_factory=lambda: [
        0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    reference: str = "dedicated"  # the label every other curve is compared against
    setups: List[BreakevenSetupConfig] = field(default_factory=lambda: [
        BreakevenSetupConfig("serverless", "serverless", {"serverless.billing": "per_token"}),
        BreakevenSetupConfig("serverless/gpu_second", "serverless",
                             {"serverless.billing": "gpu_second"}),
        BreakevenSetupConfig("dedicated", "dedicated", {}),
    ])
    # the saturated run that measures capacity: requests per closed-loop client
    capacity_requests_per_client: int = 8


@dataclass
class ClaimsConfig:
    """``experiment=claims``: the brief's claims (CALIBRATION.md section 8) checked by small
    simulations; see sim/claims.py."""

    quick: bool = False  # shorter horizons and fewer load points (tests, a first look)
    only: List[str] = field(default_factory=list)  # claim ids to run; empty: all
    # overrides applied to every scenario a check composes (its catalog and seed always
    # come from the claims run), e.g. ["dedicated.pricing=reserved"]
    overrides: List[str] = field(default_factory=list)


@dataclass
class SignalsConfig:
    """Per-tenant migration signals and recommendation (sim/signals.py; the brief's four)."""

    current: str = "serverless"  # the setup the tenant is on today
    tail_ratio: float = 3.0  # signal when p99 TTFT > tail_ratio x p50
    slow_ttft_s: float = 5.0  # requests slower than this to first token: cold-start events
    slo_target: float = 0.99  # share of requests within the TTFT SLO to count as meeting it


@dataclass
class CompoundConfig:
    """``experiment=compound``: cascading cold starts of a pipeline; see sim/pipeline_jobs.py."""

    pipeline: str = "rag"  # the pipeline the cold-chain scenarios send once, all models idle
    # the same stages on three LLMs of ~15 s cold start each (the brief's 45 s chain)
    chain_models: List[str] = field(default_factory=list)
    bursty_setups: List[str] = field(default_factory=lambda: ["serverless", "dedicated", "hybrid"])
    # the mixed placement: model -> dedicated | serverless (hybrid.placement)
    mixed_placement: Dict[str, str] = field(default_factory=dict)


@dataclass
class Config:
    name: str = "default"  # names the results folder: results/<name>/<timestamp>
    seed: int = 0
    job: str = "simulate"
    horizon_s: float = 600.0
    drain_s: float = 1800.0
    engine: EngineKind = EngineKind.fluid
    setups: List[str] = field(default_factory=lambda: ["dedicated"])
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    deployments: Dict[str, DeploymentConfig] = field(default_factory=dict)
    tenants: Dict[str, TenantConfig] = field(default_factory=dict)
    dedicated: DedicatedConfig = field(default_factory=DedicatedConfig)
    cold_start: ColdStartConfig = field(default_factory=ColdStartConfig)
    serverless: ServerlessConfig = field(default_factory=ServerlessConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    # seeds seed, seed+1, ... per run: summary.csv holds means and Student-t 95 % half-widths
    replications: int = 1
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    breakeven: BreakevenConfig = field(default_factory=BreakevenConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    # free-form notes an experiment carries into its report (question, expectation)
    notes: Dict[str, Any] = field(default_factory=dict)
    pipelines: Dict[str, PipelineConfig] = field(default_factory=dict)  # sim/pipeline.py
    compound: CompoundConfig = field(default_factory=CompoundConfig)


# Dict-valued keys the user may extend without Hydra's "+" (their values stay typed and strict:
# a typo inside a tenant still fails). Hydra makes the whole tree "struct" after composing;
# an explicit flag on these nodes overrides that.
OPEN_DICTS = ("tenants", "deployments", "notes", "dedicated.replicas", "catalog.gpus",
              "catalog.models", "cold_start.tiers", "serverless.pool",
              "serverless.rate_limits", "serverless.autoscaler.min_replicas",
              "cold_start.engine_init_s_by_model", "hybrid.placement", "pipelines")


def schema():
    from omegaconf import OmegaConf

    node = OmegaConf.structured(Config)
    for key in OPEN_DICTS:
        sub = OmegaConf.select(node, key)
        if sub is not None:
            OmegaConf.set_struct(sub, False)
    return node


def variant(cfg, **dotted):
    """A copy of ``cfg`` with dotted keys set (validated by the schema)."""
    import copy

    from omegaconf import OmegaConf, open_dict

    out = copy.deepcopy(cfg)
    with open_dict(out):
        for k, v in dotted.items():
            OmegaConf.update(out, k, v, merge=False)
    return out


def register() -> None:
    from omegaconf import OmegaConf

    from sim.paths import default_traces_dir

    # ${traces:} in a config: the shared traces folder ($SERVESIM_TRACES or ../shared/traces)
    if not OmegaConf.has_resolver("traces"):
        OmegaConf.register_new_resolver("traces", default_traces_dir)
    cs = ConfigStore.instance()
    cs.store(name="servesim_schema", node=schema())


register()
