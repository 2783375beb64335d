"""Config schemas: dataclasses registered in Hydra's ConfigStore.

Hydra merges ``conf/config.yaml`` (and the experiment chosen on the command line) into
:class:`Config`, so a wrong key, a wrong type or an unknown option fails at compose time
with the key's name. Options with a closed set of values are Enums. Checks that need
more than one key (a model that does not fit its GPU, a rate that must be positive for one
arrival kind only) happen in :mod:`sim.build`, which is the only module that reads config.
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
    tp: int = 1
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
class DedicatedConfig:
    # model -> number of replicas (each replica uses `tp` GPUs); unlisted models get 1
    replicas: Dict[str, int] = field(default_factory=dict)
    router: RouterKind = RouterKind.central
    runtime_speedup: float = 1.0
    pricing: PriceMode = PriceMode.reserved
    max_queue: int = 100000  # per model; requests beyond it are rejected (queue_full)


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
    snapshot_speedup: float = 10.0  # a GPU memory snapshot cuts engine init by this factor
    loader: str = "optimized"  # optimized | stock
    tiers: Dict[str, StorageTierSpec] = field(default_factory=lambda: {
        "gpu_snapshot": StorageTierSpec(52.0, 5.3, "host DRAM rates (CAL §4): a snapshot is restored from host memory"),
        "host_dram": StorageTierSpec(52.0, 5.3, "ServerlessLLM h100_2025 results (CAL §4): ~52 GB/s optimized, ~5.3 stock"),
        "local_nvme": StorageTierSpec(22.0, 3.4, "ServerlessLLM h100_2025 results (CAL §4): 20-24 GB/s optimized, 3.2-3.6 stock"),
        "block_storage": StorageTierSpec(2.1, 1.1, "Run:ai model streamer blog 2024-10 (CAL §4): io2 ~2.1, gp3 ~1.1 GB/s"),
        "object_storage": StorageTierSpec(6.0, 0.5, "Anyscale blog 2023-10 (CAL §4): S3 naive ~0.5, optimized 5-7 GB/s"),
    })
    sources: Dict[str, str] = field(default_factory=lambda: {
        "container_start_s": "cached-image container start about 1 s (Modal docs, CAL §4)",
        "engine_init_s": "vLLM init after weights 25-60 s for small models (vllm #20264, CAL §4); low end",
        "snapshot_speedup": "GPU memory snapshots cut cold boots up to 10x (Modal blog 2025-07, CAL §4)",
        "node_provision_s": "assumption: a cloud GPU VM boot; no published figure in CALIBRATION.md",
        "image_pull_s": "assumption: pulling a ~10 GB serving image at ~0.5 GB/s",
    })


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
    offline_requests: int = 3000
    closed_loop_requests_per_client: int = 6


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
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    # seeds seed, seed+1, ... per run: summary.csv holds means and Student-t 95 % half-widths
    replications: int = 1
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    # free-form notes an experiment carries into its report (question, expectation)
    notes: Dict[str, Any] = field(default_factory=dict)


# Dict-valued keys the user may extend without Hydra's "+" (their values stay typed and strict:
# a typo inside a tenant still fails). Hydra makes the whole tree "struct" after composing;
# an explicit flag on these nodes overrides that.
OPEN_DICTS = ("tenants", "deployments", "notes", "dedicated.replicas", "catalog.gpus",
              "catalog.models", "cold_start.tiers")


def schema():
    from omegaconf import OmegaConf

    node = OmegaConf.structured(Config)
    for key in OPEN_DICTS:
        sub = OmegaConf.select(node, key)
        if sub is not None:
            OmegaConf.set_struct(sub, False)
    return node


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(name="servesim_schema", node=schema())


register()
