"""Sweeps: replications with confidence intervals, resumable jobs, the sweep-root table.

* :mod:`sim.sweep.stats`: mean and Student-t 95 % half-width over replications.
* :mod:`sim.sweep.replicate`: run a job for seeds ``seed .. seed+n-1`` and summarise.
* :mod:`sim.sweep.resume`: the ``done.json`` marker a finished job writes last, and reading a
  finished job back so a re-run sweep skips it; a sweep job's ``job_key``.
* :mod:`sim.sweep.skip`: a resumed sweep reads its finished jobs back by their key, without
  composing or launching them (called by the default sweeper).
* :mod:`sim.sweep.objective`: the number a job returns to an optimising sweeper.
* :mod:`sim.sweep.aggregate`: the Hydra callback (and ``python -m sim.sweep DIR``) that
  collects every job's ``summary.csv`` into one table at the sweep root.
* :mod:`sim.sweep.jobrecord`: which job folders belong to the sweep last run in a folder.
"""

from sim.sweep.stats import mean_ci95

__all__ = ["mean_ci95"]
