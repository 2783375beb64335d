"""Requests the run's end cuts (``unfinished_at_end``) fail in the tier that held them, at
the run's end; a try given up after the horizon ends its tenant's billing period then. Tiny
runs on two-request traces; each test fails on the code before December 2026, which logged
every cut request in tier ``dedicated`` and ended a failed request's period at its arrival."""

import pytest

import sim

A = "tenants.chat.arrival"


def run(tmp_path, rows, *overrides):
    (tmp_path / "t.csv").write_text("timestamp,input_tokens,output_tokens\n" + rows)
    return sim.run([f"{A}.kind=trace", f"{A}.trace.path={tmp_path}/t.csv", f"{A}.trace.format=csv",
                    "tenants.chat.input.kind=trace", "tenants.chat.output.kind=trace",
                    "output.plots=false", "output.report=false", "output.progress=false",
                    *overrides], output_dir=tmp_path / "out")


def tenant_rows(res):
    return sorted(res.summary["tenant"].tolist())


@pytest.mark.parametrize("setup", [["setups=[serverless]"],
                                   ["setups=[hybrid]", "hybrid.default_tier=serverless"]])
def test_a_run_on_the_pool_fails_its_cut_request_there(tmp_path, setup):
    # the first request waits for a cold start and completes; the second (2,000 tokens at
    # 58 s) is still decoding when the run stops at 60 + 1 s
    res = run(tmp_path, "1.0,100,20\n59.0,100,2000\n", *setup, "horizon_s=60", "drain_s=1")
    req = res.requests
    assert req.outcome.tolist() == ["completed", "failed"]
    assert req.reason.iloc[1] == "unfinished_at_end"
    assert req.tier.tolist() == ["serverless", "serverless"]
    # one tier served the run: no __tier__ rows (before: __tier__:dedicated and :serverless)
    assert tenant_rows(res) == ["__all__", "chat"]
    assert res.summary.set_index("tenant").loc["chat", "period_s"] == 61.0


SPOT = ["setups=[dedicated]", "dedicated.replicas={llama31-8b: 1}",
        "+dedicated.spot.replicas={llama31-8b: 1}", "horizon_s=10"]


def test_a_request_cut_on_a_spot_replica_fails_in_tier_spot(tmp_path):
    res = run(tmp_path, "1.0,100,20\n7.0,100,2000\n", *SPOT, "drain_s=1",
              "dedicated.spot.preemption.per_gpu_hour=0")
    req = res.requests
    assert req.tier.tolist() == ["spot", "spot"]
    assert req.outcome.tolist() == ["completed", "failed"]
    assert res.summary.set_index("tenant").loc["chat", "period_s"] == 11.0


def test_a_try_given_up_after_the_horizon_ends_the_tenants_period_then(tmp_path):
    # the spot replica running the second request (sent at 6 s) gets its notice at 8 s and
    # is reclaimed notice_s = 5 s later, at 13 s, after the 10 s horizon: with one try
    # allowed the request fails then, and chat's billing period runs to 13 s (until
    # December 2026 it ended at the horizon, as if the request had ended at its arrival)
    (tmp_path / "p.csv").write_text("time_s,model,replica\n8.0,llama31-8b,0\n")
    res = run(tmp_path, "1.0,100,20\n7.0,100,2000\n", *SPOT, "drain_s=100",
              "dedicated.spot.preemption.mode=trace", f"dedicated.spot.preemption.trace={tmp_path}/p.csv",
              "dedicated.spot.preemption.notice_s=5", "dedicated.failures.max_attempts=1")
    req = res.requests
    assert req.outcome.tolist() == ["completed", "failed"]
    assert req.reason.iloc[1] == "spot_preemption"
    s = res.summary.set_index("tenant")
    assert s.loc["chat", "period_s"] == pytest.approx(13.0, abs=1e-9)
    assert s.loc["__all__", "period_s"] == pytest.approx(13.0, abs=1e-9)


def test_a_closed_loop_request_never_sent_fails_in_no_tier(tmp_path):
    # one client, three requests, a think time of 10,000 s on average: the run stops at
    # horizon_s + drain_s = 20 s with the client thinking, its next requests never sent
    res = sim.run(["tenants.chat.arrival={kind: closed, concurrency: 1, requests_per_client: 3, "
                   "think_s: 10000}", "setups=[dedicated]", "horizon_s=10", "drain_s=10",
                   "output.plots=false", "output.report=false", "output.progress=false"],
                  output_dir=tmp_path / "out")
    req = res.requests
    assert req.outcome.tolist() == ["completed", "failed", "failed"]
    assert req.tier.tolist() == ["dedicated", "none", "none"]
    assert tenant_rows(res) == ["__all__", "chat"]
