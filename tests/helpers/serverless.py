"""A harness that drives a ServerlessPlatform with hand-placed requests (exact-time tests)."""

from __future__ import annotations

import copy

import simpy
from omegaconf import open_dict

import sim
from sim.engine import Request
from sim.platform.base import RunContext
from sim.platform.serverless import ServerlessPlatform
from sim.records import RequestLog
from sim.simulation.build import build
from sim.simulation.build.setups import check_setup


def compose(overrides=(), edit=None):
    cfg = sim.compose(list(overrides))
    if edit is not None:
        with open_dict(cfg):
            edit(cfg)
    return cfg


def twin_model(cfg, name="Twin-8B", of="llama31-8b"):
    """A second catalog model identical to ``of`` (same weights, same speed)."""
    cfg.catalog.models[name] = copy.deepcopy(cfg.catalog.models[of])


class Harness:
    """``reqs``: (t, model name, n_in, n_out[, tenant]) in time order."""

    def __init__(self, cfg, models, tenants=("t0",)):
        built = build(cfg, workload=False)
        self.cfg = built.cfg
        self.catalog = built.catalog
        self.models = list(models)
        self.env = simpy.Environment()
        self.n = 0
        self.log = RequestLog(1024)
        self.ctx = RunContext(env=self.env, log=self.log, engine=str(self.cfg.engine),
                              perf_for=built.perf_for, deployment_for=built.deployment_for,
                              tenant_names=list(tenants))
        self.ended = {}
        self.ctx.on_end = lambda req, now: self.ended.__setitem__(req.id, now)
        check_setup("serverless", self.cfg, self.catalog, self.models, built.deployment_for,
                    list(tenants), len(tenants))
        self.platform = ServerlessPlatform(self.ctx, self.cfg, self.catalog, dict(enumerate(self.models)))
        self.reqs = {}

    def perf(self, model):
        return self.ctx.perf_for(model, float(self.cfg.serverless.runtime_speedup))

    def run(self, reqs, until=None):
        def feed():
            for i, r in enumerate(reqs):
                t, model, a, b = r[:4]
                tenant = r[4] if len(r) > 4 else 0
                if t > self.env.now:
                    yield self.env.timeout(t - self.env.now)
                req = Request(self.n, tenant, self.models.index(model), t, a, b)
                self.log.arrival_s[self.n] = t
                self.reqs[self.n] = req
                self.n += 1
                self.platform.submit(req)

        self.env.process(feed())
        self.env.run(until=until)
        self.log.flush()
        return self

    def close(self, t_end):
        self.platform.close(t_end)
        return self.ctx.ledger


def like_8b(cfg, model):
    """Deploy ``model`` like the base config's llama31-8b (H100, FP8, TP1)."""
    cfg.deployments[model] = copy.deepcopy(cfg.deployments["llama31-8b"])
