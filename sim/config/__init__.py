"""Config schemas: dataclasses registered in Hydra's ConfigStore, one module per concern.

Hydra merges ``conf/config.yaml`` (and the experiment chosen on the command line) into
:class:`Config` (plus each job's own config class, registered by :mod:`sim.app`), so a wrong
key, a wrong type or an unknown option fails at compose time with the key's name. Options
with a closed set of values are string Enums. Range and cross-key checks happen in
:mod:`sim.simulation.build`, the one place that reads raw config.
"""

from __future__ import annotations

import copy
import unicodedata
from dataclasses import dataclass, field, make_dataclass
from enum import StrEnum
from typing import Any, Dict, List, Optional

from hydra import compose as hy_compose
from hydra import initialize_config_module
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from sim.config import hydra_section
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
from sim.config.defaults_guard import install as _guard_defaults
from sim.config.deployments import (  # noqa: F401
    DeploymentConfig,
    KvDtype,
    Parallelism,
    PerfConfig,
    PerfKind,
    Precision,
)
from sim.config.hybrid import HybridConfig, HybridTier, SpilloverConfig  # noqa: F401
from sim.config.open_dicts import OPEN_DICTS  # noqa: F401  (re-exported)
from sim.config.overrides import expand, expand_argv, override_list
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
from sim.config.shuffle import seeded_shuffle
from sim.config.variants import split as variant_split
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
from sim.config.yaml_guard import install as _guard_yaml
from sim.paths import default_traces_dir

_guard_yaml()  # config files' YAML bounded (aliases, depth) before OmegaConf copies it; a BOM skipped
_guard_defaults()  # an experiment file's defaults list: no '- override /experiment', no repeats


class EngineKind(StrEnum):
    fluid = "fluid"
    step = "step"


class RequestsOutput(StrEnum):
    full = "full"  # every request's row in requests.parquet
    sample = "sample"  # a deterministic sample by request id (output.requests_sample)
    none = "none"  # no per-request frame or file (summaries are exact either way)


class Percentiles(StrEnum):
    exact = "exact"  # every value kept to the end of the run: the percentiles of the values
    sketch = "sketch"  # a DDSketch per row and figure (sim/metrics/sketch.py): within 0.5 %


@dataclass
class OutputConfig:
    parquet: bool = True  # false: no requests.parquet (as requests=none)
    requests: RequestsOutput = RequestsOutput.full
    requests_sample: float = fraction(0.01)  # the share of requests kept by requests=sample
    # the summary's percentiles: exact, or from a streaming sketch (one walk over the log's
    # blocks, no per-request values kept to the end; each within its relative accuracy)
    percentiles: Percentiles = Percentiles.exact
    report: bool = True
    # None: a single run draws its figures, the jobs of a sweep do not (about 1 s a job, most
    # of a small job's cost; the sweep draws its own at its root); true or false: both
    plots: Optional[bool] = None
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
    """Per-tenant migration signals and recommendation (sim/analysis/signals.py; the brief's four)."""

    current: str = "serverless"  # the setup the tenant is on today
    # signal when p99 TTFT > tail_ratio x p50; at least 1: p99 is never below p50, so a
    # smaller ratio would flag every tenant
    tail_ratio: float = rule(3.0, ge=1)
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
    # paired sweep values (sim/config/variants.py): `variant=NAME` applies variants.NAME, a
    # map of dotted keys to values, as if each were given on the command line
    variant: Optional[str] = None
    variants: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    pipelines: Dict[str, PipelineConfig] = field(default_factory=dict)  # sim/simulation/pipeline.py




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


    from omegaconf.errors import OmegaConfBaseException

    from sim.errors import InputError

    out = copy.deepcopy(cfg)
    with open_dict(out):
        for k, v in dotted.items():
            try:
                OmegaConf.update(out, k, v, merge=False)
            except OmegaConfBaseException as e:  # a value a user gave (a breakeven entry's
                # overrides): one line naming the key, not OmegaConf's four
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise InputError(first, key=k) from None
    return out


def check_run_name(name) -> str:
    """``name`` if it names a folder under ``results/``; else an InputError about ``name``."""
    from sim.errors import InputError

    name = str(name)
    if not name.strip() or name.startswith("/") or ".." in name.split("/"):
        raise InputError(f"{name!r} must name a folder under results/ (not empty, not absolute, "
                         "no '..')", key="name")
    # a line break, tab or escape would be part of the folder's name and of the report's
    # title (a broken heading, a name no shell listing shows as typed); a lone surrogate is
    # a byte that is not UTF-8, which the report cannot write
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cs")), None)
    if bad is not None:
        raise InputError(f"{name!r} holds the control character {bad!r}: a folder and report "
                         "title need printable characters", key="name")
    return name


