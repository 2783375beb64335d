"""The summary's request figures are folds over blocks of consecutive request ids
(sim/metrics/rows.py ``RowFold``): on a hybrid run with several tenants and models, a batch
tier, a background population, rejections and cold starts, the summary folded in blocks of
7 ids, or of 1, is the one folded in a single block, to the bit (its CSV bytes), and its
aggregate SLO attainment counts the interactive requests that met their own tenant's SLO."""

import numpy as np
import pytest

from sim.config import compose
from sim.metrics.cost import attribute_cost
from sim.metrics.rows import SLO_TOLERANCE_S
from sim.metrics.summary import summarize
from sim.records import COMPLETED, REJECTED
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate_setups

RUN = ["experiment=hybrid", "setups=[hybrid]", "horizon_s=240", "serverless.max_wait_s=3",
       "tenants.coder.priority=batch", "tenants.coder.deadline_s=60",
       "tenants.coder.arrival.rate_rps=0.2", "background.synthetic.tenants=4",
       "background.synthetic.rate_rps=0.5", "output.plots=false", "output.report=false"]


@pytest.fixture(scope="module")
def one_run():
    workload, runs, catalog = simulate_setups(compose(RUN))
    run = runs[0]
    prices = model_prices(catalog, workload.served_models)
    return workload, run, prices, attribute_cost(workload, run, prices)


def test_the_scenario_has_what_the_folds_must_cross(one_run):
    workload, run, _, _ = one_run
    log = run.log
    assert np.count_nonzero(log.outcome == REJECTED) > 0 and log.colds.written()[0].size > 0
    assert run.background and workload.deadlines and len(workload.served_models) > 1


@pytest.mark.parametrize("block", [7, 1])
def test_small_blocks_give_the_same_summary_bit_for_bit(one_run, block):
    workload, run, prices, costs = one_run
    whole = summarize(workload, run, prices, costs)
    assert len(workload) > 7 * 50  # many blocks, most rows' requests spread over them
    assert whole.to_csv(float_format="%r") == summarize(workload, run, prices, costs,
                                                        block=block).to_csv(float_format="%r")


def test_aggregate_attainment_counts_own_slos(one_run):
    workload, run, prices, costs = one_run
    s = summarize(workload, run, prices, costs, block=7).set_index("tenant")
    log = run.log
    slo = np.array([workload.slo_ttft_s[t] for t in workload.tenants])[workload.tenant]
    met = (log.outcome == COMPLETED) & (log.first_s - log.arrival_s <= slo + SLO_TOLERANCE_S)
    mine = (workload.tenant < workload.n_user_tenants) & ~np.isin(workload.tenant, list(workload.batch_tenant_ids()))
    want = np.count_nonzero(met & mine) / np.count_nonzero(mine)
    assert 0 < want < 1 and s.loc["__all__", "slo_attainment"] == want
