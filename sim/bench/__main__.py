"""Speed and memory benchmark: ``python -m sim.bench [--requests N] [--step-requests M] [--prefix]``
(``--scenario platform``: a shared pool of many models and tenants, :mod:`sim.bench.platform`).

Simulates a single-tenant dedicated scenario (Poisson arrivals, lognormal lengths, offered
load near 70 % of the pool's saturated throughput) end to end, through the same path as
``sim.run`` (compose, workload, simulation, summary and per-request frames; no files), and
prints one JSON line per engine: ``requests, wall_s, requests_per_s, cpu_s,
requests_per_cpu_s, peak_rss_mb`` (CPU seconds: what other jobs on a shared machine stretch
least), plus
``bytes_per_request`` (the run's peak RSS over the process's resident memory as it started,
divided by the requests; null, with ``bytes_per_request_note``, when the run stayed under a
peak an earlier run in the process set: a process's peak only grows, so the run's own peak
is not known there) and the achieved utilisation.

``--prefix`` gives every prompt shared leading text, so the replicas' prefix caches work on
every request: a 256-token system prompt and one of 1,000 documents of 512 tokens with Zipf
popularity (``tenants.chat.prefix``), before the user's own 512 tokens on average. The
offered rate is then the load times the saturated rate *without* the cache (a rate both
can carry), and the fluid engine runs the same workload once more with
``prefix_caching=false``: the last line's ``fluid_caching_on_over_off`` (by wall time) and
``fluid_caching_on_over_off_cpu`` (by CPU time) are what the cache's bookkeeping, and the
extra iterations its shorter prefills cause, cost in throughput. ``--caching-pair`` runs the
same pair on the standard workload (no shared prefixes; caching is on by default there too).

A plain SimPy M/M/c (``simpy.Resource``, lambda 9/s, mu 1/s, c 10, 300,000 customers) runs
last in the same process; its line carries each engine's rate as a multiple of its own
(``fluid_over_mmc``, ``step_over_mmc``; ``*_over_mmc_cpu`` by CPU time).

The saturated throughput is measured first with a short closed-loop run of the same
deployment, so "70 %" is a property of the simulated system, not a guess.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time

from sim.app import run
from sim.bench.platform import main as platform_main
from sim.config.rules import MAX_TENANTS
from sim.errors import ArgumentParser, InputError, number_arg, stdout_may_close
from sim.metrics.steady import steady_rates

MODEL = "llama31-8b"
REPLICAS = 4
IN_MEAN, OUT_MEAN = 512, 128


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _resident_mb() -> float:
    """The process's resident memory now (Linux), where ``_rss_mb`` is its peak so far."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _bytes_per_request(start_mb: float, start_peak_mb: float, peak_mb: float, done: int) -> dict:
    """The run's peak over the memory it started from, per request, when the run set the
    process's peak; else null and why (until December 2026 the peak's growth: 0 for every
    run after the first in a process)."""
    if peak_mb <= start_peak_mb:
        return {"bytes_per_request": None, "bytes_per_request_note": (
            f"the process's peak RSS ({peak_mb:.1f} MB) was set before this run, by an earlier "
            "run in this process: the run's own peak is not measured")}
    return {"bytes_per_request": round((peak_mb - start_mb) * 2 ** 20 / done) if done else None}


PREFIX = ["tenants.chat.prefix.system_tokens=256", "tenants.chat.prefix.docs.count=1000",
          "tenants.chat.prefix.docs.tokens=512"]


def _base(engine: str, prefix: bool = False, caching: bool = True) -> list[str]:
    return (PREFIX if prefix else []) + ([] if caching else [f"deployments.{MODEL}.prefix_caching=false"]) + [
        f"engine={engine}", "setups=[dedicated]", "name=bench",
        "output.parquet=true", "output.plots=false", "output.report=false",
        f"tenants.chat.model={MODEL}",
        f"tenants.chat.input={{kind: lognormal, mean: {IN_MEAN}, cv: 1.0, max: 8192}}",
        f"tenants.chat.output={{kind: lognormal, mean: {OUT_MEAN}, cv: 1.0, max: 2048}}",
        f"dedicated.replicas={{{MODEL}: {REPLICAS}}}",
        "dedicated.max_queue=10000000",
    ]


