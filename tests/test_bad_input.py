"""The bad-input catalogue: each entry through the command line gives one line naming the
key (or the file and line), exit status 2 and no traceback.

Most entries run the CLI's ``main`` in-process (seconds for the whole catalogue); the
sweep entries and one plain entry run ``python -m sim`` in a real process.
"""

import subprocess
import sys

import pytest
from helpers.cli import assert_one_clear_line, cli, run_main

RATE = "tenants.chat.arrival.rate_rps"
SPOT = "dedicated.spot.replicas.llama31-8b"
HEADER = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
T0, T1 = "2023-11-16 18:17:03.9799600", "2023-11-16 18:17:04.0319600"

# (id, overrides, text the message must contain)
CONFIG_CASES = [
    ("unknown_gpu", ["deployments.llama31-8b.gpu=X100"], "'deployments.llama31-8b.gpu'"),
    ("unknown_model", ["tenants.chat.model=GPT-9"], "'tenants.chat.model'"),
    ("unknown_experiment", ["experiment=nope"], "'experiment': unknown option 'nope'"),
    ("unknown_setup", ["setups=[nope]"], "'setups': unknown setup 'nope'"),
    ("unknown_key", ["horizon_sec=3"], "'horizon_sec'"),
    ("wrong_type", ["horizon_s=abc"], "'horizon_s': Value 'abc'"),
    ("wrong_option", ["engine=turbo"], "'engine': Invalid value 'turbo'"),
    ("negative_rate", [f"{RATE}=-1"], f"'{RATE}': must be > 0"),
    ("zero_rate", [f"{RATE}=0"], f"'{RATE}': must be > 0"),
    ("negative_cv", ["tenants.chat.arrival.kind=gamma", "tenants.chat.arrival.cv=-2"],
     "'tenants.chat.arrival.cv'"),
    ("negative_think", ["tenants.chat.arrival.kind=closed", "tenants.chat.arrival.think_s=-1"],
     "'tenants.chat.arrival.think_s': must be >= 0"),
    ("think_open_loop", ["tenants.chat.arrival.think_s=2"],
     "'tenants.chat.arrival.think_s': think time applies to closed-loop clients only"),
    ("zero_horizon", ["horizon_s=0"], "'horizon_s': must be > 0"),
    ("negative_drain", ["drain_s=-1"], "'drain_s': must be >= 0"),
    ("zero_replicas", ["dedicated.replicas.llama31-8b=0"], "'dedicated.replicas.llama31-8b'"),
    ("negative_dedicated_queue", ["dedicated.max_queue=-1"], "'dedicated.max_queue': must be >= 0"),
    ("zero_serverless_queue", ["setups=[serverless]", "serverless.max_queue=0"],
     "'serverless.max_queue': must be >= 1"),
    ("zero_tp", ["deployments.llama31-8b.tp=0"], "'deployments.llama31-8b.tp'"),
    ("unknown_parallelism", ["deployments.llama31-8b.parallelism=expert"],
     "'deployments.llama31-8b.parallelism': Invalid value 'expert'"),
    ("does_not_fit", ["tenants.chat.model=llama33-70b",
                      "deployments={llama33-70b: {gpu: L40S, precision: fp8, tp: 1}}"],
     "'deployments.llama33-70b': llama33-70b on 1xL40S fp8 does not fit"),
    ("bad_slo", ["tenants.chat.slo_ttft_s=-1"], "'tenants.chat.slo_ttft_s'"),
    # batch tiers (issue 15 item 4)
    ("unknown_priority", ["tenants.chat.priority=urgent"],
     "'tenants.chat.priority': Invalid value 'urgent'"),
    ("deadline_interactive", ["tenants.chat.deadline_s=3600"],
     "'tenants.chat.deadline_s': a deadline applies to batch-tier tenants only"),
    ("zero_deadline", ["tenants.chat.priority=batch", "tenants.chat.deadline_s=0"],
     "'tenants.chat.deadline_s': must be > 0"),
    ("infinite_deadline", ["tenants.chat.priority=batch", "tenants.chat.deadline_s=inf"],
     "'tenants.chat.deadline_s': must be finite"),
    ("batch_pipeline", ["pipelines={p: {stages: {a: {kind: tool}}}}", "tenants.chat.pipeline=p",
                        "tenants.chat.priority=batch"],
     "'tenants.chat.priority': a pipeline tenant cannot be batch-tier"),
    ("zero_batch_running", ["dedicated.batch.running_fraction=0"],
     "'dedicated.batch.running_fraction': must be > 0"),
    ("big_batch_kv", ["dedicated.batch.kv_fraction=1.5"], "'dedicated.batch.kv_fraction': must be <= 1"),
    ("batch_price_above_list", ["serverless.batch_price_factor=2"],
     "'serverless.batch_price_factor': must be <= 1"),
    ("fill_not_batch", ["experiment=batch_fill", "tenants.bulk.priority=interactive"],
     "'breakeven.fill.tenant': tenant 'bulk' is not batch-tier"),
    ("fill_is_swept", ["experiment=batch_fill", "breakeven.fill.tenant=chat"],
     "'breakeven.fill.tenant': the fill tenant must not be the swept one"),
    ("fill_unknown", ["experiment=batch_fill", "breakeven.fill.tenant=nobody"],
     "'breakeven.fill.tenant': unknown tenant 'nobody'"),
    ("fill_zero", ["experiment=batch_fill", "breakeven.fill.load_fraction=0"],
     "'breakeven.fill.load_fraction': must be > 0"),
    ("zero_replications", ["replications=0"], "'replications'"),
    # impossible pipeline graphs
    ("pipeline_cycle", ["pipelines={p: {stages: {a: {kind: tool, after: [b]}, "
                        "b: {kind: tool, after: [a]}}}}", "tenants.chat.pipeline=p"],
     "'pipelines.p.stages.a.after': the stages a, b form a cycle"),
    ("pipeline_unknown_stage", ["pipelines={p: {stages: {a: {kind: tool, after: [nope]}}}}",
                                "tenants.chat.pipeline=p"],
     "'pipelines.p.stages.a.after': unknown stage 'nope'"),
    ("pipeline_self_loop", ["pipelines={p: {stages: {a: {kind: tool, after: [a]}}}}",
                            "tenants.chat.pipeline=p"],
     "'pipelines.p.stages.a.after': a stage cannot come after itself"),
    ("pipeline_unknown_model", ["pipelines={p: {stages: {a: {model: gpt-17}}}}",
                                "tenants.chat.pipeline=p"], "'pipelines.p.stages.a.model'"),
    ("pipeline_unknown", ["tenants.chat.pipeline=nope"], "'tenants.chat.pipeline': unknown pipeline"),
    # spot replicas
    ("spot_more_than_replicas", [f"{SPOT}=2"],
     f"'{SPOT}': llama31-8b has 1 replicas (dedicated.replicas.llama31-8b); at most 1 can be spot, got 2"),
    ("spot_negative", [f"{SPOT}=-1"], f"'{SPOT}': must be >= 0"),
    ("spot_unknown_model", ["dedicated.spot.replicas.gpt9=1"], "'dedicated.spot.replicas.gpt9': unknown model"),
    ("spot_negative_rate", ["dedicated.spot.preemption.per_gpu_hour=-1"],
     "'dedicated.spot.preemption.per_gpu_hour': must be >= 0"),
    ("spot_infinite_rate", ["dedicated.spot.preemption.per_gpu_hour=inf"],
     "'dedicated.spot.preemption.per_gpu_hour': must be finite"),
    ("spot_nan_notice", ["dedicated.spot.preemption.notice_s=nan"],
     "'dedicated.spot.preemption.notice_s': must be a number"),
    ("spot_unknown_tier", ["dedicated.spot.storage_tier=tape"],
     "'dedicated.spot.storage_tier': unknown storage tier 'tape'"),
    ("spot_bad_mode", ["dedicated.spot.preemption.mode=sometimes"],
     "'dedicated.spot.preemption.mode': Invalid value 'sometimes'"),
    ("spot_trace_missing", [f"{SPOT}=1", "dedicated.spot.preemption.mode=trace"],
     "'dedicated.spot.preemption.trace': mode trace needs a file"),
    ("spot_trace_with_rate", [f"{SPOT}=1", "dedicated.spot.preemption.trace=r.csv"],
     "'dedicated.spot.preemption.trace': a preemption trace is replayed with "
     "dedicated.spot.preemption.mode=trace only (mode is rate)"),
    ("spot_no_price", [f"{SPOT}=1", "catalog.gpus.H100.spot_usd_per_hour=null"],
     "'catalog.gpus.H100.spot_usd_per_hour': llama31-8b runs on H100, which has no spot price"),
    ("spot_negative_price", ["catalog.gpus.H100.spot_usd_per_hour=-1"],
     "'catalog.gpus.H100.spot_usd_per_hour': must be >= 0"),
    # found by the config fuzzer's first pass over lists of numbers: the key that asked for the
    # file is named with the one that lacks it
    ("servegen_background_ids_without_path", ["background.servegen.client_ids=[0]"],
     "'background.servegen.path': ServeGen background (*_client_windows.csv.gz, asked for by "
     "background.servegen.client_ids) needs a path"),
    ("servegen_tenants_ids_without_path", ["tenants_from.servegen.client_ids=[0]"],
     "'tenants_from.servegen.path': ServeGen tenants (asked for by "
     "tenants_from.servegen.client_ids) need a path"),
]

