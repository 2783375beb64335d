"""``serverless.rate_limits.<tenant>`` overrides ``serverless.default_rate_limit`` field by
field: what a tenant's entry leaves unset is the default's (until December 2026 the entry
replaced the default whole, so ``{rpm: 100000}`` dropped a default ``concurrency: 1``)."""

import math
from types import SimpleNamespace as NS

import numpy as np

import sim
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
