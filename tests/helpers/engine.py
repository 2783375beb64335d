"""Replicas on a bare SimPy environment, for exact-time engine tests."""

from __future__ import annotations

import simpy

from sim.engine import ENGINES, Request, RequestQueue
from sim.perf import Deployment, RooflinePerf


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
