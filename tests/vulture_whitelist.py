"""Names vulture cannot see used: functions registered by decorator (jobs, claims), Hydra
callbacks, config fields and enum members read by OmegaConf, and helpers the experiment
scripts, the notebook and the tests call."""

# ruff: noqa
from sim.config import RequestsOutput
from sim.config.catalog import ModelKind
from sim.config.dedicated import PriceMode, RouterKind
from sim.config.deployments import KvDtype, Precision, Preemption
from sim.config.serverless import Loader, PreloadTier, ServerlessRouter
from sim.config.workload import DuplicatePolicy, TimeUnit, TraceFormat
from sim.platform.serverless import eviction
from sim.platform.serverless.autoscaler import Autoscaler
from sim.platform.serverless.keepalive import HybridHistogramKeepAlive
from sim.report import figures, optimize as optimize_report
from sim.sweep import aggregate, skip, study
from sim.workload import lengths, prefixes

# enum members chosen in config files
ModelKind.embedding, ModelKind.reranker
RouterKind.jsq, RouterKind.round_robin, RouterKind.cache_aware, RouterKind.lect, ServerlessRouter.cache_aware
Preemption.swap
Preemption.retract
RequestsOutput.sample
PriceMode.on_demand
Precision.fp16, Precision.fp4, KvDtype.fp16
Loader.stock, PreloadTier.local_nvme, PreloadTier.host_dram
TraceFormat.mooncake, TraceFormat.burstgpt, TimeUnit.us, TimeUnit.iso, DuplicatePolicy.error, DuplicatePolicy.spread
# config fields read through OmegaConf (by name, from YAML and the command line)
_.slo_max, _.source
# jobs and claims: registered by their decorators
_.breakeven_job, _.burst_job, _.calibration_job, _.claims_job, _.cold_start_job
_.compound_job, _.failures_job, _.keepalive_job, _.noisy_neighbour_job, _.simulate_job
_.spot_job
_.prefix_cache_job
_._breakeven_utilisation, _._worked_u_star, _._llama70b_cost, _._crossover_volume
_._h100_monthly, _._qwen_batch32, _._tuning, _._sla, _._shared_p50_p99, _._signal
_._slow_is_cold, _._cold_70b, _._warm_ms, _._pipeline
# Hydra callback hooks
aggregate.AggregateSweep.on_multirun_start, aggregate.AggregateSweep.on_multirun_end
aggregate.AggregateSweep.on_job_end, aggregate.AggregateSweep.on_job_start
# used by experiments/*/figures.py, the notebook and tests
study.cli, study.first_crossing_up, study.rows_all, study.study_x, figures.figures_from_dir
optimize_report.optimize_figure
Autoscaler.in_panic, HybridHistogramKeepAlive.representative, lengths.sample_lengths
WindowedSignal.average  # the reference the tests check (Autoscaler.decide inlines it)
eviction.choose_node  # the reference the tests check (NodePool.choose ranks the nodes itself)
# the engines' prefix cache reads a request's segments; the tests' reference reuse
prefixes.Prefixes.segments, prefixes.unbounded_hits
_.plan_job
_.writeable  # numpy array flags: set to make a shared view read-only (sim/records.py)
# called by the default sweeper (hydra_plugins/servesim_sweeper/grid.py), outside sim/
skip.finished_jobs, skip.launch_unfinished
# an ANTLR visitor method, called by name by the parse tree (sim/config/repeats.py)
from sim.config import repeats
repeats._StrictVisitor.visitDictContainer
# read by SimPy's Environment.step from the events it pops (sim/engine/tick.py)
_._ok
# the log's whole cold-start tier column, read by the tests (sim/records.py)
from sim.records import RequestLog
RequestLog.cold_tier
# what the measured operations add at TP>1, read by the tests and the README (sim/analysis/op_profiles.py)
from sim.analysis import op_profiles
op_profiles.tp_excess
# the readers memoised by content: emptied and sized by the tests (sim/filecache.py)
_.cache_clear, _.cache_entries
# the per-stage walks the end of a run now folds in its one walk (sim/metrics/endrun.py),
# kept for the tests and callers that want one stage alone
from sim.metrics import billing, overload
billing.tenant_periods, overload.stability
# the instant whose arrivals are being played, read through the environment's __dict__ by
# sim.engine.tick.arriving (an environment the run's driver never set has none)
_.arrival_instant
