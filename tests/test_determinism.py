"""Determinism: same seed and config give byte-identical summary.csv and requests.parquet
across runs, across the basic and joblib launchers, and whatever the order of sweep jobs;
every file of a run, figures included, whatever the process drew before and whatever
matplotlibrc is in the working directory; and a run reads its files as they are now.

(Two plain runs with one setup: tests/test_app.py::test_same_seed_same_bytes; with
background tenants: tests/test_serverless.py::test_same_seed_same_bytes_with_background.)
"""

import hashlib
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from helpers import ROOT

import sim
from sim.platform import SETUPS

pytestmark = pytest.mark.slow  # subprocesses: sweeps, launchers, the notebook

FILES = ("summary.csv", "requests.parquet", "replicas.csv")
# every registered setup on bursty traffic, so cold starts, queueing, rejections and (for a
# hybrid) spillover and shadow copies all occur
COMMON = ["horizon_s=30", "output.plots=false", "setups=[all]",
          "tenants.chat.arrival.kind=gamma", "tenants.chat.arrival.cv=3",
          "tenants.chat.arrival.rate_rps=6", "serverless.max_queue=20"]
if "hybrid" in SETUPS:
    COMMON += ["hybrid.placement={llama31-8b: dedicated}", "++dedicated.replicas.llama31-8b=1",
               "hybrid.spillover.max_queue=1", "hybrid.shadow_fraction=0.3"]


def digests(folder) -> dict:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in FILES}


def test_two_runs_of_every_setup_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sim.run(COMMON + ["seed=3"], output_dir=a)
    sim.run(COMMON + ["seed=3"], output_dir=b)
    assert digests(a) == digests(b)


