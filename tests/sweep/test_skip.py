"""Resuming without composing (sim/sweep/skip.py, sim.sweep.resume.job_key) and the Ray
launcher that keeps SIGTERM an interrupt: in this process, no sweep, no Ray started."""

import json
import signal
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from sim.sweep.resume import job_key
from sim.sweep.skip import finished_jobs, launch_unfinished

SOURCES = [{"provider": "hydra", "schema": "pkg", "path": "hydra.conf"},
           {"provider": "main", "schema": "file", "path": None}]


def sweep_config(tmp_path, conf):
    sources = [dict(s, path=s["path"] or str(conf)) for s in SOURCES]
    return OmegaConf.create({
        "output": {"resume": True},
        "hydra": {"sweep": {"dir": str(tmp_path / "sweep"), "subdir": "${hydra.job.num}"},
                  "job": {"config_name": "config", "name": "app"}, "callbacks": {},
                  "runtime": {"config_sources": sources}}})


def job_folder(cfg, num, overrides, key):
    d = Path(cfg.hydra.sweep.dir) / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(list(overrides)))
    (d / "summary.csv").write_text("setup,tenant\n")
    if key is not None:
        (d / "done.json").write_text(json.dumps({"job_key": key, "objective": num / 10}))


@pytest.fixture
def conf(tmp_path):
    c = tmp_path / "conf"
    (c / "experiment").mkdir(parents=True)
    (c / "config.yaml").write_text("a: 1\n")
    (c / "experiment" / "x.yaml").write_text("b: 2\n")
    return c


def key_of(cfg, overrides):
    h = cfg.hydra
    return job_key(h.job.config_name, overrides, h.runtime.config_sources)


def test_the_key_follows_the_overrides_and_every_config_file_but_not_hydras(tmp_path, conf):
    cfg = sweep_config(tmp_path, conf)
    k = key_of(cfg, ["a=2"])
    assert k == key_of(cfg, ["a=2"]) and k != key_of(cfg, ["a=3"]) and k != key_of(cfg, [])
    (conf / "experiment" / "x.yaml").write_text("b: 3\n")  # a group file no override names
    from sim.sweep.resume import _source_digest

    _source_digest.cache_clear()
    assert key_of(cfg, ["a=2"]) != k
    assert job_key("other", ["a=2"], cfg.hydra.runtime.config_sources) != key_of(cfg, ["a=2"])


def test_finished_jobs_are_read_back_and_the_others_launched_under_their_own_numbers(tmp_path, conf, capsys):
    cfg = sweep_config(tmp_path, conf)
    batch = [[f"a={i}"] for i in range(7)]
    first = 10  # a second batch of the sweep: job numbers go on from the first
    good = {10, 11, 13, 16}
    for i, ov in enumerate(batch):
        num = first + i
        key = key_of(cfg, ov) if num in good else "stale" if num == 14 else None
        job_folder(cfg, num, ov, key)
    (tmp_path / "sweep" / "12").joinpath("done.json").write_text('{"objective": 1}')  # no key
    job_folder(cfg, 17, ["a=7"], key_of(cfg, ["a=7"]))
    (tmp_path / "sweep" / "17" / ".hydra" / "overrides.yaml").unlink()  # not a Hydra job folder
    batch.append(["a=7"])
    finished = finished_jobs(cfg, batch, first)
    assert set(finished) == good
    calls = []

    def launch(jobs, idx):
        calls.append((idx, [list(j) for j in jobs]))
        return [f"ran {idx + k}" for k in range(len(jobs))]

    out = launch_unfinished(launch, cfg, batch, first, finished)
    # runs of consecutive numbers, under their own numbers
    assert calls == [(12, [["a=2"]]), (14, [["a=4"], ["a=5"]]), (17, [["a=7"]])]
    assert (out[2], out[4], out[5]) == ("ran 12", "ran 14", "ran 15")
    assert [r.return_value for r in (out[0], out[1], out[3], out[6])] == [1.0, 1.1, 1.3, 1.6]
    assert [r.working_dir for r in (out[0], out[6])] == [str(tmp_path / "sweep" / n) for n in ("10", "16")]
    printed = capsys.readouterr().out
    assert printed.count("already finished (read back, not composed)") == len(good)


@pytest.mark.parametrize("override", ["output.resume=false", "output=plain"])
def test_nothing_is_read_back_when_resuming_is_off_or_the_folders_are_not_numbered(tmp_path, conf, override):
    cfg = sweep_config(tmp_path, conf)
    batch = [["a=0"], ["a=1", override]]
    for i, ov in enumerate(batch):
        job_folder(cfg, i, ov, key_of(cfg, ov))
    assert set(finished_jobs(cfg, batch, 0)) == {0}  # the job that asks to recompute is run
    cfg.output.resume = False
    assert finished_jobs(cfg, batch, 0) == {}
    cfg.output.resume = True
    cfg.hydra.sweep.subdir = "${hydra.job.override_dirname}"
    assert finished_jobs(cfg, batch, 0) == {}


