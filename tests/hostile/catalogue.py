"""Hostile inputs for servesim's command line: a pure-data catalogue.

Written independently of the code and of tests/test_bad_input.py (none of its entries is
repeated here), by a colleague who had read only the README and the config schema, in
December 2026; it found 28 tracebacks, 11 silent wrong results and 3 hangs in the code of
the time. ``tests/test_hostile_input.py`` runs it.
Each case is a dict:

    id      unique name
    args    the argv after ``python -m sim`` (``{dir}`` = the case's temp folder, also the cwd)
    files   {relative name: content (str or bytes)} written into ``{dir}`` before the run
    expect  "error": exit 2, exactly one non-empty stderr line, no traceback, the line names
                     ``key``;
            "ok":    exit 0 (the value has a sensible documented meaning, e.g. drain_s=inf)
    key     text the error line must contain: a config key exactly as the schema spells it,
            or ``file:line`` / a file name; alternatives separated by "|"; may contain {dir}
    kind    nonfinite | huge | impossible | tiny | file | output | sweep | unknown | type
    pre     (optional) argv lists run first, in the same folder (re-used run folders)
    check   (optional) a post-run check of the run folder {dir}/out:
            "fresh_outputs": every result file in it was written by the last command, and
                             summary.csv / requests.parquet describe the same run;
            "consistent":    summary.csv and requests.parquet (where both exist) describe
                             the same run
    note    (optional) why the expectation is what it is

Every plain run carries ``horizon_s=20`` (unless the case sets its own) and COMMON; sweeps
carry COMMON_SWEEP.
"""

import gzip

COMMON = ["output.plots=false", "output.report=false", "output.progress=false",
          "hydra.run.dir={dir}/out"]
COMMON_SWEEP = ["output.plots=false", "output.report=false", "output.progress=false",
                "hydra.sweep.dir={dir}/sweep", "hydra.run.dir={dir}/out"]
H = "horizon_s=20"

A = "tenants.chat.arrival"
SL = ["setups=[serverless]"]
BURST = ["dedicated.burst.enabled=true"]
FAIL = ["dedicated.failures.mode=random"]
HYB = ["setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated", "dedicated.replicas.llama31-8b=1"]
BG = ["setups=[serverless]", "background.synthetic.tenants=3"]
GPU = "catalog.gpus.H100"
MOD = "catalog.models.llama31-8b"
DEP = "deployments.llama31-8b"
ONOFF = [f"{A}.kind=onoff"]
GAMMA = [f"{A}.kind=gamma"]
SIN = [f"{A}.curve=sinusoid"]
CLOSED = [f"{A}.kind=closed", f"{A}.concurrency=4"]
KA_HYB = ["serverless.keepalive.kind=hybrid"]

# --------------------------------------------------------------------------- fixtures
AZ_HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
AZ_ROWS = [f"2023-11-16 18:17:0{i}.0000000,{100 + 10 * i},{20 + i}\n" for i in range(6)]
AZ_GOOD = AZ_HEADER + "".join(AZ_ROWS)
TRACE = [f"{A}.kind=trace", f"{A}.trace.path={{dir}}/a.csv"]
MC = [f"{A}.kind=trace", f"{A}.trace.path={{dir}}/m.jsonl", f"{A}.trace.format=mooncake"]
# replay with the trace's own token counts, so a corrupt count reaches the simulation
LEN = ["tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace"]
MC_LINE1 = '{"timestamp": 0, "input_length": 100, "output_length": 20}\n'
MC_LINE3 = '{"timestamp": 2000, "input_length": 120, "output_length": 22}\n'
PMF = ["tenants.chat.output.kind=empirical", "tenants.chat.output.path={dir}/p.csv"]
CURVE = [f"{A}.curve=file", f"{A}.curve_path={{dir}}/c.csv"]
TABLE = [f"{DEP}.perf.kind=table", f"{DEP}.perf.table_path={{dir}}/t.csv",
         f"{DEP}.perf.kv_capacity_tokens=200000"]
TABLE_GOOD = ("decode_seqs,prefill_tokens,step_time_s\n"
              "0,0,0.002\n0,8192,0.3\n256,0,0.02\n256,8192,0.35\n")
SG = ["setups=[serverless]", "background.servegen.path={dir}/s.csv", "background.servegen.clients=1"]
SG_HEADER = "client_id,window_start_s,rate_rps,family,shape,scale\n"
SG_GOOD = SG_HEADER + "7,0,0.5,Gamma,0.5,4.0\n7,600,0.5,Weibull,0.8,2.0\n"
SG2 = SG_GOOD + "8,0,0.2,Gamma,0.5,4.0\n"  # two clients
XP = ["hydra.searchpath=[file://{dir}]", "experiment=mine"]  # an experiment of the user's own
MINE = ("# @package _global_\ntenants:\n  chat: {model: llama31-8b, arrival: {rate_rps: 2}}\n"
        "deployments:\n  llama31-8b: {gpu: H100, precision: fp8, tp: 1}\n")
SGT = ["setups=[serverless]", "tenants_from.servegen.path={dir}/s.csv"]  # clients as the user's tenants


def _az(row_line3: str) -> str:
    """The good Azure trace with its data line 3 (the second request) replaced."""
    return AZ_HEADER + AZ_ROWS[0] + row_line3 + "".join(AZ_ROWS[2:])


def _mc(line2: str) -> str:
    return MC_LINE1 + line2 + MC_LINE3


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def _sets(args) -> set[str]:
    """The keys the overrides ``args`` set (``key=``, ``+key=``, ``++key=``; not ``~key``)."""
    return {_key(a) for a in args if "=" in a and not a.startswith("~")}


def _h(args):
    """``horizon_s=20`` unless the case sets the horizon itself or runs the claims job (which
    refuses a horizon: its scenarios set their own, so the case's own key would go untested)."""
    return [] if "horizon_s" in _sets(args) or "experiment=claims" in args else [H]


def _common(args, common):
    """``common`` without the keys the case sets itself (the command line refuses a key given
    twice with two values)."""
    own = _sets(args)
    return [c for c in common if _key(c) not in own]


def E(id, args, key, kind, files=None, note=None, **extra):
    """An error case (a plain run)."""
    return dict(id=id, args=[*_h(args), *args, *_common(args, COMMON)], files=files or {}, expect="error",
                key=key, kind=kind, **({"note": note} if note else {}), **extra)


def OK(id, args, kind, files=None, note=None, **extra):
    return dict(id=id, args=[*_h(args), *args, *_common(args, COMMON)], files=files or {}, expect="ok",
                key="", kind=kind, **({"note": note} if note else {}), **extra)


def SW(id, args, key, note=None):
    return dict(id=id, args=["-m", *_h(args), *args, *_common(args, COMMON_SWEEP)], files={}, expect="error",
                key=key, kind="sweep", **({"note": note} if note else {}))


