"""The package's shape holds: layers (import-linter), no cycles, short modules that say what
they own, no dead code, no probing with hasattr, every package shipped, and a new job is
one module."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"
MAX_LINES = 400


def modules():
    return sorted(p for p in SIM.rglob("*.py") if "__pycache__" not in p.parts)


def test_the_layers_hold():
    """The contracts of ``[tool.importlinter]`` in pyproject.toml, by import-linter itself."""
    script = Path(sys.executable).parent / "lint-imports"
    cmd = str(script) if script.exists() else shutil.which("lint-imports")
    out = subprocess.run([cmd, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_no_import_cycles():
    import grimp

    graph = grimp.build_graph("sim", include_external_packages=False)
    mods = sorted(graph.modules)
    edges = {m: graph.find_modules_directly_imported_by(m) & set(mods) for m in mods}
    # Tarjan's strongly connected components: any with two or more modules is a cycle
    index, low, on, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a cycle unless they import it back
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for m in mods:
        if m not in index:
            visit(m)
    assert cycles == []


def test_modules_are_short_and_say_what_they_own():
    for p in modules():
        text = p.read_text()
        assert len(text.splitlines()) <= MAX_LINES, f"{p.relative_to(ROOT)} is over {MAX_LINES} lines"
        assert text.lstrip().startswith('"""'), f"{p.relative_to(ROOT)} opens without a docstring"


def test_no_probing_with_hasattr():
    for p in modules():
        assert "hasattr(" not in p.read_text(), f"{p.relative_to(ROOT)} probes with hasattr"


def test_every_package_is_shipped():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in SIM.rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found | {"sim.conf", "hydra_plugins.servesim_sweeper"} == listed


def test_no_dead_code():
    out = subprocess.run([sys.executable, "-m", "vulture", "sim", "tests/vulture_whitelist.py",
                          "--min-confidence", "60"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_a_new_job_is_one_module(tmp_path):
    """A module dropped into sim/jobs/ (with its config class) is found and runs, its keys
    composed and checked like any other; nothing else is edited."""
    copy = tmp_path / "sim"
    shutil.copytree(SIM, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "conf", copy / "conf", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "jobs" / "probe.py").write_text(textwrap.dedent('''
        """A probe job: counts to ``probe.n``."""
        from dataclasses import dataclass

        import pandas as pd

        from sim.config.rules import count
        from sim.jobs import job
        from sim.records import Result


        @dataclass
        class ProbeConfig:
            n: int = count(2)


        @job("probe", config=ProbeConfig)
        def probe_job(cfg, out_dir, progress):
            print(f"probe counted to {cfg.probe.n}")
            return Result(summary=pd.DataFrame(), requests=pd.DataFrame())
        '''))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    ok = subprocess.run([sys.executable, "-m", "sim", "job=probe", "probe.n=3", "output.report=false",
                         f"hydra.run.dir={tmp_path / 'out'}"], cwd=tmp_path, env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "probe counted to 3" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "sim", "job=probe", "probe.n=0",
                          f"hydra.run.dir={tmp_path / 'bad'}"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and re.search(r"config key 'probe\.n': must be >= 1", bad.stderr)
