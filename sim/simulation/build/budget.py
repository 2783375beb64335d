"""Budgets before work: what a config implies, estimated before anything is generated.

From rates, horizons, traces, fan-outs, clients, replicas, nodes, ticks and replications,
:func:`estimate` counts the requests a run generates, the events it simulates and the bytes
it holds at its peak; :func:`check_budget` refuses a run above ``limits.memory_gb`` (by
default a share of the memory this machine has available) or ``limits.events``, with one
line naming the key that contributes most and the estimate, so a typo such as
``rate_rps=1e7`` fails in a second instead of after minutes of swapping.

The per-request and per-object byte counts were measured on this machine (peak RSS of runs
of 100,000 and 400,000 requests, December 2026): about 240 bytes per request for one setup
and 600 for three; the figures below round up.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from sim.config import ArrivalKind, RateCurve
from sim.errors import InputError
from sim.paths import resolve
from sim.workload import read_curve_points
from sim.workload.arrivals import from_start
from sim.workload.background import WINDOW_S, enabled, load_client_windows
from sim.workload.trace_columns import trace_sides
from sim.workload.traces import tenant_trace

BYTES_PER_SEGMENT = 12.0  # a prompt segment's key (int64) and length (int32)
BYTES_PER_DOC = 32.0  # a shared document's Zipf weight, probability and CDF (float64s; assumption)
BASE_BYTES = 300e6  # the interpreter and the libraries (measured: ~250 MB)
BYTES_PER_REQUEST = 80.0  # the workload's columns
BYTES_PER_REQUEST_SETUP = 250.0  # per setup that runs it: the log, the frames
# a replica: engine state, queue, slot, ledger row. Measured (December 2026, peak RSS at
# 20,000 to 200,000 replicas less one): 8.6-9.8 kB (fluid or step engine, central or jsq
# router), with a margin; the 4 kB assumed before let 2.2-4.8 million replicas pass a
# 19 GB budget and then exhaust the memory
BYTES_PER_REPLICA = 12e3
BYTES_PER_NODE = 2e3  # a pool node and its caches (assumption)
BYTES_PER_TENANT = 2e3  # a background tenant: its streams and arrays (assumption)
EVENTS_PER_REQUEST = 6.0  # arrival, admission, first token, finish, end and slack (fluid engine)
# a run's fixed work (build, generation, summaries: about 0.15 s here), in events
EVENTS_PER_RUN = 50_000.0
# an on/off tenant's period (sim.workload.arrivals.onoff): its bounds as arrays, 17 bytes a
# period at the peak and 0.24-0.86 us of CPU (measured, December 2026, sparse and dense
# arrivals), counted as 0.5 event (an event is about 3.3 us). Until December 2026 a period
# was 16 bytes and no work, where the generator's lists held about 140 bytes and 1.45 us a
# period (on_s = off_s = 1 ms over 20,000 s: 3.0 GB and 29 s of CPU for 200 requests)
BYTES_PER_ONOFF_PERIOD = 24.0
EVENTS_PER_ONOFF_PERIOD = 0.5
AVAILABLE_SHARE = 0.8  # the default memory budget: this share of what is available


@dataclass
class Estimate:
    requests: float = 0.0  # per setup and replication
    events: float = 0.0  # over every setup and replication
    bytes: float = BASE_BYTES  # at the peak of one run
    # (key, bytes or events per setup and replication, [(factor key, value, multiplier)])
    memory: list = field(default_factory=list)
    work: list = field(default_factory=list)


def available_memory_bytes() -> float:
    """What this machine can give a run now (``MemAvailable``), else its physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 16e9


