"""The predicted TTFT behind the SLO-aware triggers (sim/platform/predict.py): the engines'
prefill backlog, the estimate against the engine's own times, and what the trigger does
to spillover against the queue-wait trigger."""

import math

import pytest
import simpy
from helpers.engine import make_perf

import sim
from sim.engine import ENGINES, Request, RequestQueue
from sim.platform.predict import PromptMean, predicted_ttft, prompt_pairs
from sim.platform.spillover import SpilloverPolicy
from sim.simulation.build import build_catalog


@pytest.fixture(scope="module")
def perf8b():
    cat = build_catalog(sim.config.compose([]))
    return make_perf(cat)


def _replica(kind, dep, perf, reqs):
    env = simpy.Environment()
    q = RequestQueue()
    done = {}
    rep = ENGINES[kind](env, 0, perf, dep, q, lambda r, t: done.__setitem__(r.id, r.t_first))
    for rid, n_in, n_out in reqs:
        q.push(Request(rid, 0, 0, 0.0, n_in, n_out))
    return env, rep, done


@pytest.mark.parametrize("kind", ["fluid", "step"])
def test_backlog_counts_the_iterations_already_run(kind, perf8b):
    """A 20,000-token prompt in chunks of 8,192: inside the second iteration one chunk is
    done, both engines say 11,808 tokens are left (the fluid engine computes it from its
    plan, the step engine keeps it per request)."""
    dep, perf = perf8b
    env, rep, _ = _replica(kind, dep, perf, [(0, 20000, 5)])
    first = perf.step_time(0, 8192, 0, 8192 * 8193 / 2)
    env.run(until=first * 1.5)
    backlog, n_dec, _ = rep.load_now()
    assert backlog == 20000 - 8192 and n_dec == 0


@pytest.mark.parametrize("kind", ["fluid", "step"])
def test_prompts_left_counts_the_iterations_already_run(kind, perf8b):
    """A 40,000-token prompt behind a 300-token one, inside the third iteration: the short
    prompt and 7,892 tokens of the long one went in the first chunk, 8,191 in the second
    (one token of the budget went to the short one's decode), so 40,000 - 16,083 are left (the fluid engine applies its plan's iterations only at its
    boundary: its view takes them head first, as the engine will)."""
    dep, perf = perf8b
    env, rep, _ = _replica(kind, dep, perf, [(0, 300, 5), (1, 40000, 5)])
    pairs1 = prompt_pairs(300) + prompt_pairs(7892)
    t1 = perf.step_time(0, 8192, 0, pairs1)
    t2 = perf.step_time(1, 8191, 8192, 301 + 8191 * (7892 + 8192 / 2))
    env.run(until=t1 + t2 * 1.5)
    assert rep.prompts_left() == [(40000, 40000 - 7892 - 8191)]
    assert rep.load_now()[0] == 40000 - 7892 - 8191


BACKLOGS = [[(20000, 1)], [(40000, 1)], [(10000, 4)], [(2000, 100)], [(2060, 114)], [(500, 50)]]


@pytest.mark.parametrize("kind", ["fluid", "step"])
@pytest.mark.parametrize("backlog", BACKLOGS, ids=lambda b: f"{b[0][1]}x{b[0][0]}")
def test_prediction_is_close_to_the_engines_time(kind, backlog, perf8b):
    """A 1,000-token prompt joining behind admitted prompts (one long one, or many short
    ones as in a burst of the code trace): the prediction against the engine's first-token
    time of the joining request, within 3 %. Until December 2026 the backlog's attention was
    charged as if it were one prompt, quadratic in the whole backlog: 100 prompts of 2,000
    tokens were predicted 8x the engine's time, and a prompt behind 114 of 2,060 tokens at
    864 s of experiment=spill_prefill 27.5 s against 3.5 s. Until issue 18 each chunk
    attended to itself only (37 % low at 40,000 tokens with BF16 attention)."""
    dep, perf = perf8b
    reqs = [(i, n_in, 5) for n_in, count in backlog for i in range(count)]
    env, rep, done = _replica(kind, dep, perf, reqs)
    env.run(until=1e-9)  # the backlog is admitted
    assert rep.load_now()[0] == sum(n_in * count for n_in, count in backlog)
    predicted = rep.prefill_eta(1000, prompt_pairs(1000))
    rep.queue.push(Request(len(reqs), 0, 0, env.now, 1000, 5))
    env.run()
    actual = done[len(reqs)] - 1e-9
    assert predicted == pytest.approx(actual, rel=0.03)


