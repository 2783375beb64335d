"""A logged benchmark run replayed through one deployment's engine with trial factors.

The factors a fit moves are the catalog's for the deployment's GPU class and precision:
``memory`` and ``compute`` efficiency, the fixed per-iteration overhead (``step_overhead_s``
and ``layer_overhead_s`` scaled together: one model's log cannot tell them apart, since
every iteration pays ``step + layers x layer``) and ``seq_overhead_s``.

How requests arrive (:func:`arrivals`):

* recorded send times (a CSV's ``arrival_s``, vLLM's ``start_times``): replayed as logged
  (with ``--max-concurrency`` c, a request is sent at its time or when one of c finishes);
* otherwise the benchmark client's settings: rate ``inf`` sends every request at once;
  ``max_concurrency`` c keeps at most c in flight, the next one (in log order) sent the moment
  one finishes, as vLLM's and SGLang's semaphore does (client turnaround taken as 0);
* a finite rate without send times: gaps drawn as the client draws them (gamma of shape
  ``burstiness``, mean 1/rate: Poisson at burstiness 1) from ``seed``, one for every request
  the client sent (failed ones too: the kept ones take their own places), raw (vLLM since
  2025 rescales their sum to end at n / rate without a ramp; the log does not say which
  version wrote it). These are not the
  run's own arrivals, so the replay is compared with the log by rank (sorted TTFTs against
  sorted TTFTs), not request by request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import simpy

from sim.catalog import Efficiency
from sim.engine import ENGINES, Request, RequestQueue
from sim.errors import InputError
from sim.fit.logs import RequestLog
from sim.perf import Deployment, RooflinePerf

PARAMS = ("memory", "compute", "fixed_overhead_s", "seq_overhead_s")


def catalog_params(dep: Deployment) -> dict:
    """The deployment's current factors (the fit's starting point)."""
    g = dep.gpu
    eff = g.efficiency_for(dep.precision)
    return {"memory": eff.memory, "compute": eff.compute,
            "fixed_overhead_s": g.step_overhead_s + dep.model.layers * g.layer_overhead_s,
            "seq_overhead_s": g.seq_overhead_s}


def with_params(dep: Deployment, p: dict) -> Deployment:
    """``dep`` on a GPU whose factors are ``p`` (the fixed overhead split between step and
    layer in the catalog's proportion)."""
    g = dep.gpu
    base = catalog_params(dep)["fixed_overhead_s"]
    k = p["fixed_overhead_s"] / base if base > 0 else 1.0
    step = g.step_overhead_s * k if base > 0 else p["fixed_overhead_s"]
    gpu = replace(g, efficiency={**g.efficiency, dep.precision: Efficiency(p["memory"], p["compute"])},
                  step_overhead_s=step, layer_overhead_s=g.layer_overhead_s * k,
                  seq_overhead_s=p["seq_overhead_s"])
    return replace(dep, gpu=gpu)


@dataclass(frozen=True)
class Arrivals:
    times_s: np.ndarray  # send times in log order (a concurrency cap may delay them)
    max_concurrency: int | None
    paired: bool  # the replay's request i is the log's request i
    description: str


def arrivals(log: RequestLog, rate_rps: float | None = None, max_concurrency: int | None = None,
             seed: int = 0) -> Arrivals:
    """How the replay sends the log's requests (command-line settings win over the log's)."""
    conc = max_concurrency if max_concurrency is not None else log.max_concurrency
    if log.arrival_s is not None and rate_rps is None:
        # a --max-concurrency cap holds a request back until one finishes: said (until
        # December 2026 the line read "recorded send times" alone, whatever the cap)
        held = f", at most {max_concurrency} in flight" if max_concurrency else ""
        return Arrivals(log.arrival_s, max_concurrency, True, f"recorded send times{held}")
    if log.unrecorded and rate_rps is None:
        raise InputError(f"{log.unrecorded}: give --request-rate (and --max-concurrency) to "
                         "replay at a rate, compared by rank", path=log.path,
                         line=log.lines[0] if log.lines else None)
    ramp = rate_rps is None and log.ramp_rps is not None
    rate = rate_rps if rate_rps is not None else log.rate_rps
    cap = f", at most {conc} in flight" if conc else ""
    if math.isinf(rate) and not ramp:
        return Arrivals(np.zeros(len(log)), conc, True, f"all at once{cap}")
    shape = log.burstiness
    what = log.ramp if ramp else f"at {rate:g} requests/s"
    # the client spaced every request it sent, failed ones too: the kept ones take their own
    # places (until December 2026 the gaps were drawn over the kept ones only, so 100 requests
    # at 4/s with every second one failed were replayed over 13.75 s, not ~24.75 s)
    n = len(log) + log.dropped
    kept = np.asarray(log.sent if log.sent else range(len(log)))
    rates = log.ramp_rps if ramp else np.full(n, rate)  # the client's rate as each was sent
    if math.isinf(shape):  # vLLM's burstiness inf: gaps of exactly 1 / rate, nothing drawn
        full = np.cumsum(np.r_[0.0, 1.0 / rates[1:]]) if ramp else np.arange(n) / rate
        return Arrivals(full[kept] - full[kept[0]], conc, True, f"evenly {what}{cap}")
    gaps = np.random.default_rng(seed).gamma(shape, 1.0 / (rates * shape))
    gaps[0] = 0.0  # the gap before each request drawn at the client's rate when it was sent
    full = np.cumsum(gaps)
    kind = "Poisson" if shape == 1.0 else f"gamma (burstiness {shape:g})"
    why = ("the log's recorded send times replaced by --request-rate"
           if log.arrival_s is not None else "not recorded")
    return Arrivals(full[kept] - full[kept[0]], conc, False,
                    f"{kind} {what} drawn from seed {seed} ({why}){cap}")


def replay(dep: Deployment, log: RequestLog, arr: Arrivals, engine: str = "fluid",
           replicas: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Simulated TTFT and TPOT of each logged request (log order), from one central queue
    feeding ``replicas`` engines of ``dep``."""
    env = simpy.Environment()
    queue = RequestQueue()
    perf = RooflinePerf(dep)
    n = len(log)
    first = np.full(n, np.nan)
    done = np.full(n, np.nan)
    sent = np.zeros(n)
    slot = {"free": arr.max_concurrency or n, "event": env.event()}

    def sink(r: Request, t: float) -> None:
        first[r.id], done[r.id] = r.t_first, r.t_done
        slot["free"] += 1
        if not slot["event"].triggered:
            slot["event"].succeed()

    for i in range(replicas):
        ENGINES[engine](env, i, perf, dep, queue, sink)
    n_in, n_out, times = log.n_in.tolist(), log.n_out.tolist(), arr.times_s.tolist()
    # sent in the order of their times: a log's rows out of send order (a CSV sorted by
    # another column) were all sent at the latest time among the rows before them
    order = np.argsort(arr.times_s, kind="stable").tolist()

    def client():
        for i in order:
            if times[i] > env.now:
                yield env.timeout(times[i] - env.now)
            while slot["free"] <= 0:
                slot["event"] = env.event()
                yield slot["event"]
            slot["free"] -= 1
            sent[i] = env.now
            queue.push(Request(i, 0, 0, env.now, n_in[i], n_out[i]))

    env.process(client())
    env.run()
    ttft = first - sent
    out = log.n_out.astype(float)
    tpot = np.where(out > 1, (done - first) / np.maximum(out - 1, 1), np.nan)
    return ttft, tpot
