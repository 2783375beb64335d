"""Run invariants (sim/invariants.py): each check fires on a corrupted run, real runs pass."""

import copy

import numpy as np
import pytest
from helpers import later_wins

import sim
from sim.errors import InvariantError
from sim.metrics.cost import attribute_cost
from sim.metrics.invariants import LogChecks, check_run, log_violations, violations
from sim.platform import SETUPS
from sim.records import COMPLETED, FAILED, PENDING, REJECTED
from sim.simulation.frames import frames, model_prices
from sim.simulation.simulate import simulate_setups

BASE = ["horizon_s=60", "drain_s=120", "tenants.chat.arrival.rate_rps=3", "output.plots=false"]


@pytest.fixture(scope="module")
def real():
    """A dedicated run with completions and queue_full rejections, and its outputs."""
    cfg = sim.compose(BASE + ["dedicated.max_queue=2", "tenants.chat.arrival.kind=gamma",
                              "tenants.chat.arrival.cv=4"])
    workload, runs, catalog = simulate_setups(cfg)
    summary, _ = frames(cfg, workload, runs, catalog)
    run = runs[0]
    assert (run.log.outcome == COMPLETED).any() and (run.log.outcome == REJECTED).any()
    return workload, run, catalog, summary


def corrupt(real, how):
    workload, run, catalog, summary = real
    bad = copy.deepcopy(run)
    summary = summary.copy()
    log = bad.log
    done = np.flatnonzero(log.outcome == COMPLETED)
    rej = np.flatnonzero(log.outcome == REJECTED)
    i, j = int(done[3]), int(rej[0])
    how(bad, log, i, j, summary)
    costs = attribute_cost(workload, bad, model_prices(catalog, workload.models))
    return violations(workload, bad, costs, summary)


def _pending(b, log, i, j, s):
    log.outcome[i] = PENDING


def _reasonless(b, log, i, j, s):
    log.reason[j] = 0


def _completed_with_reason(b, log, i, j, s):
    log.reason[i] = log.reason[j]


def _first_before_arrival(b, log, i, j, s):
    log.first_s[i] = log.arrival_s[i] - 0.5


def _finish_before_first(b, log, i, j, s):
    log.finish_s[i] = log.first_s[i] - 1e-3


def _admit_before_arrival(b, log, i, j, s):
    log.admit_s[i] = log.arrival_s[i] - 1.0


def _negative_time(b, log, i, j, s):
    log.arrival_s[j] = -1.0


def _after_end(b, log, i, j, s):
    log.finish_s[i] = b.t_end + 10.0


def _missing_time(b, log, i, j, s):
    log.first_s[i] = np.nan


def _short_tokens(b, log, i, j, s):
    log.wrong_tokens.append((i, int(log.want[i]) - 1))  # what flush records of a short answer


def _busy_exceeds(b, log, i, j, s):
    b.ledger[0].busy_s = b.ledger[0].end_s + 1.0


def _beyond_period(b, log, i, j, s):
    b.ledger[0].end_s = b.period_s + 5.0


def _down_plus_busy(b, log, i, j, s):
    row = b.ledger[0]
    row.down_s = row.end_s - row.start_s - row.busy_s + 1.0


def _no_gpus(b, log, i, j, s):
    b.ledger[0].gpus = 0


def _summary_count(b, log, i, j, s):
    s.loc[s["tenant"] == "chat", "rejected"] += 1


def _summary_requests(b, log, i, j, s):  # the requests column alone: it must add up to the
    s.loc[s["tenant"] == "chat", "requests"] += 1  # outcomes, each of which is the log's


def _summary_total(b, log, i, j, s):
    s.loc[s["tenant"] == "__all__", "output_tokens"] += 7


def _open_count(b, log, i, j, s):
    log.open = 1


def test_a_tenant_without_requests_still_pays_for_its_models_gpus():
    """Found by the property test: a pool whose tenants sent nothing lost its cost."""
    res = sim.run(BASE + ["tenants.quiet={model: qwen3-32b, arrival: {rate_rps: 0.001}}"])
    s = res.summary.set_index("tenant")
    assert s.loc["quiet", "requests"] == 0 and s.loc["quiet", "model"] == "qwen3-32b"
    # one H100 for the whole billing period, at the reserved price (dedicated default)
    h100 = sim.compose([]).catalog.gpus.H100.reserved_usd_per_hour
    assert s.loc["quiet", "cost_usd"] == pytest.approx(s.loc["quiet", "period_s"] / 3600 * h100)
    assert s.loc["__all__", "cost_usd"] == pytest.approx(s.loc["chat", "cost_usd"] + s.loc["quiet", "cost_usd"])


