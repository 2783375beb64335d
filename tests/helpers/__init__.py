"""Helpers shared by the tests: paths, hand-computed timing formulas, tiny workload
builders, live setups on a bare SimPy environment, and the command-line runner."""

from pathlib import Path

from sim.paths import default_traces_dir

ROOT = Path(__file__).resolve().parents[2]
TRACES = Path(default_traces_dir())  # ../shared/traces, also from a git worktree
