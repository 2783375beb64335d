"""The end-of-run stages read the request log in blocks of consecutive request ids: the
warm-up windows (sim/metrics/windows.py), the stability, rejection and unfinished notes
(sim/metrics/overload.py) and the invariant checks (sim/metrics/invariants.py). On a hybrid
run with a warm-up, a rate limit, requests left unfinished at the drain limit, a batch tier
and a background population, blocks of 7 ids, or of 1, give the summary of the default
block to the bit (its CSV bytes), the same notes and the same verdict; a log broken by hand
is caught with the same messages, naming the ids it was broken at."""

import copy
import dataclasses

import numpy as np
import pytest

from sim.config import compose
from sim.errors import InvariantError
from sim.metrics.cost import attribute_cost
from sim.metrics.invariants import check_run, violations
from sim.metrics.overload import (
    rejection_line,
    stability,
    stability_notes,
    unfinished_line,
)
from sim.metrics.rows import BLOCK
from sim.metrics.summary import summarize
from sim.metrics.windows import apply_window
from sim.records import COMPLETED, PENDING
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate_setups

WARMUP_S, DRAIN_S, HORIZON_S = 60.0, 5.0, 240.0
RUN = ["experiment=hybrid", "setups=[hybrid]", f"horizon_s={HORIZON_S:g}",
       "serverless.max_wait_s=3", "tenants.coder.priority=batch", "tenants.coder.deadline_s=60",
       "tenants.coder.arrival.rate_rps=0.2", "background.synthetic.tenants=4",
       "background.synthetic.rate_rps=0.5", f"metrics.warmup_s={WARMUP_S:g}",
       f"drain_s={DRAIN_S:g}", "serverless.default_rate_limit.rpm=20", "output.plots=false",
       "output.report=false"]


@pytest.fixture(scope="module")
def one_run():
    workload, runs, catalog = simulate_setups(compose(RUN))
    run = runs[0]
    prices = model_prices(catalog, workload.served_models)
    costs = attribute_cost(workload, run, prices)
    return workload, run, costs, summarize(workload, run, prices, costs)


def _windowed(one_run, block):
    workload, run, _, full = one_run
    return apply_window(workload, run, full, WARMUP_S, "cold", block=block)


def test_the_scenario_has_what_the_blocks_must_cross(one_run):
    workload, run, _, _ = one_run
    log = run.log
    names = log.reasons.names
    reasons = {names[c] for c in np.unique(log.reason[log.outcome != COMPLETED]).tolist()}
    assert {"rate_limit_rpm", "unfinished_at_end"} <= reasons
    early = np.count_nonzero(log.arrival_s < WARMUP_S)
    assert 7 * 5 < early < len(workload) - 7 * 5  # both windows span many blocks of 7
    assert run.background and workload.deadlines and workload.changed_req is not None
    s = stability(workload, run)
    assert s["unstable"] and s["reasons"]["unfinished_at_end"] > 0
    assert rejection_line(workload, run) is not None
    assert unfinished_line(workload, run, HORIZON_S + DRAIN_S) is not None


@pytest.mark.parametrize("block", [7, 1])
def test_small_blocks_give_the_same_windows_notes_and_verdict(one_run, block):
    workload, run, costs, full = one_run
    whole = _windowed(one_run, BLOCK)
    assert set(whole["window"]) == {"measured", "warmup"}
    small = _windowed(one_run, block)
    assert whole.to_csv(float_format="%r") == small.to_csv(float_format="%r")
    assert stability(workload, run, block) == stability(workload, run)
    stop = HORIZON_S + DRAIN_S
    assert unfinished_line(workload, run, stop, block) == unfinished_line(workload, run, stop)
    assert rejection_line(workload, run, block) == rejection_line(workload, run)
    notes = stability_notes(workload, [run], DRAIN_S)
    assert len(notes) == 2 and stability_notes(workload, [run], DRAIN_S, block=block) == notes
    assert violations(workload, run, costs, full, block) == [] == violations(workload, run, costs,
                                                                             full)
    check_run(workload, run, costs, full, block=block)  # raises if broken


def test_a_broken_log_is_caught_with_the_same_messages_in_small_blocks(one_run):
    workload, run, costs, full = one_run
    log = copy.deepcopy(run.log)
    done = np.flatnonzero(log.outcome == COMPLETED)
    neg = done[[0, 9, 20, 31, 42, 53, 64]]  # 7 ids, in 7 blocks of 7: 5 shown, 2 more
    log.arrival_s = log.arrival_s.copy()
    log.arrival_s[neg] = -5.0
    twice = done[100]  # ended twice: completed, and failed with a reason
    log.reason[twice] = log.reasons.names.index("unfinished_at_end")
    open_id = done[101]  # offered, never ended
    log.outcome[open_id] = PENDING
    broken = dataclasses.replace(run, log=log)
    found = violations(workload, broken, block=7)
    assert found == violations(workload, broken)
    ids = ", ".join(str(i) for i in neg[:5].tolist())
    assert f"7 requests have a negative arrival time (ids {ids} and 2 more)" in found
    assert f"1 completed requests carry a failure reason (ids {twice})" in found
    assert f"1 offered requests never ended (ids {open_id})" in found
    with pytest.raises(InvariantError, match="negative arrival time"):
        check_run(workload, broken, block=7)
