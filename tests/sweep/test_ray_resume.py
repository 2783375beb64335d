"""A Ray sweep stopped by Ctrl-C (SIGINT to the process group) or by a scheduler (SIGTERM to
the launching process) exits 130 before its remaining jobs run, and re-running it resumes to
the very tables an uninterrupted sweep writes; the resumed sweep reads finished jobs back
without launching them."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.cli import ctrl_c_as_at_a_terminal
from helpers.gate import gate_overrides

pytestmark = pytest.mark.slow  # three Ray sweeps and a joblib one, in subprocesses

ray = pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")

# Once Ray's workers are up a job takes a fraction of a second, less than a signal takes to
# stop the driver: left to run, every job had sometimes finished before an interrupt landed.
# A gate (a Hydra callback reading a file this test writes) holds job n at its start until
# the file says n may run, so the jobs left when the interrupt lands cannot finish.
JOBS = 8
ARGS = ["-m", f"tenants.chat.arrival.rate_rps=range(1,{JOBS + 1})", "horizon_s=10",
        "drain_s=10", "output.plots=false"]
RAY = ["hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=1"]
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
HELPERS = str(Path(__file__).resolve().parents[1])  # the Ray workers import the gate from here


def start(folder, launcher, log):
    path = os.pathsep.join(filter(None, [HELPERS, os.environ.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "sim", *ARGS, *launcher,
                             f"hydra.sweep.dir={folder}"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, **RAY_ENV, "PYTHONPATH": path},
                            start_new_session=True, preexec_fn=ctrl_c_as_at_a_terminal)


def done_jobs(folder) -> set[str]:
    return {p.parent.name for p in folder.glob("*/done.json")}


def launched(text: str) -> set[str]:
    """The jobs a Ray sweep's log says it launched (its ``#N : overrides`` lines)."""
    return {line.split("#", 1)[1].split(" ")[0] for line in text.splitlines() if "\t#" in line}


def interrupt_once_more_are_done(folder, sig, group, log_path) -> tuple[set[str], str]:
    """Run the Ray sweep in ``folder`` with one more job let through its gate than have
    finished, wait for that job, send ``sig`` (to the process group or the launching process
    alone) while the next job waits at the gate; the jobs done, the log."""
    before = done_jobs(folder) if folder.exists() else set()
    gate = folder.parent / "gate"
    gate.write_text(str(len(before) + 1))
    with open(log_path, "w") as log:
        p = start(folder, [*RAY, *gate_overrides(gate)], log)
        deadline = time.monotonic() + 300  # a guard against a hung sweep, not a timing check
        while len(done_jobs(folder)) <= len(before):
            assert p.poll() is None and time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
        (os.killpg if group else os.kill)(p.pid, sig)
        assert p.wait(timeout=120) == 130, log_path.read_text()[-3000:]
    text = log_path.read_text()
    assert "interrupted" in text and "Traceback" not in text, text[-3000:]
    return done_jobs(folder), text


def test_an_interrupted_ray_sweep_stops_and_resumes_to_the_uninterrupted_tables(tmp_path):
    cut, whole = tmp_path / "cut", tmp_path / "whole"
    # a scheduler's stop, then Ctrl-C in the resumed sweep
    first, _ = interrupt_once_more_are_done(cut, signal.SIGTERM, False, tmp_path / "1.log")
    assert first == {"0"}  # the driver stopped before its remaining jobs ran
    second, text = interrupt_once_more_are_done(cut, signal.SIGINT, True, tmp_path / "2.log")
    assert second == {"0", "1"}
    assert not launched(text) & first  # read back, neither composed nor launched
    assert text.count("already finished (read back, not composed)") == len(first)

    (tmp_path / "gate").write_text(str(JOBS))
    with open(tmp_path / "3.log", "w") as out:
        assert start(cut, [*RAY, *gate_overrides(tmp_path / "gate")], out).wait(timeout=600) == 0
    text = (tmp_path / "3.log").read_text()
    assert text.count("already finished (read back, not composed)") == len(second), text[-3000:]
    assert launched(text) == {str(j) for j in range(JOBS)} - second, text[-3000:]
    with open(tmp_path / "whole.log", "w") as out:  # the reference: joblib, uninterrupted
        assert start(whole, [], out).wait(timeout=600) == 0
    for name in ("summary.csv", "jobs.csv"):
        assert (cut / name).read_bytes() == (whole / name).read_bytes(), name
    assert len(done_jobs(cut)) == JOBS
