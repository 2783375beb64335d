"""A closed-loop tenant beside open-arrival tenants: its clients send their first requests
at the run's start, as they do alone. Until December 2026 the driver sent them after the
last open arrival, so a loop beside a 120 s Poisson tenant started at 119.5 s."""

import pytest

import sim

LOOP = "tenants.loop={model: llama31-8b, arrival: {kind: closed, concurrency: 8, requests_per_client: 4}}"


@pytest.mark.parametrize("setup", ["dedicated", "serverless"])
def test_a_closed_loop_beside_an_open_tenant_starts_at_zero(setup):
    args = [f"setups=[{setup}]", "horizon_s=120", "drain_s=30", "output.plots=false", LOOP]
    r = sim.run(args).requests
    loop, chat = r[r["tenant"] == "loop"], r[r["tenant"] == "chat"]
    assert len(loop) == 32 and (loop["outcome"] == "completed").all()
    assert (loop["arrival_s"] == 0.0).sum() == 8  # one a client, at the start
    assert loop["arrival_s"].max() < 60.0  # four requests a client, each a few seconds
    # the open tenant's requests are the same as without the loop beside it
    alone = sim.run(args[:-1]).requests
    assert chat["arrival_s"].tolist() == alone["arrival_s"].tolist()
    assert (chat["outcome"] == "completed").all()
