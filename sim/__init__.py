"""servesim: a discrete-event simulator of LLM inference, serverless, dedicated and hybrid.

    import sim
    res = sim.run(["experiment=hybrid", "horizon_s=600"])
    res.summary     # one row per (setup, tenant) plus an __all__ row per setup
    res.requests    # one row per request and setup
"""

from sim.app import compose, run
from sim.errors import InputError
from sim.records import Result

__all__ = ["run", "compose", "Result", "InputError"]
__version__ = "0.1.0"
