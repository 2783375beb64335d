"""Finished-job markers, so an interrupted sweep re-run in the same folder skips finished jobs.

A job writes each output through :func:`sim.io.atomic_write` and, last of all,
``done.json`` with the digest of its resolved config. A folder counts as finished only if
its ``done.json`` exists and names the same config: a job killed half-way (no marker) or a
folder reused with another config (another digest) is recomputed. A job that raised writes
``error.txt`` instead and no marker, so a re-run retries it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from sim.io import atomic_write
from sim.records import Result

DONE = "done.json"
ERROR = "error.txt"
# keys that change how a run is shown, not what it computes
_COSMETIC = (("output", "progress"), ("output", "resume"))


def config_digest(cfg) -> str:
    d = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    for a, b in _COSMETIC:
        d.get(a, {}).pop(b, None)
    d.pop("hydra", None)
    blob = json.dumps(d, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _files(out_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*")
                  if p.is_file() and not p.name.startswith(".") and ".hydra" not in p.parts
                  and p.name not in (DONE, ERROR) and not p.name.endswith(".log"))


def clear(out_dir: Path) -> None:
    """Forget a previous result in this folder before recomputing it."""
    out_dir = Path(out_dir)
    for name in (DONE, ERROR):
        (out_dir / name).unlink(missing_ok=True)


def mark_done(out_dir: Path, cfg, objective: float | None, wall_s: float) -> None:
    body = {"config_sha256": config_digest(cfg), "job": str(cfg.job), "seed": int(cfg.seed),
            "replications": int(OmegaConf.select(cfg, "replications", default=1)),
            "objective": objective, "wall_s": round(wall_s, 3), "files": _files(out_dir)}
    atomic_write(out_dir / DONE, lambda p: p.write_text(json.dumps(body, indent=1) + "\n"))


def read_done(out_dir: Path) -> dict | None:
    p = Path(out_dir) / DONE
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def load_finished(out_dir: Path, cfg):
    """The finished result in ``out_dir`` for this very config, else ``None``."""

    done = read_done(out_dir)
    if done is None or done.get("config_sha256") != config_digest(cfg):
        return None
    summary_path = Path(out_dir) / "summary.csv"
    if not summary_path.is_file():
        return None
    tables = {}
    for f in done.get("files", []):
        if f.endswith(".csv") and "/" not in f and f != "summary.csv":
            tables[f[:-4]] = pd.read_csv(Path(out_dir) / f)
    try:
        summary = pd.read_csv(summary_path)
    except pd.errors.EmptyDataError:  # a job without a summary (e.g. calibration)
        summary = pd.DataFrame()
    return Result(summary=summary, requests=pd.DataFrame(), tables=tables,
                  figures=[f for f in done.get("files", []) if f.startswith("plots/")],
                  out_dir=str(out_dir),
                  notes=["finished earlier in this folder (done.json matches the config): "
                         "not recomputed"])


def record_failure(out_dir: Path, text: str) -> None:
    out_dir = Path(out_dir)
    clear(out_dir)
    atomic_write(out_dir / ERROR, lambda p: p.write_text(text.rstrip() + "\n"))