def _cost_components(b, log, i, j, s):
    b.ledger.append(copy.copy(b.ledger[0]))
    b.ledger[-1].model = "qwen3-32b"  # a pool no tenant calls: its cost would be lost


@pytest.mark.parametrize("how,match", [
    (_pending, "never ended"),
    (_open_count, "still open"),
    (_reasonless, "carry no reason"),
    (_completed_with_reason, "completed requests carry a failure reason"),
    (_first_before_arrival, "first token before arrival"),
    (_finish_before_first, "finish before first token"),
    (_admit_before_arrival, "admitted before arrival"),
    (_negative_time, "negative arrival time"),
    (_after_end, "finish after the end of the run"),
    (_missing_time, "lack an arrival, first-token or finish time"),
    (_short_tokens, "different number of output tokens"),
    (_busy_exceeds, "GPU busy time .* exceeds its GPU time"),
    (_beyond_period, "after the billing period"),
    (_down_plus_busy, "busy \\+ down \\+ loading time"),
    (_no_gpus, "0 GPUs"),
    (_summary_count, "summary row chat: requests .* != completed|summary row chat: rejected"),
    (_summary_requests, "summary row chat: requests .* != completed \\+ rejected \\+ failed"),
    (_summary_total, "tenants' output_tokens add up"),
    (_cost_components, "GPU cost attributed to tenants"),
])
def test_each_check_fires_on_a_corrupted_run(real, how, match):
    found = corrupt(real, how)
    assert any(__import__("re").search(match, v) for v in found), found


def test_the_real_run_is_clean_and_a_violation_raises_listing_all(real):
    workload, run, catalog, summary = real
    costs = attribute_cost(workload, run, model_prices(catalog, workload.models))
    assert violations(workload, run, costs, summary) == []
    bad = copy.deepcopy(run)
    bad.log.outcome[0] = PENDING
    bad.ledger[0].gpus = 0
    with pytest.raises(InvariantError, match=r"broke 2 invariant\(s\)(?s:.*)never ended.*\n.*0 GPUs"):
        check_run(workload, bad)


def test_background_requests_must_stay_untouched_on_a_setup_without_a_shared_pool():
    cfg = sim.compose(BASE + ["background.synthetic.tenants=3", "background.synthetic.rate_rps=2"])
    workload, runs, _ = simulate_setups(cfg)
    run = runs[0]
    assert workload.background_tenants and not run.background
    assert violations(workload, run) == []
    bg = np.flatnonzero(~workload.user_mask())
    bad = copy.deepcopy(run)
    bad.log.outcome[bg[0]] = FAILED
    assert any("never offered" in v for v in violations(workload, bad))


# every registered setup (new ones join automatically), with the awkward corners switched
# on: one-token outputs, burst replicas in another region (an RTT on first token and
# finish), failures with retries, background tenants, rejections, a closed loop
REAL_RUNS = [
    ["tenants.chat.output.kind=fixed", "tenants.chat.output.mean=1"],
    ["tenants.chat.arrival.rate_rps=40", "dedicated.burst.enabled=true",
     "dedicated.burst.max_replicas=0", "dedicated.burst.remote.max_replicas=2",
     "dedicated.burst.wait_threshold_s=0.5", "dedicated.burst.remote.rtt_s=0.08",
     "dedicated.burst.need_node=false", "dedicated.burst.image_cached=true"],
    ["dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.003",
     "dedicated.failures.mttr_s=5", "dedicated.failures.max_attempts=2"],
    ["background.synthetic.tenants=3", "background.synthetic.rate_rps=2"],
    ["tenants.chat.arrival.rate_rps=40", "dedicated.max_queue=5", "serverless.max_queue=5"],
    ["engine=step", "dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.003",
     "dedicated.failures.mttr_s=5", "dedicated.failures.max_attempts=3"],
    ["tenants.chat.arrival.rate_rps=40", "hybrid.placement={llama31-8b: dedicated}",
     "++dedicated.replicas.llama31-8b=1",
     "hybrid.shadow_fraction=0.5"],
    ["tenants.chat.arrival.kind=closed", "tenants.chat.arrival.concurrency=4",
     "tenants.chat.arrival.requests_per_client=5"],
]


