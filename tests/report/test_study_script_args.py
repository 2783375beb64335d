"""The study scripts' arguments: a sweep that is not of the burstiness study, and an
``--out`` that is a file, refused in one line, exit 2, before anything is drawn."""

import os
import subprocess
import sys

import pytest
import yaml
from helpers import ROOT

import sim


@pytest.fixture(scope="module")
def seed_sweep(tmp_path_factory):
    """Two jobs of the burstiness experiment differing in their seed alone."""
    root = tmp_path_factory.mktemp("seeds")
    for seed in (0, 1):
        point = ["experiment=sweep_cv", f"seed={seed}"]
        d = root / str(seed)
        sim.run([*point, "horizon_s=20", "drain_s=60", "output.plots=false",
                 "metrics.warmup_s=5"], output_dir=d)
        (d / ".hydra").mkdir()
        (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(point))
    return root


def _script(study, *args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "experiments" / study / "figures.py"),
                           *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def _one_line(r, named):
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]


def test_burstiness_refuses_a_sweep_over_another_key(seed_sweep, tmp_path):
    """A seed sweep was drawn as burstiness.png over the seed on a log-2 axis, which cannot
    show seed 0 (exit 0); the price script refuses a sweep not of its study, as this now does."""
    r = _script("burstiness", seed_sweep, "--out", tmp_path / "o", cwd=tmp_path)
    _one_line(r, "the sweep varies seed, not an arrival's cv")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("study", ["load", "burstiness"])
@pytest.mark.parametrize("under", [False, True])
def test_an_out_that_is_a_file_is_one_line(study, under, seed_sweep, tmp_path):
    """--out a file (or a folder under one): a NotADirectoryError traceback from
    sim/report/style.py after the sweep was read; ``python -m sim.sweep afile`` says "not a
    folder" in one line."""
    f = tmp_path / "afile"
    f.write_text("x")
    r = _script(study, seed_sweep, "--out", f / "sub" if under else f, cwd=tmp_path)
    _one_line(r, f"argument --out: {f}: not a folder")
    assert f.read_text() == "x"


@pytest.mark.parametrize("study, wanted", [
    ("replicas", "not a dedicated pool's replicas (dedicated.replicas.<model>)"),
    ("pool", "not a serverless pool's size (serverless.pool.<gpu>.gpus_per_node or .nodes)"),
    ("keepalive", "not the keep-alive timeout (serverless.keepalive.idle_s)")])
def test_size_and_timeout_studies_refuse_a_sweep_over_another_key(study, wanted, seed_sweep,
                                                                  tmp_path):
    """A sweep of another study was reported as this one's (exit 0): the replicas script
    printed "smallest pool within the SLO: tenants.chat.arrival.rate_rps=2", the pool script
    an empty table and plot, the keep-alive script the load as the timeout."""
    r = _script(study, seed_sweep, "--out", tmp_path / "o", cwd=tmp_path)
    _one_line(r, f"the sweep varies seed, {wanted}")
    assert not (tmp_path / "o").exists() and not r.stdout
