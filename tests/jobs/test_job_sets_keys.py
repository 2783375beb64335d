"""A key a job sets itself in every one of its runs, given on the command line, is refused
naming it and what to set instead: until December 2026 each of these ran to the end with the
value replaced unsaid (`experiment=noisy_neighbour background.scale=0.5` ran the levels 0,
0.25, 0.5 and 1 and never the 0.5 given as a scale; `experiment=keepalive
serverless.keepalive.kind=hybrid` ran seven fixed timeouts too). Keys the job does read are
still accepted: the keep-alive job's hybrid run reads `serverless.keepalive.idle_s` as its
fallback, so it is taken and said in a note."""

from __future__ import annotations

import pytest

import sim

CASES = [
    ("keepalive", "serverless.keepalive.kind=hybrid", "serverless.keepalive.kind", "fixed_idle_s"),
    ("keepalive", "serverless.keepalive={kind: fixed}", "serverless.keepalive.kind", "fixed_idle_s"),
    ("noisy_neighbour", "background.scale=0.5", "background.scale", "background_levels"),
    ("compound", "pipelines.rag.prewarm=true", "pipelines.rag.prewarm", "pre-warm"),
    ("compound", "hybrid.placement.llama31-8b=serverless", "hybrid.placement.llama31-8b",
     "compound.mixed_placement"),
    ("compound", "hybrid.default_tier=dedicated", "hybrid.default_tier", "serverless"),
    ("prefix_cache", "dedicated.router=round_robin", "dedicated.router", "jsq and cache_aware"),
]


@pytest.mark.parametrize("job, override, key, instead", CASES)
def test_a_key_the_job_sets_itself_is_refused(job, override, key, instead):
    with pytest.raises(sim.InputError) as e:
        sim.run([f"experiment={job}", "horizon_s=1", override])
    assert e.value.key == key
    assert "sets this itself in each of its runs" in e.value.message and instead in e.value.message


def test_the_keepalive_fallback_is_taken_and_said():
    res = sim.run(["experiment=keepalive", "horizon_s=5", "serverless.keepalive.idle_s=45",
                   "keepalive.fixed_idle_s=[5,60]"])
    assert sorted(res.tables["keepalive"]["keepalive_s"].dropna().tolist()) == [5.0, 60.0]
    assert ("serverless.keepalive.idle_s 45 is read by the hybrid run only, as its fallback; the "
            "fixed runs take each of keepalive.fixed_idle_s (5, 60 s): list a timeout there to "
            "run it") in res.notes
    quiet = sim.run(["experiment=keepalive", "horizon_s=5", "keepalive.fixed_idle_s=[5,60]"])
    assert not any("serverless.keepalive.idle_s" in n for n in quiet.notes)


def test_a_job_reads_the_keys_of_the_pipelines_it_does_not_set():
    # compound sets its own pipeline's prewarm only; the simulate job reads the key as given
    res = sim.run(["experiment=compound", "job=simulate", "horizon_s=1", "setups=[serverless]",
                   "pipelines.rag.prewarm=true"])
    assert res.summary is not None


@pytest.mark.parametrize("base, body, key", [
    ("burst", "dedicated:\n  burst: {enabled: true}\n", "dedicated.burst.enabled"),
    ("keepalive", "serverless:\n  keepalive: {kind: hybrid}\n", "serverless.keepalive.kind"),
    ("noisy_neighbour", "background: {scale: 0.5}\n", "background.scale"),
])
def test_a_key_the_job_sets_itself_in_an_experiment_file_is_refused(tmp_path, base, body, key):
    # the same keys set by the user's experiment file were replaced unsaid (a burst job whose
    # file set dedicated.burst.enabled: true ran false, then true, and said nothing)
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text(
        f"# @package _global_\ndefaults:\n  - /experiment/{base}\n  - _self_\n{body}")
    with pytest.raises(sim.InputError) as e:
        sim.run([f"hydra.searchpath=[file://{tmp_path}]", "experiment=mine", "horizon_s=1"])
    assert e.value.key == key and "by the config (an experiment file)" in e.value.message
    # the job's own experiment, which leaves the key as the schema has it, runs (a value
    # equal to the schema's default cannot be told from unset: failures' mode: none passes)
    sim.run([f"experiment={base}", "horizon_s=1", "keepalive.fixed_idle_s=[5]"]
            if base == "keepalive" else [f"experiment={base}", "horizon_s=1"])


@pytest.mark.parametrize("job, runs", [("plan", ["dedicated", "serverless"]), ("burst", ["dedicated"]),
                                       ("keepalive", ["serverless"])])
def test_setups_are_compared_with_what_the_job_runs(job, runs):
    """A job that runs setups of its own takes ``setups`` given as what it runs and refuses
    any other value: until December 2026 the plan job compared it with a fixed
    ``[dedicated]``, so ``experiment=plan setups=[dedicated]`` ran its placements with
    ``setups`` ignored, while ``setups=[dedicated,serverless]``, what it runs, was refused."""
    with pytest.raises(sim.InputError) as e:
        sim.run([f"experiment={job}", "horizon_s=1", "setups=[hybrid]"])
    assert e.value.key == "setups" and "whatever setups says" in e.value.message
    if job == "plan":
        with pytest.raises(sim.InputError):
            sim.run([f"experiment={job}", "horizon_s=1", "setups=[dedicated]"])
    given = [f"experiment={job}", f"setups=[{','.join(runs)}]"]
    sim.app.validate(sim.compose(given), given)
