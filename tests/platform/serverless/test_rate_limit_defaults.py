"""``serverless.rate_limits.<tenant>`` overrides ``serverless.default_rate_limit`` field by
field: what a tenant's entry leaves unset is the default's (until December 2026 the entry
replaced the default whole, so ``{rpm: 100000}`` dropped a default ``concurrency: 1``).
What the limits charge: only requests the pool takes, never a hybrid's shadow copies; an rpm
is a whole number >= 1, and a request larger than the tpm bucket is said, not rate-limited
forever (README "Noisy neighbours")."""

import math
from types import SimpleNamespace as NS

import numpy as np
import pytest

import sim
from sim.errors import InputError
from sim.platform.serverless.ratelimit import effective_limits

BASE = ["setups=[serverless]", "horizon_s=120", "tenants.chat.arrival.rate_rps=2",
        "output.parquet=true", "output.plots=false"]


def _rl(rpm=None, tpm=None, concurrency=None):
    return NS(rpm=rpm, tpm=tpm, concurrency=concurrency)


def test_unset_fields_take_the_default_and_inf_lifts_it():
    d = _rl(rpm=30.0, concurrency=1)
    assert effective_limits(None, d) == (30.0, None, 1)
    assert effective_limits(_rl(tpm=500.0), d) == (30.0, 500.0, 1)
    assert effective_limits(_rl(rpm=math.inf, concurrency=4), d) == (None, None, 4)
    assert effective_limits(_rl(), _rl()) == (None, None, None)


def _served_overlap(r) -> int:
    """The most served requests of ``r`` in flight at once (arrival to finish: what the
    concurrency limit counts)."""
    s = r[r["outcome"] == "completed"]
    ev = sorted([(t, 1) for t in s["arrival_s"]] + [(t, -1) for t in s["finish_s"]],
                key=lambda e: (e[0], e[1]))
    return int(max(np.cumsum([g for _, g in ev]))) if ev else 0


def test_a_tenant_rpm_keeps_the_default_concurrency():
    # 2 req/s, each served in well over 0.5 s: a concurrency of 1 must turn some away, and
    # an rpm of 100,000 (the whole run sends ~240) never binds
    r = sim.run([*BASE, "serverless.default_rate_limit={concurrency: 1}",
                 "serverless.rate_limits={chat: {rpm: 100000}}"]).requests
    rej = r[r["outcome"] == "rejected"]
    assert len(rej) > 0 and set(rej["reason"]) == {"rate_limit_concurrency"}
    assert _served_overlap(r) == 1


def test_a_tenant_concurrency_keeps_the_default_rpm():
    r = sim.run([*BASE, "serverless.default_rate_limit={rpm: 30}",
                 "serverless.rate_limits={chat: {concurrency: 1000}}"]).requests
    assert set(r.loc[r["outcome"] == "rejected", "reason"]) == {"rate_limit_rpm"}
    # a 30/min bucket that starts full admits at most 30 + 30/60 x 120 = 90 in 120 s
    assert (r["outcome"] != "rejected").sum() <= 90


def test_a_tenant_rpm_inf_lifts_the_default_rpm():
    r = sim.run([*BASE, "serverless.default_rate_limit={rpm: 30}",
                 "serverless.rate_limits={chat: {rpm: inf}}"]).requests
    assert len(r) > 90 and (r["outcome"] != "rejected").all()


M8 = "llama31-8b"


def _trace(tmp_path, rows) -> str:
    p = tmp_path / "t.csv"
    p.write_text("timestamp,input_tokens,output_tokens\n"
                 + "".join(f"{t},{i},{o}\n" for t, i, o in rows))
    return "tenants={a: {model: " + M8 + ", arrival: {kind: trace, trace: {path: " + str(p) \
        + ", format: csv, duplicates: keep}}, input: {kind: trace}, output: {kind: trace}}}"


def _hybrid(tmp_path, shadow):
    # one single-sequence reserved replica, spilling as soon as it is busy: of the three
    # requests at 10 s two spill, the tenant's only requests to the pool
    rows = [(t, 100, 10) for t in range(10)] + [(10, 100, 2000)] * 3
    return sim.run([_trace(tmp_path, rows), "setups=[hybrid]", "horizon_s=40",
                    "output.plots=false", f"deployments.{M8}.max_num_seqs=1",
                    f"dedicated.replicas={{{M8}: 1}}", f"hybrid.placement={{{M8}: dedicated}}",
                    "hybrid.spillover.wait_threshold_s=0", "serverless.start=warm",
                    f"serverless.autoscaler.min_replicas={{{M8}: 1}}",
                    "serverless.rate_limits={a: {rpm: 2}}", f"hybrid.shadow_fraction={shadow}"])


def test_shadow_copies_take_none_of_the_tenant_limits(tmp_path):
    # the tenant sends 2 requests to the pool, within its 2 a minute: none is rejected with
    # or without copies. Until December 2026 the 11 copies (of the requests served on the
    # reserved replica, 0-10 s) were charged as the tenant's: the 2 spilled were rejected
    # rate_limit_rpm and 9 copies too
    plain, shadowed = _hybrid(tmp_path, 0), _hybrid(tmp_path, 1)
    for r in (plain.requests, shadowed.requests):
        assert (r.outcome == "completed").all() and len(r) == 13
        assert int(r.spilled.sum()) == 2
    sh = shadowed.tables["hybrid_shadow"].set_index("tenant").loc["a"]
    assert sh.shadows == sh.completed == 11 and sh.rejected == 0


