"""GPU classes and models as immutable runtime objects, with the quantities derived from them.

The numbers live in ``conf/catalog/default.yaml`` (each with a source); this module turns a
composed catalog into :class:`Gpu` and :class:`Model` objects and derives weight bytes per
precision and KV-cache bytes per token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sim.errors import InputError

# Bytes per parameter when a model card gives no published size. FP4 (NVFP4) stores 4-bit
# values plus one 8-bit scale per 16 values: 4.5 bits.
BYTES_PER_PARAM = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp4": 0.5625}
KV_BYTES_PER_ELEMENT = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}


@dataclass(frozen=True)
class Efficiency:
    memory: float
    compute: float


@dataclass(frozen=True)
class Gpu:
    key: str
    name: str
    memory_gb: float
    bandwidth_tbps: float
    tflops: Mapping[str, float]
    interconnect_gbps: float
    allreduce_latency_s: float
    efficiency: Mapping[str, Efficiency]
    step_overhead_s: float
    layer_overhead_s: float
    seq_overhead_s: float
    on_demand_usd_per_hour: float
    reserved_usd_per_hour: float
    serverless_usd_per_s: float | None
    sources: Mapping[str, str] = field(default_factory=dict)

    def peak_flops(self, precision: str, key: str = "deployment.precision") -> float:
        if precision not in self.tflops:
            raise InputError(
                f"GPU {self.key} has no {precision} peak; it supports {sorted(self.tflops)}", key=key)
        return self.tflops[precision] * 1e12

    def efficiency_for(self, precision: str) -> Efficiency:
        if precision not in self.efficiency:
            raise InputError(f"no efficiency factors for {self.key} at {precision}",
                             key=f"catalog.gpus.{self.key}.efficiency")
        return self.efficiency[precision]


@dataclass(frozen=True)
class Model:
    key: str
    name: str
    kind: str
    params_b: float
    active_params_b: float
    layers: int
    hidden: int
    attn_heads: int
    kv_heads: int
    head_dim: int
    experts: int
    experts_per_token: int
    expert_params_b: float
    max_context: int
    weights_gb: Mapping[str, float]
    price_in_usd_per_mtok: float | None
    price_out_usd_per_mtok: float | None
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefill_only(self) -> bool:
        """Embedding models and rerankers produce no tokens: a request ends with its prefill."""
        return self.kind in ("embedding", "reranker")

    def weight_bytes(self, precision: str) -> float:
        if precision in self.weights_gb:
            return self.weights_gb[precision] * 1e9
        if precision not in BYTES_PER_PARAM:
            raise InputError(f"unknown precision {precision!r}; known: {sorted(BYTES_PER_PARAM)}",
                             key="deployment.precision")
        return self.params_b * 1e9 * BYTES_PER_PARAM[precision]

    def kv_bytes_per_token(self, kv_dtype: str = "bf16") -> float:
        """2 (K and V) x layers x KV heads x head dim x bytes per element."""
        if kv_dtype not in KV_BYTES_PER_ELEMENT:
            raise InputError(f"unknown KV dtype {kv_dtype!r}; known: {sorted(KV_BYTES_PER_ELEMENT)}",
                             key="deployment.kv_dtype")
        return 2.0 * self.layers * self.kv_heads * self.head_dim * KV_BYTES_PER_ELEMENT[kv_dtype]


@dataclass(frozen=True)
class Catalog:
    gpus: Mapping[str, Gpu]
    models: Mapping[str, Model]

    def gpu(self, key: str, where: str = "gpu") -> Gpu:
        if key in self.gpus:
            return self.gpus[key]
        raise InputError(_unknown("GPU", key, self.gpus), key=where)

    def model(self, key: str, where: str = "model") -> Model:
        if key in self.models:
            return self.models[key]
        raise InputError(_unknown("model", key, self.models), key=where)


def _unknown(what: str, key: str, known: Mapping) -> str:
    """'unknown model 'X'; did you mean 'y'? known: ...' (matching keys and display names;
    catalog keys carry no dots, so they work in dotted command-line overrides)."""
    import difflib

    lowered = {k.lower(): k for k in known}
    by_name = {getattr(v, "name", k).lower(): k for k, v in known.items()}
    guess = lowered.get(key.lower()) or by_name.get(key.lower())
    if guess is None:
        flat = {k.lower().replace("-", "").replace(".", "").replace("_", ""): k for k in known}
        probe = key.lower().replace("-", "").replace(".", "").replace("_", "")
        close = difflib.get_close_matches(probe, list(flat), n=1, cutoff=0.6)
        guess = flat[close[0]] if close else None
    hint = f" (did you mean {guess!r}?)" if guess else ""
    return f"unknown {what} {key!r}{hint}; known: {', '.join(sorted(known))}"


def catalog_from_config(cat) -> Catalog:
    """Build a :class:`Catalog` from the composed ``catalog`` config node."""
    gpus = {}
    for key, g in cat.gpus.items():
        gpus[key] = Gpu(
            key=key, name=g.name, memory_gb=float(g.memory_gb),
            bandwidth_tbps=float(g.bandwidth_tbps),
            tflops={k: float(v) for k, v in g.tflops.items()},
            interconnect_gbps=float(g.interconnect_gbps),
            allreduce_latency_s=float(g.allreduce_latency_s),
            efficiency={k: Efficiency(float(e.memory), float(e.compute))
                        for k, e in g.efficiency.items()},
            step_overhead_s=float(g.step_overhead_s),
            layer_overhead_s=float(g.layer_overhead_s),
            seq_overhead_s=float(g.seq_overhead_s),
            on_demand_usd_per_hour=float(g.on_demand_usd_per_hour),
            reserved_usd_per_hour=float(g.reserved_usd_per_hour),
            serverless_usd_per_s=None if g.serverless_usd_per_s is None else float(g.serverless_usd_per_s),
            sources=dict(g.sources),
        )
    models = {}
    for key, m in cat.models.items():
        models[key] = Model(
            key=key, name=m.name, kind=m.kind, params_b=float(m.params_b),
            active_params_b=float(m.active_params_b if m.active_params_b is not None else m.params_b),
            layers=int(m.layers), hidden=int(m.hidden), attn_heads=int(m.attn_heads),
            kv_heads=int(m.kv_heads), head_dim=int(m.head_dim), experts=int(m.experts),
            experts_per_token=int(m.experts_per_token), expert_params_b=float(m.expert_params_b),
            max_context=int(m.max_context),
            weights_gb={k: float(v) for k, v in m.weights_gb.items()},
            price_in_usd_per_mtok=m.price_in_usd_per_mtok,
            price_out_usd_per_mtok=m.price_out_usd_per_mtok,
            sources=dict(m.sources),
        )
        if m.kind not in ("llm", "embedding", "reranker"):
            raise InputError(f"kind must be llm, embedding or reranker, not {m.kind!r}",
                             key=f"catalog.models.{key}.kind")
    return Catalog(gpus=gpus, models=models)
