"""Every job says, in one note, the keys it was given (on the command line or by its
experiment's file) that no run of it read, as ``simulate`` says them per key: until December
2026 only ``simulate`` did (``experiment=cold_start '~tenants.analyst'`` left the file's
``dedicated.replicas.llama33-70b`` unread, unsaid). A key one run of the job reads (a burst
setting the burst-on variant reads, a hybrid keep-alive setting the hybrid policy's run
reads) is read: none of these is said."""

from __future__ import annotations

import pytest

import sim

QUIET = ["output.plots=false", "output.report=false", "output.progress=false"]


def _said(res, job):
    return [n for n in res.notes if n.startswith(f"not read by any run of the {job} job")]


def test_cold_start_names_the_files_keys_for_a_deleted_tenants_model():
    res = sim.run(["experiment=cold_start", "~tenants.analyst", "horizon_s=5", *QUIET])
    # both setups ran (serverless, dedicated): neither called the 70B, which only analyst did
    assert _said(res, "cold_start") == [
        "not read by any run of the cold_start job (2 runs): deployments.llama33-70b (no tenant "
        "of it calls llama33-70b); cold_start.engine_init_s_by_model.llama33-70b (no tenant of it "
        "calls llama33-70b); dedicated.replicas.llama33-70b (no tenant of it calls llama33-70b)"]
    # the experiment as written calls every model it configures
    assert _said(sim.run(["experiment=cold_start", "horizon_s=5", *QUIET]), "cold_start") == []


def test_simulate_says_an_experiment_files_unread_key_too():
    res = sim.run(["experiment=cold_start", "job=simulate", "~tenants.analyst",
                   "setups=[dedicated]", "horizon_s=5", *QUIET])
    said = [n for n in res.notes if n.startswith("not read by this run:")]
    assert said == [
        "not read by this run: serverless.pool, serverless.keepalive (no setup of it uses them; "
        "setups: dedicated)",
        # a dedicated run with no burst, spot or failure loads no weights: no cold_start key
        # is read, whichever model it names (said for the file's key since December 2026)
        "not read by this run: cold_start.engine_init_s_by_model.llama33-70b (the dedicated "
        "setup loads no weights: its replicas are up from the start, and it loads only for a "
        "burst (dedicated.burst.enabled), a spot replica (dedicated.spot.replicas) or a failure "
        "(dedicated.failures.mode))",
        "not read by this run: deployments.llama33-70b (no tenant of it calls llama33-70b)",
        "not read by this run: dedicated.replicas.llama33-70b (no tenant of it calls llama33-70b)"]


@pytest.mark.parametrize("key,unread", [
    ("serverless.keepalive.idle_s=5", True),  # the burst job runs the dedicated setup only
    ("dedicated.burst.max_replicas=3", False),  # off in the first run, read by the second
])
def test_burst_says_a_key_no_variant_reads(key, unread):
    res = sim.run(["experiment=burst", key, "horizon_s=10", "drain_s=30", *QUIET])
    expect = ["not read by any run of the burst job (2 runs): serverless.keepalive.idle_s (no setup "
              "the job runs reads it; it runs dedicated)"]
    assert _said(res, "burst") == (expect if unread else [])


def test_keepalive_says_a_dedicated_key_but_not_the_hybrid_policys():
    res = sim.run(["experiment=keepalive", "keepalive.fixed_idle_s=[5]", "horizon_s=20",
                   "drain_s=30", "serverless.keepalive.hybrid.margin=0.2",
                   "dedicated.replicas.llama31-8b=2", *QUIET])
    # margin is read by the hybrid policy's run alone (the fixed run leaves it off)
    assert _said(res, "keepalive") == [
        "not read by any run of the keepalive job (2 runs): dedicated.replicas.llama31-8b (no setup "
        "the job runs reads it; it runs serverless)"]


def test_spot_reads_the_preemption_keys_its_variants_switch_on():
    # the experiment's file sets dedicated.spot.preemption.*, which the on-demand run leaves
    # off (no spot replicas) and the spot variants read; a deployment for an uncalled model
    # is read by none
    res = sim.run(["experiment=spot", "horizon_s=10", "drain_s=30",
                   "dedicated.spot.preemption.notice_s=20",
                   "deployments.qwen3-32b={gpu: H100, precision: fp8, tp: 1}", *QUIET])
    said = _said(res, "spot")
    assert len(said) == 1 and said[0].endswith(
        "runs): deployments.qwen3-32b (no tenant of it calls qwen3-32b)"), said


def test_a_replicated_job_says_it_once_for_every_seed():
    # each seed's job judges its own runs: the note is the same for both, so it is shared
    # (with the runs of every seed counted together it read "(4 runs)" on the second seed)
    res = sim.run(["experiment=burst", "serverless.keepalive.idle_s=5", "horizon_s=10",
                   "drain_s=30", "replications=2", *QUIET])
    assert [n for n in res.notes if "not read by" in n] == [
        "not read by any run of the burst job (2 runs): serverless.keepalive.idle_s (no setup "
        "the job runs reads it; it runs dedicated)"]


