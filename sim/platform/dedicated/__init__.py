"""The dedicated setup: reserved replicas warm from t=0, optional burst capacity and failures.

* :mod:`.setup`: :class:`DedicatedSetup` (pools, reserved slots, billing, the request path);
* :mod:`.burst`: the wait estimator, the scale-up/drain policy and the burst replicas;
* :mod:`.failures`: failure plans (random or scripted), retries, availability.
"""

from sim.platform.dedicated.setup import DedicatedSetup

__all__ = ["DedicatedSetup"]