@pytest.mark.parametrize("extra", REAL_RUNS, ids=["one_token", "remote_burst", "failures",
                                                   "background", "overload", "step_retries",
                                                   "hybrid_spill_shadow", "closed"])
def test_real_runs_of_every_registered_setup_pass(extra):
    _every_setup(extra)


def _every_setup(extra):
    res = sim.run(later_wins(BASE + extra + [f"setups=[{','.join(SETUPS)}]"]))  # raises on a violation
    assert set(res.summary["setup"]) == set(SETUPS)
    return res


def test_the_corner_cases_happen():
    """The runs above do reach their corners (else they would prove little)."""
    req = _every_setup(REAL_RUNS[1]).requests
    assert ((req["setup"] == "dedicated") & (req["tier"] == "burst")).any()
    s = _every_setup(REAL_RUNS[2]).summary
    row = s[(s["setup"] == "dedicated") & (s["tenant"] == "__all__")].iloc[0]
    assert row["retries"] > 0 and row["failed"] > 0
    s = _every_setup(REAL_RUNS[4]).summary
    assert (s.loc[s["tenant"] == "__all__", "rejected"] > 0).all()
    if "hybrid" in SETUPS:
        res = _every_setup(REAL_RUNS[6])
        req = res.requests[res.requests["setup"] == "hybrid"]
        assert req["spilled"].any() and len(res.tables["hybrid_shadow"])


def test_every_run_checks_its_invariants_and_fails_loudly(monkeypatch):
    """A setup bug (here: the log loses a token of each completion) stops ``sim.run``."""
    from sim.records import RequestLog

    flush = RequestLog.flush

    def lossy(self):
        gen = 7  # Request.gen, in each buffered completion's tuple
        self._done[:] = [b[:gen] + (b[gen] - 1,) + b[gen + 1:] for b in self._done]
        flush(self)

    monkeypatch.setattr(RequestLog, "flush", lossy)
    with pytest.raises(InvariantError, match="different number of output tokens"):
        sim.run(BASE)


def test_a_pipeline_stage_that_never_ran_still_bills_its_models_gpus():
    """Found by the property test: a conditional stage that never ran left its model's
    dedicated replica unattributed (the run now raises if any GPU cost is lost)."""
    res = sim.run(BASE + ["pipelines={p: {stages: {a: {model: llama31-8b}, "
                          "b: {model: qwen3-32b, after: [a], probability: 0.0}}}}",
                          "tenants.chat.pipeline=p", "++dedicated.replicas.qwen3-32b=1"])
    s = res.summary.set_index("tenant")
    gpus = res.tables["replicas"]
    assert (gpus["model"] == "qwen3-32b").any()
    # two H100s (one per model) for the whole period, all billed to the one tenant
    h100 = sim.compose([]).catalog.gpus.H100.reserved_usd_per_hour
    assert s.loc["chat", "cost_usd"] == pytest.approx(2 * s.loc["chat", "period_s"] / 3600 * h100)


LOG_CORRUPTIONS = [_pending, _open_count, _reasonless, _completed_with_reason,
                   _first_before_arrival, _finish_before_first, _admit_before_arrival,
                   _negative_time, _missing_time, _short_tokens, _after_end]


@pytest.mark.parametrize("how", LOG_CORRUPTIONS)
def test_the_log_checks_folded_while_the_run_goes_find_what_the_whole_log_shows(real, how):
    """A log sealed in blocks is checked block by block as the run goes (sim/logseal.py,
    sim/simulation/streamed.py), before the run's end is known: the same violations at
    blocks of 7 ids, the one after the run's end found from the latest finish."""
    workload, run, _, _ = real
    bad = copy.deepcopy(run)
    done = np.flatnonzero(bad.log.outcome == COMPLETED)
    rej = np.flatnonzero(bad.log.outcome == REJECTED)
    how(bad, bad.log, int(done[3]), int(rej[0]), None)
    whole = log_violations(workload, bad)
    checks = LogChecks(workload, bad, 1e-9 * (60 + 120))
    for a in range(0, bad.log.n, 7):
        checks.add(a, min(a + 7, bad.log.n))
    folded = checks.violations()
    assert whole and len(folded) == len(whole)
    if how is _after_end:
        assert [v for v in folded if "finish after the end of the run" in v] == [
            f"completed requests: finish after the end of the run ({bad.t_end:.6g} s): the "
            f"latest at {bad.t_end + 10:.6g} s"]
    else:
        assert folded == whole
