"""A run converts its config to dataclasses once (sim.app.execute's ``typed_once``): the
up-front check and each setup's build then get deep copies, equal to a fresh conversion."""

import sim
from sim.config import variant
from sim.simulation.build import build, fields, typed_once


def _counting(monkeypatch):
    calls = []
    real = fields.typed

    def typed(cfg):
        calls.append(cfg)
        return real(cfg)

    monkeypatch.setattr(fields, "typed", typed)
    return calls


def test_one_conversion_per_run_each_build_its_own_copy(monkeypatch):
    cfg = sim.compose(["setups=[serverless]"])
    fresh = build(cfg).cfg
    calls = _counting(monkeypatch)
    with typed_once(cfg):
        a, b = build(cfg), build(cfg, workload=False)
        other = variant(cfg, seed=7)  # a copy: a new object, converted afresh
        c = build(other)
    assert len(calls) == 2 and calls[0] is cfg and calls[1] is other
    assert a.cfg == fresh and b.cfg == fresh and a.cfg is not b.cfg
    assert a.cfg.tenants is not b.cfg.tenants  # no state shared between setups' builds
    assert c.cfg.seed == 7 and a.cfg.seed == cfg.seed
    build(cfg)
    build(cfg)
    assert len(calls) == 4  # outside the block: every build converts
