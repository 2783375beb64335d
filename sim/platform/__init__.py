"""Deployment setups built from the engine, behind the :class:`~sim.platform.base.Setup`
protocol. ``SETUPS`` maps a setup name to its class: a new setup is one module and one line.
"""

from sim.platform.base import Setup
from sim.platform.dedicated import DedicatedSetup
from sim.platform.hybrid import HybridSetup
from sim.platform.serverless import ServerlessSetup

SETUPS: dict[str, type[Setup]] = {
    "dedicated": DedicatedSetup,
    "serverless": ServerlessSetup,
    "hybrid": HybridSetup,
}

__all__ = ["SETUPS", "Setup", "DedicatedSetup", "ServerlessSetup", "HybridSetup"]
