"""The study scripts under experiments/*/run.py given bad arguments, run as real processes:
one line naming the flag (or file), exit status 2, no traceback. The seventh hostile-input
sweep (December 2026) found each of these ending in a traceback (an InputError, a
CalledProcessError, pandas' errors, a log file in a folder never made)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(ROOT / "experiments" / name / "run.py"), *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("name, args, named", [
    ("platform", ["--horizon", "-5"], "argument --horizon: config key 'horizon_s'"),
    ("platform", ["--warmup", "inf"], "argument --warmup: config key 'metrics.warmup_s'"),
    ("platform", ["--nodes", "-1"], "argument --nodes: config key 'serverless.pool.H100.nodes'"),
    ("platform_scaling", ["--hours", "nan"], "argument --hours"),
    ("platform_scaling", ["--redraw", "{dir}/bad.csv"], "bad.csv: not a scaling.csv"),
    ("platform_scaling", ["--redraw", "{dir}/empty.csv"], "empty.csv: not a scaling.csv"),
    ("platform_scaling", ["--redraw", "{dir}"], "argument --redraw"),
    ("platform_scaling", ["--quick", "--out", "{dir}/bad.csv/x"], "argument --out"),
    ("many_tenants", ["--tenants", "0"], "argument --tenants: each must be an integer"),
    ("sweep_scale", ["--loads", "0"], "argument --loads"),
    ("sweep_scale", ["--workers", "-2"], "argument --workers"),
    ("sweep_scale", ["--dir", "{dir}/bad.csv/sweep"], "argument --dir"),
])
def test_bad_arguments_are_one_line_and_exit_2(name, args, named, tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty.csv").write_text("")
    r = _script(name, *[a.replace("{dir}", str(tmp_path)) for a in args], cwd=tmp_path)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]


def test_sweep_scale_dir_a_file_is_refused_and_writes_nothing(tmp_path):
    """``--dir`` an existing file: 'sweep failed (2): see bad.csv.log', exit 1, and a
    bad.csv.log written beside it (until December 2026)."""
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    r = _script("sweep_scale", "--loads", "1", "--dir", str(tmp_path / "bad.csv"), cwd=tmp_path)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and lines == [f"error: argument --dir: {tmp_path / 'bad.csv'}: "
                                           "not a folder"], r.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


@pytest.mark.parametrize("script, args, named", [
    ("calibration/fit.py", ["--passes", "-1"], "argument --passes: must be >= 0"),  # ran as 0
    ("calibration/fit.py", ["--start", "abc"], "argument --start: 'abc'"),  # a ValueError traceback
    ("calibration/fit.py", ["--start", "nope=1"], "argument --start: 'nope=1'"),  # kept, unread
    ("calibration/fit.py", ["--start", "mem:H100=nan"], "mem:H100 must be within"),  # taken
    ("calibration/phases.py", ["--budgets", "0"], "argument --budgets: must be >= 1"),  # an InputError traceback
    ("calibration/phases.py", ["--budgets", "1", "--turnaround", "0"],
     "argument --budgets: 1: calibration row"),  # a RuntimeError traceback: requests never finish
    ("calibration/phases.py", ["--turnaround", "nan"], "argument --turnaround: must be finite"),  # ran as 0
    ("calibration/phases.py", ["--turnaround", "-1"], "argument --turnaround: must be finite"),  # ran as 0
])
def test_the_calibration_scripts_bad_arguments_are_one_line(script, args, named, tmp_path):
    # the eighth hostile-input sweep (December 2026)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / script), *args],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]


@pytest.mark.parametrize("script, args, named", [
    # the ninth hostile-input sweep (December 2026)
    # read as Path(""), the working folder: its job folders' figures were drawn there
    ("replicas/figures.py", [""], "argument sweep_dir: '' is empty"),
    ("load/figures.py", ["{dir}", "--out", " "], "argument --out: ' ' is empty"),
    # a run of no request: numpy's warnings, then a LinAlgError traceback from the log-log fit
    ("platform_scaling/run.py", ["--hours", "1e-300", "--axes", "requests", "--out", "{dir}/o"],
     "argument --hours: 1e-300 gave a run of 0 requests"),
])
def test_study_scripts_empty_folders_and_empty_runs_are_one_line(script, args, named, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "experiments" / script),
                        *[a.replace("{dir}", str(tmp_path)) for a in args]],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("error: ") and named in lines[0], lines[0]
    assert not (tmp_path / "plots").exists()

