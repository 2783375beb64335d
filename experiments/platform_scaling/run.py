"""Scaling curves of the platform benchmark: wall time and peak RSS against requests, models
and pool size, each run in its own process (``python -m sim.bench --scenario platform``).

    python experiments/platform_scaling/run.py [--out DIR] [--quick] [--axes A ...] [--hours H ...]
    python experiments/platform_scaling/run.py --redraw CSV   # slopes and figure of a saved run

Three axes, the others held at the benchmark's defaults (200 tenants, 27.8 req/s, warm,
serverless, ``output.requests=none``): simulated hours 1, 4, 16 (requests), models 1 to 100
(one simulated hour), GPUs 24 to 1,024 (one simulated hour, 100 models). It writes
``scaling.csv`` (one benchmark line per run) and ``scaling.png`` (wall and peak RSS per
axis, log-log), and prints the log-log slope of wall time and peak RSS on each axis (1 is
linear, 0 flat; the fixed start-up of a process pulls the requests axis below 1) and the
marginal wall time per million requests (a straight-line fit on the requests axis).
``--hours`` replaces the requests axis's points (``--hours 1 4 16 48 168`` reaches the
week's 16.8 M requests); ``--axes`` runs only the axes named; ``--redraw`` recomputes the
slopes and the figure from a ``scaling.csv`` (for instance one whose axes were measured in
separate runs) and writes the figure beside it. A flag that would not be read is refused
(exit 2): ``--hours`` with ``--quick`` or without the requests axis, and any other flag
with ``--redraw``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

AXES = {"requests": ("--hours", [1, 4, 16]),
        "models": ("--models", [1, 3, 10, 30, 100]),
        "gpus": ("--gpus", [24, 64, 256, 1024])}
FIXED = {"requests": ["--models", "100", "--gpus", "1024"],
         "models": ["--hours", "1", "--gpus", "1024"],
         "gpus": ["--hours", "1", "--models", "100"]}
X = {"requests": "requests", "models": "models", "gpus": "gpus"}


def bench(args: list[str]) -> dict:
    cmd = [sys.executable, "-m", "sim.bench", "--scenario", "platform", "--requests-output",
           "none", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:  # its one line (a flag it refuses), not a CalledProcessError traceback
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        print(lines[-1] if lines else f"error: sim.bench {' '.join(args)} exited {r.returncode}",
              file=sys.stderr)
        raise SystemExit(2 if r.returncode == 2 else 1)
    return json.loads(r.stdout.strip().splitlines()[-1])


def slope(x, y) -> float:
    """Least-squares slope of log y on log x."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])


NEEDED = ("wall_s", "peak_rss_mb")  # what summarise reads of every row, beside axis and its X


def _saved(path: Path) -> pd.DataFrame:
    """A saved scaling.csv, or an InputError naming the file."""
    from sim.errors import InputError
    from sim.textfiles import require_file

    require_file(path, "scaling.csv")
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as e:  # empty, not CSV, unreadable
        raise InputError(f"not a scaling.csv: {str(e).strip().splitlines()[0]}", path=str(path)) from None
    if df.empty or "axis" not in df:
        raise InputError(f"not a scaling.csv of this script: {'no rows' if df.empty else 'no column axis'}",
                         path=str(path))
    unknown = sorted(set(df["axis"].astype(str)) - set(X))
    if unknown:
        raise InputError(f"unknown axis {unknown[0]!r} (known: {', '.join(X)})", path=str(path))
    lacking = [c for c in (*NEEDED, *(X[a] for a in dict.fromkeys(df["axis"]))) if c not in df]
    if lacking:
        raise InputError(f"not a scaling.csv of this script: no column {', '.join(dict.fromkeys(lacking))}",
                         path=str(path))
    return df


