"""Scale-out presets: a Ray sweep, the SLURM preset, the Optuna search."""

import importlib.util
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow  # subprocesses: sweeps, launchers, the notebook

RATE = "tenants.chat.arrival.rate_rps"
# no usage report, no auth token written to the home folder, no dashboard
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def cli(*args, cwd, env=None, timeout=420):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def launcher_cfg(preset: str, tmp_path) -> dict:
    r = cli(f"hydra/launcher={preset}", "--cfg", "hydra", "-p", "hydra.launcher", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    return yaml.safe_load(r.stdout)


needs_ray = pytest.mark.skipif(
    not (has("ray") and has("hydra_plugins.hydra_ray_launcher")),
    reason="Ray launcher not installed: pip install -e '.[ray]' (part of '.[test]')")


@needs_ray
def test_ray_preset_keeps_object_store_memory_null_for_existing_clusters(tmp_path):
    """The plugin fills in object_store_memory with setdefault, and Ray refuses any value when
    joining a running cluster: the preset's explicit null must survive that step."""
    from omegaconf import OmegaConf

    cfg = launcher_cfg("ray", tmp_path)
    assert cfg["_target_"].endswith("RayLauncher")
    init = OmegaConf.create(cfg)["ray"]["init"]
    init.setdefault("object_store_memory", 78643200)  # what hydra_ray_launcher._core does
    assert init["object_store_memory"] is None and init["address"] is None


@needs_ray
def test_ray_launcher_runs_a_small_local_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    address = os.environ.get("SERVESIM_TEST_RAY_ADDRESS")  # optional: an existing cluster
    extra = [f"hydra.launcher.ray.init.address={address}"] if address else []
    r = cli("-m", "hydra/launcher=ray", f"{RATE}=2,5", "horizon_s=20", "output.plots=false",
            f"hydra.sweep.dir={sweep}", *extra, cwd=tmp_path, env=RAY_ENV)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Ray Launcher is launching 2 jobs" in r.stdout + r.stderr
    table = pd.read_csv(sweep / "summary.csv")
    assert sorted(zip(table["job"], table[RATE], table["tenant"])) == [
        (0, 2, "__all__"), (0, 2, "chat"), (1, 5, "__all__"), (1, 5, "chat")]
    for job in (0, 1):
        assert (sweep / str(job) / "done.json").is_file()


@pytest.mark.skipif(not has("hydra_plugins.hydra_submitit_launcher"),
                    reason="submitit launcher not installed: pip install -e '.[slurm]'")
def test_slurm_preset_composes_on_top_of_the_submitit_schema(tmp_path):
    cfg = launcher_cfg("slurm", tmp_path)
    assert cfg["_target_"] == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert cfg["partition"] is None and cfg["timeout_min"] == 60 and cfg["cpus_per_task"] == 1
    assert cfg["submitit_folder"].endswith("/.submitit/%j")
    assert "array_parallelism" in cfg and "qos" in cfg  # fields of the plugin's own schema


@pytest.mark.skipif(not has("hydra_plugins.hydra_optuna_sweeper"),
                    reason="Optuna sweeper not installed: pip install -e '.[optuna]'")
def test_optimize_runs_optuna_trials_and_ranks_them(tmp_path):
    sweep = tmp_path / "sweep"
    r = cli("-m", "experiment=optimize", "hydra/launcher=basic", "hydra.sweeper.n_trials=3",
            "hydra.sweeper.n_jobs=1", "horizon_s=20", "drain_s=60", "output.plots=false",
            f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "Best value" in r.stdout + r.stderr or (sweep / "optimization_results.yaml").is_file()
    table = pd.read_csv(sweep / "summary.csv")
    assert sorted(table["job"].unique()) == [0, 1, 2]
    assert {"dedicated.replicas.llama31-8b", "deployments.llama31-8b.gpu",
            "deployments.llama31-8b.precision", "dedicated.router", "objective"} <= set(table.columns)
    rows = table[(table["tenant"] == "__all__")]
    for _, row in rows.iterrows():
        feasible = row["ttft_p99_s"] <= 1.0 and row["completed"] == row["requests"]
        if feasible:
            assert row["objective"] == pytest.approx(row["cost_usd"])
        else:
            assert row["objective"] > 1e4
    best = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert best["best_value"] == pytest.approx(rows["objective"].min())
