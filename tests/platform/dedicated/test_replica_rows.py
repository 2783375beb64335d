"""requests.parquet's ``replica`` is the ``row`` of replicas.csv (as events.csv's is). Until
December 2026 it was the engine's replica id, and a reserved replica back from a failure got
a new one: two replicas, the first failing and recovering, then serving, logged replica 2
beside rows 0 and 1.

Two single-sequence replicas, 10 ms iterations, 50-token answers: r0 and r1 start at once;
replica 0 (row 0) fails at 0.2 s and is back at 1.2 s; r0 is retried behind r1 on replica 1.
At 3 s both are idle: r2 goes to replica 1 (the first consumer of the queue: the recovered
one joined it last) and r3 to the recovered replica, whose row is 0.
"""

import pytest
from helpers.queueing import run_table, write_table


@pytest.mark.parametrize("engine", ["fluid", "step"])
def test_the_replica_column_is_the_ledger_row_after_a_recovery(tmp_path, engine):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp\n0\n0.001\n3\n3.001\n")
    table = write_table(tmp_path / "const.csv", lambda n_, p_: 0.01)
    res = run_table(tmp_path, table, [
        "deployments.llama31-8b.max_num_seqs=1", "dedicated.replicas.llama31-8b=2",
        "tenants.chat.output={kind: fixed, mean: 50}",
        "tenants.chat.arrival={kind: trace, trace: {path: " + str(trace) + ", format: csv, "
        "csv: {time: timestamp, input: null, output: null}}}",
        "dedicated.failures.mode=script", "dedicated.failures.script=[{at_s: 0.2, down_s: 1}]",
        "horizon_s=10", "seed=1", "output.plots=false", "output.report=false"], engine=engine)
    r = res.requests.set_index("request_id")
    assert (r["outcome"] == "completed").all()
    assert r["replica"].to_dict() == {0: 1, 1: 1, 2: 1, 3: 0}
    rows = res.tables["replicas"]
    assert set(r["replica"]) <= set(rows["row"]) and len(rows) == 2
    events = res.tables["events"]
    assert events["replica"].tolist() == [0, 0]  # fail, recover: the same row


def test_a_hybrids_pool_requests_name_their_replicas_row_after_a_recovery():
    """In a hybrid run a reserved replica's recovery takes an engine id and no ledger row, so
    every pool replica started after it had its id one above its row: 24 of 159 completed
    requests named a row of another model or tier until December 2026."""
    import sim

    res = sim.run(["experiment=hybrid", "setups=[hybrid]", "horizon_s=120",
                   "serverless.start=cold", "dedicated.failures.mode=script",
                   "dedicated.failures.script=[{at_s: 5, down_s: 10}]", "output.plots=false",
                   "output.report=false"])
    done = res.requests[res.requests["outcome"] == "completed"]
    rows = res.tables["replicas"].set_index("row")
    assert len(done) > 100 and (done["tier"] == "serverless").sum() > 20
    assert (rows.loc[done["replica"], "model"].to_numpy() == done["model"].to_numpy()).all()
    assert (rows.loc[done["replica"], "tier"].to_numpy() == done["tier"].to_numpy()).all()


def test_the_burst_tables_replica_is_its_ledger_row_after_a_recovery():
    """The burst table's ``replica`` is ``replicas.csv``'s row, the one ``requests.parquet``
    names. Until December 2026 it was the engine's id: with a reserved replica back from a
    failure before the first scale-up, the burst replicas read one above their rows (and one
    that never warmed read -1)."""
    import sim

    res = sim.run(["setups=[dedicated]", "horizon_s=120", "tenants.chat.arrival.rate_rps=20",
                   "dedicated.replicas.llama31-8b=1", "deployments.llama31-8b.max_num_seqs=8",
                   "dedicated.failures.mode=script", "dedicated.failures.script=[{at_s: 0.5, down_s: 1}]",
                   "dedicated.burst.enabled=true", "dedicated.burst.need_node=false",
                   "dedicated.burst.image_cached=true", "dedicated.burst.storage_tier=host_dram",
                   "dedicated.burst.max_replicas=2", "output.plots=false", "output.report=false"])
    life = res.tables["dedicated_burst_replicas"]
    rows = res.tables["replicas"].set_index("row")
    assert len(life) == 2 and (rows.loc[life["replica"], "tier"] == "burst").all()
    assert rows.loc[life["replica"], "start_s"].tolist() == life["provision_s"].tolist()
    served = res.requests.query("tier == 'burst' and outcome == 'completed'")
    counts = served.groupby("replica").size()
    assert counts.to_dict() == life.set_index("replica")["requests"].to_dict()