def saturated_rps(prefix: bool = False, caching: bool = True) -> float:
    """Requests per second the pool completes with every slot busy (closed loop)."""

    clients = 256 * REPLICAS
    res = run(_base("fluid", prefix, caching) + [
        "tenants.chat.arrival.kind=closed", f"tenants.chat.arrival.concurrency={clients}",
        "tenants.chat.arrival.requests_per_client=8", "horizon_s=1"])
    r = res.requests
    return steady_rates(r["finish_s"].to_numpy(), r["output_tokens"].to_numpy())[0]


def bench(engine: str, n: int, rate: float, prefix: bool = False, caching: bool = True) -> dict:
    gc.collect()
    start, start_peak = _resident_mb(), _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    res = run(_base(engine, prefix, caching) + ["tenants.chat.arrival.kind=poisson",
                               f"tenants.chat.arrival.rate_rps={rate:.6f}",
                               f"horizon_s={n / rate:.3f}"])
    len(res.requests)  # built on first read (sim/records.py): inside the timed run, as before
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_mb()
    row = res.summary.query("tenant == '__all__'").iloc[0]
    done = int(row["requests"])
    return {
        "engine": engine, **({} if caching else {"prefix_caching": False}), "requests": done, "wall_s": round(wall, 2),
        "requests_per_s": round(done / wall), "cpu_s": round(cpu, 2),
        "requests_per_cpu_s": round(done / cpu),
        "peak_rss_mb": round(peak, 1),
        **_bytes_per_request(start, start_peak, peak, done),
        "busy_fraction": round(float(row["busy_fraction"]), 3),
        "ttft_p50_s": round(float(row["ttft_p50_s"]), 4),
        "ttft_p99_s": round(float(row["ttft_p99_s"]), 4),
        "cache_hit_rate": round(float(row["cache_hit_rate"]), 3),
    }


def mmc_floor(customers: int = 300_000, lam: float = 9.0, mu: float = 1.0, c: int = 10,
              seed: int = 0) -> dict:
    """A textbook SimPy M/M/c (``simpy.Resource``; lambda 9/s, mu 1/s, c 10), timed in this
    process: the floor a SimPy model of a queue reaches on this machine, to compare the
    engine's end-to-end rate with."""
    import numpy as np
    import simpy

    rng = np.random.default_rng(seed)
    gaps, services = rng.exponential(1 / lam, customers), rng.exponential(1 / mu, customers)
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = []

    def customer(i):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(services[i])

    def source():
        for i in range(customers):
            yield env.timeout(gaps[i])
            env.process(customer(i))

    t0, c0 = time.perf_counter(), time.process_time()
    env.process(source())
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"engine": "simpy M/M/c", "requests": customers, "wall_s": round(wall, 2),
            "requests_per_s": round(customers / wall), "cpu_s": round(cpu, 2),
            "requests_per_cpu_s": round(customers / cpu), "mean_wait_s": round(float(np.mean(waits)), 4)}


# the highest --load, a multiple of the saturated rate (assumption: far past saturation the
# benchmark measures the queue bound alone; 1e308 overflowed the rate to inf with a warning line)
MAX_LOAD = 100.0
MIN_REQUESTS = 1_000  # assumption: fewer measure the run's start-up, not the engine


def main(argv=None) -> None:
    with stdout_may_close():  # | head
        _main(argv)