def main(argv=None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from sim.errors import ArgumentParser, InputError

    ap = ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="default results/platform_scaling")
    ap.add_argument("--quick", action="store_true", help="two points an axis, a tenth of an hour")
    ap.add_argument("--axes", nargs="+", choices=list(AXES), help="default: all three")
    ap.add_argument("--hours", nargs="+", type=float, help="the requests axis's simulated hours")
    ap.add_argument("--redraw", type=Path, help="a scaling.csv to summarise and draw; runs nothing")
    a = ap.parse_args(argv)
    if a.hours and not all(0 < h < float("inf") for h in a.hours):
        ap.error(f"argument --hours: each must be a finite number > 0, got {' '.join(f'{h:g}' for h in a.hours)}")
    # a flag no run reads is refused (until December 2026 ignored or replaced, unsaid)
    given = [f for f, v in (("--out", a.out), ("--quick", a.quick), ("--axes", a.axes),
                            ("--hours", a.hours)) if v]
    if a.redraw is not None and given:
        ap.error(f"argument {', '.join(given)}: not read by --redraw (it reads the CSV and "
                 "writes the figure beside it)")
    axes = a.axes or list(AXES)
    if a.hours and "requests" not in axes:
        ap.error(f"argument --hours: not read without the requests axis (--axes {' '.join(axes)})")
    if a.hours and a.quick:
        ap.error("argument --hours: not read by --quick (its requests axis is 0.05 and 0.1 hours)")
    out = a.out or Path("results/platform_scaling")
    if a.redraw is not None:
        try:
            df = _saved(a.redraw)
        except InputError as e:
            ap.error(f"argument --redraw: {e}")
        summarise(df, a.redraw.with_suffix(".png"))
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ap.error(f"argument --out: cannot make {out}: {e.strerror or type(e).__name__}")
    rows = []
    for axis in axes:
        flag, values = AXES[axis]
        if axis == "requests" and a.hours:
            values = [f"{h:g}" for h in a.hours]
        fixed = list(FIXED[axis])
        if a.quick:
            values = values[:2] if axis != "requests" else [0.05, 0.1]
            fixed = [("0.05" if f == "1" else f) for f in fixed]
        for v in values:
            r = bench([flag, str(v), *fixed])
            if not r.get(X[axis], 0) > 0:  # log(0): numpy's warnings, then a LinAlgError traceback
                ap.error(f"argument {flag}: {v} gave a run of 0 {X[axis]}: a log-log slope "
                         "needs more than none")
            r["axis"] = axis
            rows.append(r)
            print(json.dumps(r), flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(out / "scaling.csv", index=False)
    summarise(df, out / "scaling.png")


def summarise(df: pd.DataFrame, png: Path) -> None:
    """Print each axis's log-log slopes and the wall time per million requests; draw."""
    cols = {"wall": "wall_s", "rss": "peak_rss_mb"}
    if "cpu_s" in df and df["cpu_s"].notna().all():  # CPU seconds: what a loaded machine leaves alone
        cols["cpu"] = "cpu_s"
    slopes = {axis: {m: slope(g[X[axis]], g[c]) for m, c in cols.items()}
              for axis, g in df.groupby("axis", sort=False)}
    g = df[df.axis == "requests"]
    per_million = {f"{c}_per_million_requests": (round(float(np.polyfit(g["requests"], g[c], 1)[0]) * 1e6, 1)
                                                 if len(g) > 1 else None)
                   for c in ("wall_s", "cpu_s") if c in cols.values()}
    print(json.dumps({"slopes": {k: {m: round(s, 2) for m, s in v.items()} for k, v in slopes.items()},
                      **per_million}))
    draw(df, slopes, png)


def draw(df: pd.DataFrame, slopes: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharey="row")
    for j, (axis, g) in enumerate(df.groupby("axis", sort=False)):
        x = g[X[axis]]
        for i, (col, label) in enumerate([("wall_s", "seconds"), ("peak_rss_mb", "peak RSS (MB)")]):
            ax = axes[i, j]
            ax.loglog(x, g[col], "o-")
            ax.set_xlabel(axis)
            if j == 0:
                ax.set_ylabel(label)
            if col == "peak_rss_mb":
                ax.set_title(f"slope {slopes[axis]['rss']:.2f}", fontsize=9)
                continue
            title = f"wall (o) slope {slopes[axis]['wall']:.2f}"
            if "cpu" in slopes[axis]:  # named in the title: no legend over the points
                ax.loglog(x, g["cpu_s"], "^--")
                title += f", CPU (^) slope {slopes[axis]['cpu']:.2f}"
            ax.set_title(title, fontsize=9)
    fig.suptitle("platform benchmark: cost against requests, models and pool size")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
