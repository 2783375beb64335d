"""The dedicated setup: ``dedicated`` (reserved replicas, router, pricing, burst, failures,
spot replicas)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Dict, List, Optional

from omegaconf import MISSING

from sim.config.rules import (
    INT64,
    INT_LIMIT,
    MIN_INTERVAL_S,
    count,
    fraction,
    interval,
    nonneg,
    positive,
    probability,
    rule,
)


class RouterKind(StrEnum):
    central = "central"  # one queue per model, replicas pull when they have room
    jsq = "jsq"  # join the replica with the fewest outstanding requests
    round_robin = "round_robin"
    # the replica holding the longest cached prefix of the prompt, unless the pool is out of
    # balance (sgl-router's cache_aware policy; see CacheRouterConfig)
    cache_aware = "cache_aware"
    # least expected completion time: each replica's predicted prefill of what it holds and
    # queues plus this request's, then its decode at that replica's speed (heterogeneous
    # fleets, sim/platform/routers.py)
    lect = "lect"


@dataclass
class CacheRouterConfig:
    """Cache-aware routing (sim/platform/routers.py), after sgl-router's ``cache_aware``
    policy (router_args.py defaults): when the most and least loaded replicas differ by
    more than ``balance_abs`` outstanding requests and by a factor above ``balance_rel``,
    join the least loaded; else the replica whose cache holds the longest prefix of the
    prompt if it covers more than ``threshold`` of it, else the one caching the least."""

    threshold: float = probability(0.3)  # sgl-router cache_threshold
    balance_abs: int = count(64, lo=0)  # sgl-router balance_abs_threshold
    balance_rel: float = rule(1.5, ge=1)  # sgl-router balance_rel_threshold


class PriceMode(StrEnum):
    on_demand = "on_demand"
    reserved = "reserved"


@dataclass
class VariantConfig:
    """More replicas of a model on another GPU class, precision or TP (a heterogeneous
    fleet): the model's deployment (``deployments.<model>``) with these fields changed."""

    model: str = MISSING
    gpu: str = MISSING
    precision: Optional[str] = None  # None: the model's deployment's
    tp: Optional[int] = count(None, hi=64)  # None: the model's deployment's
    replicas: int = count(1, lo=0, hi=INT_LIMIT)  # reserved replicas (burst: the most at once)
    pricing: Optional[PriceMode] = None  # None: dedicated.pricing (burst: on-demand x multiplier)


@dataclass
class RemoteBurstConfig:
    """Burst replicas borrowed from another region once the local burst pool is full."""

    max_replicas: int = count(0, lo=0, hi=INT64)  # 0 = no borrowing
    rtt_s: float = nonneg(0.08)  # network round trip added to TTFT and end-to-end of requests served there


class Trigger(StrEnum):
    """What scales a dedicated pool up (burst) or sends its requests elsewhere (spillover)."""

    wait = "wait"  # the pool's estimated queue wait against a threshold in seconds
    slo = "slo"  # a request's predicted TTFT against its tenant's SLO (sim/platform/predict.py)


@dataclass
class BurstConfig:
    """Elastic on-demand replicas added to a dedicated pool when its queue wait grows.

    See sim/platform/burst.py for the wait estimator and the scale-up/drain rules."""

    enabled: bool = False
    max_replicas: int = count(2, lo=0, hi=INT64)  # per model, local region
    wait_threshold_s: float = positive(1.0, inf_ok=True, meaning="inf: never scale up")  # scale up when the estimated queue wait exceeds this
    # slo: scale up when a request of the pool's mean prompt joining now would miss
    # slo_fraction of the tightest SLO among the model's tenants (its predicted TTFT)
    trigger: Trigger = Trigger.wait
    slo_fraction: float = fraction(1.0)
    rate_window_s: float = interval(30.0)  # completions counted over this window for the service rate
    check_interval_s: float = interval(1.0)  # how often the controller looks
    scale_up_interval_s: float = nonneg(5.0)  # at most one new replica per interval while above threshold
    idle_window_s: float = nonneg(60.0)  # wait at or below threshold this long before one replica drains
    drain_fill: float = probability(0.75)  # ... and only if the rest stay below this fill of measured capacity
    price_multiplier: float = positive(1.25)  # over the GPU's on-demand $/GPU-hour
    min_billed_s: float = nonneg(0.0)  # each burst replica is billed at least this long
    storage_tier: str = "object_storage"  # where a fresh node loads the weights from
    # GPU variants burst replicas of a model may use besides the model's own deployment
    # (each up to its `replicas` at once); scale-up takes the cheapest per token first and
    # drain removes the dearest first (sim/platform/dedicated/burst.py)
    variants: List[VariantConfig] = field(default_factory=list)
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
        "trigger": "assumption: the queue-wait trigger stays the default (the studies were run with it)",
        "slo_fraction": "assumption: act when the prediction reaches the SLO itself",
        "scale_up_interval_s": "assumption", "drain_fill": "assumption",
        "remote.rtt_s": "assumption: an inter-continental round trip of about 80 ms",
    })


