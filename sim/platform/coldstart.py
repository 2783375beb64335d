"""Cold start: the stages of bringing a replica up, and how long each takes.

A replica starts cold through, in order:

1. node provisioning, when no GPU node is free (``node_provision_s``);
2. container start (``container_start_s`` with the image cached on the node, else
   ``image_pull_s`` first);
3. weight load: the deployment's weight bytes, all of them, at the effective bandwidth of
   the fastest tier holding the weights (a tier's figure is per replica load: its ``tp``
   GPUs share it, as published loader figures are per model load; :func:`weight_load_s`);
4. engine initialisation (``engine_init_s``; divided by ``snapshot_speedup`` when the
   replica is restored from a GPU memory snapshot).

This module is pure arithmetic: callers that share bandwidth among concurrent loads or
keep node caches decide the tier and the bandwidth share, and ask for the durations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.perf import Deployment


@dataclass(frozen=True)
class ColdStartStages:
    provision_s: float
    container_s: float
    weights_s: float
    init_s: float
    tier: str

    @property
    def total_s(self) -> float:
        return self.provision_s + self.container_s + self.weights_s + self.init_s


def tier_bandwidth_gbps(cfg, tier: str) -> float:
    """Effective GB/s into GPU memory from ``tier`` (a key of ``cold_start.tiers``, checked
    by the build layer) with the configured loader."""
    spec = cfg.cold_start.tiers[tier]
    return float(spec.optimized_gbps if cfg.cold_start.loader == "optimized" else spec.stock_gbps)


def weight_load_s(dep: Deployment, gbps: float) -> float:
    """Seconds to load the weights when the whole replica reads at ``gbps`` GB/s.

    Published loader figures are per model load (one process, one stream), so the
    bandwidth applies to the whole weight size, not per GPU shard."""
    return dep.model.weight_bytes(dep.precision) / (gbps * 1e9)


def stages(cfg, dep: Deployment, tier: str, *, need_node: bool = False, image_cached: bool = True,
           bandwidth_gbps: float | None = None) -> ColdStartStages:
    cs = cfg.cold_start
    bw = bandwidth_gbps if bandwidth_gbps is not None else tier_bandwidth_gbps(cfg, tier)
    base = cs.engine_init_s_by_model.get(dep.model.key, cs.engine_init_s)
    init = base / (cs.snapshot_speedup if tier == "gpu_snapshot" else 1.0)
    return ColdStartStages(
        provision_s=cs.node_provision_s if need_node else 0.0,
        container_s=cs.container_start_s + (0.0 if image_cached else cs.image_pull_s),
        weights_s=weight_load_s(dep, bw),
        init_s=init,
        tier=tier,
    )
