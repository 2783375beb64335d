"""With prefix caching and paged admission (preemption by recompute or swap), the fluid
engine agrees with the step engine within 5 % on p50/p99 TTFT, TPOT and throughput at
light, heavy and overloaded load.

Llama-3.1-8B FP8 on one H100 with only 20 % of its memory given to the engine (about 42,000
KV tokens), so that heavy load runs out of KV memory and preempts; prompts share one of 20
system prompts (Zipf popularity) of 1,000-2,900 tokens. 12,000 requests per point (p99
from 120 tail samples). Near the onset of preemption (12 req/s here, not tested) the two
paths diverge more: a preemption is decided to the token, so a microsecond's difference
changes which sequence is preempted; over seeds 0-5 p99 TTFT then differs by -11 % to +14 %
with swap (no consistent sign) and by under 5 % with recompute.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import simpy
from helpers.engine import make_perf

from sim.engine import ENGINES, Request, RequestQueue
from sim.perf import RooflinePerf

N = 12_000


def workload(rate, seed=5):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.exponential(1 / rate, N))
    pop = 1.0 / np.arange(1, 21)
    which = rng.choice(20, N, p=pop / pop.sum())
    sys_len = 1000 + 100 * np.arange(20)
    user = rng.integers(50, 600, N)
    out = np.minimum(rng.lognormal(np.log(150), 0.8, N).astype(int) + 1, 1500)
    return [(float(t[i]), int(sys_len[which[i]]) + int(user[i]), int(out[i]), int(which[i]))
            for i in range(N)]


def run(kind, dep, perf, wl):
    env = simpy.Environment()
    q = RequestQueue()
    done = []
    rep = ENGINES[kind](env, 0, perf, dep, q, lambda r, now: done.append(r))

    def arrivals():
        for i, (t, n_in, n_out, s) in enumerate(wl):
            if t > env.now:
                yield env.timeout(t - env.now)
            sys_len = 1000 + 100 * s
            q.push(Request(i, 0, 0, t, n_in, n_out, pfx=((s,), (sys_len,))))

    env.process(arrivals())
    env.run()
    assert len(done) == len(wl)
    ttft = np.array([r.t_first - r.arrival for r in done])
    tpot = np.array([(r.t_done - r.t_first) / (r.n_out - 1) for r in done if r.n_out > 1])
    span = max(r.t_done for r in done) - wl[0][0]
    return {"ttft_p50": np.quantile(ttft, 0.5), "ttft_p99": np.quantile(ttft, 0.99),
            "tpot_p50": np.quantile(tpot, 0.5), "tpot_p99": np.quantile(tpot, 0.99),
            "throughput": sum(r.n_out for r in done) / span,
            "preemptions": rep.preemptions, "hit": rep.kv.stats.cached_tokens / rep.kv.stats.prompt_tokens}


@pytest.mark.parametrize("preemption", ["recompute", "swap"])
@pytest.mark.parametrize("rate", [5.0, 25.0, 60.0], ids=["light", "heavy", "overloaded"])
def test_fluid_matches_step_with_caching_and_preemption(catalog, rate, preemption):
    dep, _ = make_perf(catalog)
    dep = dataclasses.replace(dep, gpu_memory_utilization=0.2, admission="paged",
                              preemption=preemption, swap_gb=0.5)
    perf = RooflinePerf(dep)
    wl = workload(rate)
    step, fluid = run("step", dep, perf, wl), run("fluid", dep, perf, wl)
    assert step["hit"] > 0.5  # most prompt tokens are a shared system prompt
    if rate >= 25:
        assert step["preemptions"] > 0 and fluid["preemptions"] > 0
    for k in ("ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99", "throughput"):
        assert fluid[k] == pytest.approx(step[k], rel=0.05), (k, step, fluid)
