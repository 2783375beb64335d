"""The Hydra app: composition, errors, sim.run, determinism."""

import hashlib
import os
import re
from pathlib import Path

import pytest
from helpers import ROOT, TRACES
from helpers.cli import cli as _cli

import sim

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


def test_every_experiment_composes():
    for name in EXPERIMENTS:
        cfg = sim.compose([f"experiment={name}"])
        assert cfg.job


def test_wrong_key_fails_at_compose_time_with_its_name():
    with pytest.raises(Exception, match="horizon_sec"):
        sim.compose(["horizon_sec=10"])


@pytest.mark.parametrize("overrides", [["horizon_s=10", "horizon_s=20"],
                                       ["horizon_s=5", "++horizon_s=7"],
                                       ["tenants.chat.arrival.rate_rps=2", "tenants.chat.arrival.rate_rps=3"]])
def test_a_key_given_twice_is_refused_by_the_api_as_on_the_command_line(overrides, tmp_path):
    """Hydra keeps the last of two values silently: the command line refuses it, and so do
    sim.compose and sim.run (until December 2026 they ran the last value, unsaid)."""
    key = overrides[0].split("=")[0]
    with pytest.raises(sim.InputError, match=rf"config key '{re.escape(key)}': given twice in the overrides"):
        sim.compose(overrides)
    with pytest.raises(sim.InputError, match="given twice"):
        sim.run(overrides, output_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert sim.compose(["horizon_s=10", "horizon_s=10.0"]).horizon_s == 10.0  # one value, twice


def test_a_run_of_the_api_clears_an_earlier_command_line_runs_hydra_files(tmp_path):
    """sim.run into a folder a command-line run wrote: that run's Hydra files (``.hydra/``
    with its overrides, ``__main__.log``) go with its outputs; a file of the user's there
    stays (until December 2026 they stayed, and the folder read as an experiment=spot run)."""
    out = tmp_path / "run"
    proc = _cli("horizon_s=5", "output.plots=false", f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / ".hydra" / "overrides.yaml").is_file() and (out / "__main__.log").is_file()
    (out / "notes.txt").write_text("mine")
    sim.run(["horizon_s=5", "output.plots=false"], output_dir=out)
    assert not (out / ".hydra").exists() and not (out / "__main__.log").exists()
    assert (out / "notes.txt").read_text() == "mine" and (out / "summary.csv").is_file()
    proc = _cli("horizon_s=5", "output.plots=false", f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0 and (out / ".hydra" / "overrides.yaml").is_file()  # its own kept
    assert list(sim.run(["horizon_s=5"]).tables) == list(sim.run(["horizon_s=5"], output_dir=tmp_path / "b").tables)


def test_wrong_type_and_option_fail_with_the_key():
    with pytest.raises(Exception, match="horizon_s"):
        sim.compose(["horizon_s=abc"])
    with pytest.raises(Exception, match="engine"):
        sim.compose(["engine=turbo"])


@pytest.mark.parametrize("call, expected", [
    (lambda: sim.run("horizon_s=5"), "overrides must be a list of strings"),  # was read per letter
    (lambda: sim.run([5]), "got int 5"),  # a traceback
    (lambda: sim.compose([None]), "got NoneType None"),  # a traceback
    (lambda: sim.run(["horizon_s=5"], output_dir=5), "output_dir must be a path"),  # a traceback
    # wrote the run's files into the working directory (the third hostile sweep)
    (lambda: sim.run(["horizon_s=5"], output_dir=""), "output_dir is empty"),
    (lambda: sim.compose(["output.report=2"]), "output.report': must be true or false"),  # ran
    # Hydra's own exceptions from sim.compose before the eighth hostile sweep (sim.run said them)
    (lambda: sim.compose(["horizon_sec=10"]), "config key 'horizon_sec'"),
    (lambda: sim.compose(["horizon_s=abc"]), "config key 'horizon_s'"),
    (lambda: sim.compose(["engine=turbo"]), "config key 'engine'"),
    (lambda: sim.compose(["horizon_s=1,2"]), "Ambiguous value for argument 'horizon_s=1,2'"),
    (lambda: sim.compose(["seed=range(1,3)"]), "'seed=range"),
    (lambda: sim.compose(["-m"]), "cannot parse an override"),
    (lambda: sim.compose(["experiment=nope"]), "config key 'experiment'"),
    # a ValueError from the folder's name
    (lambda: sim.run(["horizon_s=5"], output_dir="a\x00b"), "a NUL byte in its name"),
    # the twelfth sweep: a folder literally named "~" in the working directory; "no" as true
    (lambda: sim.run(["horizon_s=5"], output_dir="~/runs"), "starts with '~'"),
    (lambda: sim.run(["horizon_s=5"], progress="no"), "progress must be True or False"),
    # the seventeenth sweep: numpy's boolean was "got bool np.True_", a bool refused as not one
    (lambda: sim.run(["horizon_s=5"], progress=__import__("numpy").True_), "got numpy.bool np.True_"),
    # the fifteenth sweep: "." (or the working directory in full) as "" above, written into
    (lambda: sim.run(["horizon_s=5"], output_dir="."), "'.' is the working directory"),
    (lambda: sim.run(["horizon_s=5"], output_dir=os.getcwd()), "is the working directory"),
    # Hydra's run folder given to sim.run: nothing written, unsaid
    (lambda: sim.run(["horizon_s=5", "hydra.run.dir=out"]), "config key 'hydra.run.dir': sim.run writes"),
    # the seventeenth sweep: Hydra's other keys, unread by sim.run and unsaid; a search path
    # that is not there, a warning on stderr and a run without it (an error on the command line)
    (lambda: sim.run(["horizon_s=5", "hydra.job.chdir=true"]), "config key 'hydra.job.chdir': sim.run runs no"),
    (lambda: sim.run(["horizon_s=5", "hydra/launcher=basic"]), "config key 'hydra/launcher': sim.run runs no"),
    (lambda: sim.run(["horizon_s=5", "hydra.searchpath=[file:///no/such/folder]"]),
     "config key 'hydra.searchpath': /no/such/folder is not available"),
])
def test_the_api_says_what_is_wrong_with_its_arguments(call, expected):
    with pytest.raises(sim.InputError, match=expected):
        call()


def test_runs_and_composes_from_several_threads_take_turns(monkeypatch):
    """Hydra's global state: a compose started while another thread's was under way raised
    "GlobalHydra is already initialized" (the twelfth hostile sweep). The first compose
    waits (up to 2 s) for a second one to begin; they must take turns all the same."""
    import threading

    import sim.config as sc

    inside, real = threading.Event(), sc.initialize_config_module

    def held(*a, **k):
        if threading.current_thread().name == "first":
            inside.set()
            entered.wait(2)
        else:
            entered.set()
        return real(*a, **k)
    entered = threading.Event()
    monkeypatch.setattr(sc, "initialize_config_module", held)
    got = {}

    def one(name, h):
        try:
            got[name] = sim.compose([f"horizon_s={h}"]).horizon_s
        except Exception as e:  # noqa: BLE001 - the assertion below names it
            got[name] = e
    first = threading.Thread(target=one, args=("first", 3), name="first")
    first.start()
    inside.wait(60)
    second = threading.Thread(target=one, args=("second", 4), name="second")
    second.start()
    first.join()
    second.join()
    assert got == {"first": 3.0, "second": 4.0}
    res = {}
    threads = [threading.Thread(target=lambda i=i: res.__setitem__(i, sim.run(
        [f"seed={i}", "horizon_s=3", "output.progress=false", "output.plots=false"]))) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alone = sim.run(["seed=1", "horizon_s=3", "output.progress=false", "output.plots=false"])
    assert alone.summary.equals(res[1].summary)


def test_a_deleted_working_directory_is_one_line(tmp_path):
    """Hydra records os.getcwd(): a FileNotFoundError traceback (the twelfth sweep)."""
    import subprocess
    import sys

    gone = tmp_path / "gone"
    gone.mkdir()
    code = ("import os, sys, runpy; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); "
            "sys.argv = ['sim', 'horizon_s=1', 'output.plots=false', 'output.progress=false']; "
            "runpy.run_module('sim', run_name='__main__')")
    r = subprocess.run([sys.executable, "-c", code, str(gone)], capture_output=True, text=True,
                       timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [
        "error: the working directory no longer exists (deleted after the shell entered it): cd "
        "into an existing folder and run again"]


def test_run_does_not_change_working_directory(tmp_path):
    cwd = os.getcwd()
    res = sim.run(["horizon_s=20"], output_dir=tmp_path)
    assert os.getcwd() == cwd
    assert {"setup", "tenant", "ttft_p50_s", "ttft_p99_s", "cost_usd"} <= set(res.summary.columns)
    assert len(res.requests) == int(res.summary.query("tenant == '__all__'")["requests"].sum())
    for f in ("summary.csv", "requests.parquet", "report.md"):
        assert (tmp_path / f).stat().st_size > 0


def _digest(d: Path) -> dict:
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest()
            for f in ("summary.csv", "requests.parquet")}


def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sim.run(["horizon_s=30", "seed=7"], output_dir=a)
    sim.run(["horizon_s=30", "seed=7"], output_dir=b)
    sim.run(["horizon_s=30", "seed=8"], output_dir=c)
    assert _digest(a) == _digest(b)
    assert _digest(a)["requests.parquet"] != _digest(c)["requests.parquet"]


def test_cli_bad_model_is_one_clear_line(tmp_path):
    r = _cli("tenants.chat.model=GPT-9", f"hydra.run.dir={tmp_path / 'out'}", cwd=tmp_path)
    assert r.returncode == 2
    assert "tenants.chat.model" in r.stderr and "GPT-9" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_run_refused_on_bad_input_leaves_no_folder(tmp_path):
    """With the default run folder (results/<name>/<timestamp>): neither the run's folder
    nor the parents made for it stay behind; a folder that holds something stays."""
    r = _cli("tenants.chat.arrival.rate_rps=-1", cwd=tmp_path)
    assert r.returncode == 2 and "tenants.chat.arrival.rate_rps" in r.stderr
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "results" / "default" / "earlier").mkdir(parents=True)
    assert _cli("tenants.chat.arrival.rate_rps=-1", cwd=tmp_path).returncode == 2
    assert [p.name for p in (tmp_path / "results" / "default").iterdir()] == ["earlier"]


@pytest.mark.parametrize("sweep", [False, True])
def test_a_name_climbing_out_of_results_is_refused_before_any_folder_is_made(tmp_path, sweep):
    """``name=a/../../..`` put the run folder outside results/ (here: beside the working
    folder) and left ``results/a/`` behind; it is refused as Hydra reads the folder's path."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    args = ["-m", "seed=0,1"] if sweep else []
    r = _cli(*args, "horizon_s=5", "name=a/../../..", cwd=cwd)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: config key 'name': 'a/../../..'"), r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["cwd"] and list(cwd.iterdir()) == []


def test_cli_help_lists_groups(tmp_path):
    r = _cli("--help", cwd=tmp_path)
    assert r.returncode == 0
    assert "experiment" in r.stdout and "catalog" in r.stdout
    # the same text Hydra renders from the template (sim/cli_help.py lists the groups itself)
    hydra = _cli("experiment=hybrid", "-h", cwd=tmp_path, env={"SERVESIM_HYDRA_HELP": "1"})
    assert hydra.returncode == 0 and r.stdout == hydra.stdout
    assert _cli("-h", cwd=tmp_path).stdout == r.stdout
    assert list(tmp_path.iterdir()) == []  # help runs nothing, writes nothing


@pytest.mark.parametrize("setups,key,unread", [
    ("[dedicated]", "serverless.keepalive.idle_s=5", True),
    ("[dedicated]", "background.synthetic.tenants=2", True),
    ("[serverless]", "dedicated.burst.enabled=true", True),
    ("[serverless]", "hybrid.shadow_fraction=0.5", True),
    ("[hybrid]", "serverless.keepalive.idle_s=5", False),  # its pool part reads them
    ("[serverless]", "serverless.keepalive.idle_s=5", False),
])
def test_a_key_of_a_setup_the_run_does_not_include_is_said(setups, key, unread):
    """``setups=[dedicated] serverless.keepalive.idle_s=5``: no setup of the run reads the
    key; it ran unsaid. It is a note (a sweep over setups gives such keys on purpose)."""
    res = sim.run([f"setups={setups}", key, "horizon_s=5", "output.progress=false"])
    said = [n for n in res.notes if key.split("=")[0] in n and "not read" in n]
    assert bool(said) == unread, res.notes


SG_FILE = "/work/shared/traces/servegen/m-large_client_windows.csv.gz"
AZ_FILE = str(TRACES / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv")


@pytest.mark.parametrize("keys,unread", [
    (["dedicated.burst.max_replicas=4"], True),
    (["dedicated.burst.enabled=true", "dedicated.burst.max_replicas=4"], False),
    (["tenants.chat.arrival.cv=3"], True),
    (["tenants.chat.arrival.kind=gamma", "tenants.chat.arrival.cv=3"], False),
    (["tenants.chat.arrival.period_s=50"], True),
    (["dedicated.failures.mttr_s=5"], True),
    (["output.requests_sample=0.5"], True),
    (["setups=[serverless]", "tenants_from.servegen.path=SG"], True),
    # the roofline derives the KV capacity from the GPU's memory: a given one ran unread
    (["deployments.llama31-8b.perf.kv_capacity_tokens=1000"], True),
    (["deployments.llama31-8b.perf.table_path=t.csv"], True),
    # a trace's or ServeGen client's settings on another arrival kind, and a format: csv
    # trace's columns on another format (the tenth sweep: each ran unsaid)
    (["tenants.chat.arrival.trace.loop=true"], True),
    (["tenants.chat.arrival.trace.csv.time=t"], True),
    (["tenants.chat.arrival.servegen.rate_scale=2"], True),
    (["tenants.chat.arrival.kind=trace", "tenants.chat.arrival.trace.path=AZ",
      "tenants.chat.arrival.trace.csv.time_unit=ms"], True),
    (["tenants.chat.arrival.kind=trace", "tenants.chat.arrival.trace.path=AZ",
      "tenants.chat.arrival.trace.loop=true"], False),
    # a KV setting of a mechanism the deployment leaves off, a prompt part that is not
    # generated (the eleventh sweep: each ran unsaid)
    (["deployments.llama31-8b.swap_gb=8"], True),
    (["deployments.llama31-8b.admission=paged", "deployments.llama31-8b.preemption=swap",
      "deployments.llama31-8b.swap_gb=8"], False),
    (["deployments.llama31-8b.prefix_caching=false", "deployments.llama31-8b.host_cache_gb=8"], True),
    (["deployments.llama31-8b.host_cache_gb=8"], False),
    (["tenants.chat.prefix.docs.per_request=2"], True),
    (["tenants.chat.prefix.docs.count=3", "tenants.chat.prefix.docs.per_request=2"], False),
    (["tenants.chat.prefix.sessions.think_s=5"], True),
    (["tenants.chat.prefix.sessions.turns_mean=3", "tenants.chat.prefix.sessions.think_s=5"], False),
    (["dedicated.failures.mode=script", "dedicated.failures.script=[{at_s: 1, replica: 0, down_s: 1}]",
      "dedicated.failures.mttr_s=5"], True),
    (["dedicated.failures.mode=random", "dedicated.failures.mttr_s=5"], False),
    # a trace replays its own times: rate_rps (a load sweep's usual key) was unread unsaid
    (["tenants.chat.arrival={kind: trace, trace: {path: AZ}}", "tenants.chat.arrival.rate_rps=50"], True),
    (["tenants.chat.arrival={kind: closed, concurrency: 2}", "tenants.chat.arrival.rate_rps=50"], True),
    (["tenants.chat.arrival={kind: gamma, cv: 2}", "tenants.chat.arrival.rate_rps=50"], False),
    # the seventeenth sweep: a trigger's setting under the other trigger, a cache router's
    # under another router, batch-tier settings with no batch tenant, synthetic background
    # settings with no synthetic tenant, a snapshot speed-up with no snapshot: each unsaid
    (["dedicated.burst.enabled=true", "dedicated.burst.slo_fraction=0.5"], True),
    (["dedicated.burst.enabled=true", "dedicated.burst.trigger=slo", "dedicated.burst.slo_fraction=0.5"], False),
    (["dedicated.burst.enabled=true", "dedicated.burst.trigger=slo", "dedicated.burst.wait_threshold_s=3"], True),
    (["setups=[hybrid]", "hybrid.spillover.slo_fraction=0.5"], True),
    (["dedicated.cache_router.threshold=0.5"], True),
    (["dedicated.router=cache_aware", "dedicated.cache_router.threshold=0.5"], False),
    (["setups=[serverless]", "serverless.cache_router.balance_abs=8"], True),
    (["dedicated.batch.kv_fraction=0.3"], True),
    (["setups=[serverless]", "background.synthetic.models=[llama31-8b]"], True),
    (["setups=[serverless]", "background.synthetic.tenants=2", "background.synthetic.models=[llama31-8b]"], False),
    (["setups=[serverless]", "cold_start.snapshot_speedup=3"], True),
    (["setups=[serverless]", "cold_start.snapshots=true", "cold_start.snapshot_speedup=3"], False),
    (["pipelines.p={stages: {a: {model: llama31-8b}}}"], True),  # a pipeline no tenant sends
    (["tenants.chat.input.kind=fixed", "tenants.chat.input.cv=3"], True),  # a cv only lognormal reads
    (["tenants.chat.output.kind=geometric", "tenants.chat.output.cv=3"], True),
    (["tenants.chat.output.cv=3"], False),
    (["setups=[serverless]", "serverless.min_increment_s=5"], True),  # per-token billing
    (["setups=[serverless]", "serverless.billing=gpu_second", "serverless.min_increment_s=5"], False),
    (["setups=[serverless]", "serverless.billing=gpu_second", "serverless.batch_price_factor=0.3"], True),
    (["tenants.chat.pipeline=p", "pipelines.p={stages: {a: {model: llama31-8b}}}"], False),
    # cold_start keys no load of the run reads (unsaid until December 2026): a dedicated run
    # with no burst, spot or failure loads nothing; a tier no load reads; a provisioning time
    # with no node to provision
    (["setups=[dedicated]", "cold_start.engine_init_s=3"], True),
    (["setups=[dedicated]", "cold_start.loader=stock"], True),
    (["setups=[dedicated]", "+cold_start.engine_init_s_by_model.llama31-8b=3"], True),
    (["setups=[dedicated]", "dedicated.burst.enabled=true", "cold_start.engine_init_s=3"], False),
    (["setups=[dedicated]", "dedicated.failures.mode=random", "cold_start.loader=stock"], False),
    (["setups=[dedicated]", "dedicated.spot.replicas.llama31-8b=1", "cold_start.node_provision_s=5"], False),
    (["setups=[hybrid]", "cold_start.engine_init_s=3"], False),
    (["setups=[serverless]", "cold_start.tiers.gpu_snapshot.optimized_gbps=1"], True),
    (["setups=[serverless]", "cold_start.snapshots=true", "cold_start.tiers.gpu_snapshot.optimized_gbps=1"], False),
    (["setups=[serverless]", "cold_start.tiers.block_storage.optimized_gbps=1"], True),
    (["setups=[serverless]", "cold_start.remote_tier=block_storage",
      "cold_start.tiers.block_storage.optimized_gbps=1"], False),
    (["setups=[serverless]", "cold_start.tiers.host_dram.optimized_gbps=9"], False),
    (["setups=[serverless]", "cold_start.node_provision_s=5"], True),
    (["setups=[serverless]", "serverless.pool.H100.max_nodes=3", "cold_start.node_provision_s=5"], False),
])
def test_a_key_of_a_feature_the_run_leaves_off_is_said(keys, unread):
    """A key given on the command line that the run's own config never reads, its feature
    switched off (the sixth hostile-input sweep): it ran unsaid. A note, not a refusal: an
    experiment's file may set a feature's keys that an override switches off."""
    if any("SG" in k for k in keys) and not Path(SG_FILE).is_file():
        pytest.skip("no ServeGen windows file")
    keys = [k.replace("SG", SG_FILE).replace("AZ", AZ_FILE) for k in keys]
    res = sim.run([*keys, "horizon_s=5", "output.progress=false"])
    said = [n for n in res.notes if keys[-1].split("=")[0].lstrip("+") in n and "not read" in n]
    assert bool(said) == unread, res.notes


@pytest.mark.parametrize("override,key", [
    ("tenants.chat.arrival={kind: trace, trace: {path: AZ, csv: {time_unit: ms}}}",
     "tenants.chat.arrival.trace.csv.time_unit"),
    ("tenants={chat: {model: llama31-8b, arrival: {kind: trace, trace: {path: AZ, csv: {time: t}}}}}",
     "tenants.chat.arrival.trace.csv.time"),
    ("dedicated.burst={max_replicas: 4}", "dedicated.burst.max_replicas"),
])
def test_a_key_inside_a_whole_map_the_run_leaves_off_is_said(override, key):
    """The notes of keys a run does not read read the keys inside a ``{...}`` value too (the
    tenth sweep left a trace's csv keys given inside a whole map on another format unsaid)."""
    res = sim.run([override.replace("AZ", AZ_FILE), "horizon_s=5", "output.progress=false"])
    assert [n for n in res.notes if f"not read by this run: {key} (" in n], res.notes



@pytest.mark.parametrize("keys,unread", [
    # the README's hybrid example on the default run: chat calls llama31-8b only
    (["setups=[hybrid]", "hybrid.placement.llama33-70b=dedicated",
      "dedicated.replicas.llama33-70b=1"], True),
    (["dedicated.replicas.qwen3-32b=2"], True),
    (["deployments.qwen3-32b={gpu: H200, precision: fp8, tp: 1}"], True),
    (["dedicated.replicas.llama31-8b=2"], False),
    (["setups=[hybrid]", "hybrid.placement.chat=dedicated", "dedicated.replicas.llama31-8b=1"],
     False),
    (["tenants.chat.model=qwen3-32b", "deployments.qwen3-32b={gpu: H200, precision: fp8, tp: 1}"],
     False),
    # the seventeenth sweep: the command line gives a new entry as a map of the whole key
    # (deployments={qwen3-32b: {...}}), which went unsaid; an engine-init time per model
    (["deployments={qwen3-32b: {gpu: H200, precision: fp8, tp: 1}}"], True),
    (["setups=[serverless]", "cold_start.engine_init_s_by_model.qwen3-32b=3"], True),
    (["setups=[serverless]", "cold_start.engine_init_s_by_model.llama31-8b=3"], False),
])
def test_a_key_for_a_model_no_request_calls_is_said(keys, unread):
    """A per-model key for a model no tenant of the run calls (``dedicated.replicas.<m>``,
    ``hybrid.placement.<m>``, ``deployments.<m>.*``) changed nothing and said nothing."""
    res = sim.run([*keys, "horizon_s=5", "output.progress=false"])
    said = [n for n in res.notes if keys[-1].split("=")[0].lstrip("+") in n and "not read" in n]
    assert bool(said) == unread, res.notes


def test_cli_help_names_every_top_level_key():
    """``--help`` says "The README lists every key" after its list of top-level keys; that
    list left out tenants_from, metrics, workload, limits, notes and the jobs' own keys.
    Every key of the composed config is named in it."""
    from sim import cli_help

    text = cli_help.text()
    listed = text.split("== Top-level keys ==", 1)[1].split("Examples:", 1)[0]
    names = set(re.findall(r"[a-z_]+", listed))
    assert set(sim.compose([]).keys()) - names == set()


@pytest.mark.skipif(__import__("shutil").which("srun") is not None, reason="a Slurm cluster")
def test_the_slurm_launcher_off_a_cluster_is_one_line(tmp_path):
    """submitit's RuntimeError "Could not detect srun", a traceback (the twelfth sweep)."""
    r = _cli("-m", "hydra/launcher=slurm", "seed=0,1", "horizon_s=1",
             f"hydra.sweep.dir={tmp_path / 's'}", cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: config key 'hydra/launcher': hydra/launcher=slurm")


def test_a_job_without_summary_rows_gives_the_summary_columns_its_file_has(tmp_path):
    """``experiment=plan`` with no request in its horizon buys nothing: its summary.csv has the
    54-column header, but ``Result.summary`` had no column at all, so ``res.summary["cost_usd"]``
    was a KeyError where the file reads (twenty-first hostile-input sweep)."""
    import pandas as pd

    from sim.metrics.summary import SUMMARY_COLUMNS

    res = sim.run(["experiment=plan", "horizon_s=2", "output.plots=false"], output_dir=tmp_path / "o")
    assert res.summary.empty and list(res.summary.columns) == SUMMARY_COLUMNS
    assert list(pd.read_csv(tmp_path / "o" / "summary.csv").columns) == SUMMARY_COLUMNS


def test_a_single_run_into_a_sweeps_folder_is_refused(tmp_path):
    """A run whose folder holds a sweep (its multirun.yaml, or the job record) would replace
    the sweep's summary.csv and report.md and leave its summary.md, jobs.csv, figures and job
    folders beside them (a hostile-input sweep, December 2026): refused, nothing written."""
    import pytest

    import sim
    for mark in ("multirun.yaml", ".sweep_jobs.json"):
        d = tmp_path / mark.strip(".")
        d.mkdir()
        (d / mark).write_text("x\n")
        (d / "summary.csv").write_text("the sweep's\n")
        with pytest.raises(sim.InputError, match=rf"{d}: is a sweep's folder \(it holds {mark}\)"):
            sim.run(["horizon_s=5", "output.plots=false"], output_dir=d)
        assert (d / "summary.csv").read_text() == "the sweep's\n"
        assert sorted(p.name for p in d.iterdir()) == sorted([mark, "summary.csv"])


@pytest.mark.parametrize("given, said", [
    ("serverless.pool.A100={nodes: 3, gpus_per_node: 8}", True),
    ("serverless.pool.H100.nodes=3", False),
])
def test_a_pool_class_no_deployment_runs_on_is_said(given, said):
    """24 A100s beside an 8B deployed on H100s hold no replica: unsaid until December 2026."""
    res = sim.run(["setups=[serverless]", "horizon_s=5", "output.progress=false", given])
    lines = [n for n in res.notes if n.startswith("not read by this run: serverless.pool.")]
    assert lines == (["not read by this run: serverless.pool.A100 (no deployment of the run's "
                      "models runs on A100; they run on H100)"] if said else []), res.notes
