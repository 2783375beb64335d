"""Shared test helpers.

``tiny(...)`` builds replicas directly on a SimPy environment for exact-time tests;
``run_sim(overrides)`` runs the whole app in memory (no files) through :func:`sim.run`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import simpy
from omegaconf import OmegaConf

import sim
from sim.catalog import catalog_from_config
from sim.config import CatalogConfig
from sim.engine import ENGINES, Request, RequestQueue
from sim.paths import default_traces_dir
from sim.perf import Deployment, RooflinePerf

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(default_traces_dir())  # ../shared/traces, also from a git worktree


@pytest.fixture(scope="session")
def catalog():
    base = OmegaConf.structured(CatalogConfig)
    return catalog_from_config(OmegaConf.merge(base, OmegaConf.load(ROOT / "conf/catalog/default.yaml")))


def make_perf(catalog, model="llama31-8b", gpu="H100", precision="fp8", tp=1, **kw):
    dep = Deployment(catalog.models[model], catalog.gpus[gpu], precision, kw.pop("kv_dtype", "bf16"),
                     tp, kw.pop("max_num_seqs", 256), kw.pop("max_batched_tokens", 8192))
    return dep, RooflinePerf(dep, kw.pop("runtime_speedup", 1.0))


def run_requests(kind, dep, perf, reqs, replicas=1):
    """Feed (id, t, n_in, n_out) to ``replicas`` engines on one central queue.

    Returns {id: (t_first, t_done)} and the replicas."""
    env = simpy.Environment()
    q = RequestQueue()
    out = {}
    reps = [ENGINES[kind](env, i, perf, dep, q, lambda r, t: out.__setitem__(r.id, (r.t_first, r.t_done)))
            for i in range(replicas)]

    def arrivals():
        for rid, t, a, b in reqs:
            if t > env.now:
                yield env.timeout(t - env.now)
            q.push(Request(rid, 0, 0, t, a, b))

    env.process(arrivals())
    env.run()
    return out, reps


def run_sim(overrides, **kw):
    return sim.run(list(overrides), **kw)