LEN = ["tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace"]
# (id, file name, content (str or bytes), extra overrides, "<file>:<line>" + text expected)
TRACE_CASES = [
    # a length column is read only for a side of kind: trace (drawn lengths: not read)
    ("azure_missing_column", "a.csv", "TIMESTAMP,ContextTokens\n" + f"{T0},10\n", [*LEN],
     "a.csv:1, config key 'tenants.chat.output.kind': missing column(s) ['GeneratedTokens']"),
    ("azure_non_numeric", "a.csv", HEADER + f"{T0},10,5\n{T1},ten,5\n", [*LEN],
     "a.csv:3: ContextTokens must be an integer"),
    ("azure_bad_timestamp", "a.csv", HEADER + "yesterday,10,5\n", [], "a.csv:2: bad TIMESTAMP"),
    ("azure_unsorted", "a.csv", HEADER + f"{T1},10,5\n{T0},10,5\n", [],
     "a.csv:3: timestamps go backwards"),
    ("azure_duplicate", "a.csv", HEADER + f"{T0},10,5\n{T0},10,5\n",
     ["tenants.chat.arrival.trace.duplicates=error"],
     "a.csv:3, config key 'tenants.chat.arrival.trace.duplicates': duplicate timestamp"),
    ("azure_empty", "a.csv", "", [], "a.csv:1: empty trace file"),
    ("azure_header_only", "a.csv", HEADER, [], "a.csv:2: trace has a header but no requests"),
    ("azure_short_row", "a.csv", HEADER + f"{T0},10\n", [], "a.csv:2: 2 fields, the header names 3"),
    ("azure_encoding", "a.csv", (HEADER + f"{T0},10,5\n").encode() + b"\xff\xfe,1,1\n", [],
     "a.csv:3: not UTF-8"),
    ("mooncake_missing_field", "m.jsonl",
     '{"timestamp": 0, "input_length": 5, "output_length": 3}\n{"timestamp": 1, "input_length": 5}\n',
     ["tenants.chat.arrival.trace.format=mooncake", *LEN],
     "m.jsonl:2, config key 'tenants.chat.output.kind': missing field 'output_length'"),
    ("mooncake_non_numeric", "m.jsonl",
     '{"timestamp": 0, "input_length": 5, "output_length": 3}\n'
     '{"timestamp": 1, "input_length": "x", "output_length": 3}\n',
     ["tenants.chat.arrival.trace.format=mooncake", *LEN],
     "m.jsonl:2: input_length must be a finite number"),
    ("mooncake_bad_json", "m.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 3\n',
     ["tenants.chat.arrival.trace.format=mooncake"], "m.jsonl:1: not valid JSON"),
    ("mooncake_unsorted", "m.jsonl",
     '{"timestamp": 9, "input_length": 5, "output_length": 3}\n'
     '{"timestamp": 1, "input_length": 5, "output_length": 3}\n',
     ["tenants.chat.arrival.trace.format=mooncake"], "m.jsonl:2: timestamps go backwards"),
    ("mooncake_duplicate", "m.jsonl",
     '{"timestamp": 1, "input_length": 5, "output_length": 3}\n'
     '{"timestamp": 1, "input_length": 5, "output_length": 3}\n',
     ["tenants.chat.arrival.trace.format=mooncake", "tenants.chat.arrival.trace.duplicates=error"],
     "m.jsonl:2, config key 'tenants.chat.arrival.trace.duplicates': duplicate timestamp"),
    ("mooncake_empty", "m.jsonl", "\n", ["tenants.chat.arrival.trace.format=mooncake"],
     "m.jsonl:1: empty trace file"),
    ("mooncake_encoding", "m.jsonl", b'{"timestamp": 0, "input_length": 5, "output_length": 3}\n\xff\n',
     ["tenants.chat.arrival.trace.format=mooncake"], "m.jsonl:2: not UTF-8"),
]