def test_the_ray_launcher_puts_back_the_sigterm_handler_ray_init_replaces(monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="pip install -e '.[ray]'")
    import importlib

    from hydra_plugins.servesim_sweeper.ray_launcher import RayLauncher

    # the modules as the launcher finds them (Hydra's plugin scan may have loaded them anew)
    _launcher_util = importlib.import_module("hydra_plugins.hydra_ray_launcher._launcher_util")
    Plugin = RayLauncher.__mro__[1]

    def like_ray_init(init_cfg):  # what ray.init does to the launching process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    seen = {}
    monkeypatch.setattr(_launcher_util, "start_ray", like_ray_init)
    monkeypatch.setattr(Plugin, "launch", lambda self, jobs, idx: seen.setdefault(
        "handler", signal.getsignal(signal.SIGTERM)) and [])

    def own(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, own)
    try:
        RayLauncher(ray=OmegaConf.create({"init": {}, "remote": {}})).launch([["a=1"]], 0)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert seen["handler"] is own


KILLED = """
import importlib, sys
from pathlib import Path
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sim.__main__ import main
core = importlib.import_module("hydra_plugins.hydra_joblib_launcher._core")
sweep = Path(sys.argv[1])
def killed(launcher, job_overrides, initial_job_idx):  # job 0 done, 1 in flight, 2 not started
    for num in (0, 1):
        (sweep / str(num) / ".hydra").mkdir(parents=True)
        (sweep / str(num) / ".hydra" / "overrides.yaml").write_text("[]\\n")
    (sweep / "0" / "done.json").write_text("{}")
    raise TerminatedWorkerError("A worker process managed by the executor was unexpectedly "
                                "terminated.\\n\\nThe exit codes of the workers are {SIGKILL(-9)}")
core.launch = killed
sys.argv = ["sim", "-m", "hydra/launcher=joblib", "seed=1,2,3", f"hydra.sweep.dir={sweep}"]
main()
"""


def test_a_killed_joblib_worker_stops_the_sweep_in_one_line_its_jobs_in_flight_marked(tmp_path):
    """loky raises TerminatedWorkerError in the launching process when the OS kills one
    worker (it ends the others): one line and exit 1, not joblib's traceback, and the
    jobs started and unfinished get an error.txt, as an interrupt leaves them. Run in a
    process of its own: Hydra's plugin scan re-executes the sweeper's module, so a process
    that imported it before (another test) instantiates a stale class."""
    import os
    import subprocess
    import sys

    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep = tmp_path / "sweep"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    r = subprocess.run([sys.executable, "-c", KILLED, str(sweep)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, env=env)
    err = r.stderr
    assert r.returncode == 1 and "Traceback" not in err and "TerminatedWorkerError" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: a worker process"), err
    # joblib's set of exit codes said plainly (it read "exit {SIGKILL(-9)}")
    assert "(SIGKILL, exit code -9: the OS killed it" in lines[0] and "{" not in lines[0]
    assert "job 1 marked in error.txt" in lines[0]
    assert f"hydra.sweep.dir={sweep} to resume" in lines[0]
    assert "before the run finished" in (sweep / "1" / "error.txt").read_text()
    assert not (sweep / "0" / "error.txt").exists() and (sweep / "0" / "done.json").exists()
    assert not (sweep / "2").exists()


def test_a_killed_jobs_temporary_files_go_when_it_is_redone(tmp_path):
    """A job killed mid-write (SIGKILL: the write's ``finally`` never runs) left
    ``2/.requests.parquet.<random>`` in its folder through every resume; the run redoing it
    removes such temporaries (named as :func:`atomic_write` names them), nothing else: a
    user's dotfile with an 8-character suffix (``.notes.abcdefgh``, ``.env.prod_key``) was
    deleted by every run in its folder until December 2026."""
    from sim.io import atomic_write
    from sim.sweep.resume import clear

    made = []
    for name in ("requests.parquet", "summary.csv"):  # the names atomic_write gives them
        atomic_write(tmp_path / name, made.append)
        (tmp_path / name).unlink()
    assert len(made) == 2 and not any(p.exists() for p in made)
    for p in made:  # as a killed write leaves them
        p.write_text("half")
    keep = [".notes", "notes.txt", ".requests.parquet", ".a.b.toolong123", ".x.12345678.txt",
            ".notes.abcdefgh", ".env.prod_key", ".summary.csv.abcdefgh"]
    for name in keep:
        (tmp_path / name).write_text("mine")
    (tmp_path / ".hydra.abcdefgh").mkdir()  # a folder: not a temporary file
    clear(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(keep + [".hydra.abcdefgh"])
