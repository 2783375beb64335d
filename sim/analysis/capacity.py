"""A deployment's capacity: the sustainable output throughput of one saturated replica.

:func:`measure_capacity` runs a closed loop with more clients than the replica has sequence
slots (or KV room), with the tenant's own lengths, and reads the steady-state rates
(:func:`sim.metrics.steady.steady_rates`): nothing about throughput is assumed.
"""

from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import open_dict

from sim.config import variant
from sim.metrics.steady import steady_rates
from sim.records import COMPLETED
from sim.simulation.build import build_catalog, build_workload, perf_factory
from sim.simulation.simulate import simulate


def swept_tenant(cfg) -> str:
    """``breakeven.tenant``, or the only tenant (the breakeven job checks there is one)."""
    want = cfg.breakeven.tenant
    return want if want is not None else sorted(cfg.tenants.keys())[0]


# the settings keyed by a tenant's name (hybrid.placement also takes model names)
TENANT_KEYED = (("hybrid", "placement"), ("serverless", "rate_limits"))


def only_tenant(cfg, tenant: str, keep: tuple[str, ...] = ()):
    """``cfg`` with the other tenants removed (the sweep prices one tenant's traffic), and
    the settings keyed by a removed tenant's name (:data:`TENANT_KEYED`) with them: they
    name a tenant that is not in the run, which the build refuses (until December 2026
    ``signals.standalone=true`` beside ``hybrid.placement.chat=dedicated`` stopped the run
    with "unknown model or tenant 'chat'"). Keys naming ``tenant`` or one of ``keep`` (a
    tenant the caller puts back, as the batch fill) stay, as does every other key."""
    out = copy.deepcopy(cfg)
    gone = [t for t in out.tenants if t != tenant and t not in keep]
    with open_dict(out):
        for t in [t for t in out.tenants if t != tenant]:
            del out.tenants[t]
        for section, name in TENANT_KEYED:
            table = out[section][name]
            for t in gone:
                if t in table:
                    del table[t]
    return out


@dataclass
class Capacity:
    model: str
    gpu: str
    tp: int
    clients: int
    requests: int
    rps: float  # requests/s one saturated replica completes in steady state
    tok_s: float  # output tokens/s of one saturated replica

    @property
    def tok_s_per_gpu(self) -> float:
        return self.tok_s / self.tp


def _replayed_pmf(cfg, tenant: str, workdir: Path) -> dict:
    """Length overrides for a tenant whose lengths are a trace's (``kind: trace``): its closed
    loop has no trace arrival, so it resamples the lengths the replay gives (its rows after
    ``start_s``, ``where`` and the length config applied), written as PMFs in ``workdir``.
    Before December 2026 such a tenant was refused ("trace lengths need the tenant's arrival
    kind to be trace"), so ``job=plan`` could not plan a trace's traffic."""
    tc = cfg.tenants[tenant]
    sides = [s for s in ("input", "output") if str(tc[s].kind) == "trace"]
    if not sides:
        return {}
    wl = build_workload(cfg)
    mine = wl.tenant == wl.tenants.index(tenant)
    out = {}
    for side in sides:
        vals, counts = np.unique((wl.input_tokens if side == "input" else wl.output_tokens)[mine],
                                 return_counts=True)
        path = workdir / f"{tenant}-{side}-pmf.csv"
        rows = [f"{side}_tokens,probability"] + [f"{int(v)},{float(c) / float(counts.sum())!r}"
                                                  for v, c in zip(vals, counts)]
        path.write_text("\n".join(rows) + "\n")
        out[f"tenants.{tenant}.{side}.kind"] = "empirical"
        out[f"tenants.{tenant}.{side}.path"] = str(path)
        out[f"tenants.{tenant}.{side}.column"] = None
    return out


def closed_loop_config(cfg, tenant: str, requests_per_client: int, workdir: Path,
                       runtime_speedup: float | None = None):
    """The saturating closed loop's config: one replica of the tenant's model, more clients
    than its sequence slots, the tenant's own lengths (a trace's: see :func:`_replayed_pmf`)."""
    model = cfg.tenants[tenant].model
    c = only_tenant(cfg, tenant)
    catalog = build_catalog(c)
    deployment_for, _ = perf_factory(c, catalog)
    dep = deployment_for(model)
    clients = max(16, int(math.ceil(1.5 * dep.max_num_seqs)))
    changes = {
        **_replayed_pmf(c, tenant, workdir),
        f"tenants.{tenant}.arrival.kind": "closed",
        f"tenants.{tenant}.arrival.concurrency": clients,
        f"tenants.{tenant}.arrival.curve": "none",
        f"tenants.{tenant}.arrival.requests_per_client": int(requests_per_client),
        "horizon_s": 1.0, "drain_s": 1.0e7,  # the loop runs until its clients are done
        "metrics.warmup_s": 0.0,  # steady_rates cuts the loop's ramp and tail itself
        "dedicated.replicas": {model: 1}, "dedicated.max_queue": 10 ** 9,
        "dedicated.burst.enabled": False, "dedicated.failures.mode": "none",
        # the hardware's rate, no reclaims; and a fleet of 2 spot replicas kept 2 spot on
        # the loop's 1 replica, refused as 'at most 1 can be spot, got 2'
        "dedicated.spot.replicas": {},
    }
    if runtime_speedup is not None:
        changes["dedicated.runtime_speedup"] = float(runtime_speedup)
    return variant(c, **changes), dep


def measure_capacity(cfg, tenant: str, requests_per_client: int = 8,
                     runtime_speedup: float | None = None) -> Capacity:
    """Output throughput of one dedicated replica kept saturated by a closed loop with the
    tenant's lengths: more clients than the replica's sequence slots (or its KV cache)."""
    with tempfile.TemporaryDirectory(prefix="servesim-capacity-") as d:
        c, dep = closed_loop_config(cfg, tenant, requests_per_client, Path(d), runtime_speedup)
        wl = build_workload(c)
        run = simulate(c, wl, "dedicated")
    done = run.log.outcome == COMPLETED
    rps, tok_s = steady_rates(np.where(done, run.log.finish_s, np.nan), wl.output_tokens)
    return Capacity(model=cfg.tenants[tenant].model,
                    gpu=dep.gpu.key, tp=int(dep.tp),
                    clients=int(c.tenants[tenant].arrival.concurrency),
                    requests=len(wl), rps=float(rps), tok_s=float(tok_s))
