"""``python -m sim ... | head``: a reader that closes stdout before the command has printed
ends it as a process stopped by SIGPIPE (exit 141), without a traceback, and a run's folder
is complete (until December 2026: a BrokenPipeError traceback through Hydra, exit 1)."""

import subprocess
import sys

import pytest
from helpers import ROOT

from sim.errors import STDOUT_CLOSED_EXIT

pytestmark = pytest.mark.slow  # subprocesses


def _closed_early(args):
    p = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.close()  # the reader is gone before the command prints anything
    err = p.stderr.read()
    return p.wait(), err


def test_a_run_whose_reader_left_writes_its_folder_and_exits_quietly(tmp_path):
    out = tmp_path / "run"
    status, err = _closed_early(["sim", "horizon_s=5", f"hydra.run.dir={out}"])
    assert status == STDOUT_CLOSED_EXIT and "Traceback" not in err and "Error" not in err
    assert (out / "done.json").is_file() and (out / "summary.csv").is_file()


@pytest.mark.parametrize("args", [["sim", "--help"],
                                  ["sim.bench", "--requests", "1000", "--engines", "fluid"]])
def test_a_command_whose_reader_left_exits_quietly(args):
    # (argparse's own --help of sim.fit, sim.bench and sim.sweep ignores a closed stdout)
    status, err = _closed_early(args)
    assert status == STDOUT_CLOSED_EXIT and err == ""
