"""The summary's request figures are folds over blocks of consecutive request ids
(sim/metrics/rows.py ``RowFold``): on a hybrid run with several tenants and models, a batch
tier, a background population, rejections and cold starts, the summary folded in blocks of
7 ids, or of 1, is the one folded in a single block, to the bit (its CSV bytes), and its
aggregate SLO attainment counts the interactive requests that met their own tenant's SLO.
The cost and billing stages (sim/metrics/cost.py ``attribute_cost``, sim/metrics/billing.py
``tenant_periods``) and the deadline, model and tier columns are folds over the same blocks:
on that run (a reserved replica, tenants billed per token, a batch-tier tenant with a
deadline billed at the batch price) their figures at blocks of 7 and 1 are the default's,
to the bit."""

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


def _bill(cb) -> str:
    """Every figure of a cost breakdown, as text (floats by repr: to the bit)."""
    def plain(d):
        return {k: plain(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}
    return repr([plain(d) for d in (cb.by_tenant, cb.totals, cb.by_tenant_tier, cb.by_tenant_model,
                                    cb.util_by_model, cb.util_by_tier, cb.period_by_tenant)]
                + [cb.tiers])


def test_the_scenario_bills_what_the_cost_folds_must_cross(one_run):
    workload, run, prices, costs = one_run
    s = summarize(workload, run, prices, costs).set_index("tenant")
    # the reserved replica's tenant pays GPU time only; the pool's tenants, tokens only
    assert s.loc["chat", "token_cost_usd"] == 0 < s.loc["chat", "gpu_cost_usd"]
    assert s.loc["summarize", "gpu_cost_usd"] == 0 < s.loc["summarize", "token_cost_usd"]
    assert s.loc["coder", "token_cost_usd"] > 0 and s.loc["coder", "deadline_missed"] > 0
    assert 0 < s.loc["coder", "slo_attainment"] < 1
    assert any(t.startswith("__model__") for t in s.index)
    assert any(t.startswith("__tier__") for t in s.index)
    assert run.period_s > workload.horizon_s  # a drain: the billing periods differ


@pytest.mark.parametrize("block", [7, 1])
def test_small_blocks_give_the_same_costs_and_summary_bit_for_bit(one_run, block):
    workload, run, prices, costs = one_run
    assert _bill(attribute_cost(workload, run, prices, block)) == _bill(costs)
    whole = summarize(workload, run, prices).to_csv(float_format="%r")
    assert summarize(workload, run, prices, block=block).to_csv(float_format="%r") == whole
