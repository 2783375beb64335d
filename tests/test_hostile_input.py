"""The hostile-input catalogue (``tests/hostile/catalogue.py``), every case through the
command line: bad input is one line ``error: <key or file:line>: ...`` and exit status 2,
no traceback, no silent run; inputs with a documented meaning run; a reused run folder
never holds files of an earlier run.

Plain runs go through the command line's ``main`` in this process (fast); sweeps, which
start worker processes, run ``python -m sim`` for real.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers.cli import cli
from hostile.catalogue import CASES

pytestmark = pytest.mark.slow  # about 300 runs


def _subst(x: str, d: Path) -> str:
    return x.replace("{dir}", str(d))


def _main(args, monkeypatch, capsys) -> tuple[int, str]:
    from sim.__main__ import main

    monkeypatch.setattr(sys, "argv", ["sim", *args])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    capsys.readouterr()
    try:
        main()
        rc = 0
    except SystemExit as e:
        rc = int(e.code or 0)
    return rc, capsys.readouterr().err


def _message(line: str) -> str:
    """The error line without the echo of what was typed (a sweep job's label, Hydra's
    ``(override k=v)``): the key must be named by the message itself."""
    m = re.match(r"^job \d+ \(.*?\): (error: .*)$", line)
    line = m.group(1) if m else line
    return re.sub(r"\s*\(override [^()]*\)\s*$", "", line)


def _consistent(out: Path) -> str | None:
    s, r = out / "summary.csv", out / "requests.parquet"
    if not (s.is_file() and r.is_file()):
        return None
    summ, req = pd.read_csv(s), pd.read_parquet(r)
    if sorted(set(summ["setup"].astype(str))) != sorted(set(req["setup"].astype(str))):
        return "summary.csv and requests.parquet hold different setups"
    n = int(summ.loc[summ["tenant"] == "__all__", "requests"].sum())
    if n != int((~req["tenant"].astype(str).str.startswith("bg/")).sum()):
        return "summary.csv and requests.parquet count different requests"
    return None


def _fresh(out: Path, t_start: float) -> str | None:
    stale = [str(f.relative_to(out)) for f in out.rglob("*")
             if f.is_file() and not any(p.startswith(".") for p in f.relative_to(out).parts)
             and f.suffix in (".csv", ".parquet", ".md", ".yaml", ".json", ".png", ".svg")
             and f.stat().st_mtime < t_start]
    return f"left from the earlier run: {stale}" if stale else _consistent(out)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_hostile_input(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, content in (case.get("files") or {}).items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(_subst(content, tmp_path))
    for pre in case.get("pre") or []:
        rc, err = _main([_subst(a, tmp_path) for a in pre], monkeypatch, capsys)
        assert rc == 0, f"preparatory run failed: {err}"
    args = [_subst(a, tmp_path) for a in case["args"]]
    time.sleep(0.01)
    t_start = time.time()
    if "-m" in args:  # a sweep starts worker processes: run it for real
        r = cli(*args, cwd=tmp_path, timeout=120)
        rc, err = r.returncode, r.stderr
    else:
        rc, err = _main(args, monkeypatch, capsys)
    assert "Traceback" not in err, err
    if case["expect"] == "ok":
        assert rc == 0, err
        if case.get("check") == "fresh_outputs":
            assert _fresh(tmp_path / "out", t_start) is None, _fresh(tmp_path / "out", t_start)
        if case.get("check") == "consistent":
            assert _consistent(tmp_path / "out") is None
        return
    assert rc == 2, f"exit {rc}: {err}"
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if "-m" not in args:
        assert len(lines) == 1, err
    keys = [_subst(k, tmp_path) for k in case["key"].split("|") if k]
    assert any(any(k in _message(ln) for k in keys) for ln in lines), (keys, err)
