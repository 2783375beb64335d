"""The one place that turns composed config into simulator objects.

Everything that checks more than a single key's type lives here and raises
:class:`~sim.errors.InputError` naming the key.
"""

from __future__ import annotations

from typing import Callable

from sim.catalog import Catalog, catalog_from_config
from sim.errors import InputError
from sim.perf import Deployment, RooflinePerf, TablePerf
from sim.paths import resolve


def _enum(v) -> str:
    return v.value if hasattr(v, "value") else str(v)


def build_catalog(cfg) -> Catalog:
    return catalog_from_config(cfg.catalog)


def deployment(cfg, catalog: Catalog, model: str) -> Deployment:
    key = f"deployments.{model}"
    dc = cfg.deployments.get(model)
    if dc is None:  # unlisted models run with the schema's defaults
        from omegaconf import OmegaConf

        from sim.config import DeploymentConfig

        dc = OmegaConf.structured(DeploymentConfig)
    m = catalog.model(model, key)
    g = catalog.gpu(dc.gpu, key + ".gpu")
    if dc.tp < 1 or dc.tp > 64:
        raise InputError(f"tensor parallel degree must be 1..64, got {dc.tp}", key=key + ".tp")
    g.peak_flops(dc.precision, key + ".precision")
    g.efficiency_for(dc.precision)
    if dc.max_num_seqs < 1:
        raise InputError("must be >= 1", key=key + ".max_num_seqs")
    if dc.max_batched_tokens < 1:
        raise InputError("must be >= 1", key=key + ".max_batched_tokens")
    if not 0 < dc.gpu_memory_utilization <= 1:
        raise InputError("must be in (0, 1]", key=key + ".gpu_memory_utilization")
    return Deployment(model=m, gpu=g, precision=dc.precision, kv_dtype=dc.kv_dtype, tp=int(dc.tp),
                      pipeline=_enum(dc.get("parallelism", "tensor")) == "pipeline",
                      max_num_seqs=int(dc.max_num_seqs),
                      max_batched_tokens=int(dc.max_batched_tokens),
                      gpu_memory_utilization=float(dc.gpu_memory_utilization),
                      activation_reserve_gb=float(dc.activation_reserve_gb))


def perf_factory(cfg, catalog: Catalog) -> tuple[Callable, Callable]:
    """``(deployment_for(model), perf_for(model, runtime_speedup))``, both memoised."""
    deps: dict[str, Deployment] = {}
    perfs: dict[tuple[str, float], object] = {}

    def deployment_for(model: str) -> Deployment:
        if model not in deps:
            deps[model] = deployment(cfg, catalog, model)
        return deps[model]

    def perf_for(model: str, runtime_speedup: float = 1.0):
        k = (model, float(runtime_speedup))
        if k not in perfs:
            dep = deployment_for(model)
            dc = cfg.deployments.get(model)
            kind = _enum(dc.perf.kind) if dc is not None else "roofline"
            if kind == "table":
                if not dc.perf.table_path or not dc.perf.kv_capacity_tokens:
                    raise InputError("a table perf model needs table_path and kv_capacity_tokens",
                                     key=f"deployments.{model}.perf")
                perfs[k] = TablePerf(resolve(dc.perf.table_path), dc.perf.kv_capacity_tokens,
                                     runtime_speedup, key=f"deployments.{model}.perf.table_path")
            else:
                perfs[k] = RooflinePerf(dep, runtime_speedup)
        return perfs[k]

    return deployment_for, perf_for


def make_setup(name: str, ctx, cfg, catalog: Catalog, models: list[str]):
    from sim.platform import SETUPS

    if name not in SETUPS:
        raise InputError(f"unknown setup {name!r}; known: {', '.join(sorted(SETUPS))}", key="setups")
    return SETUPS[name](ctx, cfg, catalog, models)


def setup_serves_background(name: str) -> bool:
    """Whether a setup runs a shared pool that serves background tenants too."""
    from sim.platform import SETUPS

    return name in SETUPS and SETUPS[name].serves_background