class _Fake:
    def __init__(self, eta_per_token, accepting=True):
        self.k, self.accepting = eta_per_token, accepting
        self.pairs = None

    def prefill_eta(self, tokens, pairs):
        self.pairs = pairs
        return self.k * tokens


def test_predicted_ttft_adds_the_slot_wait_and_the_queue_share():
    reps = [_Fake(1e-3), _Fake(2e-3), _Fake(1e-4, accepting=False)]
    # 4 queued x mean 500 tokens over 2 admitting replicas = 1,000 ahead, + its own 200
    assert predicted_ttft(reps, 200, 0.5, 4, 500.0) == pytest.approx(0.5 + 1.2)
    # the attention of its own prompt and of two of 500 tokens each, not of one of 1,200
    assert reps[0].pairs == 200 * 201 / 2 + 2 * (500 * 501 / 2)
    assert predicted_ttft([_Fake(1.0, accepting=False)], 1, 0.0, 0, 0.0) == math.inf
    m = PromptMean()
    assert m.mean == 0.0
    m.observe(100)
    m.observe(300)
    assert m.mean == 200.0


def test_spillover_policy_on_the_prediction():
    p = SpilloverPolicy(True, 2.0, None)
    assert p.spill(0, False, 1.0, 0.0, predicted_s=0.6, slo_s=0.5)  # wait 0, prediction over
    assert not p.spill(0, False, 1.0, 0.0, predicted_s=0.4, slo_s=0.5)
    assert not p.spill(0, False, 1.0, 0.0)  # the wait trigger sees no queue
    q = SpilloverPolicy(True, 2.0, 3)
    assert q.spill(3, False, 1.0, 0.0, predicted_s=0.0, slo_s=0.5)  # the queue bound still holds
    c = SpilloverPolicy(True, 2.0, None, cold_aware=True)
    assert not c.spill(0, False, 1.0, 0.0, pool_wait_s=30.0, predicted_s=0.6, slo_s=0.5)
    assert c.spill(0, False, 1.0, 0.0, pool_wait_s=0.0, predicted_s=0.6, slo_s=0.5)


# A prefill-heavy tenant (6,000-token prompts, 1.5 req/s) on one dedicated 8B replica: its
# batch slots never fill (no queue), but prefill makes a share of its requests miss 0.5 s.
# The pool keeps one 8B replica warm, so a spilled request is served at once.
TIGHT = ("tight: {model: llama31-8b, slo_ttft_s: 0.5, arrival: {kind: gamma, rate_rps: 1.5,"
         " cv: 2}, input: {kind: lognormal, mean: 6000, cv: 0.5}, output: {kind: fixed, mean: 50}}")
SMALL = ["horizon_s=300", "output.plots=false", "output.report=false"]
HEAVY = ["setups=[hybrid]", *SMALL,
         "tenants={" + TIGHT + ","
         " loose: {model: llama31-8b, slo_ttft_s: 30, arrival: {kind: gamma, rate_rps: 1.5,"
         " cv: 2}, input: {kind: lognormal, mean: 6000, cv: 0.5}, output: {kind: fixed, mean: 50}}}",
         "deployments={llama31-8b: {gpu: H100, precision: fp8, tp: 1}}",
         "hybrid.placement={llama31-8b: dedicated}", "dedicated.replicas={llama31-8b: 1}",
         "hybrid.spillover.wait_threshold_s=0.5", "serverless.autoscaler.min_replicas.llama31-8b=1"]


