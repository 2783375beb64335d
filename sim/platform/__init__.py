"""Deployment setups built from the engine. ``SETUPS`` maps a setup name to its class.

A setup takes ``(ctx, cfg, catalog, models)``, receives each arriving request through
``submit(req)``, ends every request exactly once through ``ctx.log`` and ``ctx.on_end``,
and records GPU usage in ``ctx.ledger``; ``close(t_end)`` settles the ledger.
"""

from sim.platform.dedicated import DedicatedSetup
from sim.platform.hybrid import HybridSetup
from sim.platform.serverless import ServerlessSetup

SETUPS = {"dedicated": DedicatedSetup, "serverless": ServerlessSetup}
SETUPS["hybrid"] = HybridSetup

__all__ = ["SETUPS", "DedicatedSetup", "ServerlessSetup", "HybridSetup"]
