"""Continuous-batching replicas: a reference step engine and an event-skipping fluid engine.

Both implement :class:`sim.engine.base.ReplicaBase`; :func:`make_replica` picks one by name.
"""

from sim.engine.base import ReplicaBase
from sim.engine.fluid import FluidReplica
from sim.engine.request import Request, RequestQueue
from sim.engine.step import StepReplica

ENGINES = {"fluid": FluidReplica, "step": StepReplica}


def make_replica(kind: str, *args, **kwargs) -> ReplicaBase:
    return ENGINES[kind](*args, **kwargs)


__all__ = ["ReplicaBase", "FluidReplica", "StepReplica", "Request", "RequestQueue",
           "make_replica", "ENGINES"]
