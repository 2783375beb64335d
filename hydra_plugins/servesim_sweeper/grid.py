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

It is chosen in ``conf/hydra/sweeper/basic.yaml``, named as Hydra's own sweeper so that it
is the default and an experiment's ``override /hydra/sweeper: ...`` (Optuna) replaces it.
"""

from __future__ import annotations

from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper


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


class GridSweeper(BasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        super().validate_batch_is_legal(covering_jobs(batch))
