"""Two settings a run reads no value of are said in a ``not read by this run`` note (until
December 2026 unsaid): ``serverless.batch_price_factor`` with no batch-tier tenant (it
prices only such a tenant's tokens), and ``serverless.*`` keys given to a hybrid that runs no
pool (every model placed dedicated, nothing spilled or mirrored), the reverse of a hybrid
placing no model dedicated (commit c006038). Each claim is checked against the run: the
summary with the key given equals the summary without it; where the key is read it differs."""

from __future__ import annotations

import pandas as pd

import sim

QUIET = ["horizon_s=20", "output.plots=false", "output.report=false", "output.progress=false",
         "output.parquet=false"]
HYBRID_NO_POOL = ["setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated",
                  "dedicated.replicas.llama31-8b=1", "hybrid.spillover.enabled=false"]


def _not_read(res):
    return [n for n in res.notes if n.startswith("not read by this run: ")]


def test_a_batch_price_without_a_batch_tenant_is_said_and_changes_nothing():
    base = ["setups=[serverless]", *QUIET]
    given = sim.run([*base, "serverless.batch_price_factor=0.3"])
    assert _not_read(given) == ["not read by this run: serverless.batch_price_factor (no tenant "
                                "has priority batch: the batch price bills a batch tenant's tokens)"]
    pd.testing.assert_frame_equal(given.summary, sim.run(base).summary)


def test_a_batch_price_with_a_batch_tenant_is_read():
    base = ["setups=[serverless]", "tenants.chat.priority=batch", *QUIET]
    given = sim.run([*base, "serverless.batch_price_factor=0.3"])
    assert _not_read(given) == []
    cost = [r.summary.set_index("tenant").loc["chat", "cost_usd"] for r in (given, sim.run(base))]
    assert cost[0] < cost[1]  # 0.3 of the price against the default 0.5


def test_pool_keys_given_to_a_hybrid_without_a_pool_are_said_and_change_nothing():
    given = sim.run([*HYBRID_NO_POOL, "serverless.keepalive.idle_s=7", "serverless.start=warm",
                     *QUIET])
    said = _not_read(given)
    assert [n.split(" (")[0] for n in said] == ["not read by this run: serverless.keepalive.idle_s",
                                                "not read by this run: serverless.start"]
    assert all("the hybrid setup runs no serverless pool" in n for n in said)
    pd.testing.assert_frame_equal(given.summary, sim.run([*HYBRID_NO_POOL, *QUIET]).summary)


def test_pool_keys_are_read_when_the_hybrid_spills_to_the_pool():
    res = sim.run([*HYBRID_NO_POOL[:-1], "hybrid.spillover.enabled=true",
                   "serverless.keepalive.idle_s=7", *QUIET])
    assert not [n for n in _not_read(res) if "runs no serverless pool" in n]


def test_a_hybrid_job_says_them_in_its_note_too():
    # every job but simulate says, in one note, the keys no run of it read (record_run)
    res = sim.run(["job=cold_start", *HYBRID_NO_POOL, "serverless.start=warm", *QUIET])
    assert any(n.startswith("not read by any run of the cold_start job (1 run): serverless.start "
                            "(the hybrid setup runs no serverless pool") for n in res.notes), res.notes