def _main(argv) -> None:
    ap = ArgumentParser(description=__doc__.splitlines()[0])
    positive_int, positive = number_arg(int, 0), number_arg(float, 0.0)
    # a rate measured over fewer requests is the run's fixed cost, and a Poisson horizon for
    # one request often held none (0 requests, NaN figures and 0.0 ratios printed as results)
    runs = number_arg(int, MIN_REQUESTS, low_open=False)
    ap.add_argument("--requests", type=runs, default=1_000_000)
    ap.add_argument("--step-requests", type=runs, default=50_000)
    ap.add_argument("--load", type=number_arg(float, 0.0, high=MAX_LOAD), default=0.7)
    ap.add_argument("--engines", default="fluid,step")
    ap.add_argument("--prefix", action="store_true", help="prompts share a system prompt and documents")
    ap.add_argument("--caching-pair", action="store_true",
                    help="also run fluid with prefix_caching=false on the same workload (implied by --prefix)")
    ap.add_argument("--scenario", choices=["dedicated", "platform"], default="dedicated",
                    help="platform: a shared pool of many models and tenants (sim/bench/platform.py)")
    ap.add_argument("--hours", type=positive, default=168.0, help="platform: simulated hours")
    # the request log holds model and tenant indices as int16 (sim/config/rules.py MAX_TENANTS)
    ap.add_argument("--models", type=number_arg(int, 0, high=MAX_TENANTS), default=100,
                    help="platform: models (catalog copies)")
    ap.add_argument("--tenants", type=number_arg(int, 0, low_open=False, high=MAX_TENANTS - 1),
                    default=200, help="platform: background tenants")
    ap.add_argument("--gpus", type=positive_int, default=1024, help="platform: GPUs in the pool (8 per node)")
    ap.add_argument("--rate", type=positive, default=27.8, help="platform: requests/s in all")
    ap.add_argument("--setup", choices=["serverless", "hybrid"], default="serverless")
    ap.add_argument("--requests-output", choices=["full", "sample", "none"], default="full",
                    help="platform: output.requests")
    ap.add_argument("--doubling", action="store_true",
                    help="platform: run --hours and twice --hours, each in a fresh process, and "
                         "print the peak RSS of each and their ratio")
    ap.add_argument("--percentiles", choices=["exact", "sketch"], default="exact",
                    help="platform: output.percentiles (sketch with --requests-output none: "
                         "each run's end folded while it goes)")
    a = ap.parse_args(argv)
    check_flags(ap, a, sys.argv[1:] if argv is None else argv)
    try:
        _run(a)
    except InputError as e:  # e.g. a load the deployment cannot be offered: one line, exit 2
        flag = flag_of(a.scenario, getattr(e, "key", None) or "")
        print(f"error: {f'argument {flag}: ' if flag else ''}{e}", file=sys.stderr)
        sys.exit(2)


# the config keys each scenario derives from its flags (a refusal of the config names the
# key the user never typed: it is said with the flag that set it)
FLAG_OF = {
    "platform": (("horizon_s", "--hours"), ("tenants.anchor.arrival.rate_rps", "--rate"),
                 ("background.synthetic.rate_rps", "--rate"), ("background.synthetic.tenants", "--tenants"),
                 ("serverless.pool.", "--gpus"), ("background.synthetic.models", "--models"),
                 ("catalog.models.", "--models"), ("deployments.", "--models")),
    "dedicated": (("horizon_s", "--requests/--step-requests/--load"),
                  ("tenants.chat.arrival.rate_rps", "--load")),
}


def flag_of(scenario: str, key: str) -> str | None:
    """The flag whose value gave the config ``key`` (None for a key no flag sets)."""
    return next((f for k, f in FLAG_OF[scenario] if key == k or (k.endswith(".") and key.startswith(k))),
                None)


# the flags each scenario reads; the others would be ignored silently
PLATFORM_ONLY = ("--hours", "--models", "--tenants", "--gpus", "--rate", "--setup", "--requests-output",
                 "--percentiles", "--doubling")