@pytest.mark.parametrize("overrides,expected", [c[1:] for c in CONFIG_CASES],
                         ids=[c[0] for c in CONFIG_CASES])
def test_bad_config_is_one_line_naming_the_key(overrides, expected, tmp_path, monkeypatch, capsys):
    # a short horizon unless the case sets one (a key given twice would be refused as such)
    short = [] if any(o.split("=", 1)[0] == "horizon_s" for o in overrides) else ["horizon_s=5"]
    status, err = run_main([*short, *overrides], tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "config key " + expected)


@pytest.mark.parametrize("name,content,extra,expected", [c[1:] for c in TRACE_CASES],
                         ids=[c[0] for c in TRACE_CASES])
def test_malformed_trace_is_one_line_naming_file_and_line(name, content, extra, expected, tmp_path,
                                                           monkeypatch, capsys):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    status, err = run_main(["horizon_s=5", "tenants.chat.arrival.kind=trace",
                            f"tenants.chat.arrival.trace.path={p}", *extra],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"{p.parent}/{expected}")


PREEMPT = "time_s,model,replica\n"
# (id, content, "<line>: text" expected after the file name)
PREEMPTION_CASES = [
    ("empty", "", "1: empty preemption trace"),
    ("bad_header", "t,model,replica\n1,llama31-8b,0\n", "1: the header must be time_s,model,replica"),
    ("header_only", PREEMPT, "2: preemption trace has a header but no preemptions"),
    ("short_row", PREEMPT + "1,llama31-8b\n", "2: expected 3 fields, found 2"),
    ("bad_time", PREEMPT + "1,llama31-8b,0\nsoon,llama31-8b,0\n", "3: time_s must be a number"),
    ("negative_time", PREEMPT + "-5,llama31-8b,0\n", "2: time_s must be a number of seconds in [0"),
    ("nan_time", PREEMPT + "nan,llama31-8b,0\n", "2: time_s must be a number"),
    ("huge_time", PREEMPT + "1e300,llama31-8b,0\n", "2: time_s must be a number"),
    ("bad_replica", PREEMPT + "1,llama31-8b,first\n", "2: replica must be an integer >= 0"),
    ("out_of_order", PREEMPT + "10,llama31-8b,0\n5,llama31-8b,1\n", "3: time_s goes backwards: 5 after 10 on line 2"),
    ("negative_replica", PREEMPT + "1,llama31-8b,-1\n", "2: replica must be an integer >= 0"),
    ("empty_model", PREEMPT + "1,,0\n", "2: model is empty"),
    ("unknown_model", PREEMPT + "1,llama31-8b,0\n2,qwen3-32b,0\n", "3: model 'qwen3-32b' has no spot replicas"),
    ("replica_out_of_range", PREEMPT + "1,llama31-8b,1\n", "2: llama31-8b has spot replicas 0..0, got 1"),
    ("encoding", PREEMPT.encode() + b"1,llama31-8b,0\n\xff,x,0\n", "3: not UTF-8"),
]


