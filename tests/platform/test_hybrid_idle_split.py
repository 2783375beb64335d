"""A reserved replica no tenant reaches (its model placed dedicated, every caller placed on
the pool) is billed to its callers by the billing-period rule (sim/metrics/billing.py):
over the stretch every caller's period covers, evenly; after the shorter period ends, to
the tenant still draining. The note says that rule; until December 2026 it said "(evenly)"
beside a split of $0.043085 and $0.039500."""

import pytest

import sim

M8 = "llama31-8b"


def _trace(tmp_path, name, rows):
    path = tmp_path / f"{name}.csv"
    path.write_text("timestamp,input_tokens,output_tokens\n" + "".join(f"{r}\n" for r in rows))
    return [f"tenants.{name}={{model: {M8}, arrival: {{kind: trace, trace: {{path: {path}, "
            "format: csv}}, input: {kind: trace, max: null}, output: {kind: trace, max: null}}"]


def test_the_idle_reservation_is_split_by_billing_period_and_the_note_says_so(tmp_path):
    # b: two short requests; a: one long one at 9 s, which drains well past b's period
    args = (["setups=[hybrid]", "horizon_s=10", "output.plots=false", "output.parquet=false",
             "~tenants.chat", f"hybrid.placement.{M8}=dedicated", "hybrid.placement.a=serverless",
             "hybrid.placement.b=serverless", f"dedicated.replicas.{M8}=1"]
            + _trace(tmp_path, "a", ["0,100,50", "9,100,3000"])
            + _trace(tmp_path, "b", ["0,100,50", "1,100,50"]))
    res = sim.run(args)
    s = res.summary.set_index("tenant")
    cfg = sim.compose(["setups=[hybrid]"])
    rate = cfg.catalog.gpus[cfg.deployments[M8].gpu].reserved_usd_per_hour / 3600.0  # one GPU
    pa, pb = s.loc["a", "period_s"], s.loc["b", "period_s"]
    assert pa > pb + 1  # a drains longer
    # by hand: [0, pb] evenly between a and b, (pb, pa] to a alone
    assert s.loc["b", "cost_dedicated_usd"] == pytest.approx(rate * pb / 2, rel=1e-9)
    assert s.loc["a", "cost_dedicated_usd"] == pytest.approx(rate * (pb / 2 + pa - pb), rel=1e-9)
    notes = [n for n in res.notes if "serve no request" in n]
    assert len(notes) == 1, res.notes
    assert "(evenly)" not in notes[0]
    assert ("billed to a, b beside their tokens, each stretch of the run evenly among those of "
            "them still in their billing period (the horizon plus their own drain; time after "
            "all their periods to the tenants draining then)") in notes[0]