@pytest.fixture(scope="module")
def heavy():
    return {t: sim.run(HEAVY + [f"hybrid.spillover.trigger={t}"]) for t in ("wait", "slo")}


def _missed(res, tenant):
    q = res.requests
    q = q[q.tenant == tenant]
    return int(((q.outcome != "completed") | (q.ttft_s > 0.5)).sum())


def test_slo_trigger_spills_a_prefill_heavy_burst_the_wait_trigger_misses(heavy):
    wait = heavy["wait"].summary.set_index("tenant")
    slo = heavy["slo"].summary.set_index("tenant")
    assert wait.loc["tight", "spilled"] == 0  # no queue: the wait estimate stays 0
    assert _missed(heavy["wait"], "tight") >= 20
    assert slo.loc["tight", "spilled"] > 0
    assert _missed(heavy["slo"], "tight") <= _missed(heavy["wait"], "tight") // 2
    assert slo.loc["tight", "slo_attainment"] > wait.loc["tight", "slo_attainment"]


def test_each_request_is_judged_against_its_own_tenants_slo(heavy):
    """The loose tenant (30 s SLO) shares the replica and the prompts but never spills."""
    slo = heavy["slo"].summary.set_index("tenant")
    assert slo.loc["loose", "spilled"] == 0 < slo.loc["tight", "spilled"]


def test_slo_triggered_burst_provisions_before_the_queue_wait_says_so():
    """The same prefill-heavy tenant alone on a dedicated replica with burst capacity: the
    predicted TTFT passes the 0.5 s SLO before the queue wait passes 0.5 s, so the first
    burst replica is provisioned sooner and serves more of the run."""
    base = ["setups=[dedicated]", *SMALL, "tenants={" + TIGHT + "}",
            "deployments={llama31-8b: {gpu: H100, precision: fp8, tp: 1}}",
            "dedicated.replicas={llama31-8b: 1}", "dedicated.burst.enabled=true",
            "dedicated.burst.wait_threshold_s=0.5"]
    runs = {t: sim.run(base + [f"dedicated.burst.trigger={t}"]).tables["dedicated_burst_replicas"]
            for t in ("wait", "slo")}
    assert runs["slo"].provision_s.min() < runs["wait"].provision_s.min()
    assert runs["slo"].requests.sum() > runs["wait"].requests.sum()


@pytest.mark.parametrize("trigger", ["wait", "slo"])
def test_an_outage_under_burst_keeps_the_request_for_the_repair_under_either_trigger(tmp_path, trigger):
    """The only 8B replica fails at 1 s for 1 s (repair and reload: back at 2.0 s); a request
    arriving at 1.5 s is kept in the central queue, which calls burst replicas, and admitted
    at 2.0 s (TTFT 0.5 s plus its prefill), under either trigger and whether cold_aware or
    not. Until December 2026 the slo trigger predicted an infinite TTFT on no replica and
    sent it to the pool's 27.4 s cold start."""
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n0,100,400\n1.5,100,20\n")
    for aware in ("true", "false"):
        res = sim.run([
            "setups=[hybrid]", "horizon_s=40", "dedicated.router=central",
            "tenants={crit: {model: llama31-8b, arrival: {kind: trace, trace: {path: "
            f"{trace}, format: csv}}}}, input: {{kind: trace}}, output: {{kind: trace}}}}}}",
            "hybrid.placement={llama31-8b: dedicated}", "dedicated.replicas={llama31-8b: 1}",
            "dedicated.failures.mode=script",
            "dedicated.failures.script=[{model: llama31-8b, replica: 0, at_s: 1, down_s: 1}]",
            f"hybrid.spillover.cold_aware={aware}", f"hybrid.spillover.trigger={trigger}",
            "dedicated.burst.enabled=true"])
        r = res.requests.sort_values("arrival_s")
        late = r.iloc[1]
        assert late.arrival_s == 1.5 and late.tier == "dedicated" and not late.spilled
        assert 0.5 < late.ttft_s < 0.52  # admitted at the repair, 2.0 s, then a 100-token prefill
