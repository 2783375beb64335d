"""A Hydra callback that holds each job of a sweep at its start until a file the test writes
allows it: job ``n`` runs once the file holds a number above ``n``. A test that interrupts a
sweep then knows which jobs can have finished, however fast the machine runs them."""

from __future__ import annotations

import time
from pathlib import Path

from hydra.experimental.callback import Callback


class Gate(Callback):
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def on_job_start(self, config, **kwargs) -> None:
        num = int(config.hydra.job.num)
        while int(self.path.read_text() or 0) <= num:
            time.sleep(0.05)


def gate_overrides(path: Path) -> list[str]:
    """The overrides that put a :class:`Gate` reading ``path`` on a sweep's jobs."""
    return ["+hydra.callbacks.gate._target_=helpers.gate.Gate",
            f"+hydra.callbacks.gate.path={path}"]