def sweep(tmp_path, name, seeds, launcher):
    folder = tmp_path / name
    r = subprocess.run([sys.executable, "-m", "sim", "-m", f"seed={seeds}", *COMMON,
                        f"hydra/launcher={launcher}", f"hydra.sweep.dir={folder}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=600,
                       env={**os.environ})
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    jobs = {}
    for d in folder.iterdir():
        if d.is_dir() and (d / "done.json").is_file():
            overrides = yaml.safe_load((d / ".hydra" / "overrides.yaml").read_text())
            seed = [o for o in overrides if o.startswith("seed=")][0]
            jobs[seed] = digests(d)
    return folder, jobs


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("det")
    return {key: sweep(tmp, key, seeds, launcher) for key, seeds, launcher in (
        ("basic", "0,1", "basic"), ("joblib", "0,1", "joblib"), ("reversed", "1,0", "joblib"))}


def test_basic_and_joblib_launchers_write_identical_job_files(sweeps):
    _, basic = sweeps["basic"]
    _, joblib = sweeps["joblib"]
    assert set(basic) == {"seed=0", "seed=1"}
    assert basic == joblib
    assert basic["seed=0"]["requests.parquet"] != basic["seed=1"]["requests.parquet"]


def test_the_order_of_sweep_jobs_does_not_change_any_file(sweeps, tmp_path):
    fwd_dir, fwd = sweeps["joblib"]
    rev_dir, rev = sweeps["reversed"]
    assert fwd == rev  # each seed's files, whichever job number ran it
    # the aggregated table: the same rows once the job numbers are set aside
    keys = ["seed", "setup", "tenant"]

    def table(folder):
        t = pd.read_csv(folder / "summary.csv").drop(columns="job")
        return t.sort_values(keys).reset_index(drop=True)

    a, b = table(fwd_dir), table(rev_dir)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # and the job numbers really were swapped
    j = pd.read_csv(rev_dir / "summary.csv")
    assert j.loc[j["job"] == 0, "seed"].unique().tolist() == [1]


# a study whose figure module drew with its own matplotlib settings, then the default run's
KEEPALIVE = ["experiment=keepalive", "horizon_s=60", "drain_s=120", "keepalive.fixed_idle_s=[30,60]"]
API_TWICE = f"""
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import sim
plt.rcParams["lines.linewidth"] = 3.5  # the calling program's own setting
sim.run({KEEPALIVE!r}, output_dir=sys.argv[1] + "/first")
sim.run(["horizon_s=30"], output_dir=sys.argv[1] + "/other")
sim.run({KEEPALIVE!r}, output_dir=sys.argv[1] + "/again")
print("settings after:", plt.rcParams["lines.linewidth"], plt.rcParams["axes.spines.top"])
"""


def every_file(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "done.json"}  # done.json: its wall time


def test_every_file_is_identical_whatever_was_drawn_before_and_any_matplotlibrc(tmp_path):
    """The Python API twice in one process (another run between), and a fresh process whose
    working directory holds a matplotlibrc: the same bytes in every file, figures included
    (a study's figure lost its top and right axes lines once another figure had been drawn;
    a matplotlibrc restyled every figure); no date or matplotlib version in a figure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    api = subprocess.run([sys.executable, "-c", API_TWICE, str(tmp_path)], capture_output=True,
                         text=True, timeout=300, env=env, cwd=tmp_path)
    assert api.returncode == 0, api.stderr[-3000:]
    rc = tmp_path / "rc"
    rc.mkdir()
    (rc / "matplotlibrc").write_text("font.size: 15\naxes.grid: True\nlines.linewidth: 4\n")
    r = subprocess.run([sys.executable, "-c", "import sys, sim; sim.run(sys.argv[1:-1], "
                        "output_dir=sys.argv[-1])", *KEEPALIVE, str(tmp_path / "rc_run")],
                       capture_output=True, text=True, timeout=300, env=env, cwd=rc)
    assert r.returncode == 0, r.stderr[-3000:]
    first = every_file(tmp_path / "first")
    assert {"plots/keepalive.png", "plots/keepalive.svg", "summary.csv"} <= set(first)
    for other in ("again", "rc_run"):
        files = every_file(tmp_path / other)
        assert set(files) == set(first)
        assert [f for f in first if files[f] != first[f]] == [], other
    for f in ("plots/keepalive.png", "plots/keepalive.svg"):
        assert b"atplotlib v" not in first[f] and b"atplotlib version" not in first[f]
    assert "settings after: 3.5 True" in api.stdout  # the caller's settings, kept


def test_a_file_changed_between_two_runs_in_one_process_is_read_again(tmp_path):
    """The readers cache what they read; an edited trace or length PMF was not read again by
    the next ``sim.run`` of the process (nor by a joblib worker's next job): the run used the
    old content and so differed from the same config in a fresh process."""
    trace, pmf = tmp_path / "trace.csv", tmp_path / "out.csv"
    ov = ["horizon_s=30", "output.plots=false", "tenants.chat.arrival.kind=trace",
          f"tenants.chat.arrival.trace.path={trace}", "tenants.chat.input.kind=trace",
          "tenants.chat.output.kind=empirical", f"tenants.chat.output.path={pmf}"]

    def run(prompt: int, out: int) -> tuple:
        stamps = [f"2023-11-16 18:17:{s:02d}.0000000" for s in range(0, 20, 2)]
        trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                         + "".join(f"{t},{prompt},10\n" for t in stamps))
        pmf.write_text(f"tokens,probability\n{out},1\n")
        r = sim.run(ov).requests
        return len(r), set(r["input_tokens"]), set(r["output_tokens"])

    assert run(100, 50) == (10, {100}, {50})
    assert run(300, 70) == (10, {300}, {70})  # was (10, {100}, {50}): the first files' content


def test_the_python_api_and_the_command_line_write_the_same_bytes_from_any_folder(tmp_path):
    """``sim.run`` against ``python -m sim`` (a relative ``hydra.run.dir``, another working
    directory): every file the same, figures included; only the command line writes Hydra's
    ``.hydra/`` and ``__main__.log``, and ``done.json``'s ``wall_s`` is a time."""
    import json

    ov = ["experiment=hybrid", "horizon_s=60", "drain_s=60"]
    sim.run(ov, output_dir=tmp_path / "api")
    here = tmp_path / "elsewhere"
    here.mkdir()
    r = subprocess.run([sys.executable, "-m", "sim", *ov, "hydra.run.dir=out"], cwd=here,
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-3000:]

    def files(folder):
        out = {}
        for p in sorted(folder.rglob("*")):
            name = str(p.relative_to(folder))
            if p.is_file() and not name.startswith(".hydra") and name != "__main__.log":
                out[name] = p.read_bytes()
        done = json.loads(out.pop("done.json"))
        done.pop("wall_s")
        return out, done

    api, cli_ = files(tmp_path / "api"), files(here / "out")
    assert {"plots/timeline.png", "requests.parquet", "report.md"} <= set(api[0])
    assert api == cli_


SHUFFLED = "plan.tp=shuffle([1,2,3,4,5,6,7,8])"  # 8! orders: two unseeded draws agree 1 in 40,320


def _tp_printed(env_seed: str) -> str:
    out = subprocess.run([sys.executable, "-m", "sim", "experiment=plan", SHUFFLED, "--cfg", "job"],
                         capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONHASHSEED": env_seed}).stdout
    return str(yaml.safe_load(out)["plan"]["tp"])


def test_hydra_shuffle_gives_the_same_order_for_the_same_command():
    # Hydra's shuffle() draws from Python's random, seeded by the system: each command gave
    # another order until December 2026 (sim.config.seeded_shuffle)
    first = _tp_printed("1")
    assert sorted(yaml.safe_load(first)) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert _tp_printed("2") == first


def test_sim_compose_shuffles_alike_and_gives_back_the_callers_random_state():
    import random

    random.seed(12345)
    expected = random.random()
    random.seed(12345)
    orders = {tuple(sim.compose(["experiment=plan", SHUFFLED]).plan.tp) for _ in range(3)}
    assert len(orders) == 1 and sorted(orders.pop()) == list(range(1, 9))
    assert random.random() == expected
