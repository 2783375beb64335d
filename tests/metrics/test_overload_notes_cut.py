"""The end-of-run notes when the run's end cuts requests in service, beside closed loops, below
the overload check's threshold and after an outage (README "Overload"): counted against
requests.parquet, and nothing called overload that the run's own rows show is not."""

import sim

Q = ["output.plots=false", "setups=[dedicated]"]


def test_requests_cut_in_service_are_not_queued():
    # four H100s at 20 req/s (a fraction of what they serve) stopped at the horizon: the
    # requests cut were running; they read "22 still queued ... add capacity"
    res = sim.run(Q + ["horizon_s=20", "drain_s=0", "tenants.chat.arrival.rate_rps=20",
                       "dedicated.replicas.llama31-8b=4"])
    req = res.requests
    cut = req[req["reason"] == "unfinished_at_end"]
    assert len(cut) > 0 and (cut["admit_s"] <= 20).all()  # admitted: logged now
    done = req[req["outcome"] == "completed"]
    assert (done["admit_s"] - done["arrival_s"]).max() < 0.1  # nobody queued
    assert not [n for n in res.notes if "unstable" in n or "still queued" in n], res.notes
    assert any(f"{len(cut):,} of {len(req):,} requests were unfinished" in n
               and "too short a drain" in n for n in res.notes), res.notes


def test_a_plan_stopped_at_the_horizon_still_buys():
    # the same load planned with drain_s=0: every count read "fell behind" and none was bought
    res = sim.run(["job=plan", "horizon_s=20", "drain_s=0", "tenants.chat.arrival.rate_rps=20",
                   "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[1]",
                   "plan.pricing=[reserved]", "plan.placements=[dedicated]", "plan.max_replicas=3",
                   "plan.attainment=0.9", "output.plots=false"])
    plan = res.tables["plan"].iloc[0]
    assert plan["choice"] != "none", res.tables["why"]


def test_a_closed_loop_cut_beside_an_overload_warning_is_said():
    # the warning counts the open tenant's requests; the loop's cut and never-sent ones were
    # unsaid beside it
    res = sim.run(Q + ["horizon_s=60", "drain_s=0", "tenants.chat.arrival.rate_rps=40",
                       "tenants.loop={model: llama31-8b, arrival: {kind: closed, concurrency: 8, "
                       "requests_per_client: 20}, input: {kind: fixed, mean: 1000}, "
                       "output: {kind: fixed, mean: 300}}"])
    req = res.requests
    loop = req[req["tenant"] == "loop"]
    cut, unsent = (int((loop["reason"] == r).sum()) for r in ("unfinished_at_end", "never_sent"))
    assert cut > 0 and unsent > 0
    assert any("unstable at this load" in n for n in res.notes)
    assert any(n.startswith(f"dedicated's closed-loop tenants: {cut:,} of {len(loop):,} requests "
                            "were unfinished") and f"{unsent:,} more were never sent" in n
               for n in res.notes), res.notes


def test_a_closed_loops_line_counts_its_own_requests():
    # a loss system served an open tenant and a closed loop: each line over its own requests
    res = sim.run(Q + ["horizon_s=60", "dedicated.max_queue=0",
                       "deployments.llama31-8b.max_num_seqs=8",
                       "tenants.loop={model: llama31-8b, arrival: {kind: closed, concurrency: 4, "
                       "requests_per_client: 20, think_s: 2}, input: {kind: fixed, mean: 1000}, "
                       "output: {kind: fixed, mean: 300}}"])
    req = res.requests
    loop = req[req["tenant"] == "loop"]
    turned = int((loop["reason"] == "queue_full").sum())
    assert turned > 0
    assert any(f"{turned:,} of {len(loop):,} requests turned away (queue_full {turned:,})" in n
               for n in res.notes), res.notes


def test_requests_turned_away_below_the_threshold_are_said():
    res = sim.run(Q + ["horizon_s=120", "dedicated.max_queue=2", "tenants.chat.arrival.rate_rps=12"])
    req = res.requests
    turned = int((req["reason"] == "queue_full").sum())
    assert 0 < turned <= 0.01 * len(req)  # under the 1 % the check flags
    assert not [n for n in res.notes if "unstable" in n], res.notes
    assert any(f"{turned:,} of {len(req):,} requests turned away (queue_full {turned:,})" in n
               for n in res.notes), res.notes


def test_an_outage_backlog_is_said_as_such():
    # the one replica down 45 s of 60 at about 15 % load: the queue is the outage's
    res = sim.run(Q + ["horizon_s=60", "dedicated.failures.mode=script",
                       "dedicated.failures.max_attempts=1",
                       "dedicated.failures.script=[{at_s: 20, down_s: 45}]"])
    (warn,) = [n for n in res.notes if "unstable" in n]
    assert "1 replica failure by the horizon" in warn and "the outage's" in warn


def test_cold_start_timeouts_and_a_short_drain_name_the_wait_bound():
    res = sim.run(["output.plots=false", "setups=[serverless]", "horizon_s=30", "drain_s=0",
                   "serverless.max_wait_s=5"])
    req = res.requests
    timed, cut = (int((req["reason"] == r).sum()) for r in ("timeout_cold_start",
                                                           "unfinished_at_end"))
    assert timed > 0 and cut > 0
    assert not [n for n in res.notes if "unstable" in n], res.notes
    assert any(f"{timed:,} of {len(req):,} requests timed out waiting for a cold start" in n
               and f"{cut:,} more were unfinished" in n and "serverless.max_wait_s" in n
               for n in res.notes), res.notes
