"""The overrides the running job's config was composed from, as given (set by
:func:`sim.app.execute` around the job): a job may say which of them it did not read, and
``report.md`` which of them its experiment's question was not written for."""

from __future__ import annotations

from contextvars import ContextVar

GIVEN: ContextVar[tuple[str, ...]] = ContextVar("servesim_given_overrides", default=())
