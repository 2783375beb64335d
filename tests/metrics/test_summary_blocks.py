"""The summary's request figures are folds over blocks of consecutive request ids
(sim/metrics/rows.py ``RowFold``): on a hybrid run with several tenants and models, a batch
tier, a background population, rejections and cold starts, the summary folded in blocks of
7 ids, or of 1, is the one folded in a single block, to the bit (its CSV bytes), and its
aggregate SLO attainment counts the interactive requests that met their own tenant's SLO.
The cost and billing stages (sim/metrics/cost.py ``attribute_cost``, sim/metrics/billing.py
``tenant_periods``) and the deadline, model and tier columns are folds over the same blocks:
on that run (a reserved replica, tenants billed per token, a batch-tier tenant with a
deadline billed at the batch price) their figures at blocks of 7 and 1 are the default's,
to the bit. One driver walks the blocks once, in id order, and hands each block to every
registered accumulator (sim/metrics/rows.py ``walk``, ``Rows``): the rows folded in that one
walk (``one_pass``, what a log sealed in blocks needs) are the bytes of the exact path's one
walk per row and figure, at blocks of 7 and at the default; the whole end of the run in one
walk (sim/metrics/endrun.py, tier rows made as their tiers appear) gives the stages' summary
bytes at blocks of 7, 1 and the default."""

import math

import numpy as np
import pytest
from helpers.blocks_run import RUN, bill_text, hybrid_run

from sim.config import compose
from sim.metrics import rows as rows_mod
from sim.metrics.cost import attribute_cost
from sim.metrics.endrun import end_of_run
from sim.metrics.rows import SLO_TOLERANCE_S
from sim.metrics.summary import summarize
from sim.records import COMPLETED, REJECTED
from sim.simulation.frames import setup_summary


@pytest.fixture(scope="module")
def one_run():
    return hybrid_run()


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
    assert bill_text(attribute_cost(workload, run, prices, block)) == bill_text(costs)
    whole = summarize(workload, run, prices).to_csv(float_format="%r")
    assert summarize(workload, run, prices, block=block).to_csv(float_format="%r") == whole


class _Count:
    def __init__(self):
        self.seen = []

    def add(self, a, b):
        self.seen.append((a, b))


def test_walk_visits_each_block_once_in_order_for_every_accumulator():
    accs = [_Count() for _ in range(3)]
    rows_mod.walk(23, accs, block=7)
    for acc in accs:  # 0-6, 7-13, 14-20, 21-22: each id once, in order
        assert acc.seen == [(0, 7), (7, 14), (14, 21), (21, 23)]
    empty = _Count()
    rows_mod.walk(0, [empty], block=7)
    assert empty.seen == []


@pytest.mark.parametrize("block", [7, rows_mod.BLOCK])
def test_one_walk_gives_the_exact_paths_bytes(one_run, block):
    workload, run, prices, costs = one_run
    many = summarize(workload, run, prices, costs, block=block)
    one = summarize(workload, run, prices, costs, block=block, one_pass=True)
    assert len(many) > 8  # tenants, __all__, __background__, models, tiers
    assert many.to_csv(float_format="%r") == one.to_csv(float_format="%r")


class _Seen:
    """An accumulator that records the blocks it is handed, then hands them on."""

    def __init__(self, acc):
        self.acc, self.starts = acc, []

    def add(self, a, b):
        self.starts.append(a)
        self.acc.add(a, b)


def test_one_walk_feeds_every_accumulator_each_block_once(one_run, monkeypatch):
    workload, run, prices, costs = one_run
    walks = []
    real_walk = rows_mod.walk

    def walk(n, accs, block):
        seen = [_Seen(acc) for acc in accs]
        walks.append(seen)
        real_walk(n, seen, block)

    monkeypatch.setattr(rows_mod, "walk", walk)
    s = summarize(workload, run, prices, costs, block=7, one_pass=True)
    n = len(workload)
    assert len(walks) == 1  # one walk over the log
    kinds = [type(seen.acc).__name__ for seen in walks[0]]
    tiers = s["tenant"].str.startswith("__tier__").sum()
    models = s["tenant"].str.startswith("__model__").sum()
    assert tiers >= 2 and workload.changed_req is not None
    # every row's fold, the deadline counts and each tier and model row's clipped count
    assert sorted(kinds) == sorted(["_RowAcc"] * len(s) + ["DeadlineCounts"]
                                   + ["_Clipped"] * (tiers + models))
    for seen in walks[0]:  # each block once, in id order
        assert seen.starts == list(range(0, n, 7))
    assert len(walks[0][0].starts) == math.ceil(n / 7)


@pytest.mark.parametrize("block", [7, 1, rows_mod.BLOCK])
def test_one_walk_end_of_run_gives_the_stages_bytes(one_run, block):
    workload, run, prices, _ = one_run
    cfg = compose(RUN)
    stages = setup_summary(cfg, workload, run, prices, one_walk=False)
    assert set(stages["window"]) == {"all"} and stages["tenant"].str.startswith("__tier__").sum() >= 2
    one = end_of_run(workload, run, prices, cfg, block=block)
    assert one.to_csv(float_format="%r") == stages.to_csv(float_format="%r")