CASES = [
    # ================================================================ non-finite numbers
    E("horizon_nan", ["horizon_s=nan"], "horizon_s", "nonfinite"),
    E("horizon_inf", ["horizon_s=inf"], "horizon_s", "nonfinite",
      note="an infinite arrival window cannot be simulated"),
    E("drain_nan", ["drain_s=nan"], "drain_s", "nonfinite"),
    OK("drain_inf", ["drain_s=inf"], "nonfinite", note="README: drain_s is extra time allowed; inf = no limit"),
    E("rate_nan", [f"{A}.rate_rps=nan"], f"{A}.rate_rps", "nonfinite"),
    E("rate_inf", [f"{A}.rate_rps=inf"], f"{A}.rate_rps", "nonfinite"),
    E("rate_neg_inf", [f"{A}.rate_rps=-inf"], f"{A}.rate_rps", "nonfinite"),
    E("gamma_cv_nan", [*GAMMA, f"{A}.cv=nan"], f"{A}.cv", "nonfinite"),
    E("gamma_cv_inf", [*GAMMA, f"{A}.cv=inf"], f"{A}.cv", "nonfinite"),
    E("onoff_on_nan", [*ONOFF, f"{A}.on_s=nan"], f"{A}.on_s", "nonfinite"),
    E("onoff_off_inf", [*ONOFF, f"{A}.off_s=inf"], f"{A}.off_s", "nonfinite"),
    E("onoff_fraction_nan", [*ONOFF, f"{A}.off_rate_fraction=nan"], f"{A}.off_rate_fraction", "nonfinite"),
    E("sinusoid_period_nan", [*SIN, f"{A}.period_s=nan"], f"{A}.period_s", "nonfinite"),
    E("sinusoid_period_inf", [*SIN, f"{A}.period_s=inf"], f"{A}.period_s", "nonfinite"),
    E("sinusoid_p2t_inf", [*SIN, f"{A}.peak_to_trough=inf"], f"{A}.peak_to_trough", "nonfinite"),
    E("sinusoid_phase_nan", [*SIN, f"{A}.phase_s=nan"], f"{A}.phase_s", "nonfinite"),
    E("closed_think_nan", [*CLOSED, f"{A}.think_s=nan"], f"{A}.think_s", "nonfinite"),
    E("closed_think_inf", [*CLOSED, f"{A}.think_s=inf"], f"{A}.think_s", "nonfinite",
      note="every client would wait forever: no requests after the first round"),
    E("trace_time_scale_nan", [*TRACE, f"{A}.trace.time_scale=nan"], f"{A}.trace.time_scale",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("trace_time_scale_inf", [*TRACE, f"{A}.trace.time_scale=inf"], f"{A}.trace.time_scale",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("trace_rate_scale_nan", [*TRACE, f"{A}.trace.rate_scale=nan"], f"{A}.trace.rate_scale",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("trace_rate_scale_inf", [*TRACE, f"{A}.trace.rate_scale=inf"], f"{A}.trace.rate_scale",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("trace_start_nan", [*TRACE, f"{A}.trace.start_s=nan"], f"{A}.trace.start_s",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("trace_start_neg_inf", [*TRACE, f"{A}.trace.start_s=-inf"], f"{A}.trace.start_s",
      "nonfinite", files={"a.csv": AZ_GOOD}),
    E("input_mean_nan", ["tenants.chat.input.mean=nan"], "tenants.chat.input.mean", "nonfinite"),
    E("input_cv_nan", ["tenants.chat.input.cv=nan"], "tenants.chat.input.cv", "nonfinite"),
    E("output_mean_inf", ["tenants.chat.output.mean=inf"], "tenants.chat.output.mean", "nonfinite"),
    E("output_fixed_mean_nan", ["tenants.chat.output.kind=fixed", "tenants.chat.output.mean=nan"],
      "tenants.chat.output.mean", "nonfinite"),
    E("input_geometric_mean_nan", ["tenants.chat.input.kind=geometric", "tenants.chat.input.mean=nan"],
      "tenants.chat.input.mean", "nonfinite"),
    E("gpu_memory_nan", [f"{GPU}.memory_gb=nan"], f"{GPU}.memory_gb", "nonfinite"),
    E("gpu_memory_inf", [f"{GPU}.memory_gb=inf"], f"{GPU}.memory_gb", "nonfinite"),
    E("gpu_bandwidth_nan", [f"{GPU}.bandwidth_tbps=nan"], f"{GPU}.bandwidth_tbps", "nonfinite"),
    E("gpu_bandwidth_inf", [f"{GPU}.bandwidth_tbps=inf"], f"{GPU}.bandwidth_tbps", "nonfinite"),
    E("gpu_tflops_inf", [f"{GPU}.tflops.fp8=inf"], f"{GPU}.tflops.fp8", "nonfinite"),
    E("gpu_tflops_nan", [f"{GPU}.tflops.fp8=nan"], f"{GPU}.tflops.fp8", "nonfinite"),
    E("efficiency_memory_nan", [f"{GPU}.efficiency.fp8.memory=nan"], f"{GPU}.efficiency.fp8.memory", "nonfinite"),
    E("efficiency_compute_inf", [f"{GPU}.efficiency.fp8.compute=inf"], f"{GPU}.efficiency.fp8.compute", "nonfinite"),
    E("step_overhead_inf", [f"{GPU}.step_overhead_s=inf"], f"{GPU}.step_overhead_s", "nonfinite"),
    E("allreduce_latency_nan_tp2", [f"{DEP}.tp=2", f"{GPU}.allreduce_latency_s=nan"],
      f"{GPU}.allreduce_latency_s", "nonfinite"),
    E("price_on_demand_nan", ["dedicated.pricing=on_demand", f"{GPU}.on_demand_usd_per_hour=nan"],
      f"{GPU}.on_demand_usd_per_hour", "nonfinite"),
    E("price_reserved_inf", [f"{GPU}.reserved_usd_per_hour=inf"], f"{GPU}.reserved_usd_per_hour", "nonfinite"),
    E("price_serverless_nan", [*SL, "serverless.billing=gpu_second", f"{GPU}.serverless_usd_per_s=nan"],
      f"{GPU}.serverless_usd_per_s", "nonfinite"),
    E("price_in_inf", [*SL, f"{MOD}.price_in_usd_per_mtok=inf"], f"{MOD}.price_in_usd_per_mtok", "nonfinite"),
    E("price_out_nan", [*SL, f"{MOD}.price_out_usd_per_mtok=nan"], f"{MOD}.price_out_usd_per_mtok", "nonfinite"),
    E("dedicated_speedup_nan", ["dedicated.runtime_speedup=nan"], "dedicated.runtime_speedup", "nonfinite"),
    E("dedicated_speedup_inf", ["dedicated.runtime_speedup=inf"], "dedicated.runtime_speedup", "nonfinite",
      note="an iteration of zero seconds"),
    E("serverless_speedup_nan", [*SL, "serverless.runtime_speedup=nan"], "serverless.runtime_speedup", "nonfinite"),
    E("serverless_max_wait_nan", [*SL, "serverless.max_wait_s=nan"], "serverless.max_wait_s", "nonfinite"),
    OK("serverless_max_wait_inf", [*SL, "serverless.max_wait_s=inf"], "nonfinite",
       note="inf = requests never time out waiting for a replica"),
    E("autoscaler_tick_nan", [*SL, "serverless.autoscaler.tick_s=nan"], "serverless.autoscaler.tick_s", "nonfinite"),
    E("autoscaler_target_nan", [*SL, "serverless.autoscaler.target_concurrency=nan"],
      "serverless.autoscaler.target_concurrency", "nonfinite"),
    E("autoscaler_target_inf", [*SL, "serverless.autoscaler.target_concurrency=inf"],
      "serverless.autoscaler.target_concurrency", "nonfinite"),
    E("autoscaler_stable_window_nan", [*SL, "serverless.autoscaler.stable_window_s=nan"],
      "serverless.autoscaler.stable_window_s", "nonfinite"),
    E("autoscaler_panic_window_inf", [*SL, "serverless.autoscaler.panic_window_s=inf"],
      "serverless.autoscaler.panic_window_s", "nonfinite"),
    E("autoscaler_panic_threshold_nan", [*SL, "serverless.autoscaler.panic_threshold=nan"],
      "serverless.autoscaler.panic_threshold", "nonfinite"),
    E("keepalive_idle_nan", [*SL, "serverless.keepalive.idle_s=nan"], "serverless.keepalive.idle_s", "nonfinite"),
    OK("keepalive_idle_inf", [*SL, "serverless.keepalive.idle_s=inf"], "nonfinite",
       note="inf = never scale to zero"),
    E("keepalive_hybrid_margin_nan", [*SL, *KA_HYB, "serverless.keepalive.hybrid.margin=nan"],
      "serverless.keepalive.hybrid.margin", "nonfinite"),
    E("min_increment_nan", [*SL, "serverless.billing=gpu_second", "serverless.min_increment_s=nan"],
      "serverless.min_increment_s", "nonfinite"),
    E("interference_nan", [*SL, "serverless.interference.per_neighbour=nan"],
      "serverless.interference.per_neighbour", "nonfinite"),
    E("rate_limit_rpm_nan", [*SL, "serverless.rate_limits={chat: {rpm: nan}}"], "serverless.rate_limits.chat.rpm", "nonfinite"),
    OK("rate_limit_rpm_inf", [*SL, "serverless.rate_limits={chat: {rpm: inf}}"], "nonfinite",
       note="inf requests per minute = no limit"),
    E("burst_check_interval_nan", [*BURST, "dedicated.burst.check_interval_s=nan"],
      "dedicated.burst.check_interval_s", "nonfinite"),
    E("burst_wait_threshold_nan", [*BURST, "dedicated.burst.wait_threshold_s=nan"],
      "dedicated.burst.wait_threshold_s", "nonfinite"),
    OK("burst_wait_threshold_inf", [*BURST, "dedicated.burst.wait_threshold_s=inf"], "nonfinite",
       note="inf = never burst"),
    E("burst_rate_window_nan", [*BURST, "dedicated.burst.rate_window_s=nan"],
      "dedicated.burst.rate_window_s", "nonfinite"),
    E("burst_idle_window_nan", [*BURST, "dedicated.burst.idle_window_s=nan"],
      "dedicated.burst.idle_window_s", "nonfinite"),
    E("burst_price_multiplier_inf", [*BURST, "dedicated.burst.price_multiplier=inf"],
      "dedicated.burst.price_multiplier", "nonfinite"),
    E("burst_remote_rtt_nan", [*BURST, "dedicated.burst.remote.max_replicas=1", "dedicated.burst.remote.rtt_s=nan"],
      "dedicated.burst.remote.rtt_s", "nonfinite"),
    E("failures_mtbf_nan", [*FAIL, "dedicated.failures.mtbf_gpu_hours=nan"], "dedicated.failures.mtbf_gpu_hours", "nonfinite"),
    OK("failures_mtbf_inf", [*FAIL, "dedicated.failures.mtbf_gpu_hours=inf"], "nonfinite",
       note="inf = never fails"),
    E("failures_mttr_nan", [*FAIL, "dedicated.failures.mttr_s=nan"], "dedicated.failures.mttr_s", "nonfinite"),
    E("failures_mttr_inf", [*FAIL, "dedicated.failures.mttr_s=inf"], "dedicated.failures.mttr_s", "nonfinite"),
    E("failures_script_at_nan", ["dedicated.failures.mode=script", "dedicated.failures.script=[{at_s: nan, down_s: 5}]"],
      "dedicated.failures.script", "nonfinite"),
    E("cold_engine_init_nan", [*SL, "cold_start.engine_init_s=nan"], "cold_start.engine_init_s", "nonfinite"),
    E("cold_container_start_inf", [*SL, "cold_start.container_start_s=inf"], "cold_start.container_start_s", "nonfinite"),
    E("cold_node_provision_nan", [*SL, "serverless.pool.H100.nodes=1", "serverless.pool.H100.max_nodes=3",
                                  "cold_start.node_provision_s=nan"], "cold_start.node_provision_s", "nonfinite"),
    E("cold_tier_bandwidth_nan", [*SL, "cold_start.tiers.object_storage.optimized_gbps=nan"],
      "cold_start.tiers.object_storage.optimized_gbps", "nonfinite"),
    E("cold_tier_bandwidth_inf", [*SL, "cold_start.tiers.object_storage.optimized_gbps=inf"],
      "cold_start.tiers.object_storage.optimized_gbps", "nonfinite"),
    E("cold_remote_backend_nan", [*SL, "cold_start.remote_backend_gbps=nan"], "cold_start.remote_backend_gbps", "nonfinite"),
    E("cold_snapshot_speedup_inf", [*SL, "cold_start.snapshots=true", "cold_start.snapshot_speedup=inf"],
      "cold_start.snapshot_speedup", "nonfinite"),
    E("cold_engine_init_by_model_nan", [*SL, "cold_start.engine_init_s_by_model.llama31-8b=nan"],
      "cold_start.engine_init_s_by_model.llama31-8b", "nonfinite"),
    E("spill_threshold_nan", [*HYB, "hybrid.spillover.wait_threshold_s=nan"], "hybrid.spillover.wait_threshold_s", "nonfinite"),
    OK("spill_threshold_inf", [*HYB, "hybrid.spillover.wait_threshold_s=inf"], "nonfinite",
       note="inf = never spill on the wait estimate"),
    E("spill_rate_window_nan", [*HYB, "hybrid.spillover.rate_window_s=nan"], "hybrid.spillover.rate_window_s", "nonfinite"),
    E("shadow_fraction_nan", [*HYB, "hybrid.shadow_fraction=nan"], "hybrid.shadow_fraction", "nonfinite"),
    E("background_rate_nan", [*BG, "background.synthetic.rate_rps=nan"], "background.synthetic.rate_rps", "nonfinite"),
    E("background_rate_inf", [*BG, "background.synthetic.rate_rps=inf"], "background.synthetic.rate_rps", "nonfinite"),
    E("background_cv_nan", [*BG, "background.synthetic.cv=nan"], "background.synthetic.cv", "nonfinite"),
    E("background_zipf_nan", [*BG, "background.synthetic.model_zipf_s=nan"], "background.synthetic.model_zipf_s", "nonfinite"),
    E("background_scale_nan", [*BG, "background.scale=nan"], "background.scale", "nonfinite"),
    E("servegen_rate_scale_nan", [*SG, "background.servegen.rate_scale=nan"], "background.servegen.rate_scale",
      "nonfinite", files={"s.csv": SG_GOOD}),
    E("slo_nan", ["tenants.chat.slo_ttft_s=nan"], "tenants.chat.slo_ttft_s", "nonfinite"),
    OK("slo_inf", ["tenants.chat.slo_ttft_s=inf"], "nonfinite", note="inf = no SLO: every request meets it"),
    E("signals_tail_ratio_nan", ["signals.tail_ratio=nan"], "signals.tail_ratio", "nonfinite"),
    E("objective_slo_max_nan", ["objective.slo_max=nan"], "objective.slo_max", "nonfinite"),
    E("activation_reserve_nan", [f"{DEP}.activation_reserve_gb=nan"], f"{DEP}.activation_reserve_gb", "nonfinite"),
    E("tool_latency_nan", ["pipelines={p: {stages: {a: {kind: tool, latency: {kind: fixed, mean_s: nan}}}}}",
                           "tenants.chat.pipeline=p"], "pipelines.p.stages.a.latency.mean_s", "nonfinite"),

    # ============================================================ integer overflow, huge
    E("output_mean_3e9", ["tenants.chat.output.kind=fixed", "tenants.chat.output.mean=3e9",
                          "tenants.chat.output.max=3000000000"], "tenants.chat.output", "huge",
      note="3e9 tokens: beyond int32 and any model's context"),
    E("input_lognormal_1e12", ["tenants.chat.input.mean=1e12", "tenants.chat.input.max=1000000000000"],
      "tenants.chat.input", "huge"),
    E("tp_2_31", [f"{DEP}.tp=2147483648"], f"{DEP}.tp", "huge"),
    E("replicas_1e7", ["dedicated.replicas.llama31-8b=10000000"], "dedicated.replicas.llama31-8b", "huge"),
    E("closed_concurrency_1e8", [f"{A}.kind=closed", f"{A}.concurrency=100000000"], f"{A}.concurrency", "huge"),
    E("pipeline_fanout_1e8", ["pipelines={p: {stages: {a: {model: llama31-8b, fanout: 100000000}}}}",
                              "tenants.chat.pipeline=p"], "pipelines.p.stages.a.fanout", "huge"),
    E("rate_1e7", [f"{A}.rate_rps=1e7"], f"{A}.rate_rps", "huge",
      note="2e8 requests in 20 s: refuse up front rather than exhaust memory"),
    E("horizon_1e12", ["horizon_s=1e12"], "horizon_s", "huge", note="4e12 requests"),
    E("replications_1e5", ["replications=100000"], "replications", "huge"),
    E("seed_negative", ["seed=-1"], "seed", "huge"),
    OK("seed_2_64", ["seed=18446744073709551616"], "huge", note="any non-negative integer is a seed"),
    OK("dedicated_max_queue_1e18", ["dedicated.max_queue=1000000000000000000"], "huge", note="an upper bound"),
    E("pool_nodes_1e7", [*SL, "serverless.pool.H100.nodes=10000000"], "serverless.pool.H100.nodes", "huge"),
    E("pool_gpus_per_node_2_31", [*SL, "serverless.pool.H100.gpus_per_node=2147483648"],
      "serverless.pool.H100.gpus_per_node", "huge"),
    OK("autoscaler_max_replicas_1e9", [*SL, "serverless.autoscaler.max_replicas=1000000000"], "huge",
       note="an upper bound"),
    E("autoscaler_min_replicas_1e6", [*SL, "serverless.autoscaler.min_replicas.llama31-8b=1000000"],
      "serverless.autoscaler.min_replicas.llama31-8b", "huge", note="a warm floor far beyond the 16-GPU pool"),
    OK("max_num_seqs_2_40", [f"{DEP}.max_num_seqs=1099511627776"], "huge", note="an upper bound; KV memory binds first"),
    E("max_batched_tokens_2_40", [f"{DEP}.max_batched_tokens=1099511627776"], DEP, "huge",
      note="a cross-key fit check (KV room for one batch) may refuse it, naming the deployment"),
    E("background_tenants_1e7", [*BG[:1], "background.synthetic.tenants=10000000"], "background.synthetic.tenants", "huge"),
    OK("burst_max_replicas_1e7", [*BURST, "dedicated.burst.max_replicas=10000000"], "huge", note="an upper bound"),
    OK("failures_max_attempts_1e12", [*FAIL, "dedicated.failures.max_attempts=1000000000000"], "huge",
       note="an upper bound on retries"),
    OK("trace_rate_scale_1e6", [*TRACE, f"{A}.trace.rate_scale=1e6"], "huge",
       files={"a.csv": AZ_GOOD}, note="a million superposed copies of a 6-request trace: 6 M "
       "requests, which the memory budget admits (accepted; changed from the catalogue's "
       "first draft, which expected a refusal)"),

    # ==================================================== physically impossible values
    E("efficiency_memory_1_5", [f"{GPU}.efficiency.fp8.memory=1.5"], f"{GPU}.efficiency.fp8.memory", "impossible"),
    E("efficiency_compute_0", [f"{GPU}.efficiency.fp8.compute=0"], f"{GPU}.efficiency.fp8.compute", "impossible"),
    E("efficiency_memory_neg", [f"{GPU}.efficiency.fp8.memory=-0.3"], f"{GPU}.efficiency.fp8.memory", "impossible"),
    E("gpu_memory_utilization_5", [f"{DEP}.gpu_memory_utilization=5"], f"{DEP}.gpu_memory_utilization", "impossible"),
    E("gpu_memory_utilization_nan", [f"{DEP}.gpu_memory_utilization=nan"], f"{DEP}.gpu_memory_utilization", "impossible"),
    E("price_reserved_neg", [f"{GPU}.reserved_usd_per_hour=-2.37"], f"{GPU}.reserved_usd_per_hour", "impossible"),
    E("price_on_demand_neg", ["dedicated.pricing=on_demand", f"{GPU}.on_demand_usd_per_hour=-1"],
      f"{GPU}.on_demand_usd_per_hour", "impossible"),
    E("price_serverless_neg", [*SL, "serverless.billing=gpu_second", f"{GPU}.serverless_usd_per_s=-0.001"],
      f"{GPU}.serverless_usd_per_s", "impossible"),
    E("price_out_neg", [*SL, f"{MOD}.price_out_usd_per_mtok=-0.18"], f"{MOD}.price_out_usd_per_mtok", "impossible"),
    E("burst_price_multiplier_neg", [*BURST, "dedicated.burst.price_multiplier=-1"],
      "dedicated.burst.price_multiplier", "impossible"),
    E("dram_cache_neg", [*SL, "serverless.pool.H100.dram_cache_gb=-1"], "serverless.pool.H100.dram_cache_gb", "impossible"),
    E("nvme_cache_neg", [*SL, "serverless.pool.H100.nvme_cache_gb=-5"], "serverless.pool.H100.nvme_cache_gb", "impossible"),
    E("pool_nodes_neg", [*SL, "serverless.pool.H100.nodes=-2"], "serverless.pool.H100.nodes", "impossible"),
    E("pool_gpus_per_node_0", [*SL, "serverless.pool.H100.gpus_per_node=0"], "serverless.pool.H100.gpus_per_node", "impossible"),
    E("pool_max_nodes_below_nodes", [*SL, "serverless.pool.H100.nodes=2", "serverless.pool.H100.max_nodes=1"],
      "serverless.pool.H100.max_nodes", "impossible"),
    E("autoscaler_max_replicas_0", [*SL, "serverless.autoscaler.max_replicas=0"], "serverless.autoscaler.max_replicas", "impossible"),
    E("autoscaler_min_replicas_neg", [*SL, "serverless.autoscaler.min_replicas.llama31-8b=-1"],
      "serverless.autoscaler.min_replicas.llama31-8b", "impossible"),
    E("sinusoid_p2t_half", [*SIN, f"{A}.peak_to_trough=0.5"], f"{A}.peak_to_trough", "impossible"),
    E("onoff_fraction_2", [*ONOFF, f"{A}.off_rate_fraction=2"], f"{A}.off_rate_fraction", "impossible"),
    E("stage_probability_1_5", ["pipelines={p: {stages: {a: {model: llama31-8b, probability: 1.5}}}}",
                                "tenants.chat.pipeline=p"], "pipelines.p.stages.a.probability", "impossible"),
    E("stage_probability_neg", ["pipelines={p: {stages: {a: {model: llama31-8b, probability: -0.1}}}}",
                                "tenants.chat.pipeline=p"], "pipelines.p.stages.a.probability", "impossible"),
    E("tool_latency_neg", ["pipelines={p: {stages: {a: {kind: tool, latency: {kind: fixed, mean_s: -1}}}}}",
                           "tenants.chat.pipeline=p"], "pipelines.p.stages.a.latency.mean_s", "impossible"),
    E("shadow_fraction_1_5", [*HYB, "hybrid.shadow_fraction=1.5"], "hybrid.shadow_fraction", "impossible"),
    E("spill_max_queue_neg", [*HYB, "hybrid.spillover.max_queue=-1"], "hybrid.spillover.max_queue", "impossible"),
    E("spill_rate_window_0", [*HYB, "hybrid.spillover.rate_window_s=0"], "hybrid.spillover.rate_window_s", "impossible"),
    E("background_scale_2", [*BG, "background.scale=2"], "background.scale", "impossible",
      note="README: the fraction of background requests kept"),
    E("signals_slo_target_1_5", ["signals.slo_target=1.5"], "signals.slo_target", "impossible"),
    E("signals_tail_ratio_below_1", ["signals.tail_ratio=0.5"], "signals.tail_ratio", "impossible",
      note="p99 is never below p50: every tenant was flagged"),
    E("failures_sla_1_5", [*FAIL, "dedicated.failures.sla=1.5"], "dedicated.failures.sla", "impossible"),
    E("failures_max_attempts_0", [*FAIL, "dedicated.failures.max_attempts=0"], "dedicated.failures.max_attempts", "impossible"),
    E("failures_script_replica_99", ["dedicated.failures.mode=script",
                                     "dedicated.failures.script=[{replica: 99, at_s: 5, down_s: 5}]"],
      "dedicated.failures.script", "impossible"),
    E("failures_script_down_neg", ["dedicated.failures.mode=script",
                                   "dedicated.failures.script=[{at_s: 5, down_s: -5}]"],
      "dedicated.failures.script", "impossible"),
    E("burst_drain_fill_neg", [*BURST, "dedicated.burst.drain_fill=-1"], "dedicated.burst.drain_fill", "impossible"),
    E("burst_max_replicas_neg", [*BURST, "dedicated.burst.max_replicas=-1"], "dedicated.burst.max_replicas", "impossible"),
    E("burst_rate_window_0", [*BURST, "dedicated.burst.rate_window_s=0"], "dedicated.burst.rate_window_s", "impossible"),
    E("interference_minus_1", [*SL, "serverless.interference.per_neighbour=-1"],
      "serverless.interference.per_neighbour", "impossible"),
    E("snapshot_speedup_0", [*SL, "cold_start.snapshots=true", "cold_start.snapshot_speedup=0"],
      "cold_start.snapshot_speedup", "impossible"),
    E("tier_bandwidth_0", [*SL, "cold_start.tiers.object_storage.optimized_gbps=0"],
      "cold_start.tiers.object_storage.optimized_gbps", "impossible"),
    E("tier_stock_bandwidth_neg", [*SL, "cold_start.loader=stock", "cold_start.tiers.object_storage.stock_gbps=-1"],
      "cold_start.tiers.object_storage.stock_gbps", "impossible"),
    E("cold_node_provision_neg", [*SL, "serverless.pool.H100.nodes=1", "serverless.pool.H100.max_nodes=3",
                                  "cold_start.node_provision_s=-1"], "cold_start.node_provision_s", "impossible"),
    E("cold_engine_init_neg", [*SL, "cold_start.engine_init_s=-25"], "cold_start.engine_init_s", "impossible"),
    E("dedicated_speedup_0", ["dedicated.runtime_speedup=0"], "dedicated.runtime_speedup", "impossible"),
    E("serverless_speedup_neg", [*SL, "serverless.runtime_speedup=-2"], "serverless.runtime_speedup", "impossible"),
    E("serverless_max_wait_neg", [*SL, "serverless.max_wait_s=-1"], "serverless.max_wait_s", "impossible"),
    E("min_increment_neg", [*SL, "serverless.billing=gpu_second", "serverless.min_increment_s=-1"],
      "serverless.min_increment_s", "impossible"),
    E("rate_limit_rpm_neg", [*SL, "serverless.rate_limits={chat: {rpm: -5}}"], "serverless.rate_limits.chat.rpm", "impossible"),
    E("rate_limit_concurrency_0", [*SL, "serverless.rate_limits={chat: {concurrency: 0}}"],
      "serverless.rate_limits.chat.concurrency", "impossible"),
    E("keepalive_head_pct_150", [*SL, *KA_HYB, "serverless.keepalive.hybrid.head_pct=150"],
      "serverless.keepalive.hybrid.head_pct", "impossible"),
    E("keepalive_tail_below_head", [*SL, *KA_HYB, "serverless.keepalive.hybrid.head_pct=90",
                                    "serverless.keepalive.hybrid.tail_pct=10"], "serverless.keepalive.hybrid", "impossible"),
    E("gpu_memory_neg", [f"{GPU}.memory_gb=-80"], f"{GPU}.memory_gb", "impossible"),
    E("gpu_bandwidth_0", [f"{GPU}.bandwidth_tbps=0"], f"{GPU}.bandwidth_tbps", "impossible"),
    E("gpu_tflops_neg", [f"{GPU}.tflops.fp8=-1979"], f"{GPU}.tflops.fp8", "impossible"),
    E("model_layers_0", [f"{MOD}.layers=0"], f"{MOD}.layers", "impossible"),
    E("model_kv_heads_0", [f"{MOD}.kv_heads=0"], f"{MOD}.kv_heads", "impossible"),
    E("model_weights_neg", [f"{MOD}.weights_gb.fp8=-8.5"], f"{MOD}.weights_gb.fp8", "impossible"),
    E("model_params_neg", [f"{MOD}.params_b=-8"], f"{MOD}.params_b", "impossible"),
    E("model_max_context_0", [f"{MOD}.max_context=0"], f"{MOD}.max_context", "impossible"),
    OK("prompt_beyond_context", ["tenants.chat.input.kind=fixed", "tenants.chat.input.mean=200000",
                                 "tenants.chat.input.max=200000"], "impossible",
       note="200k-token prompts on a 131,072-token model: rejected on arrival with reason "
       "exceeds_context, counted and named in a warning (workload.overlength=reject, the "
       "default; changed from the first draft, which expected a refusal)"),
    E("prompt_beyond_context_error", ["tenants.chat.input.kind=fixed",
                                      "tenants.chat.input.mean=200000",
                                      "tenants.chat.input.max=200000", "workload.overlength=error"],
      "tenants.chat.input", "impossible"),
    E("output_fixed_mean_neg", ["tenants.chat.output.kind=fixed", "tenants.chat.output.mean=-5"],
      "tenants.chat.output.mean", "impossible"),
    E("input_min_neg", ["tenants.chat.input.min=-5"], "tenants.chat.input", "impossible"),
    E("tp_3_heads", [f"{DEP}.tp=3"], f"{DEP}.tp", "impossible", note="32 heads / 8 KV heads do not split 3 ways"),
    E("activation_reserve_neg", [f"{DEP}.activation_reserve_gb=-100"], f"{DEP}.activation_reserve_gb", "impossible",
      note="a negative reserve would add memory"),
    E("table_kv_capacity_neg", [*TABLE[:2], f"{DEP}.perf.kv_capacity_tokens=-100"],
      f"{DEP}.perf.kv_capacity_tokens", "impossible", files={"t.csv": TABLE_GOOD}),

    # ======================================== tiny durations that explode event counts
    E("onoff_tiny_periods", [*ONOFF, f"{A}.on_s=1e-7", f"{A}.off_s=1e-7"], f"{A}.on_s|{A}.off_s", "tiny",
      note="2e8 on/off periods in 20 s"),
    E("burst_check_interval_1e-12", [*BURST, "dedicated.burst.check_interval_s=1e-12"],
      "dedicated.burst.check_interval_s", "tiny"),
    E("autoscaler_tick_1e-9", [*SL, "serverless.autoscaler.tick_s=1e-9"], "serverless.autoscaler.tick_s", "tiny"),
    E("sinusoid_period_1e-9", [*SIN, f"{A}.period_s=1e-9"], f"{A}.period_s", "tiny"),
    E("keepalive_bin_1e-9", [*SL, *KA_HYB, "serverless.keepalive.hybrid.bin_s=1e-9"],
      "serverless.keepalive.hybrid.bin_s", "tiny"),
    E("failures_mtbf_1e-12", [*FAIL, "dedicated.failures.mtbf_gpu_hours=1e-12"],
      "dedicated.failures.mtbf_gpu_hours", "tiny"),
    E("trace_loop_time_scale_1e-9", [*TRACE, f"{A}.trace.loop=true", f"{A}.trace.time_scale=1e-9"],
      f"{A}.trace.time_scale", "tiny", files={"a.csv": AZ_GOOD}, note="the 5 s trace looped 4e9 times"),
    E("trace_single_request_loop", [*TRACE, f"{A}.trace.loop=true"], f"{A}.trace|a.csv", "tiny",
      files={"a.csv": AZ_HEADER + AZ_ROWS[0]}, note="a trace of duration 0 cannot be looped"),
    OK("closed_think_1e-9", [*CLOSED, f"{A}.think_s=1e-9"], "tiny",
       note="README: any small positive turnaround is meaningful"),

    # ================================================================ malformed files
    E("azure_infinity_tokens", [*TRACE, *LEN], "a.csv:3", "file",
      files={"a.csv": _az("2023-11-16 18:17:01.0000000,Infinity,21\n")}),
    E("azure_1e30_tokens", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,1e30,21\n")}),
    E("azure_20_digit_tokens", [*TRACE, *LEN], "a.csv:3", "file",
      files={"a.csv": _az("2023-11-16 18:17:01.0000000,99999999999999999999,21\n")}),
    E("azure_negative_tokens", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,-5,21\n")}),
    E("azure_negative_generated", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,110,-1\n")}),
    E("azure_nan_tokens", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,NaN,21\n")}),
    E("azure_zero_prompt", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,0,21\n")}),
    E("azure_fractional_tokens", [*TRACE, *LEN], "a.csv:3", "file", files={"a.csv": _az("2023-11-16 18:17:01.0000000,10.5,21\n")}),
    E("mooncake_ts_infinity", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": Infinity, "input_length": 5, "output_length": 3}\n')}),
    E("mooncake_ts_nan", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": NaN, "input_length": 5, "output_length": 3}\n')}),
    E("mooncake_ts_neg_infinity_first", [*MC, *LEN], "m.jsonl:1", "file",
      files={"m.jsonl": '{"timestamp": -Infinity, "input_length": 5, "output_length": 3}\n' + MC_LINE3}),
    E("mooncake_len_1e30", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": 1000, "input_length": 1e30, "output_length": 3}\n')}),
    E("mooncake_len_20_digit", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": 1000, "input_length": 99999999999999999999, "output_length": 3}\n')}),
    E("mooncake_output_negative", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": 1000, "input_length": 5, "output_length": -3}\n')}),
    E("mooncake_bool_length", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": 1000, "input_length": true, "output_length": 3}\n')}),
    E("mooncake_not_an_object", [*MC, *LEN], "m.jsonl:2", "file", files={"m.jsonl": _mc("[1000, 5, 3]\n")}),
    E("pmf_sum_0_7", PMF, "p.csv", "file", files={"p.csv": "tokens,probability\n100,0.5\n200,0.2\n"},
      note="probabilities that do not sum to 1 are a mistake, not a shape"),
    E("pmf_sum_2", PMF, "p.csv", "file", files={"p.csv": "tokens,probability\n100,1.5\n200,0.5\n"}),
    E("pmf_nan_probability", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\n200,NaN\n"}),
    E("pmf_inf_probability", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\n200,inf\n"}),
    E("pmf_value_1e30", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\n1e30,0.5\n"}),
    E("pmf_value_fractional", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\n2.5,0.5\n"}),
    E("pmf_value_inf", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\ninf,0.5\n"}),
    E("pmf_header_only", PMF, "p.csv", "file", files={"p.csv": "tokens,probability\n"}),
    E("curve_inf_rate", CURVE, "c.csv:3", "file", files={"c.csv": "time_s,rate\n0,1\n10,inf\n20,1\n"}),
    E("curve_inf_time", CURVE, "c.csv:3", "file", files={"c.csv": "time_s,rate\n0,1\ninf,2\n"}),
    E("curve_nan_rate", CURVE, "c.csv:3", "file", files={"c.csv": "time_s,rate\n0,1\n10,nan\n20,1\n"}),
    E("curve_columns_swapped", CURVE, "c.csv:1", "file", files={"c.csv": "rate,time_s\n1,0\n2,10\n3,20\n"},
      note="read by position: rates taken for times (the sweep of December 2026)"),
    E("curve_unsorted_time", CURVE, "c.csv:4", "file", files={"c.csv": "time_s,rate\n0,1\n20,2\n10,1\n"}),
    E("table_inf_step_time", TABLE, "t.csv:3", "file",
      files={"t.csv": TABLE_GOOD.replace("0,8192,0.3", "0,8192,inf")}),
    E("table_nan_step_time", TABLE, "t.csv:2", "file",
      files={"t.csv": TABLE_GOOD.replace("0,0,0.002", "0,0,nan")}),
    E("table_zero_step_times", TABLE, "t.csv", "file",
      files={"t.csv": "decode_seqs,prefill_tokens,step_time_s\n0,0,0\n0,8192,0\n256,0,0\n256,8192,0\n"},
      note="zero-time iterations: infinite throughput, an endless loop"),
    E("table_single_point", TABLE, "t.csv", "file", files={"t.csv": "decode_seqs,prefill_tokens,step_time_s\n1,1,0.01\n"}),
    E("servegen_inf_rate", SG, "s.csv:2", "file", files={"s.csv": SG_HEADER + "7,0,inf,Gamma,0.5,4.0\n"}),
    E("servegen_inf_shape", SG, "s.csv:2", "file", files={"s.csv": SG_HEADER + "7,0,0.5,Weibull,inf,4.0\n"}),
    # added by the hostile-input sweep of December 2026 (each was a traceback, a hang or a
    # silent merge before its fix)
    E("mooncake_nested_too_deep", [*MC, *LEN], "m.jsonl:1", "file", files={"m.jsonl": "[" * 100000 + "]" * 100000 + "\n"}),
    E("mooncake_5000_digit_timestamp", [*MC, *LEN], "m.jsonl:2", "file",
      files={"m.jsonl": _mc('{"timestamp": ' + "9" * 5000 + ', "input_length": 5, "output_length": 3}\n')}),
    E("table_binary", TABLE, "t.csv:1", "file", files={"t.csv": bytes(range(128, 256)) * 8}),
    E("table_point_twice", TABLE, "t.csv:3", "file",
      files={"t.csv": TABLE_GOOD.replace("0,0,0.002\n", "0,0,0.002\n0,0,0.003\n")}),
    E("servegen_truncated_gz", [SG[0], SG[2], "background.servegen.path={dir}/s.csv.gz"], "s.csv.gz", "file",
      files={"s.csv.gz": gzip.compress((SG_HEADER + "7,0,0.5,Gamma,0.5,4.0\n").encode())[:30]}),
    E("servegen_gamma_shape_1e-300", SG, "s.csv:2", "file", files={"s.csv": SG_HEADER + "7,0,0.5,Gamma,1e-300,4.0\n"},
      note="was a hang: every gap drawn is zero"),
    E("servegen_weibull_shape_0_005", SG, "s.csv:2", "file", files={"s.csv": SG_HEADER + "7,0,0.5,Weibull,0.005,4.0\n"}),
    E("servegen_window_twice", SG, "s.csv:3", "file",
      files={"s.csv": SG_HEADER + "7,0,0.5,Gamma,0.5,4.0\n7,0,0.9,Gamma,0.5,4.0\n"}, note="the rates added up"),
    E("servegen_fractional_client", SG, "s.csv:2", "file", files={"s.csv": SG_HEADER + "7.5,0,0.5,Gamma,0.5,4.0\n"},
      note="was read as client 7"),

    # ============================================================ output folder issues
    dict(id="rundir_in_proc", args=[H, *COMMON[:3], "hydra.run.dir=/proc/servesim_hostile_x"], files={},
         expect="error", key="/proc/servesim_hostile_x", kind="output"),
    dict(id="rundir_is_a_file", args=[H, *COMMON[:3], "hydra.run.dir={dir}/f"], files={"f": "not a folder\n"},
         expect="error", key="{dir}/f", kind="output"),
    dict(id="rundir_under_a_file", args=[H, *COMMON[:3], "hydra.run.dir={dir}/f/sub"], files={"f": "x\n"},
         expect="error", key="{dir}/f", kind="output"),
    dict(id="rundir_dev_null", args=[H, *COMMON[:3], "hydra.run.dir=/dev/null"], files={},
         expect="error", key="/dev/null", kind="output"),
    dict(id="sweepdir_in_proc", args=["-m", H, "seed=0,1", *COMMON[:3], "hydra.sweep.dir=/proc/servesim_hostile_y"],
         files={}, expect="error", key="/proc/servesim_hostile_y", kind="output"),
    OK("rundir_reuse_parquet_off", ["tenants.chat.arrival.rate_rps=1", "output.parquet=false"], "output",
       pre=[[H, "setups=[serverless]", *COMMON]], check="fresh_outputs",
       note="the first run's requests.parquet must not sit next to the second run's summary.csv"),
    OK("rundir_reuse_replications", ["replications=1"], "output",
       pre=[[H, "replications=2", *COMMON]], check="fresh_outputs",
       note="replications.csv of the first run must not survive into the second"),
    OK("rundir_reuse_failures", [], "output",
       pre=[[H, *FAIL, "dedicated.failures.mtbf_gpu_hours=0.01", *COMMON]], check="fresh_outputs",
       note="the availability tables of a failures run must not survive a plain rerun"),
    OK("rundir_reuse_setups", ["setups=[dedicated]", "seed=1"], "output",
       pre=[[H, "setups=[serverless,dedicated]", *COMMON]], check="fresh_outputs"),
    E("rundir_reuse_then_bad_input", [f"{A}.rate_rps=-1"], f"{A}.rate_rps", "output",
      pre=[[H, *COMMON]], check="consistent"),

    # ======================================================== sweeps with a bad value
    SW("sweep_rate_negative", [f"{A}.rate_rps=1,-1"], f"{A}.rate_rps"),
    SW("sweep_rate_inf", [f"{A}.rate_rps=2,inf"], f"{A}.rate_rps"),
    SW("sweep_horizon_nan", ["horizon_s=20,nan"], "horizon_s"),
    SW("sweep_seed_negative", ["seed=0,-1"], "seed"),
    SW("sweep_unknown_gpu", [f"{DEP}.gpu=H100,X100"], f"{DEP}.gpu"),
    SW("sweep_efficiency_1_5", [f"{GPU}.efficiency.fp8.memory=0.9,1.5"], f"{GPU}.efficiency.fp8.memory"),
    SW("sweep_bad_arrival_kind", [f"{A}.kind=poisson,turbo"], f"{A}.kind"),
    SW("sweep_replications_0", ["replications=1,0"], "replications"),
    SW("sweep_range_step_0", ["seed=range(0,5,0)"], "cannot expand a sweep", note="a traceback"),

    # ===================================================== unknown names in dict keys
    E("tenant_new_unknown_model", ["tenants.x.model=nonexistent"], "tenants.x.model", "unknown"),
    E("deployment_unknown_model", ["deployments.nope.gpu=H100"], "deployments.nope", "unknown"),
    E("pool_unknown_gpu", [*SL, "serverless.pool.ZZZ.nodes=1"], "serverless.pool.ZZZ", "unknown"),
    E("replicas_unknown_model", ["dedicated.replicas.nope=2"], "dedicated.replicas.nope", "unknown"),
    E("placement_unknown_name", [*HYB, "hybrid.placement.nope=dedicated"], "hybrid.placement.nope", "unknown"),
    E("placement_bad_tier", ["setups=[hybrid]", "dedicated.replicas.llama31-8b=1", "hybrid.placement.llama31-8b=gpu"], "hybrid.placement.llama31-8b", "unknown"),
    E("rate_limit_unknown_tenant", [*SL, "serverless.rate_limits={nobody: {rpm: 10}}"], "serverless.rate_limits.nobody", "unknown"),
    E("rate_limit_new_entry_dotted", [*SL, "serverless.rate_limits.chat.rpm=10"], "serverless.rate_limits.chat", "unknown",
      note="README's key table spells it serverless.rate_limits.<tenant>; a dotted new entry must name the full key"),
    E("tenant_new_unknown_model_braces", ["tenants={x: {model: nonexistent}}"], "tenants.x.model", "unknown"),
    E("deployment_unknown_model_braces", ["deployments={nope: {gpu: H100}}"], "deployments.nope", "unknown",
      note="a deployment of a model the catalog does not have"),
    E("pool_unknown_gpu_braces", [*SL, "serverless.pool={ZZZ: {nodes: 1}}"], "serverless.pool.ZZZ", "unknown"),
    E("catalog_gpu_incomplete_braces", ["catalog.gpus={X1: {name: x1, memory_gb: 80}}", f"{DEP}.gpu=X1"],
      "catalog.gpus.X1", "unknown", note="bandwidth_tbps, tflops and prices missing"),
    E("min_replicas_unknown_model", [*SL, "serverless.autoscaler.min_replicas.nope=1"],
      "serverless.autoscaler.min_replicas.nope", "unknown"),
    E("engine_init_unknown_model", [*SL, "cold_start.engine_init_s_by_model.nope=5"],
      "cold_start.engine_init_s_by_model.nope", "unknown"),
    E("burst_storage_tier_unknown", [*BURST, "dedicated.burst.storage_tier=floppy"], "dedicated.burst.storage_tier", "unknown"),
    E("failures_reload_tier_unknown", [*FAIL, "dedicated.failures.reload_tier=floppy"],
      "dedicated.failures.reload_tier", "unknown"),
    E("failures_script_unknown_model", ["dedicated.failures.mode=script",
                                        "dedicated.failures.script=[{model: nope, at_s: 5, down_s: 5}]"],
      "dedicated.failures.script", "unknown"),
    E("remote_tier_unknown", [*SL, "cold_start.remote_tier=floppy"], "cold_start.remote_tier", "unknown"),
    E("preloaded_tier_unknown", [*SL, "cold_start.preloaded_tier=floppy"], "cold_start.preloaded_tier", "unknown"),
    E("loader_unknown", [*SL, "cold_start.loader=turbo"], "cold_start.loader", "unknown"),
    E("kv_dtype_unknown", [f"{DEP}.kv_dtype=int3"], f"{DEP}.kv_dtype", "unknown"),
    E("precision_fp4_on_h100", [f"{DEP}.precision=fp4"], f"{DEP}.precision", "unknown"),
    E("precision_unknown", [f"{DEP}.precision=fp3"], f"{DEP}.precision", "unknown"),
    E("signals_current_unknown", ["signals.current=nope"], "signals.current", "unknown"),
    E("objective_setup_unknown", ["objective.setup=nope"], "objective.setup", "unknown"),
    E("objective_cost_unknown", ["objective.cost=nope_col"], "objective.cost", "unknown"),
    E("background_models_unknown", [*BG, "background.synthetic.models=[nope]"], "background.synthetic.models", "unknown"),
    E("job_unknown", ["job=nope"], "job", "unknown"),
    E("catalog_gpu_incomplete", ["catalog.gpus.X1.memory_gb=80", f"{DEP}.gpu=X1"], "catalog.gpus.X1", "unknown",
      note="a new GPU class with most fields missing"),
    E("catalog_model_incomplete", ["catalog.models.m1.layers=32", "tenants.chat.model=m1"], "catalog.models.m1", "unknown"),

    # ===================================================================== wrong types
    E("rate_is_a_list", [f"{A}.rate_rps=[1,2]"], f"{A}.rate_rps", "type"),
    E("replicas_fractional", ["dedicated.replicas.llama31-8b=1.5"], "dedicated.replicas.llama31-8b", "type"),
    E("arrival_is_a_number", [f"{A}=5"], A, "type"),
    E("replications_fractional", ["replications=2.5"], "replications", "type"),
    E("model_null", ["tenants.chat.model=null"], "tenants.chat.model", "type"),
    E("setups_empty", ["setups=[]"], "setups", "type"),
    E("tenants_none_left", ["~tenants.chat"], "tenants", "type", note="no tenant at all"),
    E("horizon_bool", ["horizon_s=true"], "horizon_s", "type"),
    E("seed_fractional", ["seed=1.5"], "seed", "type"),
    E("tp_word", [f"{DEP}.tp=two"], f"{DEP}.tp", "type"),
    E("slo_word", ["tenants.chat.slo_ttft_s=fast"], "tenants.chat.slo_ttft_s", "type"),
    E("fanout_fractional", ["pipelines={p: {stages: {a: {model: llama31-8b, fanout: 2.5}}}}", "tenants.chat.pipeline=p"],
      "pipelines.p.stages.a.fanout", "type"),
    E("pool_nodes_fractional", [*SL, "serverless.pool.H100.nodes=1.5"], "serverless.pool.H100.nodes", "type"),
    E("stage_kind_unknown", ["pipelines={p: {stages: {a: {kind: gpu, model: llama31-8b}}}}", "tenants.chat.pipeline=p"],
      "pipelines.p.stages.a.kind", "type"),
    E("spillover_enabled_word", [*HYB, "hybrid.spillover.enabled=maybe"], "hybrid.spillover.enabled", "type"),

    # ============================ added by the hostile-input sweep of December 2026 (each was a
    # traceback, an extra stderr line or a silent run before its fix)
    E("override_without_key", ["=5"], "'=5'", "type", note="Hydra took it for a config group: a traceback"),
    E("delete_a_schema_key", ["~horizon_s"], "horizon_s", "type",
      note="ran 600 s (the default) over the horizon_s=20 given before it"),
    E("delete_a_schema_section", ["~dedicated.burst"], "dedicated.burst", "type"),
    E("calibration_rows_empty", ["experiment=calibration", "calibration.rows=[]"], "calibration.rows", "type",
      note="a traceback (KeyError 'role')"),
    E("compound_mixed_placement_bad_tier", ["experiment=compound", "compound.mixed_placement={llama31-8b: moon}"],
      "compound.mixed_placement.llama31-8b", "unknown",
      note="refused mid-run under hybrid.placement, with Hydra's 'Error executing job' line"),
    E("hydra_flag_unknown", ["--nope"], "--nope", "unknown", note="argparse's usage block: nine lines"),
    E("hydra_flag_bad_choice", ["--cfg", "nope"], "--cfg", "unknown"),
    OK("hydra_flag_after_an_override", ["--cfg", "job"], "type",
       note="Hydra's parser stopped with its usage on a flag after an override"),
    E("objective_setup_not_run", ["objective.setup=serverless"], "objective.setup", "unknown",
      note="ran, the objective silently None"),
    E("name_climbs_out_of_results", ["name=a/../../.."], "name", "unknown",
      note="the run folder was made outside results/"),
    E("model_kv_heads_not_dividing", [f"{MOD}.kv_heads=5"], f"{MOD}.kv_heads", "impossible",
      note="ran: 32 query heads cannot share 5 KV heads evenly"),
    E("servegen_background_client_twice", [*SG[:2], "background.servegen.client_ids=[7,7]"],
      "background.servegen.client_ids", "impossible", files={"s.csv": SG_GOOD},
      note="ran two background tenants both named bg/sg7"),
    E("plus_adds_unknown_key", ["+nope=1"], "nope", "unknown", note="ran, the key unread"),
    E("plusplus_adds_unknown_nested_key", ["++dedicated.nope=1"], "dedicated.nope", "unknown"),
    OK("plusplus_sets_a_known_key", ["++horizon_s=10"], "type"),
    OK("plus_adds_a_note", ["+notes.why=testing"], "type", note="notes are free-form"),
    E("tenant_named_all", ["tenants={__all__: {model: llama31-8b}}"], "tenants.__all__", "unknown",
      note="the __all__ summary row: a traceback"),
    E("tenant_named_like_background", ["tenants={bg/syn000: {model: llama31-8b}}"], "tenants.bg/syn000",
      "unknown", note="background tenant bg/syn000's name and random streams"),
    E("docs_pool_2e9", ["tenants.chat.prefix.docs.count=2000000000"], "tenants.chat.prefix.docs.count", "huge",
      note="hung building a 2e9-entry popularity table (the sweep of December 2026)"),
    E("docs_per_request_2e9", ["tenants.chat.prefix.docs.count=3", "tenants.chat.prefix.docs.tokens=1",
                               "tenants.chat.prefix.docs.per_request=2000000000"],
      "tenants.chat.prefix.docs.per_request", "huge"),
    E("background_tenants_beyond_int16", [*BG[:1], "background.synthetic.tenants=40000"],
      "background.synthetic.tenants", "huge", note="the request log's int16 tenant index: a traceback"),
    E("all_tenants_beyond_int16", [*BG[:1], "background.synthetic.tenants=32767"], "background", "huge",
      note="with the user's tenant, one more than the int16 index holds"),
    E("objective_tenant_unknown", ["objective.tenant=nobody"], "objective.tenant", "unknown",
      note="ran, the objective silently None"),
    OK("objective_tenant_model_row", ["objective.tenant=__model__:llama31-8b"], "unknown"),
    E("searchpath_missing_folder", ["hydra.searchpath=[file://{dir}/nope]"], "hydra.searchpath", "file",
      note="Hydra's warning made the error three lines"),
    E("catalog_not_yaml", ["hydra.searchpath=[file://{dir}]", "catalog=mine"], "catalog/mine.yaml:5", "file",
      files={"catalog/mine.yaml": "# @package catalog\ngpus:\n  H100:\n    memory_gb: 80\n\tname: tabbed\n"}),
    E("catalog_duplicate_key", ["hydra.searchpath=[file://{dir}]", "catalog=mine"], "catalog/mine.yaml:5", "file",
      files={"catalog/mine.yaml": "# @package catalog\ngpus:\n  H100:\n    memory_gb: 80\n    memory_gb: 40\n"}, note="YAML refuses it; was a traceback"),
    E("catalog_a_number", ["hydra.searchpath=[file://{dir}]", "catalog=mine"], "catalog/mine.yaml", "file",
      files={"catalog/mine.yaml": "# @package catalog\n5\n"}),

    # ============================ the items that sweep noticed and left alone, fixed later in
    # December 2026 (each exited 0 with a silent merge, drop or rejection before its fix)
    E("pmf_token_count_twice", PMF, "p.csv:4", "file",
      files={"p.csv": "tokens,probability\n100,0.5\n200,0.25\n100,0.25\n"},
      note="the two rows' probabilities were added up"),
    E("failure_script_after_horizon", ["dedicated.failures.mode=script",
                                       "dedicated.failures.script=[{at_s: 5, down_s: 5}, {at_s: 5000, down_s: 10}]"],
      "dedicated.failures.script[1].at_s", "impossible",
      note="ran; the failure never happened and nothing said so (open arrivals stop at the horizon)"),
    SW("sweep_glob_matches_nothing", ["experiment=glob(zzz*)"], "experiment=glob(zzz*)",
       note="'sweep: 0 of 0 jobs finished', exit 0"),
    SW("sweep_empty_range", ["seed=range(3,3)"], "seed=range(3,3)"),
    E("spot_job_given_spot_replicas", ["experiment=spot", "dedicated.spot.replicas.llama31-8b=1"],
      "dedicated.spot.replicas.llama31-8b", "impossible",
      note="the spot job set its own mixes in every variant: the value went unused, unsaid"),

    # ============================ added by the third sweep of December 2026 (file encodings,
    # odd files, YAML oddities in overrides; each failed on the code before its fix)
    OK("azure_trace_with_bom", TRACE, "file", files={"a.csv": "\ufeff" + AZ_GOOD},
       note="a spreadsheet's UTF-8 byte-order mark: 'missing column TIMESTAMP' beside a header "
            "that showed TIMESTAMP (the PMF and rate-curve readers, through pandas, took it)"),
    OK("mooncake_trace_with_bom", MC, "file", files={"m.jsonl": "\ufeff" + _mc(MC_LINE1.replace("0,", "1000,", 1))}),
    OK("perf_table_with_bom", TABLE, "file", files={"t.csv": "\ufeff" + TABLE_GOOD}),
    E("rate_curve_a_directory", CURVE, "curve_path': a file rate curve (CSV time_s,rate) file not "
      "found (or not a regular file)", "file", files={"c.csv/x": ""},
      note="said 'not found' of a folder that is there"),
    E("override_dict_key_twice", ["dedicated.replicas={llama31-8b: 1, llama31-8b: 3}"],
      "dedicated.replicas.llama31-8b", "type", note="ran on 3 replicas, the 1 dropped silently"),
    E("override_nested_dict_key_twice",
      ["tenants={chat: {model: llama31-8b, arrival: {rate_rps: 1, rate_rps: 2}}}"],
      "tenants.chat.arrival.rate_rps", "type"),
    E("seed_just_beyond_2_128", ["seed=340282366920938463463374607431768211457"],
      "'seed': must be <= 340282366920938463463374607431768211456, got "
      "340282366920938463463374607431768211457", "huge",
      note="'must be <= 3.40282e+38, got 3.40282e+38': the value looked within the bound"),
    E("rate_curve_name_too_long", [f"{A}.curve=file", f"{A}.curve_path={{dir}}/{'x' * 300}.csv"],
      f"{A}.curve_path", "file", note="a file name over 255 bytes: Hydra's 'Error executing job' "
                                     "line (an OSError) before the message"),
    E("pmf_name_too_long", ["tenants.chat.output.kind=empirical", f"tenants.chat.output.path={'p' * 300}.csv"],
      "tenants.chat.output.path", "file", note="a relative name: the project-root fallback's exists()"),
    OK("preemption_trace_with_bom", ["dedicated.replicas.llama31-8b=2", "dedicated.spot.replicas.llama31-8b=1",
                                     "dedicated.spot.preemption.mode=trace",
                                     "dedicated.spot.preemption.trace={dir}/sp.csv"], "file",
       files={"sp.csv": "\ufefftime_s,model,replica\n2,llama31-8b,0\n"}),
    E("hydra_flags_cfg_and_info", ["--info", "--cfg", "job"], "--cfg, --info", "type",
      note="Hydra's ValueError 'Only one of --run, --multirun, --cfg ...': a traceback"),
    E("hydra_flags_run_and_multirun", ["--run", "--multirun"], "--run, --multirun", "type"),
    E("experiment_a_list", ["experiment=[default,spot]"], "experiment", "type",
      note="Hydra merged the two experiments into one config and ran it"),
    E("boolean_given_2", ["output.report=2"], "output.report", "type",
      note="ran: OmegaConf takes any number but 0 for true"),
    E("boolean_given_minus_1", ["dedicated.burst.enabled=-1"], "dedicated.burst.enabled", "type"),
    OK("boolean_given_0", ["dedicated.burst.enabled=0"], "type", note="0 and 1 read as false and true"),
    E("run_folder_empty_string", ["hydra.run.dir=''"], "hydra.run.dir", "output",
      note="Hydra took '' for the working directory and wrote the run's files among its own"),
    E("experiment_null", ["experiment=null"], "experiment", "unknown",
      note="Hydra's ValueError 'Config group override must be a string or a list': a traceback"),
    E("catalog_group_a_number", ["catalog=5"], "catalog", "unknown"),

    # ============================ items the third sweep left alone, fixed afterwards (December
    # 2026); each exited 0 with a silent change before its fix
    E("key_twice_on_command_line", ["horizon_s=10", "horizon_s=20"], "horizon_s", "type",
      note="ran 20 s: the last value won silently, as in Hydra"),
    E("key_twice_dotted", [f"{A}.rate_rps=1", f"{A}.rate_rps=2"], f"{A}.rate_rps", "type"),
    E("key_twice_dotted_and_braces", [f"{A}.rate_rps=1", f"{A}={{rate_rps: 2}}"], f"{A}.rate_rps",
      "type", note="the braces were merged over the dotted value"),
    E("key_twice_in_two_braces", ["dedicated.replicas={llama31-8b: 1}", "dedicated.replicas={llama31-8b: 3}"],
      "dedicated.replicas.llama31-8b", "type"),
    E("key_twice_plus_forms", ["+notes.why=a", "++notes.why=b"], "notes.why", "type"),
    E("run_folder_twice", ["hydra.run.dir={dir}/other", "hydra.run.dir={dir}/out"], "hydra.run.dir", "output",
      note="the run went to the last folder given"),
    SW("sweep_key_twice", ["seed=0,1", "seed=2"], "seed", note="the sweep ran seed 2 alone"),
    OK("key_twice_after_its_deletion", ["~tenants.chat", "tenants.chat={model: llama31-8b}"], "type",
       note="a pin: deleting an entry and giving it again is a replacement, not a key given twice"),
    E("claims_ignores_tenants", ["experiment=claims", "claims.quick=true", "claims.only=[h100_monthly_cost]",
                                 "tenants.x={model: llama31-8b}"], "tenants", "unknown",
      note="claims builds its scenarios from experiment files: the override went unread, unsaid"),
    E("claims_ignores_setups", ["experiment=claims", "claims.quick=true", "claims.only=[h100_monthly_cost]",
                                "setups=[serverless]"], "setups", "unknown"),
    E("calibration_ignores_horizon", ["experiment=calibration", "calibration.rows=[trt013-8b-l40s-fp8]",
                                      "horizon_s=5"], "horizon_s", "unknown"),
    E("name_with_newline", ["name='a\nb'"], "name", "output",
      note="made the folder results/a<newline>b (a name with a line break in it)"),
    E("name_with_tab", ["name='a\tb'"], "name", "output"),

    # ============================ a fourth sweep (December 2026): a column or JSON key given
    # twice in a data file (a traceback, or one of the two values used silently)
    E("azure_trace_column_twice", TRACE, "a.csv:1", "file",
      files={"a.csv": AZ_HEADER.strip() + ",TIMESTAMP\n" + "".join(r.strip() + ",x\n" for r in AZ_ROWS)},
      note="pandas' AttributeError ('DataFrame' object has no attribute 'str'): a traceback"),
    E("perf_table_column_twice", TABLE, "t.csv:1", "file",
      files={"t.csv": "decode_seqs,prefill_tokens,step_time_s,step_time_s\n"
                      "0,0,0.002,1\n0,8192,0.3,1\n256,0,0.02,1\n256,8192,0.35,1\n"},
      note="ran on the second step_time_s column (1 s per step), the first dropped silently"),
    E("servegen_column_twice", SG, "s.csv:1", "file",
      files={"s.csv": SG_HEADER.strip() + ",rate_rps\n7,0,0.5,Gamma,0.5,4.0,9\n7,600,0.5,Weibull,0.8,2.0,9\n"},
      note="ran on the first rate_rps column, the second ignored silently"),
    E("mooncake_key_twice", MC, "m.jsonl:2", "file",
      files={"m.jsonl": _mc(MC_LINE1.replace("}", ', "timestamp": 500}'))},
      note="JSON keeps the last of a key given twice: the request ran at 500 ms, not 0"),
    SW("sweep_value_twice", ["seed=1,1"], "seed", note="ran the same job twice, counted twice in the sweep's summary"),
    SW("sweep_subdir_climbs_out", ["seed=0,1", "hydra.sweep.subdir=.."], "hydra.sweep.subdir",
       note="both jobs wrote into the sweep's parent folder, the second over the first; "
            "'sweep: 0 of 0 jobs finished', exit 0"),
    SW("sweep_subdir_constant", ["seed=0,1", "hydra.sweep.subdir=job"], "hydra.sweep.subdir",
       note="every job in one folder: each run deleted the one before"),
    SW("sweep_n_jobs_0", ["seed=0,1", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs",
       note="joblib's ValueError: a traceback"),
    SW("optimize_zero_trials", ["experiment=optimize", "horizon_s=1", "hydra.sweeper.n_trials=0"],
       "hydra.sweeper.n_trials", note="Optuna's 'No trials are completed yet': a traceback"),
    E("interpolation_unknown_key", ["horizon_s=${nope}"], "horizon_s", "unknown",
      note="'error: Interpolation key 'nope' not found', naming no key (Hydra's list of the "
           "job's overrides resolved their text)"),
    E("interpolation_env_unset", ["notes.x=${oc.env:SERVESIM_HOSTILE_UNSET}"], "notes.x", "unknown"),
    OK("trace_relative_path_with_chdir", [f"{A}.kind=trace", f"{A}.trace.path=a.csv", "hydra.job.chdir=true"],
       "file", files={"a.csv": AZ_GOOD},
       note="Hydra's chdir into the run folder made a.csv, next to the command, 'not found'"),
    E("hydra_experimental_rerun", ["--experimental-rerun", "{dir}/config.pickle"], "--experimental-rerun",
      "unknown", note="Hydra's warning that the other arguments are ignored, then a FileNotFoundError "
                      "traceback (no run writes the pickle it reads)"),
    E("servegen_tenants_clients_and_ids", [*SGT, "tenants_from.servegen.clients=1",
                                           "tenants_from.servegen.client_ids=[8]"],
      "tenants_from.servegen.clients", "impossible", files={"s.csv": SG2},
      note="client_ids won, clients=1 went unread, unsaid"),
    E("servegen_tenants_more_clients_than_active", [*SGT, "tenants_from.servegen.clients=5"],
      "tenants_from.servegen.clients", "impossible", files={"s.csv": SG2},
      note="ran the 2 clients the file has, unsaid"),
    E("servegen_tenant_name_taken", [*SGT, "tenants_from.servegen.client_ids=[7]",
                                    "tenants.sg-7={model: llama31-8b, arrival: {rate_rps: 9}}"],
      "tenants.sg-7", "impossible", files={"s.csv": SG2},
      note="the generated tenant replaced the user's own sg-7, unsaid"),
    E("servegen_background_more_clients_than_active", ["setups=[serverless]", "background.servegen.path={dir}/s.csv",
                                                       "background.servegen.clients=5"],
      "background.servegen.clients", "impossible", files={"s.csv": SG2},
      note="ran with the 2 clients the file has, unsaid"),
    E("servegen_background_clients_and_ids", ["setups=[serverless]", "background.servegen.path={dir}/s.csv",
                                              "background.servegen.clients=1", "background.servegen.client_ids=[8]"],
      "background.servegen.clients", "impossible", files={"s.csv": SG2}),

    # ============================ a fifth sweep (December 2026): settings no part of the run
    # reads (another job's keys, a mode the config does not choose), lists holding a value
    # twice, a fractional fixed length; each ran, the value unread or merged, unsaid
    E("another_jobs_key", ["plan.tp=[1]"], "plan.tp", "unknown",
      note="read by experiment=plan only: the simulate job ran without it"),
    E("another_jobs_key_keepalive", ["keepalive.fixed_idle_s=[5]"], "keepalive.fixed_idle_s", "unknown"),
    E("keepalive_timeout_twice", ["experiment=keepalive", "keepalive.fixed_idle_s=[5,5]"],
      "keepalive.fixed_idle_s", "impossible", note="the same policy run twice, two rows"),
    E("noisy_levels_empty", ["experiment=noisy_neighbour", "noisy_neighbour.background_levels=[]"],
      "noisy_neighbour.background_levels", "impossible", note="ran level 0 alone"),
    E("compound_bursty_setup_twice", ["experiment=compound", "compound.bursty_setups=[serverless,serverless]"],
      "compound.bursty_setups", "impossible"),
    E("failure_script_without_mode_script", ["dedicated.failures.script=[{at_s: 5, down_s: 5}]"],
      "dedicated.failures.script", "impossible", note="mode none: no failure, unsaid"),
    E("failure_script_with_mode_random", [*FAIL, "dedicated.failures.script=[{at_s: 5, down_s: 5}]"],
      "dedicated.failures.script", "impossible"),
    E("trace_path_without_trace_kind", [f"{A}.trace.path={{dir}}/a.csv"], f"{A}.trace.path", "unknown",
      files={"a.csv": AZ_GOOD}, note="Poisson arrivals, the trace unread"),
    E("servegen_path_without_servegen_kind", [f"{A}.servegen.path={{dir}}/s.csv"], f"{A}.servegen.path",
      "unknown", files={"s.csv": SG_GOOD}),
    E("curve_path_without_curve_file", [*SIN, f"{A}.curve_path={{dir}}/c.csv"], f"{A}.curve_path", "unknown",
      files={"c.csv": "time_s,rate\n0,1\n10,2\n"}, note="the sinusoid ran, the file unread"),
    E("length_path_without_empirical", ["tenants.chat.input.kind=fixed", "tenants.chat.input.path={dir}/p.csv"],
      "tenants.chat.input.path", "unknown", files={"p.csv": "tokens,probability\n100,1\n"}),
    E("length_column_without_empirical", ["tenants.chat.input.column=input_tokens"],
      "tenants.chat.input.column", "unknown"),
    E("tool_stage_with_model", ["pipelines={p: {stages: {a: {kind: tool, model: llama31-8b}}}}",
                                "tenants.chat.pipeline=p"], "pipelines.p.stages.a.model", "unknown",
      note="a 50 ms tool stage, no model called"),
    E("stage_after_twice", ["pipelines={p: {stages: {a: {model: llama31-8b}, b: {model: llama31-8b, after: [a, a]}}}}",
                            "tenants.chat.pipeline=p"], "pipelines.p.stages.b.after", "impossible"),
    E("background_model_twice", [*BG, "background.synthetic.models=[llama31-8b,llama31-8b]"],
      "background.synthetic.models", "impossible", note="two Zipf ranks of one model, merged"),
    E("fixed_length_fractional", ["tenants.chat.input.kind=fixed", "tenants.chat.input.mean=100.5"],
      "tenants.chat.input.mean", "type", note="every prompt rounded to 100 tokens, uncounted"),

    # ============================ a sixth sweep (December 2026): a bad field of an entry of a
    # list of entries named the field alone ('pricing', 'at_s'), not the key and entry
    E("variant_entry_bad_option", ["dedicated.variants=[{model: llama31-8b, gpu: H100, replicas: 1}, "
                                   "{model: llama31-8b, gpu: H100, replicas: 1, pricing: free}]"],
      "'dedicated.variants[1].pricing'", "type", note="config key 'pricing'"),
    E("variant_entry_unknown_field", ["dedicated.variants=[{model: llama31-8b, gpu: H100, colour: red}]"],
      "'dedicated.variants[0].colour'", "unknown", note="config key 'colour'"),
    E("failure_script_entry_word", ["dedicated.failures.mode=script",
                                    "dedicated.failures.script=[{at_s: 5, down_s: 5}, {at_s: soon, down_s: 5}]"],
      "'dedicated.failures.script[1].at_s'", "type", note="config key 'at_s' (the fifth sweep left it)"),
    E("failure_script_entry_word_in_braces", ["dedicated.failures={mode: script, script: [{at_s: soon, down_s: 5}]}"],
      "'dedicated.failures.script[0].at_s'", "type"),
    # ... and a CSV row with more fields than its header: pandas took the first column for the
    # index when every row had one more (the columns read one to the right), else stopped
    # with a multi-line parser error naming no line; csv.DictReader dropped the field
    E("rate_curve_every_row_one_field_more", CURVE, "c.csv:2", "file",
      files={"c.csv": "time_s,rate\n0,1,9\n10,2,9\n20,1,9\n"},
      note="ran: times 1, 2, 1 and rates 9 (the time column taken for the index)"),
    E("rate_curve_row_one_field_more", CURVE, "c.csv:3", "file", files={"c.csv": "time_s,rate\n0,1\n10,2,5\n"},
      note="'cannot read rate curve (ParserError)', no line"),
    E("pmf_row_one_field_more", PMF, "p.csv:3", "file", files={"p.csv": "tokens,probability\n100,0.5\n200,0.5,9\n"},
      note="pandas' tokenizer error over two lines"),
    E("perf_table_row_one_field_more", TABLE, "t.csv:3", "file",
      files={"t.csv": TABLE_GOOD.replace("0,8192,0.3", "0,8192,0.3,7")}, note="ran, the 7 unread"),
    E("pmf_blank_lines_then_bad_row", PMF, "p.csv:5", "file", files={"p.csv": "tokens,probability\n100,0.5\n\n\n2.5,0.5\n"},
      note="named line 3: pandas skips blank lines and the count left them out"),
    SW("sweep_range_1e8_jobs", ["seed=range(0,100000000)"], "seed",
       note="hung: Hydra lists every job before the first starts (memory filled for minutes)"),
    SW("sweep_product_1e6_jobs", ["seed=range(0,1000)", "horizon_s=range(1,1001)"], "seed"),
    SW("sweep_interval_on_the_basic_sweeper", ["horizon_s=interval(1,2)"], "'horizon_s'",
       note="'BasicSweeper does not support sweep type : INTERVAL_SWEEP', naming no key"),
    E("prefix_cache_trace_twice", ["experiment=prefix_cache", "horizon_s=5",
                                   "prefix_cache.traces=[{dir}/m.jsonl,{dir}/./m.jsonl]"],
      "prefix_cache.traces[1]", "impossible", files={"m.jsonl": MC_LINE1 + MC_LINE3},
      note="ran the trace twice, two rows of one replay (the fifth sweep's check_distinct missed it)"),
    dict(id="claims_override_a_check_sets_itself",
         args=["experiment=claims", "claims.quick=true", "claims.only=[h100_monthly_cost]",
               "claims.overrides=['horizon_s=-1']", *COMMON], files={}, expect="error",
         key="'claims.overrides': sets horizon_s=-1", kind="impossible",
         note="ran: the check's own horizon_s=300 came after it (the last wins)"),
    dict(id="claims_override_of_the_catalog",
         args=["experiment=claims", "claims.quick=true", "claims.only=[h100_monthly_cost]",
               "claims.overrides=['catalog.gpus.H100.reserved_usd_per_hour=1']", *COMMON], files={},
         expect="error", key="'claims.overrides': catalog.gpus.H100.reserved_usd_per_hour", kind="impossible",
         note="ran at the catalog's $2.37: every scenario takes the claims run's catalog"),
    E("experiment_file_unknown_key", ["hydra.searchpath=[file://{dir}]", "experiment=mine"],
      "'nope': Key 'nope' not in 'ServesimConfig' (in experiment/mine.yaml)", "file",
      files={"experiment/mine.yaml": "# @package _global_\nnope: 10\n"},
      note="'In 'experiment/mine': ConfigKeyError raised while composing config:', no key"),
    E("experiment_file_wrong_type", ["hydra.searchpath=[file://{dir}]", "experiment=mine"],
      "'tenants.chat.arrival.rate_rps'", "file",
      files={"experiment/mine.yaml": "# @package _global_\ntenants:\n  chat:\n    model: llama31-8b\n"
                                     "    arrival: {rate_rps: fast}\n"}),

    # ============================ a seventh sweep (December 2026): config files on
    # hydra.searchpath (YAML that OmegaConf expands or recurses through; a byte-order mark),
    # an entry of a list in an experiment file, a data file the system will not read
    E("experiment_file_variant_entry_bad_option", XP,
      "'dedicated.variants[1].pricing'", "file",
      files={"experiment/mine.yaml": MINE + "dedicated:\n  variants:\n"
                                     "  - {model: llama31-8b, gpu: H100, replicas: 1}\n"
                                     "  - {model: llama31-8b, gpu: H100, replicas: 1, pricing: free}\n"},
      note="config key 'pricing' (the sixth sweep's fix read the command line only)"),
    E("experiment_file_failure_script_entry_word", XP,
      "'dedicated.failures.script[1].at_s'", "file",
      files={"experiment/mine.yaml": MINE + "dedicated:\n  failures:\n    mode: script\n    script:\n"
                                     "    - {at_s: 5, down_s: 5}\n    - {at_s: soon, down_s: 5}\n"},
      note="config key 'at_s'"),
    E("experiment_file_alias_bomb", XP, "mine.yaml:2", "huge",
      files={"experiment/mine.yaml": "# @package _global_\nnotes:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
             + "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 8))},
      note="hung: nine aliases of nine aliases, eight deep, OmegaConf copied 43 million values"),
    E("experiment_file_nested_5000_deep", XP, "mine.yaml:2", "huge",
      files={"experiment/mine.yaml": "# @package _global_\nnotes: " + "[" * 5000 + "]" * 5000 + "\n"},
      note="a RecursionError traceback of 3,000 lines"),
    E("experiment_file_nested_150_deep", XP, "mine.yaml:2", "huge",
      files={"experiment/mine.yaml": "# @package _global_\nnotes: {x: " + "{a: " * 150 + "1" + "}" * 151 + "\n"},
      note="a RecursionError traceback too: OmegaConf recurses about 15 frames a level"),
    OK("experiment_file_with_bom", XP, "file", files={"experiment/mine.yaml": "\ufeff" + MINE},
       note="refused: 'Key 'experiment' not in 'ServesimConfig'': Hydra missed the # @package line "
            "after the mark; every data reader reads past one"),
    E("trace_unreadable_regular_file", [f"{A}.kind=trace", f"{A}.trace.path=/proc/self/mem"],
      "/proc/self/mem", "file", note="a regular file whose read fails (EIO): an OSError traceback"),
    E("pmf_unreadable_regular_file", ["tenants.chat.output.kind=empirical", "tenants.chat.output.path=/proc/self/mem"],
      "/proc/self/mem", "file"),
    # ---------------------------------------------------------- the eighth sweep (December 2026)
    E("replicas_3e6_within_the_old_estimate", ["dedicated.replicas.llama31-8b=3000000", "limits.memory_gb=20"],
      "dedicated.replicas.llama31-8b", "huge",
      note="estimated at 4 kB a replica (12 GB) it ran, for minutes, towards the 27 GB it needs: "
           "a replica takes 8.6-9.8 kB measured"),
    E("plan_max_replicas_1e6", ["experiment=plan", "plan.max_replicas=1000000"], "plan.max_replicas", "huge",
      note="the search's first dedicated run at a million replicas: minutes and about 10 GB a run, past a 90 s limit"),
    E("prefix_cache_max_replicas_1e6", ["experiment=prefix_cache", "prefix_cache.max_replicas=1000000"],
      "prefix_cache.max_replicas", "huge", note="its bisection starts at the limit; exhausted an 8 GB limit"),
    E("experiment_a_path_out_of_its_folder", ["experiment=../catalog/default"], "'experiment'", "unknown",
      note="Hydra joined the path to conf/experiment/ and loaded the catalog as the experiment: "
           "'config key 'tenants': no tenants'"),
    E("experiment_the_primary_config", ["experiment=../config"], "'experiment'", "unknown",
      note="named 'experiment/experiment': unknown option 'default'"),
    E("experiment_a_dot_path", ["experiment=./hybrid"], "'experiment'", "unknown",
      note="ran the hybrid experiment under another name, unsaid"),
    E("launcher_a_path_out_of_its_folder", ["hydra/launcher=../sweeper/basic"], "'hydra/launcher'", "unknown"),
    SW("sweep_params_on_the_basic_sweeper", ['hydra.sweeper.params={seed: "1,2"}'], "hydra.sweeper.params",
       note="its params are null: OmegaConf's AttributeError as Hydra merged the map, a traceback"),
    SW("sweep_params_entry_on_the_basic_sweeper", ['+hydra.sweeper.params.seed="1,2"'], "hydra.sweeper.params.seed",
       note="an AssertionError traceback"),
    SW("sweep_joblib_backend", ["hydra.launcher.backend=threading", "seed=1,2"], "hydra.launcher.backend",
       note="Hydra's joblib launcher sets loky whatever is given: ignored, unsaid"),
    SW("sweep_joblib_batch_size_negative", ["hydra.launcher.batch_size=-3", "seed=1,2"], "hydra.launcher.batch_size",
       note="joblib's ValueError, a traceback"),
    SW("sweep_joblib_timeout_0", ["hydra.launcher.timeout=0", "seed=1,2"], "hydra.launcher.timeout",
       note="expired at once: a TimeoutError traceback"),
    SW("sweep_joblib_timeout_expired", ["hydra.launcher.timeout=0.01", "seed=1,2"], "hydra.launcher.timeout",
       note="a TimeoutError traceback as the first job ran past it"),
]