class FailureMode(StrEnum):
    none = "none"
    random = "random"  # exponential times between failures and repairs
    script = "script"  # the failures listed in `script`


@dataclass
class FailureEventConfig:
    model: str = ""  # "" = the run's first model on reserved replicas (alphabetical), in every setup
    replica: int = count(0, lo=0)  # index of the reserved replica of that model
    at_s: float = nonneg(MISSING)
    down_s: float = nonneg(MISSING)  # until the replica serves again (repair and reload included)


@dataclass
class FailureConfig:
    """Reserved replicas fail and recover; in-flight requests are retried or failed."""

    mode: FailureMode = FailureMode.none
    mtbf_gpu_hours: float = rule(50000.0, ge=MIN_INTERVAL_S / 3600.0, inf_ok=True, meaning="inf: never fails")  # per GPU; a replica of `tp` GPUs fails tp times as often
    mttr_s: float = nonneg(600.0)  # mean repair time (exponential), before the reload
    reload_tier: str = "local_nvme"  # the repaired replica reloads its weights from here
    max_attempts: int = count(3, hi=INT64)  # tries per request, the first included; then it fails
    sla: float = fraction(0.999)  # availability target reported against
    script: List[FailureEventConfig] = field(default_factory=list)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "mtbf_gpu_hours": "Llama 3 paper (Dubey et al. 2024, sec. 3.3.4): 419 unexpected "
                          "interruptions in 54 days on 16,384 H100s, about 50,700 GPU-hours each",
        "mttr_s": "assumption: detection, restart or node swap of one replica",
        "reload_tier": "assumption: the weights are still on the node's disk",
        "max_attempts": "assumption",
        "sla": "the brief's 99.9 % uptime SLA (CAL §8)",
    })


class PreemptionMode(StrEnum):
    rate = "rate"  # exponential times between preemptions, per_gpu_hour per GPU
    trace = "trace"  # the preemptions listed in a CSV file (time_s,model,replica)


@dataclass
class PreemptionConfig:
    """When spot replicas are reclaimed, and how much warning they get."""

    mode: PreemptionMode = PreemptionMode.rate
    # preemptions per GPU-hour of spot capacity up and serving; a replica of `tp` GPUs is
    # reclaimed tp times as often (0: never; at most one a second)
    per_gpu_hour: float = rule(2.7e-4, ge=0, le=3600.0)
    trace: str = ""  # mode trace: CSV with a header time_s,model,replica (replica: 0..spot.replicas.<model>-1)
    notice_s: float = nonneg(120.0)  # from the warning to the reclaim


