"""Time to run an experiment file of many tenants, and the share of it that is composing.

    python experiments/many_tenants/run.py [--tenants N ...] [--setups S ...]

For each N it writes an experiment file of N tenants (each: llama31-8b, Poisson 0.1
requests/s, lognormal input 512 and output 128 tokens, ``horizon_s: 2``: the simulated work
is negligible, so the figures are the cost of the tenants themselves) into a temporary
folder found through ``hydra.searchpath``, then runs ``python -m sim --cfg job`` on it
(composing only) and ``python -m sim`` (the whole run, its folder in the temporary one),
each in its own process, and prints one JSON line per N: wall and CPU seconds (user and
system, of the child process) of each, and the CPU milliseconds per tenant. On a shared
machine compare CPU seconds, not wall time.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def experiment_file(folder: Path, n: int, setups: list[str]) -> str:
    name = f"many{n}"
    lines = ["# @package _global_", f"name: {name}", f"setups: [{', '.join(setups)}]",
             "horizon_s: 2", "tenants:"]
    for i in range(n):
        lines += [f"  t{i:05d}:", "    model: llama31-8b",
                  "    arrival: {kind: poisson, rate_rps: 0.1}",
                  "    input: {kind: lognormal, mean: 512, cv: 1.0}",
                  "    output: {kind: lognormal, mean: 128, cv: 1.0}"]
    (folder / "experiment").mkdir(parents=True, exist_ok=True)
    (folder / "experiment" / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    return name


def timed(args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python -m sim ARGS`` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True,
                       cwd=ROOT)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        print(lines[-1] if lines else f"error: python -m sim exited {r.returncode}", file=sys.stderr)
        raise SystemExit(2 if r.returncode == 2 else 1)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv=None) -> None:
    sys.path.insert(0, str(ROOT))
    from sim.errors import ArgumentParser

    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tenants", type=int, nargs="+", default=[100, 400, 1000])
    ap.add_argument("--setups", nargs="+", default=["serverless"])
    a = ap.parse_args(argv)
    if not all(1 <= n <= 100_000 for n in a.tenants):
        ap.error(f"argument --tenants: each must be an integer from 1 to 100000, got "
                 f"{' '.join(map(str, a.tenants))}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in a.tenants:
            name = experiment_file(folder, n, a.setups)
            common = [f"experiment={name}", f"hydra.searchpath=[file://{folder}]"]
            c_wall, c_cpu = timed([*common, "--cfg", "job"])
            r_wall, r_cpu = timed([*common, f"hydra.run.dir={folder / 'run' / name}"])
            print(json.dumps({"tenants": n, "compose_wall_s": round(c_wall, 2),
                              "compose_cpu_s": round(c_cpu, 2), "run_wall_s": round(r_wall, 2),
                              "run_cpu_s": round(r_cpu, 2),
                              "run_cpu_ms_per_tenant": round(1000 * r_cpu / n, 1)}), flush=True)


if __name__ == "__main__":
    main()
