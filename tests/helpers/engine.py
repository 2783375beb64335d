"""Replicas on a bare SimPy environment, for exact-time engine tests."""

from __future__ import annotations

import simpy

from helpers import later_wins
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


def mooncake_on_a_line(tmp_path, trace, extra, prefixes: bool | None = None, output_dir=None):
    """``sim.run`` of the dedicated setup serving the Mooncake-format ``trace`` as recorded
    (lengths too), timed by a table of 0.01 s an iteration plus 1e-4 s a prompt token, with
    ``extra`` overrides; ``prefixes`` sets ``trace.prefixes`` when given."""
    import sim

    table = tmp_path / "lin.csv"
    table.write_text("decode_seqs,prefill_tokens,step_time_s\n0,0,0.01\n0,8192,0.8292\n"
                     "1,0,0.01\n1,8192,0.8292\n4096,0,0.01\n4096,8192,0.8292\n")
    named = "" if prefixes is None else f", prefixes: {str(prefixes).lower()}"
    tenants = (f"tenants={{chat: {{model: llama31-8b, arrival: {{kind: trace, trace: {{path: "
               f"{trace}, format: mooncake{named}}}}}, input: {{kind: trace, max: null}}, "
               f"output: {{kind: trace, max: null}}}}}}")
    return sim.run(later_wins(["setups=[dedicated]", "deployments.llama31-8b.perf.kind=table",
                    f"deployments.llama31-8b.perf.table_path={table}", "horizon_s=60",
                    "drain_s=100", "output.plots=false", tenants, *extra]), output_dir=output_dir)
