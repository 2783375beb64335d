"""Run-folder markers: a finished run's ``done.json``, a failed or interrupted one's
``error.txt``, and the list of files each run wrote.

A job writes each output through :func:`sim.io.atomic_write` and, last of all,
``done.json`` with the digest of its resolved config and the files this run wrote. A folder
counts as finished only if its ``done.json`` exists and names the same config: a job killed
half-way (no marker) or a folder reused with another config (another digest) is recomputed.
A job that raised or was interrupted writes ``error.txt`` instead and no marker, so a
re-run retries it. Every ending (done, failed, interrupted) leaves ``.outputs.json``, the
files that run wrote, and a new run in the folder first deletes them (:func:`clear`), so
two runs' files never stand side by side.

A sweep job's ``done.json`` also holds its ``job_key`` (:func:`job_key`): what its config is
made of, known without composing it. The sweeper (``sim/sweep/skip.py``) reads finished jobs
back by that key alone, so resuming a sweep composes only the jobs it runs again.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from sim.errors import InputError
from sim.io import atomic_write, files_since, remove_listed, remove_temporaries
from sim.records import Result
from sim.sweep.jobfiles import (
    SUMMARY_NUMBERS,
    TABLE_ROWS,
    check_rows,
    read_frame,
    read_summary,
    table_rows,
    tables_of,
)

DONE = "done.json"
ERROR = "error.txt"
OUTPUTS = ".outputs.json"  # the files the last run in this folder wrote
# what Hydra writes in a command-line run's folder (hydra.job.name is "__main__")
HYDRA_FILES = (".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "__main__.log")
# keys that change how a run is shown, not what it computes
_COSMETIC = (("output", "progress"), ("output", "resume"))


def config_digest(cfg) -> str:
    d = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    for a, b in _COSMETIC:
        d.get(a, {}).pop(b, None)
    d.pop("hydra", None)
    blob = json.dumps(d, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


@lru_cache(maxsize=8)
def _source_digest(scheme: str, path: str) -> str:
    """One config source's contents: its YAML files (a folder or package) or the structured
    configs of Hydra's ConfigStore (the schema: its defaults come from the code)."""
    h = hashlib.sha256()
    if scheme == "structured":
        from hydra.core.config_store import ConfigStore

        def walk(d: dict, prefix: str) -> None:
            for name in sorted(d):
                if isinstance(d[name], dict):
                    walk(d[name], f"{prefix}{name}/")
                else:
                    h.update(f"{prefix}{name}\n{OmegaConf.to_yaml(d[name].node)}".encode())

        walk({k: v for k, v in ConfigStore.instance().repo.items() if k != "hydra"}, "")
        return h.hexdigest()
    if scheme not in ("pkg", "file"):
        raise ValueError(f"config source {scheme}://{path}: not a folder, a package or the schema")
    root = Path(str(importlib.resources.files(path))) if scheme == "pkg" else Path(path).resolve()
    for f in sorted(root.rglob("*.yaml")):
        h.update(f"{f.relative_to(root)}\n".encode() + f.read_bytes())
    return h.hexdigest()


