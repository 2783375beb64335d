"""Helpers shared by the tests: paths, hand-computed timing formulas, tiny workload
builders, live setups on a bare SimPy environment, and the command-line runner."""

from pathlib import Path

from sim.paths import default_traces_dir

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(default_traces_dir())  # ../shared/traces, also from a git worktree


def later_wins(*parts) -> list[str]:
    """Override lists joined, a key set again in a later one replacing its earlier setting
    (``sim.run`` refuses a key given twice with two values, as the command line does)."""
    out: list[str] = []
    for part in parts:
        for text in part:
            key = text.split("=", 1)[0].lstrip("+~")
            out = [t for t in out if t.startswith("~") or t.split("=", 1)[0].lstrip("+") != key]
            out.append(text)
    return out
