"""``pareto.csv`` is a frontier of every plan the search simulated, the chosen one included:
hand-made candidates, dominance by hand."""

import pandas as pd
import pytest

from sim.analysis.plan import Candidate
from sim.jobs.plan import frontier_table


def _cand(label_n: int, usd: float, ratio: float, feasible: bool) -> Candidate:
    return Candidate("m", "dedicated", "H100", "fp8", 1, label_n, "reserved", usd, usd, 1.0, ratio,
                     feasible, True)


def test_the_frontier_keeps_the_chosen_plan_and_drops_only_dominated_ones():
    """Hand-made candidates: a cheaper plan that misses the SLO (a TPOT or deadline miss) with a
    lower p99 / SLO does not push the chosen plan off the frontier (a plan meeting the SLO is
    not beaten by one that does not), while a dearer plan with a higher p99 / SLO is."""
    cheap_miss = _cand(1, 1.0, 0.2, False)
    chosen = _cand(2, 2.0, 0.5, True)
    dominated = _cand(3, 3.0, 0.6, True)
    better = _cand(4, 4.0, 0.3, True)
    table = frontier_table([[cheap_miss, chosen, dominated, better]])
    assert list(table["plan"]) == ["m: 1 x H100 fp8 TP1 reserved", "m: 2 x H100 fp8 TP1 reserved",
                                   "m: 4 x H100 fp8 TP1 reserved"]
    assert list(table["meets_slo"]) == [False, True, True]
    assert isinstance(table, pd.DataFrame)


@pytest.mark.parametrize("ratio", [float("inf")])
def test_a_chosen_plan_with_no_ttft_ratio_stays_on_the_frontier(ratio):
    """A model whose tenants have no TTFT SLO (a batch tier alone) has no finite p99 / SLO when
    a deadline is missed: it was left out, and the frontier was empty beside a chosen plan."""
    chosen = _cand(2, 2.0, ratio, True)
    table = frontier_table([[chosen]])
    assert list(table["plan"]) == ["m: 2 x H100 fp8 TP1 reserved"]
