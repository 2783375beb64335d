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


def test_a_model_with_no_point_is_left_out_not_emptying_the_frontier():
    """A model with no simulated candidate (no request in the horizon, or none could run)
    emptied pareto.csv beside the plans chosen for the others, until December 2026. The
    plans now cover the other models, the chosen one on it (by hand: one model, one point)."""
    chosen = _cand(2, 2.0, 0.5, True)
    nan = _cand(1, float("nan"), float("nan"), False)  # priced, nothing to rank by
    table = frontier_table([[chosen], [], [nan]], chosen=(chosen,))
    assert list(table["plan"]) == ["m: 2 x H100 fp8 TP1 reserved"]
    assert list(table["meets_slo"]) == [True] and list(table["usd_per_hour"]) == [2.0]
    assert frontier_table([[], [nan]]).empty


def test_the_models_left_out_are_named_with_their_reason():
    from types import SimpleNamespace as NS

    from sim.jobs.plan import left_out_note

    chosen = _cand(2, 2.0, 0.5, True)
    plans = [NS(model="a", tried=[chosen], idle=False), NS(model="b", tried=[], idle=True),
             NS(model="c", tried=[], idle=False)]
    (note,) = left_out_note(plans)
    assert note == ("pareto: its plans cover a only; b (no request within the horizon), "
                    "c (no candidate could run) have no simulated point to combine")
    (empty,) = left_out_note(plans[1:])
    assert empty.startswith("pareto.csv is empty: no model has a simulated point to combine")
    assert left_out_note(plans[:1]) == []


def test_a_plan_with_an_idle_model_keeps_the_chosen_plan_on_pareto():
    """The plan job with a second tenant sending no request in the horizon: pareto.csv was
    empty (no note) while plan.csv chose the busy model's plan, which README says is always on
    it. Now the chosen plan of the busy model is a row, and a note names the idle model."""
    import sim

    res = sim.run(["job=plan", "horizon_s=60", "tenants.chat.arrival.rate_rps=20",
                   "tenants.chat.slo_ttft_s=0.5", "output.plots=false", "output.report=false",
                   "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[1]",
                   "plan.pricing=[reserved]", "plan.max_replicas=3",
                   "tenants.rare={model: qwen3-32b, arrival: {kind: poisson, rate_rps: 1e-9}}"])
    plan = res.tables["plan"].set_index("model")["choice"]
    assert plan["qwen3-32b"] == "none" and plan["llama31-8b"] != "none"
    pareto = res.tables["pareto"]
    assert f"llama31-8b: {plan['llama31-8b']}" in list(pareto["plan"])
    assert not pareto["plan"].str.contains("qwen3-32b").any()
    said = [n for n in res.notes if n.startswith("pareto: its plans cover")]
    assert said == ["pareto: its plans cover llama31-8b only; qwen3-32b (no request within the "
                    "horizon) has no simulated point to combine"]