@dataclass
class SpotConfig:
    """Spot replicas: ``replicas.<model>`` of that model's ``dedicated.replicas`` are spot
    instances, billed per GPU-second at the GPU's ``spot_usd_per_hour`` and reclaimed by
    the cloud (see sim/platform/dedicated/spot.py)."""

    replicas: Dict[str, int] = count(factory=dict, lo=0, hi=INT_LIMIT)  # model -> spot replicas among its replicas
    preemption: PreemptionConfig = field(default_factory=PreemptionConfig)
    replacement: bool = True  # request a new spot replica at each reclaim (it loads cold)
    replace_at_notice: bool = False  # ... at the notice instead: it loads while the old one drains
    storage_tier: str = "object_storage"  # where a replacement loads its weights from
    need_node: bool = True  # a replacement waits for a node to be provisioned
    image_cached: bool = False  # ... which has no serving image cached
    sources: Dict[str, str] = field(default_factory=lambda: {
        "preemption.per_gpu_hour": "AWS Spot Instance Advisor's highest interruption bucket "
                                   "('>20 %' of instances reclaimed over the trailing month; the "
                                   "bucket GPU instance types usually sit in), at its floor for a "
                                   "one-GPU instance: 0.2 / 730 h = 2.7e-4 per GPU-hour; "
                                   "assumption: a GPU of a larger instance is reclaimed as often",
        "preemption.notice_s": "AWS EC2: a Spot Instance interruption notice comes two minutes "
                               "before the reclaim (EC2 user guide, 'Spot Instance interruption "
                               "notices'); GCP Spot VMs get 30 s (compute API, "
                               "scheduling.skipGuestOsShutdown)",
        "replacement": "SkyServe/SpotHedge (Mao et al., EuroSys 2025) and SkyPilot request a new "
                       "spot replica when one is preempted",
        "replace_at_notice": "assumption: off, the replacement is requested when the instance is "
                             "gone; on, as soon as the warning arrives",
        "storage_tier": "assumption: a fresh node streams the weights from object storage "
                        "(as dedicated.burst)",
    })


@dataclass
class BatchFillConfig:
    """How a reserved replica takes batch-tier requests (``tenants.<t>.priority: batch``):
    from its pool's batch queue, only when the interactive queue is empty, fewer than
    ``running_fraction`` x ``max_num_seqs`` sequences run, and after admitting it the KV
    held stays within ``kv_fraction`` of the cache (sim/engine/request.py, BatchQueue)."""

    running_fraction: float = fraction(0.25)
    kv_fraction: float = fraction(0.5)
    sources: Dict[str, str] = field(default_factory=lambda: {
        "running_fraction": ("assumption, chosen by measurement: with a quarter of the slots "
                             "(64 of vLLM's default 256) a 40 % batch fill beside 40 % "
                             "interactive load on two 8B replicas moved the interactive p99 "
                             "TTFT by +8 %, with half by +26 % (README, Batch tiers)"),
        "kv_fraction": "assumption: half the KV cache stays for interactive arrivals",
    })


@dataclass
class DedicatedConfig:
    # model -> number of replicas (each replica uses `tp` GPUs); unlisted models get 1
    replicas: Dict[str, int] = count(factory=dict, hi=INT_LIMIT)
    # more reserved replicas of a model on other GPU classes (a heterogeneous fleet)
    variants: List[VariantConfig] = field(default_factory=list)
    router: RouterKind = RouterKind.central
    cache_router: CacheRouterConfig = field(default_factory=CacheRouterConfig)
    # iteration-time divisor of the dedicated runtime relative to the catalog perf model
    runtime_speedup: float = rule(1.0, gt=0, le=100)
    pricing: PriceMode = PriceMode.reserved
    # requests waiting (not running) per model behind `central`, per replica behind the routers
    # with a queue per replica; requests beyond it are rejected (queue_full); 0: no waiting
    # room, a request enters only when a replica has a free sequence slot (a loss system)
    max_queue: int = count(100000, lo=0, hi=INT64)
    burst: BurstConfig = field(default_factory=BurstConfig)
    failures: FailureConfig = field(default_factory=FailureConfig)
    spot: SpotConfig = field(default_factory=SpotConfig)
    batch: BatchFillConfig = field(default_factory=BatchFillConfig)  # batch-tier fill
    sources: Dict[str, str] = field(default_factory=lambda: {
        "runtime_speedup": "1.0: the catalog's efficiency factors are fitted to published "
                           "figures of tuned runtimes (CAL §3: TensorRT-LLM, MLPerf, NIM), so the "
                           "perf model already is a tuned runtime; a generic stack is slower by "
                           "about 1.13x (CAL §3: the same engine on the same H100 FP8 gained "
                           "15,220 / 13,411 tok/s between two releases). The brief's 'up to 2x' "
                           "(CAL §8) is an upper bound that also counts quantisation, which "
                           "`precision` models",
    })
