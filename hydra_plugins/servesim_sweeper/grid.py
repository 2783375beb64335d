"""servesim's default sweeper: Hydra's basic grid sweeper, with a cheaper check before launch.

Hydra's ``BasicSweeper`` composes the config of every job of a batch in the launching
process, one after the other, before it launches any (``validate_batch_is_legal``), so that
a bad value stops the sweep before any work; the launcher then composes each job again where
it runs. A composition takes about 0.25 s on this machine (the schema's merges), so for a
500-job sweep that check was about two minutes of one core before the first job started
(3 min 10 s with the machine loaded). :class:`GridSweeper` composes only the jobs needed for
every swept ``key=value`` to appear at least once, in job order (a grid of 50 x 10 values:
59 jobs, not 500): every value each key takes is checked, and each group choice
(``experiment=a,b``) with the values the other keys take beside it in those jobs. A value
that only fails together with another key's value (a key that exists in one experiment
only) can then be met by the launcher instead, which stops the sweep there with the same
one-line message. Hydra's own check of every job:
``hydra.sweeper._target_=hydra._internal.core_plugins.basic_sweeper.BasicSweeper``.

Resuming (a sweep re-run in its folder): the jobs that finished there with the config they
would compose now are read back without composing them, before and at launch, and only the
others are checked and launched (``sim/sweep/skip.py``).

It is chosen in ``conf/hydra/sweeper/basic.yaml``, named as Hydra's own sweeper so that it
is the default and an experiment's ``override /hydra/sweeper: ...`` (Optuna) replaces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.types import Override
from hydra.core.utils import JobReturn
from omegaconf.errors import OmegaConfBaseException


def covering_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """The jobs of ``batch``, in order, that bring an override no earlier pick had."""
    seen: set[str] = set()
    picked = []
    for overrides in batch:
        new = set(overrides) - seen
        if new or not picked:
            picked.append(overrides)
            seen |= new
    return picked


class _SkipFinished:
    """The sweep's launcher, behind a check for jobs finished earlier (sim/sweep/skip.py;
    imported when used: Hydra imports this module in every process it starts)."""

    def __init__(self, launcher, config):
        self.launcher, self.config = launcher, config
        self.next = 0  # the first job number of the coming batch
        self._seen: tuple = ((), {})

    def finished(self, batch: Sequence[Sequence[str]]) -> dict[int, dict]:
        if self._seen[0] != (self.next, batch):
            from sim.sweep.skip import finished_jobs

            self._seen = ((self.next, batch), finished_jobs(self.config, batch, self.next))
        return self._seen[1]

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from sim.sweep.skip import launch_unfinished

        self.next = initial_job_idx
        finished = self.finished(job_overrides)
        self.next = initial_job_idx + len(job_overrides)
        return launch_unfinished(self.launcher.launch, self.config, job_overrides,
                                 initial_job_idx, finished)


def refuse_empty_sweeps(overrides: Sequence[Override]) -> None:
    """A sweep value that expands to nothing (``experiment=glob(nomatch*)``, ``seed=range(3,3)``)
    would make a grid of no job, reported as "0 of 0 jobs" with exit status 0: an input
    error naming it instead, before the sweep folder is made."""
    from sim.errors import InputError

    for o in overrides:
        if not (o.is_sweep_override() and o.is_discrete_sweep()):
            continue
        line = o.input_line or o.get_key_element()
        try:
            empty = not any(True for _ in o.sweep_string_iterator())
        except ValueError as e:  # range(0,5,0): Python's words alone, naming no key (the fifteenth sweep)
            raise InputError(f"cannot expand a sweep's values in {line!r}: {str(e).strip()}",
                             key=o.key_or_group) from None
        if empty:
            raise InputError(f"{line}: matches no value, so the sweep would have no job "
                             "(a glob() naming no option of the group, an empty range or choice)",
                             key=o.key_or_group)


def drop_unused_sweep_folder(sweep_dir: Path, made: list[Path], before: dict) -> None:
    """A sweep refused before its first launch leaves no trace: Hydra made ``sweep_dir`` and
    wrote ``multirun.yaml`` into it (and the sweep its ``.aggregate.lock``) before checking
    any job. Each of the two goes if the sweep wrote it (not in ``before``, the folder's
    names before it), whatever else the folder holds; a ``multirun.yaml`` there before gets
    its bytes back (``before[name]``); then the folders the sweep ``made`` go, deepest first,
    while empty: never one that was there before (until December 2026 a folder holding
    anything else kept the multirun.yaml the sweep wrote, or overwrote, and
    `hydra.sweep.dir=keepme/sw` deleted the user's empty keepme/)."""
    from sim.sweep.live import LOCK

    if not sweep_dir.is_dir():
        return
    for name in ("multirun.yaml", LOCK):
        if name not in before:
            (sweep_dir / name).unlink(missing_ok=True)
        elif before[name] is not None:
            (sweep_dir / name).write_bytes(before[name])
    for d in made:
        try:
            d.rmdir()  # only an empty folder goes
        except OSError:
            break


class GridSweeper(BasicSweeper):
    @staticmethod
    def split_arguments(overrides: list[Override], max_batch_size: int | None) -> list:
        refuse_empty_sweeps(overrides)
        return BasicSweeper.split_arguments(overrides, max_batch_size)

    def sweep(self, arguments):
        # the folders the sweep makes (BasicSweeper.sweep does, before any check), deepest
        # first, and what its folder held before (the names; multirun.yaml's bytes, which
        # Hydra overwrites before any check)
        self.made, self.before = [], {}
        try:
            d = Path(str(self.config.hydra.sweep.dir)).absolute()
            self.made = [p for p in [d, *d.parents] if not p.exists()]
            self.before = dict.fromkeys(p.name for p in d.iterdir()) if d.is_dir() else {}
            if (d / "multirun.yaml").is_file():
                self.before["multirun.yaml"] = (d / "multirun.yaml").read_bytes()
        except (OmegaConfBaseException, OSError):  # a bad ${...} or name: Hydra says so next
            pass
        return super().sweep(arguments)

    def setup(self, *, hydra_context, task_function, config) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.launcher = _SkipFinished(self.launcher, config)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        finished = self.launcher.finished(batch)
        todo = [o for i, o in enumerate(batch) if self.launcher.next + i not in finished]
        if todo:
            try:
                super().validate_batch_is_legal(covering_jobs(todo))
            except Exception:
                if self.launcher.next == 0:  # nothing launched yet: the folder holds no job
                    drop_unused_sweep_folder(Path(self.config.hydra.sweep.dir), self.made,
                                             self.before)
                raise
