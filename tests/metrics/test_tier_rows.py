"""``__tier__:<t>`` summary rows: when a setup's user requests went to several tiers (the
hybrid's dedicated and serverless, a burst tier), one row per tier over the user requests
that tier served, tool stages aside. Checked against the per-request frame, computed here
independently of the summary code."""

import numpy as np
import pytest
from helpers import later_wins

import sim

HYBRID = [
    "setups=[hybrid]", "horizon_s=300", "drain_s=600", "output.plots=false", "output.report=false",
    "deployments={qwen3-32b: {gpu: H100, precision: fp8, tp: 1}}",
    "tenants={steady: {model: llama31-8b, arrival: {kind: poisson, rate_rps: 2},"
    " input: {kind: lognormal, mean: 400, cv: 1, max: 600}, output: {kind: fixed, mean: 20},"
    " slo_ttft_s: 0.5},"
    " big: {model: qwen3-32b, arrival: {kind: poisson, rate_rps: 0.5},"
    " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}, slo_ttft_s: 2.0}}",
    "hybrid.placement.llama31-8b=dedicated", "hybrid.placement.qwen3-32b=serverless",
    "dedicated.replicas.llama31-8b=1", "serverless.billing=gpu_second",
]


@pytest.fixture(scope="module")
def hybrid():
    return sim.run(HYBRID)


def test_tier_rows_cover_each_tiers_requests(hybrid):
    s, req = hybrid.summary.set_index("tenant"), hybrid.requests
    assert {"__tier__:dedicated", "__tier__:serverless"} <= set(s.index)
    slo = req.tenant.map({"steady": 0.5, "big": 2.0}).astype(float)
    for tier in ("dedicated", "serverless"):
        row, mine = s.loc[f"__tier__:{tier}"], req[req.tier == tier]
        done = mine[mine.outcome == "completed"]
        assert row.requests == len(mine) > 0 and row.completed == len(done)
        assert row.ttft_p99_s == pytest.approx(np.percentile(done.ttft_s, 99), rel=1e-12)
        met = (mine.outcome == "completed") & (mine.ttft_s <= slo[mine.index])
        assert row.slo_attainment == pytest.approx(met.mean(), rel=1e-12)
        assert row.output_tokens == done.output_tokens.sum()
        # the bill of that tier: the __all__ row's component for it (no background here)
        assert row.cost_usd == pytest.approx(s.loc["__all__", f"cost_{tier}_usd"], rel=1e-9)
        assert row[f"cost_{tier}_usd"] == pytest.approx(row.cost_usd, rel=1e-12)
    assert (s.loc["__tier__:dedicated", "requests"] + s.loc["__tier__:serverless", "requests"]
            == s.loc["__all__", "requests"])


def test_tier_rows_count_their_own_clipped_requests(hybrid):
    """``steady``'s prompts are clipped at 600 tokens (counted per tenant); the tier row
    counts the clipped requests that tier served, here all on the dedicated tier."""
    s = hybrid.summary.set_index("tenant")
    assert s.loc["steady", "clipped"] > 0
    assert s.loc["__tier__:dedicated", "clipped"] == s.loc["steady", "clipped"]
    assert s.loc["__tier__:serverless", "clipped"] == 0


def test_a_single_tier_setup_has_no_tier_rows():
    res = sim.run([o for o in HYBRID if not o.startswith("setups=")] + ["setups=[dedicated]",
                  "dedicated.replicas.qwen3-32b=1"])
    assert not res.summary.tenant.str.startswith("__tier__").any()


def test_tool_stages_are_left_out_of_the_tier_rows():
    """A pipeline (embed on the pool, a tool, answer on dedicated): the tier rows add up to
    the model calls; the tool calls (run by the pipeline driver, on no tier) are left out."""
    piped = [o for o in HYBRID if not o.startswith(("tenants=", "hybrid.placement", "deployments"))] + [
        "tenants={rag: {model: llama31-8b, pipeline: p, arrival: {kind: poisson, rate_rps: 1},"
        " slo_ttft_s: 2.0}}",
        "pipelines={p: {stages: {embed: {model: bge-large-en, input: {kind: fixed, mean: 48},"
        " output: {kind: fixed, mean: 1}}, search: {kind: tool, after: [embed],"
        " latency: {kind: fixed, mean_s: 0.05}}, answer: {model: llama31-8b, after: [search],"
        " input: {kind: fixed, mean: 200}, output: {kind: fixed, mean: 20}}}}}",
        "hybrid.placement.llama31-8b=dedicated", "hybrid.placement.bge-large-en=serverless"]
    res = sim.run(piped)
    s, req = res.summary.set_index("tenant"), res.requests
    tools = req.model.astype(str).str.startswith("tool:")
    assert tools.any()
    tiers = s[s.index.str.startswith("__tier__:")]
    assert set(tiers.index) == {"__tier__:dedicated", "__tier__:serverless"}
    assert tiers.requests.sum() == (~tools).sum() == s.loc["__all__", "requests"] - tools.sum()
    assert s.loc["__tier__:serverless", "requests"] == (req.model == "bge-large-en").sum()



def test_requests_turned_away_before_any_tier_make_no_tier_row():
    """A request beyond its model's context is rejected on arrival (``exceeds_context``),
    before any tier sees it: it is no tier's, so a single-tier setup still has no tier
    rows, and a hybrid's tier rows cover only what its two tiers received."""
    huge = ("tenants.huge={model: llama31-8b, arrival: {kind: poisson, rate_rps: 0.5},"
            " input: {kind: fixed, mean: 131000}, output: {kind: fixed, mean: 200}}")
    base = [o for o in HYBRID if not o.startswith("setups=")] + ["horizon_s=60", huge]
    dedicated = sim.run(later_wins(base + ["setups=[dedicated]", "dedicated.replicas.qwen3-32b=1"]))
    req = dedicated.requests
    assert (req.reason == "exceeds_context").sum() == (req.tenant == "huge").sum() > 0
    assert not dedicated.summary.tenant.str.startswith("__tier__").any()
    hybrid = sim.run(later_wins(base + ["setups=[hybrid]"]))
    s, req = hybrid.summary.set_index("tenant"), hybrid.requests
    assert sorted(t for t in s.index if t.startswith("__tier__")) == [
        "__tier__:dedicated", "__tier__:serverless"]
    for tier in ("dedicated", "serverless"):
        assert s.loc[f"__tier__:{tier}", "requests"] == (req.tier == tier).sum() > 0
    turned_away = (req.reason == "exceeds_context").sum()
    assert turned_away == (req.tenant == "huge").sum() > 0
    assert (s.loc["__tier__:dedicated", "requests"] + s.loc["__tier__:serverless", "requests"]
            == s.loc["__all__", "requests"] - turned_away)
