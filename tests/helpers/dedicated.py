"""Helpers for the dedicated-setup tests: hand-made workloads and a live setup."""

from __future__ import annotations

import numpy as np
import simpy
from omegaconf import OmegaConf, open_dict

import sim
from helpers import later_wins
from sim.metrics.summary import summarize
from sim.platform.base import RunContext
from sim.platform.dedicated import DedicatedSetup
from sim.records import ALL, RequestLog
from sim.simulation.build import build, build_catalog
from sim.simulation.build.setups import check_setup
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate
from sim.workload import Workload

MODEL = "llama31-8b"


def config(overrides=(), **nested):
    """Compose ``overrides`` (a key given again later replaces its earlier setting) and merge
    ``nested`` dicts (for keys with dots in them)."""
    cfg = sim.compose(later_wins(overrides))
    if nested:
        with open_dict(cfg):
            cfg = OmegaConf.merge(cfg, nested)
    return cfg


def workload(reqs, horizon_s, model=MODEL, slo=1.0) -> Workload:
    """``reqs``: (arrival_s, input_tokens, output_tokens), one tenant ``t``."""
    reqs = sorted(reqs)
    n = len(reqs)
    return Workload(
        tenants=["t"], models=[model], horizon_s=float(horizon_s),
        arrival_s=np.array([r[0] for r in reqs], float),
        tenant=np.zeros(n, np.int16), model=np.zeros(n, np.int16),
        input_tokens=np.array([r[1] for r in reqs], np.int32),
        output_tokens=np.array([r[2] for r in reqs], np.int32),
        slo_ttft_s={"t": slo})


def run(cfg, wl):
    """Simulate the dedicated setup on ``wl``; return (run, summary)."""
    catalog = build_catalog(cfg)
    r = simulate(cfg, wl, "dedicated")
    return r, summarize(wl, r, model_prices(catalog, wl.models))


def all_row(summary):
    return summary[summary["tenant"] == ALL].iloc[0]


def live(cfg, n_requests: int, models=(MODEL,)):
    """A dedicated setup on a fresh environment, driven by the test."""
    built = build(cfg, workload=False)
    env = simpy.Environment()
    log = RequestLog(n_requests)
    ctx = RunContext(env=env, log=log, engine=str(built.cfg.engine), perf_for=built.perf_for,
                     deployment_for=built.deployment_for)
    check_setup("dedicated", built.cfg, built.catalog, list(models), built.deployment_for, [], 0)
    return env, ctx, DedicatedSetup(ctx, built.cfg, built.catalog, list(models))
