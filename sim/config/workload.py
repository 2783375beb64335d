"""Tenants and their traffic: arrivals, lengths, traces, pipelines, background tenants."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Dict, List, Optional

from sim.config.rules import (
    INT_LIMIT,
    MAX_TENANTS,
    coef_var,
    count,
    interval,
    nonneg,
    positive,
    probability,
    rule,
)


class ArrivalKind(StrEnum):
    poisson = "poisson"
    gamma = "gamma"
    onoff = "onoff"
    trace = "trace"
    closed = "closed"  # fixed-concurrency closed loop (calibration, offline benchmarks)
    servegen = "servegen"  # one ServeGen client's windows replayed (sim/workload/background.py)


class Priority(StrEnum):
    interactive = "interactive"  # served first; its TTFT SLO counts in the aggregate rows
    # fills spare reserved capacity (dedicated.batch), carries a deadline (deadline_s) and is
    # billed at the serverless batch price (serverless.batch_price_factor)
    batch = "batch"


# Default completion window of a batch tenant's requests: the 24 h window of the providers'
# batch APIs (Together Batch API: "Completion window defaults to 24h", docs.together.ai,
# inference/batch/overview; OpenAI Batch API and Anthropic Message Batches: results within
# 24 hours)
BATCH_DEADLINE_S = 86400.0


class RateCurve(StrEnum):
    none = "none"
    sinusoid = "sinusoid"
    file = "file"


class TraceFormat(StrEnum):
    azure = "azure"
    mooncake = "mooncake"
    burstgpt = "burstgpt"
    csv = "csv"  # a user's own CSV: the columns named by ``trace.csv``


class TimeUnit(StrEnum):
    s = "s"
    ms = "ms"
    us = "us"
    ns = "ns"
    iso = "iso"  # ISO 8601 datetimes, as Azure's traces write them


class DuplicatePolicy(StrEnum):
    default = "default"  # azure: keep; csv: error; mooncake, burstgpt: spread (3 s slots, whole seconds)
    error = "error"
    keep = "keep"
    spread = "spread"


@dataclass
class CsvTraceColumns:
    """``format: csv``: the columns of a user's own CSV that hold each request's time, prompt
    tokens and output tokens (any others are not read), and the unit of the times. A length
    column is read only when the tenant's ``input`` / ``output`` is ``kind: trace``; null: the
    file has none (a log of arrival times only, its lengths drawn)."""
    time: str = "timestamp"
    input: Optional[str] = "input_tokens"
    output: Optional[str] = "output_tokens"
    time_unit: TimeUnit = TimeUnit.s


@dataclass
class TraceConfig:
    path: Optional[str] = None
    format: TraceFormat = TraceFormat.azure
    csv: CsvTraceColumns = field(default_factory=CsvTraceColumns)
    time_scale: float = positive(1.0)  # stretch (>1) or compress (<1) the trace's time axis
    rate_scale: float = positive(1.0)  # thin (<1), or add copies of the replayed span rotated by random offsets (>1)
    start_s: float = nonneg(0.0)  # skip this much of the trace
    loop: bool = False  # repeat the trace to fill the horizon
    duplicates: DuplicatePolicy = DuplicatePolicy.default
    # use the trace's shared prompt blocks (Mooncake ``hash_ids``) as the requests' prefix
    # segments, when the file has them (sim/workload/prefixes.py)
    prefixes: bool = True
    # CSV formats: replay only the rows whose column (a key) holds one of the values (a value
    # or a list), compared as text after stripping whitespace, case counting; {}: every row
    # (sim/workload/trace_filter.py)
    where: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ServeGenClientConfig:
    """One client of a ServeGen ``*_client_windows.csv.gz`` file as a tenant's arrivals: each
    of its windows a Gamma or Weibull renewal process with the fitted shape at the window's
    rate (``tenants_from.servegen`` writes these)."""

    path: Optional[str] = None  # e.g. ../shared/traces/servegen/m-large_client_windows.csv.gz
    client_id: int = count(0, lo=0)
    start_s: float = nonneg(0.0)  # offset into the 14 days
    rate_scale: float = positive(1.0)


@dataclass
class ArrivalConfig:
    kind: ArrivalKind = ArrivalKind.poisson
    rate_rps: float = positive(1.0)  # long-run mean rate for every synthetic kind
    cv: float = coef_var(1.0)  # gamma: coefficient of variation of inter-arrival times
    on_s: float = interval(60.0)  # onoff: mean duration of an on period (exponential)
    off_s: float = interval(240.0)  # onoff: mean duration of an off period (exponential)
    off_rate_fraction: float = probability(0.0)  # onoff: rate when off, as a fraction of the on rate
    curve: RateCurve = RateCurve.none  # modulates poisson/gamma/onoff by a rate curve
    period_s: float = interval(86400.0)  # sinusoid period
    peak_to_trough: float = rule(3.0, ge=1)  # sinusoid peak/trough ratio
    phase_s: float = rule(0.0)  # sinusoid: time of the trough
    curve_path: Optional[str] = None  # file curve: CSV time_s,rate (relative shape)
    concurrency: int = count(1)  # closed: number of clients, each sends again when served
    think_s: float = nonneg(0.0)  # closed: mean think time (exponential) before a client sends again
    requests_per_client: int = count(6)  # closed: requests each client sends in all
    trace: TraceConfig = field(default_factory=TraceConfig)
    servegen: ServeGenClientConfig = field(default_factory=ServeGenClientConfig)


class LengthKind(StrEnum):
    fixed = "fixed"
    lognormal = "lognormal"
    geometric = "geometric"
    empirical = "empirical"  # from a PMF file (value,probability) or a trace's column
    trace = "trace"  # the lengths recorded with each replayed trace request


class Overlength(StrEnum):
    reject = "reject"  # the request is rejected on arrival (reason exceeds_context), counted
    clip = "clip"  # the output is cut to the context less a token, then the prompt to the rest
    error = "error"  # the run stops before it starts, naming the tenant and the count


@dataclass
class WorkloadConfig:
    """How generated requests meet the models: what a request beyond its model's context
    (prompt + output) becomes. Every request changed or rejected is counted in summary.csv
    (``clipped``, ``rejected``) and named in a warning line."""

    overlength: Overlength = Overlength.reject


@dataclass
class LengthConfig:
    kind: LengthKind = LengthKind.fixed
    mean: float = positive(512.0)
    cv: float = coef_var(1.0)
    min: int = count(1, lo=0)
    max: Optional[int] = count(None, lo=0)  # None: no cap below the model's context
    path: Optional[str] = None  # empirical: a PMF CSV (value,probability) or a trace file
    # empirical from a trace file: input_tokens | output_tokens | a column by the file's name
    column: Optional[str] = None


@dataclass
class DocsConfig:
    """Shared documents (RAG): a pool of ``count`` documents of ``tokens`` tokens with Zipf
    popularity (rank^-zipf_s); each request (each session) includes ``per_request`` drawn
    independently from it, after the system prompt."""

    # (``rule`` with INT_LIMIT, not ``count``: the field ``count`` shadows it in this class)
    count: int = rule(0, ge=0, le=INT_LIMIT)  # documents in the pool; 0: none
    tokens: int = rule(2000, ge=1, le=INT_LIMIT)  # assumption: a few retrieved passages
    zipf_s: float = nonneg(1.0)  # assumption: Zipf popularity with exponent 1 (0: uniform)
    per_request: int = rule(1, ge=1, le=INT_LIMIT)  # assumption: one document per prompt


@dataclass
class SessionConfig:
    """Multi-turn sessions: a session has a geometric number of turns (on 1, 2, ...) with
    mean ``turns_mean``, each turn's prompt carrying the whole conversation so far. An open
    arrival process gives session starts, and each next turn arrives an exponential think
    time (mean ``think_s``) after the previous turn's arrival (open loop); closed-loop
    clients send each next turn that think time after the previous turn ends, and a new
    session when a session ends (``requests_per_client`` counts turns)."""

    # 1: single-turn requests (sessions off). Assumption; for a chat tenant LMSYS-Chat-1M
    # reports 2.0 turns per conversation on average (Zheng et al., ICLR 2024, Table 1)
    turns_mean: float = rule(1.0, ge=1)
    # assumption: half a minute to read an answer and type the next message (no published
    # mean found; Wang et al., arXiv 2506.02634, see 80 % of a chatbot trace's cache reuses
    # within 10 minutes of the cached request)
    think_s: float = nonneg(30.0)


@dataclass
class PrefixConfig:
    """Where a tenant's prompts share leading text (sim/workload/prompts.py): a system
    prompt, shared documents, multi-turn history. ``input`` then describes the user's own
    part of each prompt; the prompt is system + documents + history + user text."""

    system_tokens: int = count(0, lo=0)  # one system prompt of this length on every request; 0: none
    docs: DocsConfig = field(default_factory=DocsConfig)
    sessions: SessionConfig = field(default_factory=SessionConfig)


@dataclass
class TenantConfig:
    model: Optional[str] = None  # a catalog model (required unless the tenant sends a pipeline)
    arrival: ArrivalConfig = field(default_factory=ArrivalConfig)
    input: LengthConfig = field(default_factory=lambda: LengthConfig(mean=1024))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(mean=256))
    slo_ttft_s: float = positive(2.0, inf_ok=True, meaning="inf: no TTFT objective")
    # time per output token objective (job=plan: met when the plan's attainment share of its
    # completed requests decode within it); inf: none
    slo_tpot_s: float = positive(float("inf"), inf_ok=True, meaning="inf: no TPOT objective")
    # requirements a shared multi-tenant pool cannot meet (sim/analysis/signals.py): the
    # recommendation then excludes setups that serve this tenant from the shared pool
    custom_weights: bool = False
    data_residency: bool = False
    # send requests of this pipeline (``pipelines.<p>``) instead of single calls; ``model``,
    # ``input`` and ``output`` are then the stages' (sim/simulation/pipeline.py)
    pipeline: Optional[str] = None
    prefix: PrefixConfig = field(default_factory=PrefixConfig)  # shared prompt prefixes
    # interactive (default) or batch: a batch tenant's requests fill the spare capacity of
    # reserved replicas (dedicated.batch) and are billed at the serverless batch price
    priority: Priority = Priority.interactive
    # batch only: seconds from arrival within which a request must complete (None: the 24 h
    # window of BATCH_DEADLINE_S); a later or never completed request counts in the summary
    # column ``deadline_missed``
    deadline_s: Optional[float] = positive(None)


class StageKind(StrEnum):
    model = "model"  # a call to a catalog model (LLM: prefill and decode; embedding/reranker: prefill only)
    tool = "tool"  # no GPU: a latency drawn from `latency` (a SQL executor, a vector search)


class LatencyKind(StrEnum):
    fixed = "fixed"
    exponential = "exponential"
    lognormal = "lognormal"


@dataclass
class LatencyConfig:
    kind: LatencyKind = LatencyKind.fixed
    mean_s: float = nonneg(0.05)
    cv: float = coef_var(1.0)  # lognormal


@dataclass
class StageConfig:
    """One stage of a pipeline: ``fanout`` parallel calls once every stage in ``after`` has
    ended, run with ``probability`` (else skipped: its successors go on at once)."""

    kind: StageKind = StageKind.model
    model: Optional[str] = None  # kind=model: a catalog model
    after: List[str] = field(default_factory=list)
    fanout: int = count(1)
    probability: float = probability(1.0)
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


@dataclass
class SyntheticBackgroundConfig:
    """A synthetic population: tenant rates follow Zipf over tenants, each tenant calls one
    model drawn with Zipf popularity over ``models``, arrivals are Gamma renewals."""

    tenants: int = count(0, lo=0, hi=MAX_TENANTS)
    models: List[str] = field(default_factory=list)  # empty: the user's models
    model_zipf_s: float = nonneg(1.0)
    tenant_zipf_s: float = nonneg(1.0)
    rate_rps: float = positive(1.0)  # total over all synthetic tenants
    cv: float = coef_var(3.0)  # inter-arrival coefficient of variation (bursty)
    # diurnal: every tenant's rate follows one sinusoid (trough at t=0 and every period_s),
    # peak over trough as given; 1: flat
    peak_to_trough: float = rule(1.0, ge=1.0, le=1000.0)
    period_s: float = interval(86400.0)
    input: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=1024, max=16000))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=256, max=4096))
    source: str = "assumption: Zipf popularity (s=1) and bursty Gamma arrivals (CV 3)"


@dataclass
class ServeGenBackgroundConfig:
    """ServeGen client windows replayed: each client a tenant, each 600 s window a Gamma or
    Weibull renewal process with the fitted shape, scaled to the window's rate."""

    path: Optional[str] = None  # e.g. ../shared/traces/servegen/m-large_client_windows.csv.gz
    clients: int = count(0, lo=0, hi=MAX_TENANTS)  # the busiest N clients over the replayed span
    client_ids: List[int] = count(factory=list, lo=0)  # or exactly these
    start_s: float = nonneg(0.0)  # offset into the 14 days
    rate_scale: float = positive(1.0)
    models: List[str] = field(default_factory=list)  # clients cycle over these; empty: the user's
    input: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=1024, max=16000))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=256, max=4096))