def _tenant_requests(name: str, tc, horizon: float) -> tuple[float, list]:
    """Requests one tenant generates, and the keys that multiply up to them as (key, value,
    how much it multiplies the count)."""
    a = tc.arrival
    k = f"tenants.{name}.arrival"
    if a.kind == ArrivalKind.closed:
        n = float(a.concurrency) * float(a.requests_per_client)
        return n, [(k + ".concurrency", a.concurrency, a.concurrency),
                   (k + ".requests_per_client", a.requests_per_client, a.requests_per_client)]
    if a.kind == ArrivalKind.servegen:  # the client's windows: rate x overlap, summed
        g = a.servegen
        cid, wstart, rate, _, _ = load_client_windows(resolve(str(g.path)))
        lo, hi = float(g.start_s), float(g.start_s) + horizon
        mine = cid == int(g.client_id)
        overlap = np.clip(np.minimum(wstart[mine] + WINDOW_S, hi) - np.maximum(wstart[mine], lo), 0.0, None)
        n = float((rate[mine] * overlap).sum()) * float(g.rate_scale)
        return n, [(k + ".servegen.rate_scale", g.rate_scale, g.rate_scale), ("horizon_s", horizon, horizon)]
    if a.kind == ArrivalKind.trace:
        t = a.trace
        trace = tenant_trace(t, k + ".trace", trace_sides(tc))
        mine = from_start(trace, t.start_s)
        kept = int(mine.sum())
        span = (trace.duration_s - t.start_s) * t.time_scale
        reps = math.ceil(horizon / span) if t.loop and span > 0 else 1
        # the rows the horizon replays, which rate_scale's copies repeat (each a rotation of
        # that span): counted, not the trace's average rate over it (its first second may
        # be denser than the rest)
        window = 1.0 if t.loop or span <= horizon else int(np.count_nonzero(
            (trace.t_s[mine] - t.start_s) * t.time_scale < horizon)) / max(kept, 1)
        factors = [(k + ".trace.path", kept, kept), (k + ".trace.rate_scale", t.rate_scale, t.rate_scale)]
        if t.loop:
            factors += [(k + ".trace.time_scale", t.time_scale, 1.0 / t.time_scale),
                        ("horizon_s", horizon, reps * t.time_scale)]
        return kept * reps * window * t.rate_scale, factors
    return float(a.rate_rps) * horizon, [(k + ".rate_rps", a.rate_rps, a.rate_rps),
                                         ("horizon_s", horizon, horizon)]


# a rate curve's peak bytes a point: three float64 arrays kept, and the temporaries made
# while they are built. Measured (December 2026): 31.6 bytes a point at the peak of 300 s of
# a 1 ms sinusoid (19.3 GB for 6.1e8 points); 40 with a margin (24 were counted before, so
# that run passed an 18.7 GB budget)
BYTES_PER_CURVE_POINT = 40.0


def _curve_points(name: str, a, horizon: float):
    """The bytes of a tenant's rate curve: a sinusoid has 2048 points a period, a file curve
    its points once per repetition of its span."""
    k = f"tenants.{name}.arrival"
    if a.curve == RateCurve.sinusoid:
        points = max(2048.0, horizon / a.period_s * 2048)
        return (k + ".period_s", BYTES_PER_CURVE_POINT * points,
                [("horizon_s", horizon, horizon), (k + ".period_s", a.period_s, 1 / a.period_s)])
    if a.curve == RateCurve.file and a.curve_path:
        t, _ = read_curve_points(resolve(str(a.curve_path)))
        span = float(t[-1] - t[0])
        reps = horizon / span + 2
        return (k + ".curve_path", BYTES_PER_CURVE_POINT * len(t) * reps,
                [("horizon_s", horizon, horizon), (k + ".curve_path", span, 1 / span)])
    return None


