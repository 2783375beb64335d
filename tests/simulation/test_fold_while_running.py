"""The end of a run folded while the run goes: the one walk's accumulator
(sim/metrics/endrun.py ``EndOfRun``, ``early``) made before the run starts and fed each
block of the request log as it is sealed (sim/logseal.py) gives the summary that the same
walk gives over the whole log after the run: every column to the bit, but the per-token
costs, which it bills from exact token sums per (model, tier, tenant) once the ledger says
which pools bill per token (equal to rounding). With the sketch store as with the exact one."""

import numpy as np
import pandas as pd
import pytest
from helpers.blocks_run import RUN

from sim.config import compose
from sim.metrics.endrun import EndOfRun, end_of_run
from sim.metrics.rows import ExactValues
from sim.metrics.sketch import SketchValues
from sim.simulation.build import build, workload_of
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate

COST = ("cost_usd", "token_cost_usd", "cost_per_mtok_out_usd", "cost_per_1k_requests_usd",
        "cost_per_mtok_total_usd", "monthly_cost_usd")


@pytest.fixture(scope="module")
def setting():
    cfg = compose(RUN + ["metrics.warmup_s=60"])
    built = build(cfg)
    workload = workload_of(built)
    return cfg, workload, model_prices(built.catalog, workload.served_models)


@pytest.mark.parametrize("store", [ExactValues, SketchValues])
def test_folded_while_running_is_the_walk_after_the_run(setting, store):
    cfg, workload, prices = setting
    whole = simulate(cfg, workload, "hybrid")
    after = end_of_run(workload, whole, prices, cfg, block=8, store=store)
    early = simulate(cfg, workload, "hybrid", block=8, fold=lambda run: EndOfRun(
        workload, run, prices, cfg, block=8, store=store, early=True))
    during = early.folded.finish()
    assert len(after) > 8 and list(during.columns) == list(after.columns)
    assert set(after["window"]) == {"measured", "warmup"}
    assert (after["token_cost_usd"] > 0).any()  # per-token billing is exercised
    rest = [c for c in after.columns if not c.endswith("_usd")]
    pd.testing.assert_frame_equal(during[rest], after[rest], check_exact=True)
    for c in [c for c in after.columns if c.endswith("_usd")]:
        np.testing.assert_allclose(during[c], after[c], rtol=1e-12, atol=0, err_msg=c)
