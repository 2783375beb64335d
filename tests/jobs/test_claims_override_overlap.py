"""A claims.overrides key that a check's own overrides set over is refused, whether either
side is a map in braces or a dotted key: compose applies the check's after the user's, so
the user's value was lost without a word (uptime_sla's repair still Exp(600 s) with
``dedicated.failures={mttr_s: 5}``; runtime_tuning_2x's prompt still 1,000 tokens with
``tenants.chat.input.mean=100``)."""

import pytest

import sim  # noqa: F401 - registers the schema
from sim.config import compose
from sim.errors import InputError
from sim.jobs.claims.registry import ClaimContext

# the checks' own overrides, as sim/jobs/claims/operations.py gives them
UPTIME = ("failures", ["setups=[dedicated]", "dedicated.failures.mode=random",
                       "dedicated.failures.mttr_s=600"])
TUNING = ("dedicated", ["setups=[dedicated]",
                        "tenants.chat.input={kind: fixed, mean: 1000, max: 1000}"])


def _ctx(*overrides):
    items = ", ".join(f"'{o}'" for o in overrides)
    return ClaimContext(compose(["experiment=claims", f"claims.overrides=[{items}]"]))


@pytest.mark.parametrize("user,check", [
    ("dedicated.failures={mttr_s: 5}", UPTIME),      # user's map, check's dotted key
    ("dedicated.failures.mttr_s=5", UPTIME),         # both dotted (refused before too)
    ("tenants.chat.input.mean=100", TUNING),         # user's dotted key, check's map
    ("tenants.chat.input={mean: 100}", TUNING),      # both maps
])
def test_an_override_a_check_sets_over_is_refused_naming_it(user, check):
    experiment, own = check
    with pytest.raises(InputError) as e:
        _ctx(user).scenario(experiment, *own)
    msg = str(e.value)
    assert e.value.key == "claims.overrides"
    leaf = "mttr_s" if "mttr" in user else "mean"
    assert f".{leaf}=" in msg and "itself" in msg


@pytest.mark.parametrize("user,check,path,want", [
    # what a check does not set, or sets to the same value, reaches its scenario
    ("dedicated.failures={mttr_s: 600}", UPTIME, "dedicated.failures.mttr_s", 600),
    ("dedicated.failures.mtbf_gpu_hours=7", UPTIME, "dedicated.failures.mtbf_gpu_hours", 7),
    ("tenants.chat.output.mean=64", TUNING, "tenants.chat.output.mean", 64),
])
def test_an_override_a_check_leaves_reaches_the_scenario(user, check, path, want):
    from omegaconf import OmegaConf

    experiment, own = check
    cfg = _ctx(user).scenario(experiment, *own)
    assert OmegaConf.select(cfg, path) == want


@pytest.mark.parametrize("given", ["output.percentiles=sketch", "output={percentiles: sketch}"])
def test_sketch_percentiles_in_the_overrides_are_refused(given):
    """``output.percentiles=sketch`` is refused on the claims job's command line (it compares
    runs' exact percentiles); through ``claims.overrides`` every scenario took it: until
    December 2026 two claims' figures moved (a shared pool's p99 26.67 -> 26.77 s), unsaid."""
    from sim.jobs.claims.registry import check_overrides

    cfg = compose(["experiment=claims", f"claims.overrides=['{given}']"])
    with pytest.raises(InputError) as e:
        check_overrides(cfg)
    assert e.value.key == "claims.overrides" and "exact percentiles" in e.value.message
    check_overrides(compose(["experiment=claims", "claims.overrides=['output.percentiles=exact']"]))


def test_a_speedup_the_tuning_check_sets_is_refused():
    """runtime_tuning_2x measures at runtime_speedup 1 and 2 itself: a user's
    ``dedicated.runtime_speedup=3`` in claims.overrides was taken unsaid (its verdict read
    "default 3" over the same 7,082 -> 14,163 tok/s; December 2026)."""
    with pytest.raises(InputError) as e:
        sim.run(["experiment=claims", "claims.quick=true", "claims.only=[runtime_tuning_2x]",
                 "claims.overrides=['dedicated.runtime_speedup=3']", "output.plots=false"])
    assert e.value.key == "claims.overrides" and "runtime_speedup" in e.value.message


def test_replications_in_the_overrides_are_refused():
    """The checks run each scenario once: ``replications=2`` changed nothing, unsaid."""
    from sim.jobs.claims.registry import check_overrides

    with pytest.raises(InputError, match="not a scenario's key"):
        check_overrides(compose(["experiment=claims", "claims.overrides=['replications=2']"]))


def test_the_batch32_claim_names_the_kv_cache_it_simulated(tmp_path):
    """A KV dtype given in claims.overrides is simulated; the verdict's text said "BF16 KV
    cache" whatever it was (December 2026)."""
    sim.run(["experiment=claims", "claims.quick=true", "claims.only=[qwen3_32b_batch32_throughput]",
             "claims.overrides=['deployments.qwen3-32b={kv_dtype: fp8}']", "output.plots=false"],
            output_dir=tmp_path)
    text = (tmp_path / "claims.md").read_text()
    assert "FP8 weights, FP8 KV cache" in text and "BF16 KV" not in text


def test_a_billing_the_breakeven_check_sets_is_refused():
    """The break-even check's serverless setup bills per token, set by the break-even job
    after claims.overrides: a user's ``serverless.billing`` there was set over, unsaid."""
    with pytest.raises(InputError) as e:
        sim.run(["experiment=claims", "claims.quick=true", "claims.only=[breakeven_utilisation]",
                 "claims.overrides=['serverless.billing=gpu_second']", "output.plots=false"])
    assert e.value.key == "claims.overrides" and "serverless.billing" in e.value.message