@dataclass
class ServeGenTenantsConfig:
    """ServeGen clients as the user's tenants ``sg-<client id>``: each replays its own
    windows (``arrival.kind: servegen``), with its own rows, SLO, costs and signals."""

    path: Optional[str] = None  # a *_client_windows.csv.gz file
    clients: int = count(0, lo=0, hi=MAX_TENANTS)  # the busiest N clients over the replayed span
    client_ids: List[int] = count(factory=list, lo=0)  # or exactly these
    slo_ttft_s: float = positive(2.0, inf_ok=True, meaning="inf: no TTFT objective")
    # client id (as a string) -> catalog model; ``default`` for every other client
    models: Dict[str, str] = field(default_factory=lambda: {"default": "llama31-8b"})
    start_s: float = nonneg(0.0)  # offset into the 14 days
    rate_scale: float = positive(1.0)
    # the data's PMFs are request-weighted over clients (no per-client lengths are
    # published for the heaviest clients): point ``path`` at *_input_tokens_pmf.csv /
    # *_output_tokens_pmf.csv with kind empirical (conf/experiment/servegen_tenants.yaml)
    input: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=1024, max=16000))
    output: LengthConfig = field(default_factory=lambda: LengthConfig(kind=LengthKind.lognormal, mean=256, max=4096))


@dataclass
class TenantsFromConfig:
    """Tenants generated from data (sim/simulation/build/tenants_from.py)."""

    servegen: ServeGenTenantsConfig = field(default_factory=ServeGenTenantsConfig)


@dataclass
class BackgroundConfig:
    """Background tenants: the rest of a shared platform. Only setups with a shared pool
    serve them; the user's requests are the same with or without them."""

    scale: float = probability(1.0)  # keep this fraction of background requests (nested thinning)
    slo_ttft_s: float = positive(2.0, inf_ok=True, meaning="inf: no TTFT objective")
    synthetic: SyntheticBackgroundConfig = field(default_factory=SyntheticBackgroundConfig)
    servegen: ServeGenBackgroundConfig = field(default_factory=ServeGenBackgroundConfig)