def job_key(config_name: str | None, overrides, sources) -> str:
    """A sweep job's config as its ingredients: the primary config's name, the job's
    overrides (as Hydra hands them to the job) and the contents of every config source it
    composes from (``hydra.runtime.config_sources``: each folder's YAML files and the
    schema's structured configs; Hydra's own and its plugins' sources are left out, they
    only fill the ``hydra`` node, which :func:`config_digest` leaves out too). Equal keys
    compose equal configs; files a config only names (a trace) are not in either digest."""
    parts = []
    for src in sources:
        provider, scheme, path = str(src["provider"]), str(src["schema"]), str(src["path"])
        if provider == "hydra" or provider.startswith("hydra-"):
            continue
        parts.append([provider, scheme, path, _source_digest(scheme, path)])
    blob = json.dumps([config_name, [str(o) for o in overrides], parts], separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def clear(out_dir: Path, hydra_files: bool = False) -> None:
    """Before a run writes into ``out_dir``: delete the files the previous run there wrote
    (listed by its ``.outputs.json`` or ``done.json``), the temporaries a killed one left, and
    its markers. ``hydra_files``: this run is no Hydra job (``sim.run``), so Hydra's files of
    a command-line run before it (``.hydra/``, its log) are that run's and go too (until
    December 2026 they stayed beside the new run's files, its overrides among them)."""
    out_dir = Path(out_dir)
    if hydra_files and any((out_dir / m).is_file() for m in (OUTPUTS, DONE, ERROR)):
        for name in HYDRA_FILES:
            if (out_dir / name).is_file():
                (out_dir / name).unlink()
        with contextlib.suppress(OSError):  # not empty: a file of the user's is kept
            (out_dir / ".hydra").rmdir()
    listed: set[str] = set()
    for name in (OUTPUTS, DONE):
        try:
            files = json.loads((out_dir / name).read_bytes()).get("files", [])
        except (OSError, ValueError, AttributeError, RecursionError):
            continue  # a marker damaged since: its list is lost, nothing else is deleted
        listed.update(f for f in (files if isinstance(files, list) else []) if isinstance(f, str))
    remove_listed(out_dir, sorted(listed))
    remove_temporaries(out_dir)
    for name in (DONE, ERROR, OUTPUTS):
        if not (out_dir / name).is_dir():  # a folder of that name: the run refuses it, naming it
            (out_dir / name).unlink(missing_ok=True)


def record_outputs(out_dir: Path, t0_ns: int) -> list[str]:
    """List (and remember in ``.outputs.json``) the files this run wrote since ``t0_ns``."""
    files = files_since(out_dir, t0_ns, skip=(DONE, ERROR, OUTPUTS))
    atomic_write(Path(out_dir) / OUTPUTS, lambda p: p.write_text(json.dumps({"files": files}) + "\n"))
    return files


def mark_done(out_dir: Path, cfg, objective: float | None, wall_s: float, t0_ns: int,
              key: str | None = None, notes=()) -> None:
    """Write ``done.json``, last; ``key``: the sweep job's :func:`job_key`; ``notes``: the
    run's notes (a sweep lists them from here when the job wrote no report.md)."""
    body = {"config_sha256": config_digest(cfg), "job_key": key, "job": str(cfg.job), "seed": int(cfg.seed),
            "replications": int(OmegaConf.select(cfg, "replications", default=1)),
            "objective": objective, "wall_s": round(wall_s, 3),
            "files": record_outputs(out_dir, t0_ns), "notes": [str(n) for n in notes]}
    body[TABLE_ROWS] = table_rows(out_dir, body["files"])  # checked as they are read back
    atomic_write(out_dir / DONE, lambda p: p.write_text(json.dumps(body, indent=1) + "\n"))


def set_job_key(out_dir: Path, key: str | None) -> None:
    """A finished job read back under other overrides composing the same config (a sweep of
    another grid re-run in the folder): its ``done.json`` takes the ``job_key`` they give,
    as the job computed under them would have written (the next resume then reads it back
    without composing it)."""
    done = read_done(out_dir)
    if key is not None and done is not None and done.get("job_key") != key:
        done["job_key"] = key
        atomic_write(Path(out_dir) / DONE, lambda p: p.write_text(json.dumps(done, indent=1) + "\n"))


def read_done(out_dir: Path) -> dict | None:
    """``out_dir``'s ``done.json``; None when absent or not a JSON object (a truncated,
    emptied or foreign copy: the run counts as unfinished, as one killed before its end)."""
    p = Path(out_dir) / DONE
    if not p.is_file():
        return None
    try:
        done = json.loads(p.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return done if isinstance(done, dict) else None


def load_finished(out_dir: Path, cfg):
    """The finished result in ``out_dir`` for this very config, else ``None``."""

    done = read_done(out_dir)
    if done is None or done.get("config_sha256") != config_digest(cfg):
        return None
    summary_path = Path(out_dir) / "summary.csv"
    files = done.get("files", [])
    if not summary_path.is_file() or not (isinstance(files, list)
                                          and all(isinstance(f, str) for f in files)):
        return None
    gone = missing_outputs(out_dir, files)
    if gone:  # removed since the run listed it (read back without it until December 2026)
        print(f"note: {Path(out_dir) / gone[0]}: listed in {DONE} but not there: not read back, "
              "the run is computed again")
        return None
    try:
        tables = {f[:-4]: read_table(Path(out_dir) / f, done) for f in tables_of(files)
                  if f != "summary.csv"}
        summary = read_summary(summary_path, done)
    except InputError as e:  # a file damaged since the run wrote it: computed again
        print(f"note: {e}: not read back, the run is computed again")
        return None
    return Result(summary=summary, requests=pd.DataFrame(), tables=tables,
                  figures=[f for f in files if f.startswith("plots/")],
                  out_dir=str(out_dir),
                  notes=["finished earlier in this folder (done.json matches the config): "
                         "not recomputed"])


def missing_outputs(out_dir: Path, files) -> list[str]:
    """The files a finished run's ``done.json`` lists that are no longer in ``out_dir``."""
    return [f for f in files if isinstance(f, str) and not (Path(out_dir) / f).is_file()]


def read_table(path: Path, done: dict) -> pd.DataFrame:
    """A finished run's table; ``replications.csv`` with its numbers checked as a sweep's
    aggregation reads them (until December 2026 a damaged one was read back here, the job
    "already finished", and then dropped from the sweep's tables by the aggregation's
    refusal, which Hydra printed as a warning, exit 0); of the rows ``done`` records
    (:func:`sim.sweep.jobfiles.check_rows`)."""
    if path.name == "replications.csv":
        return check_rows(read_frame(path, path.name, ("seed", "setup", "tenant"), SUMMARY_NUMBERS),
                          path, done)
    return check_rows(read_frame(path), path, done)


def record_failure(out_dir: Path, text: str, t0_ns: int | None = None) -> None:
    """A failed or interrupted run: ``error.txt`` with ``text``; the files it wrote (since
    ``t0_ns``) are remembered so the next run in the folder removes them."""
    out_dir = Path(out_dir)
    if t0_ns is not None:
        record_outputs(out_dir, t0_ns)
    if not (out_dir / DONE).is_dir():  # a folder of that name: the run refused it, naming it
        (out_dir / DONE).unlink(missing_ok=True)
    atomic_write(out_dir / ERROR, lambda p: p.write_text(text.rstrip() + "\n"))