def estimate(cfg, setups: list[str]) -> Estimate:
    """Requests, events and peak bytes of ``cfg`` over ``setups`` (events times
    ``replications``). Each contributor is named by the key that multiplies it most, with
    the keys it is the product of."""
    est = Estimate()
    horizon = float(cfg.horizon_s)
    per_request = BYTES_PER_REQUEST + BYTES_PER_REQUEST_SETUP * max(len(setups), 1)
    sources = []  # (key, requests, its factors)
    for name in sorted(cfg.tenants):
        tc = cfg.tenants[name]
        n, factors = _tenant_requests(name, tc, horizon)
        if tc.pipeline is not None:
            pc = cfg.pipelines[tc.pipeline]
            per = 0.0
            for s, sc in pc.stages.items():
                per += float(sc.fanout) * float(sc.probability)
                factors.append((f"pipelines.{tc.pipeline}.stages.{s}.fanout", sc.fanout, sc.fanout))
            n *= max(per, 1.0)
        turns = float(tc.prefix.sessions.turns_mean)
        if turns > 1:
            if tc.arrival.kind == ArrivalKind.closed:
                # clients count turns; no session is longer than a client's budget
                turns = min(turns, float(tc.arrival.requests_per_client))
            else:  # each session start brings turns_mean turns on average
                factors.append((f"tenants.{name}.prefix.sessions.turns_mean", turns, turns))
                n *= turns
            # a turn's prompt lists its whole history: 2k + 1 segments for turn k, about
            # 2 turns_mean a turn over a session (E[T^2] of a geometric T)
            est.memory.append((f"tenants.{name}.prefix.sessions.turns_mean",
                               n * 2.0 * turns * BYTES_PER_SEGMENT, factors))
        d = tc.prefix.docs
        if int(d.count) > 0:
            # the pool's popularity (Zipf weights, their CDF: float64s) and each request's
            # drawn documents (ids, keys, lengths)
            key = f"tenants.{name}.prefix.docs"
            est.memory.append((key + ".count", BYTES_PER_DOC * int(d.count),
                               [(key + ".count", d.count, d.count)]))
            drawn = [*factors, (key + ".per_request", d.per_request, d.per_request)]
            est.memory.append((_culprit(drawn),
                               n * int(d.per_request) * (16.0 + BYTES_PER_SEGMENT), drawn))
        sources.append((n, factors))
        curve = _curve_points(name, tc.arrival, horizon)
        if curve is not None:
            est.memory.append(curve)
        if tc.arrival.kind == ArrivalKind.onoff:  # the on/off periods: bytes and work
            a = tc.arrival
            periods = 2.0 * horizon / (a.on_s + a.off_s)
            factors = [("horizon_s", horizon, horizon),
                       (f"tenants.{name}.arrival.on_s", a.on_s, 1 / a.on_s),
                       (f"tenants.{name}.arrival.off_s", a.off_s, 1 / a.off_s)]
            est.memory.append((_culprit(factors), BYTES_PER_ONOFF_PERIOD * periods, factors))
            est.work.append((_culprit(factors), EVENTS_PER_ONOFF_PERIOD * periods, factors))
    if enabled(cfg):
        bg = cfg.background
        if bg.synthetic.tenants > 0:
            sources.append((bg.synthetic.rate_rps * horizon * bg.scale,
                            [("background.synthetic.rate_rps", bg.synthetic.rate_rps, bg.synthetic.rate_rps),
                             ("horizon_s", horizon, horizon)]))
            est.memory.append(("background.synthetic.tenants", bg.synthetic.tenants * BYTES_PER_TENANT, []))
        sg = bg.servegen
        if sg.clients > 0 or sg.client_ids:
            _, wstart, rate, _, _ = load_client_windows(resolve(str(sg.path)))
            lo, hi = float(sg.start_s), float(sg.start_s) + horizon
            overlap = np.clip(np.minimum(wstart + WINDOW_S, hi) - np.maximum(wstart, lo), 0.0, None)
            sources.append((float((rate * overlap).sum()) * sg.rate_scale * bg.scale,
                            [("background.servegen.rate_scale", sg.rate_scale, sg.rate_scale),
                             ("horizon_s", horizon, horizon)]))
    if cfg.signals.standalone:  # every user tenant once more, alone with the background
        n_user = len(cfg.tenants)
        bg_n = sum(n for n, _ in sources[n_user:])
        again = sum(n for n, _ in sources[:n_user]) + n_user * bg_n
        est.work.append(("signals.standalone", again * EVENTS_PER_REQUEST + n_user * EVENTS_PER_RUN,
                         [("signals.standalone", n_user, n_user)]))
    est.requests = sum(n for n, _ in sources)
    for n, factors in sources:
        est.memory.append((_culprit(factors), n * per_request, factors))
        est.work.append((_culprit(factors), n * EVENTS_PER_REQUEST, factors))
    dedicated = "dedicated" in setups or "hybrid" in setups
    shared = "serverless" in setups or "hybrid" in setups
    if dedicated:
        est.memory += [(f"dedicated.replicas.{m}", int(n) * BYTES_PER_REPLICA, [])
                       for m, n in cfg.dedicated.replicas.items()]
    if shared:
        for g, pc in cfg.serverless.pool.items():
            key = f"serverless.pool.{g}." + ("max_nodes" if pc.max_nodes is not None else "nodes")
            nodes = int(pc.max_nodes if pc.max_nodes is not None else pc.nodes)
            est.memory.append((key, nodes * BYTES_PER_NODE, []))
    # periodic processes tick from t=0 to the end of the run: the horizon and a drain of at
    # most as long again (an assumption)
    span = horizon + min(float(cfg.drain_s), horizon)
    if shared:
        est.work.append(("serverless.autoscaler.tick_s", span / cfg.serverless.autoscaler.tick_s, []))
    if dedicated and cfg.dedicated.burst.enabled:
        models = max(len(cfg.dedicated.replicas), 1)
        est.work.append(("dedicated.burst.check_interval_s",
                         models * span / cfg.dedicated.burst.check_interval_s, []))
    fc = cfg.dedicated.failures
    if dedicated and str(fc.mode) == "random" and math.isfinite(fc.mtbf_gpu_hours):
        gpus = sum(int(n) for n in cfg.dedicated.replicas.values()) or 1
        est.work.append(("dedicated.failures.mtbf_gpu_hours",
                         2.0 * gpus * span / (fc.mtbf_gpu_hours * 3600.0), []))
    sc = cfg.dedicated.spot
    spot = sum(int(n) for n in sc.replicas.values())  # spot replicas (as failures: not x tp)
    if dedicated and spot and str(sc.preemption.mode) == "rate":  # notice, reclaim, replaced
        est.work.append(("dedicated.spot.preemption.per_gpu_hour",
                         3.0 * spot * span * float(sc.preemption.per_gpu_hour) / 3600.0, []))
    # each run's fixed start-up and summary: nothing to lower but the limit (it named
    # `replications`, at 1, until December 2026)
    est.work.append(("limits.events", EVENTS_PER_RUN, []))
    est.bytes += sum(b for _, b, _ in est.memory)
    est.events = sum(e for _, e, _ in est.work) * max(len(setups), 1) * int(cfg.replications)
    return est


