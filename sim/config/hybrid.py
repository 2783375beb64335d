"""The hybrid setup: ``hybrid`` (placement, spillover, shadow traffic)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Dict, Optional

from sim.config.dedicated import Trigger
from sim.config.rules import INT64, count, fraction, interval, nonneg, probability


class HybridTier(StrEnum):
    dedicated = "dedicated"
    serverless = "serverless"


@dataclass
class SpilloverConfig:
    """When a dedicated-tier request goes to the serverless pool instead (sim/platform/hybrid.py)."""

    enabled: bool = True
    # spill when the dedicated pool's estimated queue wait exceeds this
    wait_threshold_s: float = nonneg(2.0, inf_ok=True, meaning="inf: spill only on a full queue")
    # ... or when that pool's queue holds this many requests (None: no bound)
    max_queue: Optional[int] = count(None, hi=INT64)
    rate_window_s: float = interval(30.0)  # completions counted over this window for the service rate
    # slo: spill a request whose predicted TTFT on the dedicated pool (its wait for a slot,
    # then the prefill ahead of it and its own, sim/platform/predict.py) exceeds
    # slo_fraction of its own tenant's SLO; wait: the queue-wait estimate against
    # wait_threshold_s (one threshold for every tenant)
    trigger: Trigger = Trigger.wait
    slo_fraction: float = fraction(1.0)
    # spill only when the pool would serve sooner: its model warm, loading for less than the
    # dedicated wait, or a whole cold start shorter than that wait
    cold_aware: bool = False
    sources: Dict[str, str] = field(default_factory=lambda: {
        "wait_threshold_s": "assumption: a queue wait that alone spends a 2 s TTFT SLO",
        "rate_window_s": "assumption, as dedicated.burst.rate_window_s",
        "slo_fraction": "assumption: spill when the prediction reaches the SLO itself",
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
    shadow_fraction: float = probability(0.0)
