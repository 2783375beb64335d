"""The overrides the running job's config was composed from, as given (set by
:func:`sim.app.execute` around the job): a job may say which of them it did not read, and
``report.md`` which of them its experiment's question was not written for."""

from __future__ import annotations

from contextvars import ContextVar

GIVEN: ContextVar[tuple[str, ...]] = ContextVar("servesim_given_overrides", default=())

# the notes the run's config makes before it runs (a variant's value replaced, a sweep run
# as one job, an experiment's hydra: keys unread by sim.run), set by sim.app.execute: the
# run's notes whether its files are written or not (until December 2026 the variant's was
# added by the writing of the files alone, and the others were printed by the command line)
RUN_NOTES: ContextVar[tuple[str, ...]] = ContextVar("servesim_run_notes", default=())
