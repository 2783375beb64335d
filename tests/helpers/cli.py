"""The command line, as a user runs it: in a real process, or in this one (fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest


def cli(*args, cwd, timeout=300, env=None) -> subprocess.CompletedProcess:
    """``python -m sim <args>`` in a real process."""
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def ctrl_c_as_at_a_terminal() -> None:
    """``preexec_fn`` of a child that a test interrupts with SIGINT: the default action, as a
    terminal gives it. A suite started in the background by a non-interactive shell has
    SIGINT ignored, and a child inherits that (Python then never raises KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_main(args, tmp_path, monkeypatch, capsys):
    """``python -m sim <args>`` in this process: (exit status, stderr)."""
    from sim.__main__ import main

    monkeypatch.setattr(sys, "argv", ["sim", *args, f"hydra.run.dir={tmp_path / 'out'}",
                                      "output.plots=false", "output.progress=false"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as e:
        main()
    return e.value.code, capsys.readouterr().err


def assert_one_clear_line(status, err, expected):
    """Exit status 2, no traceback, one line ``error: ...`` containing ``expected``."""
    assert status == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0], err
