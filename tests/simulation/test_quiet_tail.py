"""The stretch between a run's last request and its horizon is simulated, not cut at the
event loop's internal step (horizon / 100): a serverless replica idle since the last
request stops when its keep-alive runs out, however the loop's steps fall."""

import pandas as pd
import pytest

import sim

A = "tenants.chat.arrival"


@pytest.mark.parametrize("horizon", [100.0, 137.0, 1000.0])
def test_a_keepalive_that_ends_after_the_last_request_stops_the_replica(tmp_path, horizon):
    (tmp_path / "t.csv").write_text("timestamp,input_tokens,output_tokens\n1.0,100,20\n")
    k = 30.0
    res = sim.run([f"{A}.kind=trace", f"{A}.trace.path={tmp_path}/t.csv", f"{A}.trace.format=csv",
                   "setups=[serverless]", f"horizon_s={horizon}", f"serverless.keepalive.idle_s={k}",
                   "output.plots=false", "output.report=false", "output.progress=false",
                   ], output_dir=tmp_path / "out")
    req = res.requests
    assert len(req) == 1 and req.outcome.iloc[0] == "completed"
    rows = pd.read_csv(tmp_path / "out" / "replicas.csv")
    assert len(rows) == 1
    # the replica is up from its start to the request's end plus the keep-alive, not to
    # the horizon (nor to a step boundary)
    assert rows.end_s.iloc[0] == pytest.approx(float(req.finish_s.iloc[0]) + k, abs=1e-6)
