"""Config schemas: dataclasses registered in Hydra's ConfigStore, one module per concern.

Hydra merges ``conf/config.yaml`` (and the experiment chosen on the command line) into
:class:`Config` (plus each job's own config class, registered by :mod:`sim.app`), so a wrong
key, a wrong type or an unknown option fails at compose time with the key's name. Options
with a closed set of values are string Enums. Range and cross-key checks happen in
:mod:`sim.simulation.build`, the one place that reads raw config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, make_dataclass
from enum import StrEnum
from typing import Any, Dict, List, Optional

from hydra import compose as hy_compose
from hydra import initialize_config_module
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from sim.config.catalog import (  # noqa: F401
    CatalogConfig,
    EfficiencySpec,
    GpuSpec,
    ModelKind,
    ModelSpec,
)
from sim.config.dedicated import (  # noqa: F401
    BurstConfig,
    DedicatedConfig,
    FailureConfig,
    FailureEventConfig,
    FailureMode,
    PreemptionConfig,
    PreemptionMode,
    PriceMode,
    RemoteBurstConfig,
    RouterKind,
    SpotConfig,
)
from sim.config.deployments import (  # noqa: F401
    DeploymentConfig,
    KvDtype,
    Parallelism,
    PerfConfig,
    PerfKind,
    Precision,
)
from sim.config.hybrid import HybridConfig, HybridTier, SpilloverConfig  # noqa: F401
from sim.config.overrides import expand, expand_argv
from sim.config.rules import INT_LIMIT, count, fraction, nonneg, positive, rule
from sim.config.serverless import (  # noqa: F401
    AutoscalerConfig,
    ColdStartConfig,
    EvictionKind,
    HybridKeepAliveConfig,
    InterferenceConfig,
    KeepAliveConfig,
    KeepAliveKind,
    Loader,
    NodePoolConfig,
    PreloadTier,
    RateLimitConfig,
    ServerlessBilling,
    ServerlessConfig,
    StorageTierSpec,
)
from sim.config.workload import (  # noqa: F401
    ArrivalConfig,
    ArrivalKind,
    BackgroundConfig,
    DocsConfig,
    DuplicatePolicy,
    LatencyConfig,
    LatencyKind,
    LengthConfig,
    LengthKind,
    Overlength,
    PipelineConfig,
    PrefixConfig,
    RateCurve,
    ServeGenBackgroundConfig,
    ServeGenClientConfig,
    ServeGenTenantsConfig,
    SessionConfig,
    StageConfig,
    StageKind,
    SyntheticBackgroundConfig,
    TenantConfig,
    TenantsFromConfig,
    TraceConfig,
    TraceFormat,
    WorkloadConfig,
)
from sim.paths import default_traces_dir


class EngineKind(StrEnum):
    fluid = "fluid"
    step = "step"


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
    slo_max: Optional[float] = positive(None)  # None: no SLO, the objective is the cost alone
    # added (times 1 + the relative violation) when the SLO is missed; far above any cost
    penalty: float = nonneg(1.0e4)


@dataclass
class SignalsConfig:
    """Per-tenant migration signals and recommendation (sim/signals.py; the brief's four)."""

    current: str = "serverless"  # the setup the tenant is on today
    tail_ratio: float = positive(3.0)  # signal when p99 TTFT > tail_ratio x p50
    slow_ttft_s: float = positive(5.0)  # requests slower than this to first token: cold-start events
    slo_target: float = fraction(0.99)  # share of requests within the TTFT SLO to count as meeting it
    # also run every tenant alone on every setup (one more run per tenant): its standalone
    # setup and cost, and a move to dedicated judged by what it would pay alone
    standalone: bool = False


@dataclass
class MetricsConfig:
    """What the summary measures (sim/metrics/windows.py)."""

    # requests arriving before this are left out of the measured rows' percentiles and SLO
    # attainment and summarised in their own rows (window = warmup); 0: one window, all
    warmup_s: float = nonneg(0.0)


@dataclass
class LimitsConfig:
    """Budgets a run is checked against before any work (sim/simulation/build/budget.py)."""

    # the estimated peak memory of one run; None: 80 % of the memory available at start
    memory_gb: Optional[float] = positive(None)
    # simulated events over every setup and replication (the fluid engine runs about
    # 300,000 a second here, so the default is about two hours of work)
    events: float = positive(2e9)


@dataclass
class Config:
    name: str = "default"  # names the results folder: results/<name>/<timestamp>
    seed: int = rule(0, ge=0, le=2**128)  # any non-negative integer (numpy's SeedSequence)
    job: str = "simulate"
    horizon_s: float = positive(600.0)
    drain_s: float = nonneg(1800.0, inf_ok=True, meaning="inf: run until every request has ended")
    engine: EngineKind = EngineKind.fluid
    setups: List[str] = field(default_factory=lambda: ["dedicated"])
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    deployments: Dict[str, DeploymentConfig] = field(default_factory=dict)
    tenants: Dict[str, TenantConfig] = field(default_factory=dict)
    dedicated: DedicatedConfig = field(default_factory=DedicatedConfig)
    cold_start: ColdStartConfig = field(default_factory=ColdStartConfig)
    serverless: ServerlessConfig = field(default_factory=ServerlessConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    tenants_from: TenantsFromConfig = field(default_factory=TenantsFromConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    # seeds seed, seed+1, ... per run: summary.csv holds means and Student-t 95 % half-widths
    replications: int = count(1, hi=INT_LIMIT)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    signals: SignalsConfig = field(default_factory=SignalsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    # free-form notes an experiment carries into its report (question, expectation)
    notes: Dict[str, Any] = field(default_factory=dict)
    pipelines: Dict[str, PipelineConfig] = field(default_factory=dict)  # sim/simulation/pipeline.py


# Dict-valued keys the user may extend without Hydra's "+" (their values stay typed and strict:
# a typo inside a tenant still fails). Hydra makes the whole tree "struct" after composing;
# an explicit flag on these nodes overrides that.


# Dict-valued keys the user may extend without Hydra's "+" (their values stay typed and strict:
# a typo inside a tenant still fails). Hydra makes the whole tree "struct" after composing;
# an explicit flag on these nodes overrides that.
OPEN_DICTS = ("tenants", "deployments", "notes", "dedicated.replicas", "dedicated.spot.replicas",
              "catalog.gpus",
              "catalog.models", "cold_start.tiers", "serverless.pool",
              "serverless.rate_limits", "serverless.autoscaler.min_replicas",
              "cold_start.engine_init_s_by_model", "hybrid.placement", "pipelines",
              "tenants_from.servegen.models")


def schema(job_configs: dict[str, type] | None = None):
    """The composed config's schema: :class:`Config` plus each job's own config class under
    the job's name (``breakeven``, ``claims`` ...: :mod:`sim.jobs`)."""


    extra = [(key, cls, field(default_factory=cls)) for key, cls in sorted((job_configs or {}).items())]
    root = make_dataclass("ServesimConfig", extra, bases=(Config,)) if extra else Config
    node = OmegaConf.structured(root)
    for key in OPEN_DICTS:
        sub = OmegaConf.select(node, key)
        if sub is not None:
            OmegaConf.set_struct(sub, False)
    return node


def variant(cfg, **dotted):
    """A copy of ``cfg`` with dotted keys set (validated by the schema)."""


    out = copy.deepcopy(cfg)
    with open_dict(out):
        for k, v in dotted.items():
            OmegaConf.update(out, k, v, merge=False)
    return out


def register(job_configs: dict[str, type] | None = None) -> None:
    """Store the schema in Hydra's ConfigStore (``servesim_schema``, the first entry of
    ``conf/config.yaml``'s defaults) and the ``${traces:}`` resolver."""


    # ${traces:} in a config: the shared traces folder ($SERVESIM_TRACES or ../shared/traces)
    if not OmegaConf.has_resolver("traces"):
        OmegaConf.register_new_resolver("traces", default_traces_dir)
    ConfigStore.instance().store(name="servesim_schema", node=schema(job_configs))


def compose(overrides: list[str] | None = None):
    """Compose the same config as ``python -m sim <overrides>`` (the schema must have been
    registered: importing :mod:`sim` does it)."""

    return _compose_raw(expand(list(overrides or []), _compose_raw, OPEN_DICTS))


def _compose_raw(overrides: list[str]):
    """Hydra's composition of ``overrides`` as given (:func:`compose` expands them first)."""
    gh = GlobalHydra.instance()
    if gh.is_initialized():
        gh.clear()  # pragma: no cover - only inside an already running Hydra app
    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        return hy_compose(config_name="config", overrides=overrides)


def expand_command_line(argv: list[str]) -> list[str]:
    """``python -m sim``'s arguments with ``tenants={...}`` and ``<map>.<name>={...}``
    rewritten as :func:`compose` does (:mod:`sim.config.overrides`)."""
    return expand_argv(list(argv), _compose_raw, OPEN_DICTS)