@pytest.mark.parametrize("content,expected", [c[1:] for c in PREEMPTION_CASES],
                         ids=[c[0] for c in PREEMPTION_CASES])
def test_malformed_preemption_trace_is_one_line_naming_file_and_line(content, expected, tmp_path,
                                                                     monkeypatch, capsys):
    p = tmp_path / "reclaims.csv"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    status, err = run_main(["horizon_s=5", f"{SPOT}=1", "dedicated.spot.preemption.mode=trace",
                            f"dedicated.spot.preemption.trace={p}"], tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"{p}:{expected}")


def test_missing_preemption_trace_names_the_file(tmp_path, monkeypatch, capsys):
    status, err = run_main(["horizon_s=5", f"{SPOT}=1", "dedicated.spot.preemption.mode=trace",
                            f"dedicated.spot.preemption.trace={tmp_path / 'nope.csv'}"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"{tmp_path / 'nope.csv'}, config key "
                          "'dedicated.spot.preemption.trace': preemption trace not found")


def test_missing_trace_file_names_the_key(tmp_path, monkeypatch, capsys):
    status, err = run_main(["tenants.chat.arrival.kind=trace",
                            f"tenants.chat.arrival.trace.path={tmp_path / 'nope.csv'}"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "config key 'tenants.chat.arrival.trace.path': trace file not found")


@pytest.mark.parametrize("args,expected", [
    (["-m", "seed=a,b"], "config key 'seed': Value 'a' of type 'str' could not be converted to Integer"),
    (["-m", "horizon_s=x,1"], "config key 'horizon_s': Value 'x' of type 'str' could not be converted"),
    (["horizon_s=5", "tenants.chat.model=GPT-9"], "config key 'tenants.chat.model'"),
], ids=["sweep_seed", "sweep_horizon", "plain_run"])
def test_a_real_process_exits_2_with_one_line(args, expected, tmp_path):
    r = cli(*args, f"hydra.sweep.dir={tmp_path / 'sweep'}", f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path)
    assert_one_clear_line(r.returncode, r.stderr, expected)
    assert not (tmp_path / "sweep" / "0" / "done.json").exists()  # no job ran


def test_hydra_full_error_keeps_the_traceback_for_debugging(tmp_path):
    import os

    r = subprocess.run([sys.executable, "-m", "sim", "engine=turbo", f"hydra.run.dir={tmp_path / 'out'}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HYDRA_FULL_ERROR": "1"})
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_a_message_quoting_a_huge_header_is_shortened_and_says_so(tmp_path, monkeypatch, capsys):
    # the seventh hostile-input sweep (December 2026): a 300,000-column header was quoted
    # whole, one line of 3 MB
    trace = tmp_path / "wide.csv"
    trace.write_text(",".join(f"c{i}" for i in range(300_000)) + "\n1\n")
    status, err = run_main(["tenants.chat.arrival.kind=trace", f"tenants.chat.arrival.trace.path={trace}"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"{trace}:1: missing column(s)")
    assert len(err) < 2500 and "characters left out" in err and "'c299999'" in err


def test_a_line_break_in_a_named_path_stays_one_line(tmp_path, monkeypatch, capsys):
    # the eighth hostile-input sweep (December 2026): $SERVESIM_TRACES, sim.fit's --requests
    # and sim.sweep's folder with a line break printed the message over two lines
    from sim.fit.__main__ import main as fit
    from sim.sweep.__main__ import main as sweep

    monkeypatch.setenv("SERVESIM_TRACES", f"{tmp_path}/a\nb")
    status, err = run_main(["experiment=keepalive", "horizon_s=5"], tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, f"{tmp_path}/a\\nb/azure_llm_2023/")
    with pytest.raises(SystemExit) as e:
        fit(["--requests", f"{tmp_path}/x\ny.csv", "--model", "llama31-8b", "--out", str(tmp_path)])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, f"{tmp_path}/x\\ny.csv: log file not found")
    status = sweep([f"{tmp_path}/x\r\ny"])
    assert_one_clear_line(status, capsys.readouterr().err, f"{tmp_path}/x\\r\\ny: not a folder")


def test_an_empty_sweep_folder_argument_is_not_the_working_folder(tmp_path, monkeypatch, capsys):
    # the ninth hostile-input sweep (December 2026): Path("") is the working folder, whose
    # job folders were aggregated into a summary.csv written there
    from sim.sweep.__main__ import main as sweep

    (tmp_path / "0" / ".hydra").mkdir(parents=True)
    (tmp_path / "0" / ".hydra" / "overrides.yaml").write_text("- seed=1\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        sweep([""])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, "argument sweep_dir: '' is empty")
    assert not (tmp_path / "summary.csv").exists()