def _culprit(factors: list) -> str:
    """The key that multiplies a count the most."""
    return max(factors, key=lambda f: f[2])[0] if factors else "horizon_s"


def _of(parts: list) -> tuple[str, str]:
    """The biggest contributor's key and, when it is a product, the keys it is a product of
    (the on/off periods multiply by the horizon and divide by the on and off times)."""
    key, _, factors = max(parts, key=lambda p: p[1])
    if not factors:
        return key, ""
    return key, "; most from " + ", ".join(f"{k} {v:g}" for k, v, _ in factors)


def _gb(b: float) -> str:
    # beyond a billion GB, three digits: 1e300 GB written out was 300 digits of a message;
    # below 0.1 GB too: a budget of 0.001 GB read "a budget of 0.0 GB" (December 2026)
    return f"{b / 1e9:,.1f} GB" if 1e8 <= b < 1e18 else f"{b / 1e9:.3g} GB"


def check_budget(cfg, setups: list[str]) -> Estimate:
    """Refuse a run whose estimate is above ``limits.memory_gb`` or ``limits.events``."""
    est = estimate(cfg, setups)
    lim = cfg.limits
    if lim.memory_gb is not None:
        budget, where = float(lim.memory_gb) * 1e9, "limits.memory_gb"
    else:
        budget = AVAILABLE_SHARE * available_memory_bytes()
        where = f"limits.memory_gb unset: {100 * AVAILABLE_SHARE:.0f} % of the memory available now"
    if est.bytes > budget:
        key, how = _of(est.memory)
        raise InputError(f"this run would hold about {_gb(est.bytes)} ({est.requests:,.3g} "
                         f"requests{how}) against a budget of {_gb(budget)} ({where}); lower it "
                         "or raise the budget", key=key)
    if est.events > float(lim.events):
        key, how = _of(est.work)
        if int(cfg.replications) > 1 and est.events / int(cfg.replications) <= float(lim.events):
            key, how = "replications", f" x {int(cfg.replications)} replications"
        raise InputError(f"this run would simulate about {est.events:,.3g} events "
                         f"({est.requests:,.3g} requests per setup and replication{how}) "
                         f"against limits.events = {float(lim.events):,.3g}; lower it or raise "
                         "the limit", key=key)
    return est
