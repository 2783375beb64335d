"""The memory budget's per-replica figure against the memory a run really takes: a run of
many replicas, less a run of one, measured as each process's peak resident set. The eighth
hostile-input sweep (December 2026) found 4 kB assumed where 8.6-9.8 kB were taken, so
that 2.2-4.8 million replicas passed a 19 GB budget and then exhausted the memory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.simulation.build.budget import BYTES_PER_REPLICA

ROOT = Path(__file__).resolve().parents[2]
# the peak resident set of this process image (VmHWM): getrusage's ru_maxrss survives exec,
# so a child of a large test process would report its parent's peak
CHILD = """
import re, sys
import sim
sim.run(sys.argv[1:])
status = open("/proc/self/status").read()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


def _peak_bytes(*overrides: str) -> int:
    r = subprocess.run([sys.executable, "-c", CHILD, "horizon_s=5", "output.progress=false",
                        *overrides], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stderr[-2000:]
    return int(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("router", ["central", "jsq"])
def test_a_replica_takes_no_more_memory_than_the_budget_counts(router):
    n = 20_000
    one = _peak_bytes("dedicated.replicas.llama31-8b=1", f"dedicated.router={router}")
    many = _peak_bytes(f"dedicated.replicas.llama31-8b={n}", f"dedicated.router={router}")
    per = (many - one) / (n - 1)
    assert per <= BYTES_PER_REPLICA, f"{per:,.0f} bytes a replica measured"
    assert per >= BYTES_PER_REPLICA / 3, f"{per:,.0f} bytes a replica: the budget counts far more"
