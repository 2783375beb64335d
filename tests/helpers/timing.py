"""Hand-computed times from the performance model and the cold-start stages."""

from __future__ import annotations

from sim.simulation.build import build_catalog, perf_factory

GB = 1e9
W8B = 8.5 * GB  # llama31-8b FP8 weights (catalog, CAL §2)
OBJ = 6.0 * GB  # object storage, optimized loader (CAL §4, conf default)
DRAM = 52.0 * GB  # host DRAM, optimized (CAL §4)
NVME = 22.0 * GB  # local NVMe, optimized (CAL §4)
COLD_8B = 1.0 + W8B / OBJ + 25.0  # container (image cached) + weights + engine init (conf)


def perf_of(cfg, model="llama31-8b", speed=1.0):
    """The performance model of ``model``'s deployment in ``cfg``."""
    _, perf_for = perf_factory(cfg, build_catalog(cfg))
    return perf_for(model, speed)


def prefill(perf, n):
    """One iteration running a whole ``n``-token prompt alone."""
    return perf.step_time(0, n, 0, n * (n + 1) / 2)


def decode(perf, n_in, n_out):
    """The ``n_out - 1`` decode iterations of one sequence alone after its prefill."""
    return sum(perf.step_time(1, 0, n_in + j - 1, n_in + j) for j in range(1, n_out))
