"""A failed request's end is written whole before a sealed log counts it (README "Sealing the
log"), and its tries are kept as a completion's."""

import pandas as pd

import sim

Q = ["output.plots=false", "setups=[dedicated]"]


def test_a_sealed_run_of_8192_cut_requests_ends_as_the_whole_one(tmp_path):
    # 8,192 requests in one second, all cut at drain_s=0: the 8,192nd end sealed its block
    # before its reason was written (an InvariantError) when the log was folded as it went
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n"
                     + "".join(f"{i / 8192:.9f},500,2000\n" for i in range(8192)))
    run = Q + ["horizon_s=2", "drain_s=0", "output.percentiles=sketch",
               "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv}}",
               "tenants.chat.input={kind: trace}", "tenants.chat.output={kind: trace}"]
    folded = sim.run(run + ["output.requests=none"])
    whole = sim.run(run + ["output.requests=full"])
    assert (whole.requests["reason"] == "unfinished_at_end").sum() > 8000
    cols = ["requests", "completed", "failed", "rejected"]
    pd.testing.assert_frame_equal(folded.summary[cols], whole.summary[cols])


def test_a_cut_requests_tries_are_counted():
    # the one replica fails at 50 s for longer than the run: its requests go back to the
    # queue (a try each) and are cut at 60 s; summary retries 0 against the table's 8
    res = sim.run(Q + ["horizon_s=60", "drain_s=0", "tenants.chat.arrival.rate_rps=4",
                       "dedicated.failures.mode=script",
                       "dedicated.failures.script=[{at_s: 50, down_s: 60}]"])
    req = res.requests
    retried = int(res.tables["dedicated_availability"]["retried_tries"].sum())
    assert retried > 0
    assert int(req["attempts"].sum()) == retried
    row = res.summary.query("tenant == 'chat'").iloc[0]
    assert row["retries"] == retried and (req["reason"] == "unfinished_at_end").any()


def test_rejections_under_one_percent_are_said_beside_a_short_drain_line():
    res = sim.run(Q + ["horizon_s=120", "tenants.chat.arrival.rate_rps=22",
                       "dedicated.max_queue=5", "drain_s=0", "metrics.warmup_s=30"])
    req = res.requests
    turned = int((req["reason"] == "queue_full").sum())
    assert 0 < turned <= 0.01 * len(req)
    assert any("too short a drain" in n for n in res.notes), res.notes
    assert any(f"{turned:,} of" in n and f"(queue_full {turned:,})" in n for n in res.notes), res.notes
