"""The end-of-run stages read the request log in blocks of consecutive request ids: the
warm-up windows (sim/metrics/windows.py), the stability, rejection and unfinished notes
(sim/metrics/overload.py) and the invariant checks (sim/metrics/invariants.py). On a hybrid
run with a warm-up, a rate limit, requests left unfinished at the drain limit, a batch tier
and a background population, blocks of 7 ids, or of 1, give the summary of the default
block to the bit (its CSV bytes), the same notes and the same verdict; a log broken by hand
is caught with the same messages, naming the ids it was broken at. The whole end of the run
in one walk (sim/metrics/endrun.py: costs, rows, deadlines, checks, windows and the overload
notes' counts, each block handed once) gives the stages' own bytes at blocks of 7, 1 and the
default: the windowed summary, the bill, the notes and the invariant messages."""

import copy
import dataclasses

import numpy as np
import pytest
from helpers.blocks_run import bill_text

from sim.config import compose
from sim.errors import InvariantError
from sim.metrics import endrun
from sim.metrics.cost import attribute_cost
from sim.metrics.invariants import check_run, summary_violations, violations
from sim.metrics.overload import rejection_line, stability, unfinished_line
from sim.metrics.overload_notes import stability_notes
from sim.metrics.rows import BLOCK
from sim.metrics.summary import summarize
from sim.metrics.windows import apply_window
from sim.records import COMPLETED, PENDING
from sim.simulation.frames import model_prices, setup_summary
from sim.simulation.simulate import simulate_setups

WARMUP_S, DRAIN_S, HORIZON_S = 60.0, 5.0, 240.0
RUN = ["experiment=hybrid", "setups=[hybrid]", f"horizon_s={HORIZON_S:g}",
       "serverless.max_wait_s=3", "tenants.coder.priority=batch", "tenants.coder.deadline_s=60",
       "tenants.coder.arrival.rate_rps=0.2", "background.synthetic.tenants=4",
       "background.synthetic.rate_rps=0.5", f"metrics.warmup_s={WARMUP_S:g}",
       f"drain_s={DRAIN_S:g}", "serverless.default_rate_limit.rpm=20", "output.plots=false",
       "output.report=false"]


@pytest.fixture(scope="module")
def sim_run():
    cfg = compose(RUN)
    workload, runs, catalog = simulate_setups(cfg)
    return cfg, workload, runs[0], model_prices(catalog, workload.served_models)


@pytest.fixture(scope="module")
def one_run(sim_run):
    _, workload, run, prices = sim_run
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


@pytest.mark.parametrize("block", [7, 1, BLOCK])
def test_one_walk_gives_every_stages_bytes(sim_run, one_run, block, monkeypatch):
    cfg, workload, run, prices = sim_run
    _, _, costs, full = one_run
    stages = setup_summary(cfg, workload, run, prices, one_walk=False).to_csv(float_format="%r")
    starts = []
    real_walk = endrun.walk

    def walk(n, accs, blk):  # the one walk: which blocks it hands over
        starts.append([])
        real_walk(n, [_Seen(acc, starts[-1]) for acc in accs], blk)

    monkeypatch.setattr(endrun, "walk", walk)
    folded = {}
    one = endrun.end_of_run(workload, run, prices, cfg, block=block, notes=folded)
    assert len(starts) == 1 and starts[0] == list(range(0, len(workload), block))
    assert one.to_csv(float_format="%r") == stages
    assert set(one["window"]) == {"measured", "warmup"}
    notes = stability_notes(workload, [run], DRAIN_S)
    assert len(notes) == 2 and stability_notes(workload, [run], DRAIN_S, folded=folded) == notes
    monkeypatch.setattr(endrun, "walk", real_walk)
    hub = endrun._Hub(workload, run, prices, WARMUP_S, block)
    real_walk(len(workload), [hub], block)
    got_costs, part = hub.finish()
    assert bill_text(got_costs) == bill_text(costs)
    assert part.to_csv(float_format="%r") == full.to_csv(float_format="%r")
    # a summary broken by hand: the same messages from the walk's counts as from the checks'
    bad = part.copy()
    tier = bad.index[bad["tenant"].str.startswith("__tier__")][0]
    bad.loc[tier, "completed"] += 1
    bad.loc[0, "rejected"] += 2
    bad.loc[len(bad)] = bad.loc[0].copy()
    bad.loc[len(bad) - 1, "tenant"] = "nobody"
    want = summary_violations(workload, run, bad, block)
    assert len(want) >= 4 and any("unknown tenant 'nobody'" in m for m in want)
    assert summary_violations(workload, run, bad, block, hub.counts.of) == want


class _Seen:
    def __init__(self, acc, starts):
        self.acc, self.starts = acc, starts

    def add(self, a, b):
        self.starts.append(a)
        self.acc.add(a, b)
