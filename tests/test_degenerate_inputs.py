"""Degenerate but valid inputs (no request in the horizon, every request rejected, drain_s
0, a tenant with nothing completed ...): the run finishes and says so honestly, with no NaN
printed as a figure and no misleading advice. Each test failed on the code before its fix."""

import re

import sim

QUIET = ["output.plots=false", "output.report=false", "output.parquet=false"]
NAN = re.compile(r"\bnan\b|\binf\b", re.IGNORECASE)


def test_noisy_neighbour_note_with_nothing_completed_prints_no_nan():
    """At a 2 s horizon no user request arrives: the note said `TTFT p99 nan s alone, nan s
    with 2.00 req/s of background (xnan)`."""
    res = sim.run(["experiment=noisy_neighbour", "noisy_neighbour.background_levels=[1]",
                   "horizon_s=2", *QUIET])
    said = [n for n in res.notes if "TTFT p99" in n]
    assert said and not any(NAN.search(n) for n in said), said
    assert all("no request of the tenant completed" in n for n in said)


def test_drain_zero_at_a_light_load_is_not_called_overload():
    """drain_s=0 stops the run at the horizon with requests in flight: at 2.5 req/s on one
    H100 (a tenth of what it serves) the note said `dedicated is unstable at this load ...
    add capacity or lower the load`; it now says the run's end cut them."""
    res = sim.run(["horizon_s=2", "drain_s=0", *QUIET])
    s = res.summary.set_index("tenant").loc["chat"]
    cut = int(s["failed"])
    assert cut > 0  # the premise: requests were in flight at the horizon
    assert not any("unstable" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "unfinished when the run stopped" in n]
    assert len(said) == 1 and f"{cut:,} of {int(s['requests']):,} requests" in said[0]
    assert "0 s after the horizon (drain_s" in said[0] and "raise drain_s" in said[0]


def test_overload_with_a_drain_still_warns_as_before():
    """The same cut with a real overload behind it (a queue still growing at the horizon)
    keeps the overload warning."""
    res = sim.run(["horizon_s=4", "drain_s=0", "tenants.chat.arrival.rate_rps=300", *QUIET])
    assert any("dedicated is unstable at this load" in n for n in res.notes), res.notes


def test_nothing_served_reports_no_sustainable_rate():
    """Every request timed out waiting for a cold start (serverless.max_wait_s tiny): the
    note gave `a sustainable 0 tok/s (measured while serving)` with nothing served. It is the
    wait bound's line, saying none was served (until December 2026 "unstable at this load")."""
    res = sim.run(["horizon_s=2", "setups=[serverless]", "serverless.max_wait_s=1e-6", *QUIET])
    assert not any("unstable" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "timed out waiting for a cold start" in n]
    assert len(said) == 1 and "none served" in said[0] and "no rate was measured" in said[0]
    assert "sustainable 0 tok/s" not in said[0]


def test_a_plan_for_a_model_no_request_called_says_so():
    """`experiment=plan horizon_s=2`: no request arrives, every candidate's attainment is NaN,
    and the search's comparisons with NaN chose `16 x L40S` for each model and noted
    `lowest attainment nan`. Now no candidate is chosen and the note says why."""
    res = sim.run(["job=plan", "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[1]",
                   "plan.placements=[dedicated,serverless]", "horizon_s=1",
                   "tenants.chat.arrival.rate_rps=1e-6", *QUIET])
    assert list(res.tables["plan"]["choice"]) == ["none"]
    said = [n for n in res.notes if n.startswith("llama31-8b: ")]
    assert len(said) == 1 and "no request of llama31-8b's tenants arrived" in said[0], res.notes
    assert not any(NAN.search(n) for n in res.notes), res.notes