DEDICATED_ONLY = ("--requests", "--step-requests", "--load", "--engines", "--prefix", "--caching-pair")
ENGINES = ("fluid", "step")


def check_flags(ap, a, argv) -> None:
    """``--engines`` a list of distinct known engines; no flag of the other scenario, and no
    flag of an engine or pair that does not run (``--step-requests`` without step,
    ``--requests`` without fluid)."""
    flags = [o for act in ap._actions for o in act.option_strings if o.startswith("--")]
    typed = {t.split("=", 1)[0] for t in argv if t.startswith("--")}  # argparse takes prefixes
    given = {f for t in typed for f in ([t] if t in flags else flags) if f.startswith(t)}
    engines = a.engines.split(",")
    bad = next((e for e in engines if e not in ENGINES), None)
    if bad is not None or len(set(engines)) < len(engines):
        ap.error(f"argument --engines: a comma-separated list of distinct engines of "
                 f"{', '.join(ENGINES)}, got {a.engines!r}")
    unread = PLATFORM_ONLY if a.scenario == "dedicated" else DEDICATED_ONLY
    flag = next((f for f in unread if f in given), None)
    if flag is not None:
        ap.error(f"argument {flag}: not read by --scenario {a.scenario} (it reads "
                 f"{', '.join(f for f in (*PLATFORM_ONLY, *DEDICATED_ONLY) if f not in unread)})")
    for flag, engine in (("--step-requests", "step"), ("--requests", "fluid")):
        if a.scenario == "dedicated" and flag in given and engine not in engines:
            ap.error(f"argument {flag}: the {engine} engine does not run (--engines {a.engines})")
    if a.scenario == "dedicated" and (a.prefix or a.caching_pair) and "fluid" not in engines:
        ap.error(f"argument {'--prefix' if a.prefix else '--caching-pair'}: the caching pair is "
                 f"run on the fluid engine, which does not run (--engines {a.engines})")


def _run(a) -> None:
    if a.scenario == "platform":
        platform_main(a)
        return
    sat = saturated_rps(a.prefix)
    head = {"scenario": f"{MODEL} x{REPLICAS} H100 fp8, Poisson, lognormal "
            f"in {IN_MEAN}/out {OUT_MEAN}" + (", shared prefixes" if a.prefix else ""), "saturated_rps": round(sat, 2)}
    if a.prefix:  # offered what the pool carries without the cache too: the pair compares alike
        sat = saturated_rps(True, caching=False)
        head["saturated_rps_without_cache"] = round(sat, 2)
    rate = a.load * sat
    print(json.dumps({**head, "offered_rps": round(rate, 2), "offered_load": a.load}), flush=True)
    rates, cpu_rates = {}, {}
    for engine in a.engines.split(","):
        n = a.requests if engine == "fluid" else a.step_requests
        row = bench(engine, n, rate, a.prefix)
        rates[engine], cpu_rates[engine] = row["requests_per_s"], row["requests_per_cpu_s"]
        print(json.dumps(row), flush=True)
    if (a.prefix or a.caching_pair) and "fluid" in rates:
        row = bench("fluid", a.requests, rate, a.prefix, caching=False)
        print(json.dumps(row), flush=True)
        ratio = {"fluid_caching_on_over_off": round(rates["fluid"] / row["requests_per_s"], 3),
                 "fluid_caching_on_over_off_cpu": round(cpu_rates["fluid"] / row["requests_per_cpu_s"], 3)}
    else:
        ratio = {}
    # last, so that its allocations do not raise the engines' peak-RSS figures
    floor = mmc_floor()
    floor.update({f"{e}_over_mmc": round(r / floor["requests_per_s"], 2) for e, r in rates.items()})
    floor.update({f"{e}_over_mmc_cpu": round(r / floor["requests_per_cpu_s"], 2) for e, r in cpu_rates.items()})
    floor.update(ratio)
    print(json.dumps(floor), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
