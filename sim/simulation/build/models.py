"""Catalog and deployments: checked, then built into runtime objects.

A deployment is a model on ``tp`` GPUs of one class at one precision; its performance model
(:mod:`sim.perf`) is built once per (model, runtime speedup) and memoised.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Callable, Mapping

from sim.catalog import (
    BYTES_PER_PARAM,
    KV_BYTES_PER_ELEMENT,
    Catalog,
    Gpu,
    Model,
    catalog_from_config,
)
from sim.config import DeploymentConfig, Parallelism, PerfKind
from sim.errors import InputError
from sim.paths import resolve
from sim.perf import Deployment, RooflinePerf, TablePerf
from sim.textfiles import require_file


def unknown(what: str, key: str, known: Mapping) -> str:
    """'unknown model 'X' (did you mean 'y'?); known: ...' (matching keys and display names;
    catalog keys carry no dots, so they work in dotted command-line overrides)."""
    lowered = {k.lower(): k for k in known}
    by_name = {str(getattr(v, "name", k)).lower(): k for k, v in known.items()}
    guess = lowered.get(key.lower()) or by_name.get(key.lower())
    if guess is None:
        flat = {k.lower().replace("-", "").replace(".", "").replace("_", ""): k for k in known}
        probe = key.lower().replace("-", "").replace(".", "").replace("_", "")
        close = difflib.get_close_matches(probe, list(flat), n=1, cutoff=0.6)
        guess = flat[close[0]] if close else None
    hint = f" (did you mean {guess!r}?)" if guess else ""
    return f"unknown {what} {key!r}{hint}; known: {', '.join(sorted(known))}"


def model(catalog: Catalog, name: str, key: str) -> Model:
    if name not in catalog.models:
        raise InputError(unknown("model", str(name), catalog.models), key=key)
    return catalog.models[name]


def gpu(catalog: Catalog, name: str, key: str) -> Gpu:
    if name not in catalog.gpus:
        raise InputError(unknown("GPU", str(name), catalog.gpus), key=key)
    return catalog.gpus[name]


def check_catalog(cfg) -> Catalog:
    """The typed ``catalog`` node as runtime objects (field ranges are checked already)."""
    for name, m in cfg.catalog.models.items():
        key = f"catalog.models.{name}"
        if m.active_params_b is not None and m.active_params_b > m.params_b:
            raise InputError(f"must be <= {key}.params_b ({m.params_b:g})",
                             key=key + ".active_params_b")
        if m.kv_heads > m.attn_heads or m.attn_heads % m.kv_heads:
            # grouped-query attention: each KV head serves the same number of query heads
            raise InputError(f"must divide {key}.attn_heads ({m.attn_heads}), got {m.kv_heads}",
                             key=key + ".kv_heads")
        if m.experts_per_token > m.experts:
            raise InputError(f"must be <= {key}.experts ({m.experts})",
                             key=key + ".experts_per_token")
        if m.expert_params_b > m.params_b:
            raise InputError(f"must be <= {key}.params_b ({m.params_b:g})",
                             key=key + ".expert_params_b")
        for p in m.weights_gb:
            if p not in BYTES_PER_PARAM:
                raise InputError(f"unknown precision {p!r}; known: {sorted(BYTES_PER_PARAM)}",
                                 key=f"{key}.weights_gb.{p}")
    for name, g in cfg.catalog.gpus.items():  # a mesh of n links a GPU joins n + 1 GPUs: a
        if 0 < g.interconnect_links < g.domain_gpus - 1:  # larger group's all-reduce unpriced
            raise InputError(f"a direct mesh of {g.interconnect_links} links a GPU "
                             f"(catalog.gpus.{name}.interconnect_links) joins at most "
                             f"{g.interconnect_links + 1} GPUs, got {g.domain_gpus}",
                             key=f"catalog.gpus.{name}.domain_gpus")
    for name, g in cfg.catalog.gpus.items():  # as a model's weights_gb: a precision no
        for part in ("tflops", "efficiency"):  # deployment can name was kept, never read
            for p in getattr(g, part):
                if p not in BYTES_PER_PARAM:
                    raise InputError(f"unknown precision {p!r}; known: {sorted(BYTES_PER_PARAM)}",
                                     key=f"catalog.gpus.{name}.{part}.{p}")
    return catalog_from_config(cfg.catalog)


def deployment_config(cfg, name: str) -> DeploymentConfig:
    """``deployments.<name>``, or the schema's defaults for an unlisted model."""
    return cfg.deployments.get(name) or DeploymentConfig()


