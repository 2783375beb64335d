"""Calibrating the performance model to a user's own deployment from a per-request log.

``python -m sim.fit`` (:mod:`sim.fit.__main__`) reads the log (:mod:`.logs`), replays it
through the deployment's engine (:mod:`.replay`) and fits the catalog's efficiency factors
and overheads for its GPU class and precision (:mod:`.solve`).
"""
