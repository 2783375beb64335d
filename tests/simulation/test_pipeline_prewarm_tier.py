"""The hybrid's coordinated pre-warm follows the tier the pipeline tenant's stage requests
go to (a tenant's ``hybrid.placement`` entry wins over its model's, README "Hybrid"), not
the model's placement alone. Until December 2026 it read the model's: a tenant placed
dedicated had pool replicas of its stage models loaded and billed for nothing, and a tenant
placed serverless calling a dedicated-placed model met that model cold on the pool."""

import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

import sim
from sim.analysis.cold_chain import first_pipeline_only
from sim.config import PipelineConfig
from sim.metrics.requests import requests_frame
from sim.platform import SETUPS
from sim.simulation.build import build_workload
from sim.simulation.simulate import simulate

pytestmark = pytest.mark.skipif("hybrid" not in SETUPS, reason="no hybrid setup on this branch")

FIXED = {"kind": "fixed"}
STAGES = {"embed": {"model": "bge-large-en", "input": dict(FIXED, mean=100)},
          "answer": {"model": "llama31-8b", "after": ["embed"], "input": dict(FIXED, mean=1000),
                     "output": dict(FIXED, mean=50)}}


def run(overrides, prewarm):
    cfg = sim.compose(["experiment=compound", "horizon_s=2000", *overrides])
    with open_dict(cfg):
        cfg.pipelines["t"] = OmegaConf.merge(OmegaConf.structured(PipelineConfig),
                                             {"prewarm": prewarm, "stages": STAGES})
        cfg.tenants.chat.pipeline = "t"
        cfg.tenants.chat.arrival = OmegaConf.merge(cfg.tenants.chat.arrival,
                                                   {"kind": "poisson", "rate_rps": 0.01})
    wl = first_pipeline_only(build_workload(cfg))
    r = simulate(cfg, wl, "hybrid")
    return wl, r, requests_frame(wl, r)


def test_a_tenant_placed_dedicated_has_nothing_prewarmed_on_the_pool():
    """Every stage request goes to the dedicated tier: pre-warm has nothing to start, so the
    run is the run without it (it loaded both models on the pool at the arrival and billed them)."""
    over = ["hybrid.placement.chat=dedicated", "hybrid.default_tier=serverless"]
    _, r, req = run(over, prewarm=True)
    _, r0, req0 = run(over, prewarm=False)
    assert set(req["tier"].astype(str)) == {"dedicated"}
    assert [u for u in r.ledger if u.tier == "serverless"] == []
    assert r.extra["stats"].get("pipeline_prewarms", 0) == 0
    pd.testing.assert_frame_equal(req, req0)
    assert [(u.model, u.start_s, u.end_s) for u in r.ledger] == \
        [(u.model, u.start_s, u.end_s) for u in r0.ledger]


def test_a_tenant_placed_serverless_has_its_dedicated_placed_model_prewarmed():
    """The tenant's entry sends the 8B's stage to the pool although the model is placed
    dedicated: both models' loads start at the pipeline's arrival (the 8B's started when its
    stage was reached)."""
    over = ["hybrid.placement.llama31-8b=dedicated", "hybrid.placement.chat=serverless",
            "hybrid.default_tier=serverless"]
    wl, r, req = run(over, prewarm=True)
    t0 = float(wl.pipelines.arrival_s[0])
    assert set(req["tier"].astype(str)) == {"serverless"}
    starts = {u.model: u.start_s for u in r.ledger if u.tier == "serverless"}
    assert sorted(starts) == ["bge-large-en", "llama31-8b"]
    assert starts["llama31-8b"] == pytest.approx(t0, abs=1e-9)
    answer = req[req["model"].astype(str) == "llama31-8b"].iloc[0]
    assert answer["arrival_s"] > t0 + 1.0  # reached after the embedding's cold start
    assert r.extra["stats"]["pipeline_prewarms"] == 1