def register(job_configs: dict[str, type] | None = None) -> None:
    """Store the schema in Hydra's ConfigStore (``servesim_schema``, the first entry of
    ``conf/config.yaml``'s defaults) and the ``${traces:}`` resolver."""


    # ${traces:} in a config: the shared traces folder ($SERVESIM_TRACES or ../shared/traces)
    if not OmegaConf.has_resolver("traces"):
        OmegaConf.register_new_resolver("traces", default_traces_dir)
    # ${run_name:${name}} in hydra.run.dir and hydra.sweep.dir: a name that climbs out of
    # results/ is refused as Hydra reads the folder's path, before it makes the folder
    if not OmegaConf.has_resolver("run_name"):
        OmegaConf.register_new_resolver("run_name", check_run_name)
    ConfigStore.instance().store(name="servesim_schema", node=schema(job_configs))


def compose(overrides: list[str] | None = None):
    """Compose the same config as ``python -m sim <overrides>`` (the schema must have been
    registered: importing :mod:`sim` does it)."""

    with seeded_shuffle():
        return _compose(overrides)


def _compose(overrides: list[str] | None):
    overrides = override_list(overrides)
    cfg = _compose_raw(expand(overrides, _compose_raw, OPEN_DICTS, schema=Config))
    parts = variant_split(cfg, overrides)  # variant=NAME: its overrides in its place
    if parts is None:
        return cfg
    head, own, tail = parts
    return _in_variant(cfg, lambda: _compose_raw(_spliced(head, own, tail, _compose_raw,
                                                          expanded=False)))


def _spliced(head, own, tail, raw, expanded: bool) -> list[str]:
    """``head + own + tail`` expanded (``own`` a variant's overrides; ``head`` and ``tail``
    expanded already when ``expanded``). A variant's ``tenants={...}`` replaces the tenants
    present at its place, with the config groups chosen anywhere (``experiment=`` may come
    after ``variant=``: a sweeper puts its params first)."""
    if not expanded:
        head = expand(head, raw, OPEN_DICTS, schema=Config)
    groups = [t for t in tail if _is_group_choice(t)]
    own = expand(own, raw, OPEN_DICTS, done=head + groups, schema=Config)[len(head) + len(groups):]
    if not expanded:
        tail = expand(tail, raw, OPEN_DICTS, done=head + own, schema=Config)[len(head) + len(own):]
    return head + own + tail


def _is_group_choice(text: str) -> bool:
    """``experiment=x``, ``catalog=y``: an override choosing an option of a config group (a
    folder of conf/)."""
    from importlib.resources import files

    key = text.split("=", 1)[0].lstrip("+~")
    return "=" in text and "." not in key and files("sim.conf").joinpath(key).is_dir()


def _in_variant(cfg, compose_again):
    """``compose_again()``; a bad key or value it meets is an InputError that says which
    variant set it."""
    from sim.config.messages import from_config_error  # it imports this module
    from sim.errors import InputError

    try:
        return compose_again()
    except Exception as e:
        err = e if isinstance(e, InputError) else from_config_error(e)
        if err is None:
            raise
        out = InputError(f"{err} (set by variant {cfg.variant!r})")
        out.key = err.key
        raise out from None


def apply_variant_in_app(cfg, task: list[str], config_name: str):
    """Inside a running Hydra app (a job of ``python -m sim``): ``cfg``, composed by Hydra
    from ``task`` (overrides expanded already, by :func:`expand_command_line`), with its
    chosen variant applied: composed again, with the app's own search path, the variant's
    overrides expanded and put in the place of ``variant=NAME``."""

    parts = variant_split(cfg, list(task))
    if parts is None:
        return cfg
    head, own, tail = parts

    def raw(ovs):
        return hy_compose(config_name=config_name, overrides=list(ovs))

    if not GlobalHydra.instance().is_initialized():  # a launcher that did not carry it over
        raw = _compose_raw  # noqa: F811
    return _in_variant(cfg, lambda: raw(_spliced(head, own, tail, raw, expanded=True)))


def _compose_raw(overrides: list[str]):
    """Hydra's composition of ``overrides`` as given (:func:`compose` expands them first)."""
    gh = GlobalHydra.instance()
    if gh.is_initialized():
        gh.clear()  # pragma: no cover - only inside an already running Hydra app
    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        cfg = hy_compose(config_name="config", overrides=overrides, return_hydra_config=True)
    return hydra_section.kept(cfg)  # its hydra: node read aside (sim/config/hydra_section.py)


def expand_command_line(argv: list[str]) -> list[str]:
    """``python -m sim``'s arguments with ``tenants={...}`` and ``<map>.<name>={...}``
    rewritten as :func:`compose` does (:mod:`sim.config.overrides`)."""
    return expand_argv(list(argv), _compose_raw, OPEN_DICTS, schema=Config)
