"""End-of-run accounting (December 2026): when a request turned away late ends, the period
of a tenant that sent nothing, and a pipeline tenant's load columns. Tiny runs built by hand
(``build`` of test_accounting_pins.py: a few requests with exact times, 1-GPU rows at
$3.6/GPU-hour = $0.001/GPU-s), checked against arithmetic written here. Each test fails on
the code before the fix."""

from types import SimpleNamespace

import pytest
from test_accounting_pins import build, row

from sim.metrics.billing import ended_at
from sim.metrics.summary import summarize
from sim.records import KvStats, UsageRow


def gpu_row(start, end, *, model="m", busy=0.0, gpus=1, kv=None):
    """A reserved replica at $3.6/GPU-hour ($0.001 a GPU-second)."""
    return UsageRow(model, "H100", gpus, "dedicated", start, end, busy_s=busy,
                    billing="gpu_hour", usd_per_gpu_hour=3.6, kv=kv or KvStats())


@pytest.mark.parametrize("how", ["failed", "rejected"])
def test_a_request_turned_away_late_ends_the_tenants_period_when_it_ended(how):
    # a's last request arrives at 90 s and is turned away at 130 s: a try given up after a
    # replica failure, or a bounded wait run out. b drains to 150 s.
    late = dict(tenant="a", arrival=90.0, **{"in": 10}, out=10, end=130.0)
    if how == "failed":
        late["failed"] = "replica_failure"
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 100}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="b", arrival=1.0, **{"in": 100}, out=30, done=(1.0, 2.0, 20.0)),
            dict(tenant="b", arrival=95.0, **{"in": 5}, out=20, done=(95.0, 96.0, 150.0)),
            late]
    wl, run = build(["a", "b"], reqs, [gpu_row(0.0, 150.0)], period=150.0)
    assert ended_at(run.log, slice(0, 4)).tolist() == [5.0, 20.0, 150.0, 130.0]
    s = summarize(wl, run, {})
    a, b = row(s, "a"), row(s, "b")
    # until December 2026 a's period ended at the horizon (its last request's arrival, 90 s)
    assert a["period_s"] == 130.0 and b["period_s"] == 150.0
    # [0, 130): 130 s split by completed output tokens, a 10 : b 50; [130, 150): b's
    assert a["cost_usd"] == pytest.approx(0.130 * 10 / 60, rel=1e-12)
    assert b["cost_usd"] == pytest.approx(0.150 - 0.130 * 10 / 60, rel=1e-12)


def test_a_tenant_that_sent_nothing_has_the_horizon_as_its_period():
    # q calls m2 by config and sends nothing; a drains on m to 150 s (horizon 100 s). Each
    # model has a replica up 150 s. q's period is the horizon: it pays m2's first 100 s,
    # and the 50 s after it go to the tenant still draining, a.
    reqs = [dict(tenant="a", arrival=0.0, **{"in": 100}, out=10, done=(0.0, 1.0, 5.0)),
            dict(tenant="a", arrival=95.0, **{"in": 100}, out=10, done=(95.0, 96.0, 150.0))]
    wl, run = build(["a", "q"], reqs, [gpu_row(0.0, 150.0), gpu_row(0.0, 150.0, model="m2")],
                    period=150.0, models=("m", "m2"))
    wl.tenant_models = {"a": ["m"], "q": ["m2"]}
    s = summarize(wl, run, {})
    a, q = row(s, "a"), row(s, "q")
    # until December 2026: q's period_s read the run's 150 s, and q paid m2's whole 150 s
    assert q["period_s"] == 100.0 and a["period_s"] == 150.0
    assert q["cost_usd"] == pytest.approx(0.100, rel=1e-12)
    assert a["cost_usd"] == pytest.approx(0.150 + 0.050, rel=1e-12)
    assert q["monthly_cost_usd"] == pytest.approx(0.100 * 730 * 3600 / 100, rel=1e-12)
    assert row(s, "__all__")["cost_usd"] == pytest.approx(0.300, rel=1e-12)


def _loaded(occ_s, busy, up, bytes_, peak, served, out, tok_s):
    """KvStats of a replica: ``busy`` s of its ``up`` at 50 % occupancy (``occ_s`` the
    integral), the rest empty; flat out at ``tok_s`` on any mix (a stand-in perf model)."""
    kv = KvStats(occupancy_s=occ_s, served=served, served_in=100 * served, served_out=out,
                 bytes_per_gpu=bytes_, peak_bandwidth=peak,
                 saturation=(SimpleNamespace(saturated_tok_s=lambda i, o, max_seqs: tok_s), 8))
    kv.occupancy_hist[50] = busy
    return kv


def test_a_pipeline_tenants_load_columns_cover_every_model_it_called():
    # p calls m1 then m2 (a pipeline's stages); s calls m1 only. m1: 1 GPU up 100 s, busy
    # 10 s; m2: 2 GPUs up 100 s, busy 60 s.
    reqs = [dict(tenant="p", arrival=0.0, **{"in": 100}, out=1, done=(0.0, 1.0, 1.0), model="m1"),
            dict(tenant="p", arrival=1.0, **{"in": 100}, out=99, done=(1.0, 2.0, 9.0), model="m2"),
            dict(tenant="s", arrival=2.0, **{"in": 100}, out=49, done=(2.0, 3.0, 8.0), model="m1")]
    m1 = gpu_row(0.0, 100.0, model="m1", busy=10.0,
                 kv=_loaded(5.0, 10.0, 100.0, 1e12, 1e10, 2, 50, 100.0))
    m2 = gpu_row(0.0, 100.0, model="m2", busy=60.0, gpus=2,
                 kv=_loaded(30.0, 60.0, 100.0, 3e12, 2e10, 4, 400, 50.0))
    wl, run = build(["p", "s"], reqs, [m1, m2], models=("m1", "m2"))
    s = summarize(wl, run, {})
    p, only_m1, tot = row(s, "p"), row(s, "s"), row(s, "__all__")
    # busy GPU-seconds over up GPU-seconds of both models: (10 x 1 + 60 x 2) / (100 + 200);
    # until December 2026 p's row held m1's alone (0.1)
    assert p["busy_fraction"] == pytest.approx(130 / 300, rel=1e-12)
    # the load figures over both models' replicas, as on __all__ (which has the same rows):
    # output 50 + 400 over flat out 100 x 100 + 50 x 100; occupancy (5 + 30) / 200 s up;
    # 120 s of 200 at 50 % (p99 0.5); bytes 4e12 over (1e10 + 2e10) x 100 s
    expect = {"capacity_fraction": 450 / 15000, "kv_occupancy_mean": 35 / 200,
              "kv_occupancy_p99": 0.5, "bandwidth_fraction": 4e12 / 3e12}
    for col, v in expect.items():
        assert p[col] == pytest.approx(v, rel=1e-12) and tot[col] == pytest.approx(v, rel=1e-12)
    # a tenant of one model keeps that model's: m1 alone
    assert only_m1["busy_fraction"] == pytest.approx(0.1, rel=1e-12)
    assert only_m1["capacity_fraction"] == pytest.approx(50 / 10000, rel=1e-12)
    assert only_m1["kv_occupancy_mean"] == pytest.approx(0.05, rel=1e-12)
    assert only_m1["bandwidth_fraction"] == pytest.approx(1.0, rel=1e-12)
