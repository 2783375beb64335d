"""A 500-job sweep through one launcher, timed; optionally stopped part-way and resumed.

    python experiments/sweep_scale/run.py --launcher joblib
    python experiments/sweep_scale/run.py --launcher ray --stop-after 200   # SIGINT, then resume
    python experiments/sweep_scale/run.py --launcher ray --loads 4 --stop-after 10 --signal TERM --readback

The grid: 50 offered loads (0.5 .. 25 req/s) x 10 seeds of the default chat tenant, 10 s
horizon and 10 s drain, so a job's simulation is a small share of its cost and the rest is
the fixed cost per job (``--loads N``: the first N loads only, N x 10 jobs). While the sweep runs it samples the sweep root's ``summary.csv``
(built as jobs end, sim/sweep/live.py). It prints one JSON line: the wall of each part, the
jobs done, the mean wall of a job's ``execute`` (from each ``done.json``), the wall per job
(sweep wall x workers / jobs) and the fixed cost per job (that less the simulation's own
time, measured in this process on one job of the grid), and how many jobs the live table
held at each sample. ``--signal TERM`` stops it with SIGTERM to the launching process alone
(a scheduler's stop) instead of SIGINT to its process group (Ctrl-C); ``--readback`` re-runs
the finished sweep in its folder at the end, every job read back, and prints that wall.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
LOADS = 50  # 0.5 .. 25 req/s in steps of 0.5


def grid(loads: int) -> list[str]:
    return [f"tenants.chat.arrival.rate_rps=range(0.5,{0.5 * loads + 0.5},0.5)", "seed=range(0,10)",
            "horizon_s=10", "drain_s=10"]
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}  # no report, no token


def live_jobs(sweep: Path) -> int:
    try:
        return int(pd.read_csv(sweep / "summary.csv", usecols=["job"])["job"].nunique())
    except (OSError, ValueError, KeyError):
        return 0


def part(sweep: Path, a, stop_after: int | None, samples: list) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "sim", "-m", *grid(a.loads), f"hydra/launcher={a.launcher}",
           f"hydra.sweep.dir={sweep}"]
    t0 = time.perf_counter()
    log = open(sweep.parent / f"{sweep.name}.log", "a")  # a pipe left unread would fill and block it
    p = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **ENV}, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    while p.poll() is None:
        time.sleep(5)
        n = live_jobs(sweep)
        samples.append((round(time.perf_counter() - t0), n))
        if stop_after is not None and n >= stop_after:
            if a.signal == "TERM":
                os.kill(p.pid, signal.SIGTERM)
            else:
                os.killpg(p.pid, signal.SIGINT)
            break
    stopping = time.perf_counter()
    p.wait()
    if stop_after is not None:
        samples.append(("stopped in s", round(time.perf_counter() - stopping, 1)))
    log.close()
    if p.returncode not in (0, 130):
        sys.exit(f"sweep failed ({p.returncode}): see {log.name}")
    return time.perf_counter() - t0, p.returncode


def simulation_s() -> float:
    """The simulation alone for one job of the grid (no files written), best of 3."""
    sys.path.insert(0, str(ROOT))
    from sim.app import execute
    from sim.config import compose

    cfg = compose(["tenants.chat.arrival.rate_rps=12.5", "horizon_s=10", "drain_s=10"])
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        execute(cfg)
        best = min(best, time.perf_counter() - t)
    return best




def main(argv=None) -> None:
    sys.path.insert(0, str(ROOT))
    from sim.errors import ArgumentParser, number_arg

    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--launcher", choices=["joblib", "ray"], default="joblib")
    ap.add_argument("--stop-after", type=number_arg(int, 1, low_open=False), default=None, help="SIGINT once this many jobs ended")
    ap.add_argument("--signal", choices=["INT", "TERM"], default="INT")
    ap.add_argument("--loads", type=number_arg(int, 1, low_open=False), default=LOADS, help="the first N loads of the grid")
    ap.add_argument("--readback", action="store_true", help="re-run the finished sweep: all read back")
    ap.add_argument("--workers", type=number_arg(int, 1, low_open=False), default=os.cpu_count())
    ap.add_argument("--dir", type=Path, default=None)
    a = ap.parse_args(argv)
    sweep = a.dir or ROOT / "results" / "sweep_scale" / f"{a.launcher}_{time.strftime('%Y%m%d_%H%M%S')}"
    if sweep.exists() and not sweep.is_dir():  # ran, failed (exit 1), left a log beside it
        ap.error(f"argument --dir: {sweep}: not a folder")
    try:  # the log goes beside the sweep folder (results/sweep_scale/ may not exist yet)
        sweep.parent.mkdir(parents=True, exist_ok=True)
        open(sweep.parent / f"{sweep.name}.log", "a").close()
    except OSError as e:
        ap.error(f"argument --dir: cannot write {sweep.parent / (sweep.name + '.log')}: "
                 f"{e.strerror or type(e).__name__}")
    samples: list = []
    walls = [part(sweep, a, a.stop_after, samples)[0]]
    stopped_with = len(list(sweep.glob("*/done.json")))
    if a.stop_after is not None:
        walls.append(part(sweep, a, None, samples)[0])
    done = [json.loads(p.read_text()) for p in sweep.glob("*/done.json")]
    execute = sum(d["wall_s"] for d in done) / len(done)
    per_job = sum(walls) * a.workers / len(done)
    readback = part(sweep, a, None, [])[0] if a.readback else None
    sim_s = simulation_s()
    print(json.dumps({"launcher": a.launcher, "jobs": len(done), "wall_s": [round(w, 1) for w in walls],
                      "done_when_stopped": stopped_with if a.stop_after is not None else None,
                      "rows": len(pd.read_csv(sweep / "summary.csv")),
                      "readback_s": readback and round(readback, 1),
                      "execute_s_mean": round(execute, 3), "wall_per_job_s": round(per_job, 3),
                      "simulation_s": round(sim_s, 3), "fixed_per_job_s": round(per_job - sim_s, 3),
                      "live_table_jobs": samples[:: max(1, len(samples) // 12)], "dir": str(sweep)}))


if __name__ == "__main__":
    main()