def test_every_job_but_simulate_says_its_unread_keys():
    """A job added later says them too: each registered job's module calls job_note (the
    simulate job says them per key, sim.simulation.unread.simulate_notes)."""
    import inspect

    from sim.jobs import discover

    jobs = discover()
    missing = [name for name, fn in jobs.items() if name != "simulate"
               and f'job_note("{name}")' not in inspect.getsource(inspect.getmodule(fn))]
    assert len(jobs) >= 13 and missing == []


@pytest.mark.parametrize("base, key, value, expect", [
    ([], "dedicated.burst.max_replicas", "3",
     "not read by this run: dedicated.burst.max_replicas (dedicated.burst.enabled is false)"),
    (["experiment=burst", "drain_s=30"], "serverless.keepalive.idle_s", "5",
     "not read by any run of the burst job (2 runs): serverless.keepalive.idle_s (no setup the "
     "job runs reads it; it runs dedicated)"),
])
def test_a_key_a_variant_sets_is_judged_as_the_command_lines(base, key, value, expect):
    """``variant=NAME`` sets its keys by overrides spliced in where it stands
    (sim/config/variants.py): until December 2026 none of them was judged, so a variant's
    key no run read was unsaid where the same key on the command line was said."""
    notes = []
    for given in ([f"{key}={value}"], [f"variants.a={{{key}: {value}}}", "variant=a"]):
        res = sim.run([*base, *given, "horizon_s=5", *QUIET])
        notes.append([n for n in res.notes if n.startswith("not read by")])
    assert notes == [[expect], [expect]]


def _not_read(res):
    return [n for n in res.notes if n.startswith("not read by this run: ")]


def test_a_variant_for_a_model_no_tenant_calls_is_said_unread():
    # a hostile-input sweep (December 2026): ran with it ignored, unsaid, while
    # dedicated.replicas.<m> of such a model was said
    res = sim.run(["horizon_s=5", "dedicated.variants=[{model: qwen3-32b, gpu: H100}]", *QUIET])
    assert _not_read(res) == ["not read by this run: dedicated.variants[0] (no tenant of it "
                              "calls qwen3-32b)"]
    called = sim.run(["horizon_s=5", "dedicated.variants=[{model: llama31-8b, gpu: H100}]", *QUIET])
    assert _not_read(called) == []


def test_reserved_replicas_of_a_model_the_hybrid_pools_are_said_unread():
    why = ("the hybrid setup serves llama31-8b on the pool (hybrid.placement, "
           "hybrid.default_tier serverless), with no reserved replica")
    res = sim.run(["horizon_s=5", "setups=[hybrid]", "dedicated.replicas.llama31-8b=2", *QUIET])
    assert _not_read(res) == [f"not read by this run: dedicated.replicas.llama31-8b ({why})"]
    ded = sim.run(["horizon_s=5", "setups=[hybrid]", "hybrid.placement.llama31-8b=dedicated",
                   "dedicated.replicas.llama31-8b=2", *QUIET])
    assert _not_read(ded) == []
    both = sim.run(["horizon_s=5", "setups=[hybrid,dedicated]", "dedicated.replicas.llama31-8b=2",
                    *QUIET])  # the dedicated setup reads it
    assert _not_read(both) == []


def test_a_ttft_slo_on_a_batch_tenant_is_said_unread():
    # a hostile-input sweep (December 2026): summary.csv's slo_ttft_s was empty and its
    # attainment the deadline's, with no word for the SLO given
    res = sim.run(["horizon_s=10", "tenants.chat.priority=batch", "tenants.chat.slo_ttft_s=0.5",
                   *QUIET])
    assert _not_read(res) == [
        "not read by this run: tenants.chat.slo_ttft_s (tenants.chat.priority is batch: its "
        "objective is its deadline (tenants.chat.deadline_s), and its slo_ttft_s is left empty)"]
    assert _not_read(sim.run(["horizon_s=10", "tenants.chat.slo_ttft_s=0.5", *QUIET])) == []


@pytest.mark.parametrize("over, unread", [
    (["output.parquet=false", "output.requests=sample"], True),
    (["output.requests=full"], True),
    (["output.requests=sample"], False),
])
def test_the_sample_fraction_is_said_unread_when_no_row_is_kept(over, unread):
    """``output.requests_sample`` is read only when a sample of rows is kept: with
    ``output.parquet=false`` none is (until December 2026 said unread for ``requests=full``
    alone, not for ``parquet=false``)."""
    res = sim.run(["setups=[dedicated]", "horizon_s=5", "output.requests_sample=0.5", *over,
                   *QUIET])
    said = [n for n in res.notes if n.startswith("not read by this run:")
            and "output.requests_sample" in n]
    assert len(said) == int(unread)


def test_a_tpot_objective_is_said_unread_by_every_job_but_plan():
    # the README's sweep (December 2026): slo_tpot_s, read by job=plan alone, was taken
    # without a word by a simulate run (no note, no summary column)
    res = sim.run(["horizon_s=5", "setups=[dedicated]", "tenants.chat.slo_tpot_s=0.001", *QUIET])
    assert _not_read(res) == [
        "not read by this run: tenants.chat.slo_tpot_s (the TPOT objective is read by job=plan "
        "alone; this job is simulate)"]
    plan = sim.run(["job=plan", "plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[1]",
                    "plan.max_replicas=2", "horizon_s=10", "tenants.chat.slo_tpot_s=1", *QUIET])
    assert not [n for n in plan.notes if "slo_tpot_s" in n], plan.notes