def test_a_note_of_one_replication_only_names_its_seed():
    """replications=3 at 1 req/s for 1 s: seed 0 draws no request, seeds 1 and 2 do. Seed 0's
    note `no request arrived ... every figure of the run is empty` was printed unqualified
    above a summary of the seeds' means, which has figures."""
    res = sim.run(["horizon_s=1", "tenants.chat.arrival.rate_rps=1", "replications=3", *QUIET])
    per = res.tables["replications"]
    counts = per[per.tenant == "__all__"].set_index("seed")["requests"]
    assert counts[0] == 0 and counts[1] > 0 and counts[2] > 0  # the premise
    empty = [n for n in res.notes if "no request arrived" in n]
    assert empty == [f"seed 0: {empty[0][len('seed 0: '):]}"] and empty[0].startswith("seed 0: ")
    both = sim.run(["horizon_s=1", "tenants.chat.arrival.rate_rps=1e-6", "replications=2", *QUIET])
    assert any(n.startswith("no request arrived") for n in both.notes)  # every seed: unqualified


def test_a_pool_that_lost_its_only_replica_is_still_called_short_of_capacity():
    """The other side of the drain_s=0 note: the only replica, a spot one, is reclaimed at
    once and not replaced, so a handful of requests wait out the whole default drain (1800 s);
    that is a lack of capacity, not too short a drain, and keeps the overload warning."""
    res = sim.run(["horizon_s=3", "dedicated.replicas.llama31-8b=1",
                   "dedicated.spot.replicas.llama31-8b=1", "dedicated.spot.preemption.per_gpu_hour=3600",
                   "dedicated.spot.preemption.notice_s=0", "dedicated.spot.replacement=false", *QUIET])
    assert int(res.summary.set_index("tenant").loc["chat", "failed"]) > 0  # the premise
    assert any("dedicated is unstable at this load" in n for n in res.notes), res.notes
    assert not any("raise drain_s" in n for n in res.notes)