def variant_config(cfg, variant: tuple[str, int]):
    """The deployment config of ``dedicated[.burst].variants[i]`` (``variant``: the list's
    key and ``i``): its model's deployment with the variant's fields changed."""
    where, i = variant
    owner = cfg.dedicated if where == "dedicated.variants" else cfg.dedicated.burst
    v = owner.variants[i]
    base = deployment_config(cfg, v.model)
    return dataclasses.replace(base, gpu=v.gpu,
                               precision=base.precision if v.precision is None else v.precision,
                               tp=base.tp if v.tp is None else int(v.tp))


def check_deployment(cfg, catalog: Catalog, name: str,
                     variant: tuple[str, int] | None = None) -> Deployment:
    if variant is None:
        key = f"deployments.{name}"
        dc = deployment_config(cfg, name)
    else:
        key = f"{variant[0]}[{variant[1]}]"
        dc = variant_config(cfg, variant)
    m = model(catalog, name, key)
    g = gpu(catalog, dc.gpu, key + ".gpu")
    precision, kv_dtype = str(dc.precision), str(dc.kv_dtype)
    if precision not in g.tflops:
        raise InputError(f"GPU {g.key} has no {precision} peak; it supports {sorted(g.tflops)}",
                         key=key + ".precision")
    if precision not in g.efficiency:
        raise InputError(f"no efficiency factors for {g.key} at {precision}",
                         key=f"catalog.gpus.{g.key}.efficiency")
    if kv_dtype not in KV_BYTES_PER_ELEMENT:  # pragma: no cover - the enum prevents it
        raise InputError(f"unknown KV dtype {kv_dtype!r}", key=key + ".kv_dtype")
    dep = Deployment(model=m, gpu=g, precision=precision, kv_dtype=kv_dtype, tp=int(dc.tp),
                     pipeline=dc.parallelism == Parallelism.pipeline,
                     max_num_seqs=int(dc.max_num_seqs),
                     max_batched_tokens=int(dc.max_batched_tokens),
                     gpu_memory_utilization=float(dc.gpu_memory_utilization),
                     activation_reserve_gb=float(dc.activation_reserve_gb),
                     prefix_caching=bool(dc.prefix_caching), block_size=int(dc.block_size),
                     admission=str(dc.admission), preemption=str(dc.preemption),
                     swap_gb=float(dc.swap_gb), host_cache_gb=float(dc.host_cache_gb))
    swaps = dep.admission == "paged" and dep.preemption == "swap"
    if (swaps or dep.host_cache_gb > 0) and g.host_link_gbps <= 0:
        raise InputError(f"GPU {g.key} has no host link bandwidth for "
                         + ("swapping" if swaps else "a host cache tier"),
                         key=f"catalog.gpus.{g.key}.host_link_gbps")
    if dep.pipeline and dep.tp > m.layers:
        raise InputError(f"a pipeline of {dep.tp} stages needs at least as many layers; {name} has "
                         f"{m.layers}", key=key + ".tp")
    if not dep.pipeline and m.attn_heads % dep.tp:
        raise InputError(f"tensor parallelism splits the attention heads: {name}'s {m.attn_heads} "
                         f"heads do not divide by {dep.tp}", key=key + ".tp")
    if not dep.pipeline and dep.tp > g.domain_gpus:  # its all-reduce priced at NVLink's rate
        raise InputError(f"{dep.tp} GPUs of tensor parallelism span more than one {g.key} "
                         f"interconnect domain ({g.domain_gpus} GPUs, catalog.gpus.{g.key}."
                         "domain_gpus); servesim models tensor parallelism inside one domain: "
                         f"use tp <= {g.domain_gpus} with more replicas, or parallelism: pipeline",
                         key=key + ".tp")
    if dep.tp > 1 and g.interconnect_gbps <= 0:  # a pipeline's hand-offs cross it too (it
        what = "pipeline hand-offs" if dep.pipeline else "tensor parallelism"  # divided by 0)
        raise InputError(f"GPU {g.key} has no interconnect bandwidth for {what}",
                         key=f"catalog.gpus.{g.key}.interconnect_gbps")
    if dc.perf.kind == PerfKind.table:
        if not dc.perf.table_path or not dc.perf.kv_capacity_tokens:
            raise InputError("a table perf model needs table_path and kv_capacity_tokens",
                             key=key + ".perf")
        require_file(resolve(dc.perf.table_path), "perf table file", key + ".perf.table_path")
        if variant is not None:  # one table times one deployment: another would run at its pace
            base = deployment_config(cfg, name)
            for field in ("gpu", "precision", "tp"):
                if str(getattr(dc, field)) != str(getattr(base, field)):
                    raise InputError(
                        f"deployments.{name}.perf is a measured table, which times its own "
                        f"{field} ({getattr(base, field)}) only; this variant's "
                        f"{getattr(dc, field)} would run at the table's pace", key=f"{key}.{field}")
    else:
        perf = RooflinePerf(dep)
        if perf.kv_tokens_fit < dep.max_batched_tokens and not m.prefill_only:
            mk = f"catalog.models.{m.key}"
            wkey = f"{mk}.weights_gb.{precision}" if precision in m.weights_gb else f"{mk}.params_b"
            raise InputError(
                f"{dep.label} does not fit: weights take {perf.weight_bytes_per_gpu / 1e9:.1f} GB "
                f"({wkey}) of each GPU's {g.memory_gb:g} GB (catalog.gpus.{g.key}.memory_gb) x "
                f"{dep.gpu_memory_utilization:g} ({key}.gpu_memory_utilization) less "
                f"{dep.activation_reserve_gb:g} GB ({key}.activation_reserve_gb), leaving room "
                f"for {perf.kv_tokens_fit} KV tokens, fewer than one batch of "
                f"{dep.max_batched_tokens} ({key}.max_batched_tokens); raise tp or use another "
                "GPU", key=key)
    return dep


def perf_factory(cfg, catalog: Catalog) -> tuple[Callable, Callable]:
    """``(deployment_for(model), perf_for(model, runtime_speedup))``, both memoised; the
    first use of a model checks its deployment."""
    deps: dict = {}
    perfs: dict = {}

    def deployment_for(name: str, variant: tuple[str, int] | None = None) -> Deployment:
        """``variant``: ``("dedicated.variants" | "dedicated.burst.variants", i)``, the
        model's i-th variant there (a heterogeneous fleet) instead of its deployment."""
        k = (name, variant)
        if k not in deps:
            deps[k] = check_deployment(cfg, catalog, name, variant)
        return deps[k]

    def perf_for(name: str, runtime_speedup: float = 1.0, variant: tuple[str, int] | None = None):
        k = (name, float(runtime_speedup), variant)
        if k not in perfs:
            dep = deployment_for(name, variant)
            pc = deployment_config(cfg, name).perf
            if pc.kind == PerfKind.table:
                perfs[k] = TablePerf(resolve(pc.table_path), pc.kv_capacity_tokens, runtime_speedup)
            else:
                perfs[k] = RooflinePerf(dep, runtime_speedup)
        return perfs[k]

    return deployment_for, perf_for
