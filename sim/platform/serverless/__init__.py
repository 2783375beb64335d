"""Serverless multi-tenant platform: a shared GPU pool, autoscaling, keep-alive, cold starts.

Modules, one concern each (the policies are plain classes without simpy):

* :mod:`.autoscaler`: per-model desired replicas from concurrency (stable/panic windows);
* :mod:`.keepalive`: fixed idle timeout and the hybrid histogram policy (Shahrad et al.);
* :mod:`.eviction`: node choice for a new replica and LRU eviction of idle replicas;
* :mod:`.ratelimit`: per-tenant requests/tokens per minute and concurrency caps;
* :mod:`.interference`: optional slowdown of replicas sharing a node;
* :mod:`sim.platform.storage`: node weight caches (LRU) and shared remote bandwidth;
* :mod:`.platform`: :class:`ServerlessPlatform`, the SimPy glue (embeddable by a hybrid);
* :mod:`.setup`: the ``serverless`` setup; :mod:`.jobs`, :mod:`.figures`: its experiments.
"""

from sim.platform.serverless.platform import ServerlessPlatform
from sim.platform.serverless.setup import ServerlessSetup

__all__ = ["ServerlessPlatform", "ServerlessSetup"]
