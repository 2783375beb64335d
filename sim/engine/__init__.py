"""Continuous-batching replicas: a reference step engine and an event-skipping fluid engine.

Both implement :class:`sim.engine.base.ReplicaBase`; ``ENGINES`` maps ``cfg.engine`` to one.
"""

from sim.engine.base import ReplicaBase
from sim.engine.fluid import FluidReplica
from sim.engine.request import BatchQueue, Request, RequestQueue
from sim.engine.step import StepReplica

ENGINES = {"fluid": FluidReplica, "step": StepReplica}


__all__ = ["ReplicaBase", "FluidReplica", "StepReplica", "Request", "RequestQueue",
           "BatchQueue", "ENGINES"]