def test_a_request_the_pool_turns_away_takes_no_rate_limit(tmp_path):
    # rpm 2; a KV cache of under 2,100 tokens: the two 2,100-token requests at 0 s are
    # rejected exceeds_kv_capacity, and the bucket stays full for those at 1 s and 2 s
    # (until December 2026 the first two took both tokens: all 4 rejected)
    rows = [(0, 100, 2000), (0, 100, 2000), (1, 100, 10), (2, 100, 10)]
    r = sim.run([_trace(tmp_path, rows), "setups=[serverless]", "horizon_s=5",
                 f"deployments.{M8}.gpu_memory_utilization=0.1337",
                 f"deployments.{M8}.max_batched_tokens=512", "serverless.start=warm",
                 f"serverless.autoscaler.min_replicas={{{M8}: 1}}",
                 "serverless.rate_limits={a: {rpm: 2}}", "output.plots=false"]).requests
    r = r.sort_values("arrival_s")
    assert list(r.reason.fillna("")) == ["exceeds_kv_capacity"] * 2 + ["", ""]
    assert list(r.outcome) == ["rejected"] * 2 + ["completed"] * 2
    assert list(r.admit_s[2:]) == [1.0, 2.0]


@pytest.mark.parametrize("where", ["rate_limits.chat", "default_rate_limit"])
@pytest.mark.parametrize("rpm", ["0.5", "2.5"])
def test_an_rpm_not_a_whole_number_at_least_1_is_refused(where, rpm):
    # a bucket under 1 token never admits a request: every one was rejected rate_limit_rpm
    arg = (f"serverless.rate_limits={{chat: {{rpm: {rpm}}}}}" if where != "default_rate_limit"
           else f"serverless.default_rate_limit.rpm={rpm}")
    with pytest.raises(InputError) as e:
        sim.run(["setups=[serverless]", "horizon_s=1", "output.plots=false", arg])
    assert f"serverless.{where}.rpm" in str(e.value) and "whole number" in str(e.value)


def test_requests_larger_than_the_tpm_bucket_are_said(tmp_path):
    # tpm 300: both 110-token requests fit (300 - 110 at 0 s), the 2,100-token ones never can
    rows = [(0, 100, 10), (1, 100, 2000), (2, 100, 10), (3, 100, 2000)]
    res = sim.run([_trace(tmp_path, rows), "setups=[serverless]", "horizon_s=5",
                   "serverless.start=warm", f"serverless.autoscaler.min_replicas={{{M8}: 1}}",
                   "serverless.rate_limits={a: {tpm: 300}}", "output.plots=false"])
    r = res.requests.sort_values("arrival_s")
    assert list(r.reason.fillna("")) == ["", "rate_limit_tpm_oversize", "", "rate_limit_tpm_oversize"]
    line = [n for n in res.notes if "rejected unserved" in n]
    assert len(line) == 1 and f"rate_limit_tpm_oversize 2 ({M8} 2)" in line[0]
    assert "tpm bucket holds" in line[0]


@pytest.mark.parametrize("order", ["small_first", "large_first"])
def test_a_request_no_replica_can_hold_is_exceeds_kv_capacity_whatever_the_bucket(tmp_path, order):
    """A request of 2,100 tokens on a replica whose KV cache holds fewer (gpu_memory_utilization
    0.1337) is rejected exceeds_kv_capacity at rpm 1, after a small request emptied the
    bucket too (until December 2026 the limits were checked first: rate_limit_rpm, as if a
    minute later it could be served); it charges nothing, so the small one after it is served."""
    rows = [(0, 100, 10), (1, 100, 2000)]
    if order == "large_first":
        rows = [(0, 100, 2000), (1, 100, 10)]
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,input_tokens,output_tokens\n"
                     + "".join(f"{t},{i},{o}\n" for t, i, o in rows))
    res = sim.run(["setups=[serverless]", "horizon_s=5", "serverless.start=warm",
                   "serverless.autoscaler.min_replicas={llama31-8b: 1}",
                   "deployments.llama31-8b.gpu_memory_utilization=0.1337",
                   "deployments.llama31-8b.max_batched_tokens=512",
                   "serverless.rate_limits={a: {rpm: 1}}", "output.parquet=true",
                   "output.plots=false", "output.report=false",
                   "tenants={a: {model: llama31-8b, arrival: {kind: trace, trace: {path: "
                   f"{trace}, format: csv, duplicates: keep}}}}, input: {{kind: trace}}, "
                   "output: {kind: trace}}}"])
    req = res.requests.sort_values("arrival_s")
    big = req.output_tokens == 2000
    assert list(req.reason[big]) == ["exceeds_kv_capacity"]
    assert list(req.outcome[~big]) == ["completed"]