def test_a_closed_loop_cut_by_drain_zero_is_said_billed_and_drawn(tmp_path):
    """Two closed-loop clients, horizon_s=0.001 and drain_s=0: both requests were cut at the
    stop, unsaid (closed loops get no stability note), the billing period was 0 s although the
    replica worked until 1 ms, and the timeline's x range (0, 0) made matplotlib warn."""
    import warnings
    args = ["horizon_s=0.001", "drain_s=0",
            "tenants.chat.arrival={kind: closed, concurrency: 2, requests_per_client: 1}"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sim.run(args + ["output.plots=true", "output.report=false"], output_dir=tmp_path)
    assert not [w for w in caught if "xlim" in str(w.message)]
    row = res.summary.set_index("tenant").loc["__all__"]
    assert int(row["failed"]) == 2 and row["period_s"] == 0.001
    said = [n for n in res.notes if "unfinished when the run stopped" in n]
    assert len(said) == 1 and said[0].startswith("dedicated: 2 of 2 requests") and "0.001 s" in said[0]
    assert (tmp_path / "plots" / "timeline.png").exists()


def test_no_request_gives_a_requests_frame_with_its_columns():
    """`sim.run` of a run in which no request arrived returned `requests` with no columns, so
    `res.requests["ttft_s"]` was a KeyError where a normal run's code works on zero rows."""
    keep = ["output.plots=false", "output.report=false"]  # output.parquet=false keeps none
    res = sim.run(["horizon_s=1", "tenants.chat.arrival.rate_rps=1e-6", *keep])
    full = sim.run(["horizon_s=2", *keep]).requests
    assert len(full) > 0 and len(res.requests) == 0 and list(res.requests.columns) == list(full.columns)
    assert (res.requests.dtypes == full.dtypes).all()


def test_prefix_cache_study_with_nothing_billed_on_the_pool_finishes():
    """`experiment=prefix_cache horizon_s=0.01 drain_s=0`: the serverless side billed $0 and
    the dedicated/serverless cost ratio was a ZeroDivisionError (exit 1, a traceback)."""
    res = sim.run(["experiment=prefix_cache", "horizon_s=0.01", "drain_s=0", *QUIET])
    cost = res.tables["cost"]
    zero = cost[cost["serverless_usd"] == 0]
    assert len(zero) and zero["dedicated_over_serverless"].isna().all()


def test_burst_and_spot_notes_with_nothing_completed_print_no_nan():
    """At horizon_s=0.01 no request arrives: the notes said `burst capacity moved p99 TTFT
    from nan s to nan s` and `half_spot: ... p99 TTFT nan s against nan s`."""
    for study, key in (("burst", "burst capacity moved"), ("spot", "half_spot: the bill")):
        res = sim.run([f"experiment={study}", "horizon_s=0.01", "drain_s=0", *QUIET])
        said = [n for n in res.notes if n.startswith(key)]
        assert len(said) == 1 and not NAN.search(said[0]), said
        assert "- (no request completed)" in said[0]


def test_spillover_with_no_pool_node_for_the_model_is_said():
    """Second sweep: hybrid spillover on, the one model reserved on H100, the serverless pool
    only A100 nodes. Nothing could spill (README, "Hybrid setup"), and under a flood the run
    said only that it was unstable, not that its spillover was inert."""
    res = sim.run(["horizon_s=3", "setups=[hybrid]", "hybrid.default_tier=dedicated",
                   "dedicated.replicas.llama31-8b=1", "tenants.chat.arrival.rate_rps=200",
                   "serverless.pool={A100: {}}", "~serverless.pool.H100", *QUIET])
    assert int(res.summary.set_index("tenant").loc["chat", "spilled"]) == 0  # the premise
    said = [n for n in res.notes if "can neither spill nor be mirrored" in n]
    assert len(said) == 1 and said[0].startswith("hybrid: llama31-8b ") and "no H100 node" in said[0]
    ok = sim.run(["horizon_s=3", "setups=[hybrid]", "hybrid.default_tier=dedicated",
                  "dedicated.replicas.llama31-8b=1", "tenants.chat.arrival.rate_rps=200", *QUIET])
    assert int(ok.summary.set_index("tenant").loc["chat", "spilled"]) > 0
    assert not any("can neither spill" in n for n in ok.notes)


def test_a_plus_on_a_new_tenant_names_the_form_to_use():
    """Second sweep: `+tenants.chat2={...}` (two identical tenants) was refused with "a new
    entry of a map is given without '+'", which reads as the opposite of what was typed; the
    message now says to add it without the '+' and shows the override that way."""
    import pytest

    from sim.errors import InputError
    with pytest.raises(InputError) as e:
        sim.run(["horizon_s=1", "+tenants.chat2={model: llama31-8b}", *QUIET])
    msg = str(e.value)
    assert "given without" not in msg and "added without '+'" in msg
    assert "write tenants.chat2={model: llama31-8b}" in msg


def test_one_token_requests_after_a_cold_start_are_not_called_unstable():
    """Second sweep: 1-token prompts and outputs on a cold serverless pool at horizon_s=3.
    Every request waits the ~27 s cold start and is then served at once, so the steady
    window has no length and the fallback divided 12 tokens by the whole period: `unstable
    ... against a sustainable 0 tok/s ... add capacity`. One H100 serves thousands of such
    requests a second; the note now says the backlog is the cold start's."""
    res = sim.run(["horizon_s=3", "setups=[serverless]", "tenants.chat.input={kind: fixed, mean: 1}",
                   "tenants.chat.output={kind: fixed, mean: 1}", *QUIET])
    row = res.summary.set_index("tenant").loc["chat"]
    assert int(row["completed"]) == int(row["requests"]) > 10  # the premise: all served, late
    assert not any("unstable" in n or "sustainable 0 tok/s" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "a backlog not yet worked off" in n]
    assert len(said) == 1
    rate = float(re.search(r"sustainable ([\d,]+)", said[0]).group(1).replace(",", ""))
    assert rate > 100 * float(row["requests"]) / 3  # far above the 4 tok/s offered


def test_an_slo_equal_to_the_lone_request_ttft_is_met_by_every_such_request():
    """Second sweep: three 1-token requests one after another on an idle replica take the
    same TTFT but for float noise (the last differs by an ulp); an SLO set to the first's
    TTFT read an attainment of 2/3. A TTFT within a nanosecond of its SLO now meets it."""
    base = ["horizon_s=3", "tenants.chat.arrival={kind: closed, concurrency: 1, requests_per_client: 3}",
            "tenants.chat.input={kind: fixed, mean: 1}", "tenants.chat.output={kind: fixed, mean: 1}",
            "output.plots=false", "output.report=false"]
    ttft = sim.run(base).requests["ttft_s"]
    assert len(ttft) == 3 and ttft.max() - ttft.min() < 1e-12  # the premise: alike but for noise
    res = sim.run([*base, f"tenants.chat.slo_ttft_s={float(ttft.min())!r}"])
    assert float(res.summary.set_index("tenant").loc["chat", "slo_attainment"]) == 1.0
    below = sim.run([*base, f"tenants.chat.slo_ttft_s={float(ttft.min()) * 0.999!r}"])
    assert float(below.summary.set_index("tenant").loc["chat", "slo_attainment"]) == 0.0


def test_a_warm_up_that_leaves_no_request_measured_is_said():
    """Second sweep: metrics.warmup_s=2.999 at horizon_s=3 (valid: below the horizon) put
    all 12 requests in the warm-up rows; the measured rows, which every reader of a tenant's
    row reads, printed 0 requests and `-` with no word why."""
    res = sim.run(["horizon_s=3", "metrics.warmup_s=2.999", *QUIET])
    s = res.summary.set_index("tenant")
    assert int(s.loc["chat", "requests"]) == 0 and int(s.loc["chat@warmup", "requests"]) == 12
    said = [n for n in res.notes if n.startswith("no request arrived at or after metrics.warmup_s")]
    assert len(said) == 1 and "(2.999 s, horizon_s 3 s)" in said[0] and "(12)" in said[0]
    some = sim.run(["horizon_s=3", "metrics.warmup_s=1", *QUIET])
    assert not any("metrics.warmup_s (" in n for n in some.notes)


def test_signals_count_slow_requests_of_the_measured_window_only():
    """Second sweep: serverless from cold, metrics.warmup_s=2.999 at horizon_s=3: every
    request is in the warm-up and waits a cold start. The signals line read `p99/p50 -,
    12 requests > 5 s (12 cold)` (the warm-up's requests beside the measured percentiles)
    and raised the cold signal on a window that holds no request."""
    res = sim.run(["horizon_s=3", "setups=[serverless]", "metrics.warmup_s=2.999", *QUIET])
    sig = res.tables["signals"].set_index("tenant").loc["chat"]
    assert int(res.summary.set_index("tenant").loc["chat@warmup", "cold_starts"]) > 0  # premise
    assert int(sig["slow_requests"]) == 0 and not bool(sig["signal_cold"])
    whole = sim.run(["horizon_s=3", "setups=[serverless]", *QUIET]).tables["signals"]
    assert int(whole.set_index("tenant").loc["chat", "slow_requests"]) == 12  # no warm-up: all


def test_a_pipeline_cut_by_drain_zero_is_not_called_overload():
    """The nineteenth sweep, pipelines' quiet tail: `experiment=compound drain_s=0` at a
    0.5 s horizon (two pipeline requests, their first stages still loading 2 s cold starts
    when the run stopped) was called `serverless is unstable at this load ... add capacity
    or lower the load`: the later stages never sent (upstream_failed) were counted as
    requests turned away. The note now says the drain cut them, and counts those stages apart
    from the requests sent (they never arrived: until December 2026 they were also in the
    line's "of N requests")."""
    res = sim.run(["experiment=compound", "job=simulate", "setups=[serverless]", "horizon_s=0.5",
                   "drain_s=0", "tenants.chat.arrival.kind=poisson",
                   "tenants.chat.arrival.rate_rps=10", "output.plots=false", "output.report=false"])
    reasons = res.requests["reason"].astype(str).value_counts()
    cut, unsent = int(reasons["unfinished_at_end"]), int(reasons["upstream_failed"])
    assert cut > 0 and unsent > 0  # the premise: pipelines cut with stages not yet sent
    assert not any("unstable" in n for n in res.notes), res.notes
    said = [n for n in res.notes if "unfinished when the run stopped" in n]
    sent = len(res.requests) - unsent
    assert len(said) == 1 and f"{cut:,} of {sent:,} requests" in said[0], said
    assert f"({unsent:,} more, later stages of those pipelines, were never sent: " \
           "upstream_failed)" in said[0]


def test_a_warm_start_undone_by_keep_alive_zero_is_said():
    """serverless.start=warm with keep-alive 0: the replica placed at t=0 stopped at t=0,
    before the first request (0.30 s), so every request waited a cold start, unsaid
    (twenty-third sweep). A keep-alive that outlives the gap says nothing."""
    base = ["horizon_s=3", "setups=[serverless]", "serverless.start=warm", *QUIET]
    res = sim.run([*base, "serverless.keepalive.idle_s=0"])
    said = [n for n in res.notes if "warm start" in n]
    assert said == ["serverless: the warm start (serverless.start=warm) was undone before any "
                    "request used it: the model's last replica placed at t=0 stopped unused, by "
                    "keep-alive (serverless.keepalive), scale-in or eviction: llama31-8b at 0 s; "
                    "the model's next request found no replica"], res.notes
    chat = res.summary.set_index("tenant").loc["chat"]
    assert chat["cold_starts"] == chat["requests"] > 0  # what the note explains
    kept = sim.run([*base, "serverless.keepalive.idle_s=60"])
    assert not any("warm start" in n for n in kept.notes), kept.notes
    assert kept.summary.set_index("tenant").loc["chat", "cold_starts"] == 0


def test_a_cut_with_no_replica_left_does_not_advise_a_longer_drain():
    """The only replica, spot, reclaimed at 2.4 s without a replacement, under a closed loop:
    the note said `raise drain_s to let them finish` after an 1,800 s drain in which nothing
    could serve them (twenty-third sweep); it now names the model left without replicas."""
    spot = ["horizon_s=3", "dedicated.replicas.llama31-8b=1", "dedicated.spot.replicas.llama31-8b=1",
            "dedicated.spot.preemption.mode=rate", "dedicated.spot.preemption.per_gpu_hour=3600",
            "dedicated.spot.preemption.notice_s=0.1", "tenants.chat.arrival.kind=closed",
            "tenants.chat.arrival.concurrency=2", *QUIET]
    res = sim.run([*spot, "dedicated.spot.replacement=false"])
    said = [n for n in res.notes if "unfinished when the run stopped" in n]
    assert len(said) == 1 and "raise drain_s" not in said[0], res.notes
    assert said[0].endswith("llama31-8b had no replica serving when the run stopped (every one "
                            "reclaimed, its replacement still loading, or down), so a longer "
                            "drain_s finishes them only once a replica is back "
                            "(dedicated.spot.replacement, the failure's down time)")
    # with a replacement the loop finishes in the drain: nothing cut, nothing said
    assert not any("unfinished" in n for n in sim.run(spot).notes)
    # open arrivals on the one replica, down from 1 s for longer than the run: the overload
    # warning stands and says why
    down = sim.run(["horizon_s=3", "drain_s=10", "dedicated.failures.mode=script",
                    "dedicated.failures.script=[{at_s: 1, down_s: 1e9}]", *QUIET])
    said = [n for n in down.notes if "unstable" in n]
    assert len(said) == 1 and (
        "llama31-8b had no replica serving at the run's end (reclaimed, its replacement still "
        "loading, or down). Replicas were away during the run (1 replica failure by the "
        "horizon)") in said[0], down.notes


def test_a_closed_loop_past_the_warm_up_is_not_said_to_send_nothing_after_it():
    """A closed loop's requests get their times in the run: the note read the workload's
    placeholders (all 0) and said `no request arrived at or after metrics.warmup_s ...
    every request (24) is in the <tenant>@warmup rows` beside a measured row of 18
    (twenty-third sweep)."""
    res = sim.run(["horizon_s=3", "tenants.chat.arrival.kind=closed",
                   "tenants.chat.arrival.concurrency=4", "metrics.warmup_s=1",
                   "output.plots=false", "output.report=false"])
    rows = res.summary.set_index("tenant")
    measured = int(rows.loc["chat", "requests"])
    late = int((res.requests["arrival_s"] >= 1).sum())
    assert measured == late > 0 and measured + int(rows.loc["chat@warmup", "requests"]) == 24
    assert not any("metrics.warmup_s" in n for n in res.notes), res.notes


def test_a_small_memory_budget_is_written_as_given():
    """`limits.memory_gb=0.001` was refused "against a budget of 0.0 GB" (twenty-third
    sweep): a budget below 0.1 GB is written to three digits."""
    import pytest

    with pytest.raises(sim.InputError, match=r"against a budget of 0\.001 GB \(limits\.memory_gb\)"):
        sim.run(["horizon_s=3", "limits.memory_gb=0.001", *QUIET])
