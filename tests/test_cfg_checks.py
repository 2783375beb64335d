"""``python -m sim --cfg job`` (and ``--cfg all``) checks the config as a run does before it
prints it (sim/app.py ``validate``, the checks ``execute`` makes before any work): until
December 2026 ``horizon_s=-1`` printed and only the run refused it."""

from __future__ import annotations

import sys

import pytest
import yaml
from helpers.cli import assert_one_clear_line
from omegaconf import OmegaConf

import sim


def _main(monkeypatch, capsys, *args):
    """``python -m sim <args>`` in this process: (exit status, stdout, stderr)."""
    from sim.__main__ import main

    monkeypatch.setattr(sys, "argv", ["sim", *args])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    try:
        main()
        status = 0
    except SystemExit as e:
        status = e.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("args, expected", [
    (["--cfg", "job", "horizon_s=-1"], "error: config key 'horizon_s': must be > 0, got -1"),
    (["--cfg", "all", "tenants.chat.arrival.rate_rps=0"],
     "error: config key 'tenants.chat.arrival.rate_rps': must be > 0, got 0"),
    # an override the job does not read, as a run refuses it
    (["--cfg", "job", "plan.tp=[1]"], "error: config key 'plan.tp': read by the plan job only"),
])
def test_a_value_a_run_refuses_is_refused_before_it_is_printed(monkeypatch, capsys, args, expected):
    status, out, err = _main(monkeypatch, capsys, *args)
    assert_one_clear_line(status, err, expected)
    assert err.startswith(expected) and out == ""  # nothing printed


def test_a_valid_config_prints_as_composed(monkeypatch, capsys):
    status, out, err = _main(monkeypatch, capsys, "--cfg", "job", "experiment=hybrid", "horizon_s=60")
    assert (status, err) == (0, "")
    want = OmegaConf.to_container(sim.compose(["experiment=hybrid", "horizon_s=60"]))
    assert yaml.safe_load(out) == want and want["horizon_s"] == 60


@pytest.mark.parametrize("args", [
    ["experiment=sweep_variants", "variant=b200_tp2_x1"],
    ["variants.a={deployments.llama31-8b.gpu: H200}", "variant=a"],
])
def test_a_variant_prints_applied_as_the_run_takes_it(monkeypatch, capsys, args):
    """Until December 2026 ``--cfg job`` printed Hydra's composition, the variant not applied
    (``gpu: H100`` for a variant on the B200), though the run and ``sim.compose`` apply it."""
    status, out, err = _main(monkeypatch, capsys, "--cfg", "job", *args)
    assert (status, err) == (0, "")
    want = OmegaConf.to_container(sim.compose(args))
    assert yaml.safe_load(out) == want and want["deployments"]["llama31-8b"]["gpu"] != "H100"
    status, out, err = _main(monkeypatch, capsys, "--cfg", "job", *args, "--package",
                             "deployments.llama31-8b")
    assert status == 0 and out.startswith("# @package deployments.llama31-8b\n")
    assert yaml.safe_load(out) == want["deployments"]["llama31-8b"]
    status, out, err = _main(monkeypatch, capsys, "--cfg", "all", *args)
    assert status == 0 and "before its variant is applied" in err


@pytest.mark.parametrize("args, expected", [
    # each of these printed (exit 0) though the run refused it before any simulation
    (["experiment=breakeven", "breakeven.setups=[{label: d, setup: dedicated, overrides: "
      "{horizon_s: 5}}]", "breakeven.reference=d"],
     "error: config key 'breakeven.setups[0].overrides': 'horizon_s' is the run's"),
    (["experiment=breakeven", "breakeven.setups.0.overrides={serverless.billing: free}"],
     "error: config key 'breakeven.setups[0]': config key 'serverless.billing': Invalid value 'free'"),
    (["experiment=breakeven",
      "breakeven.setups=[{label: dedicated, setup: dedicated, overrides: {nosuch.key: 1}}]"],
     "error: config key 'breakeven.setups[0]': config key 'nosuch': not a key of the config"),
    (["experiment=breakeven", "breakeven.setups=[{label: d, setup: dedicated}]",
      "breakeven.reference=d"], "error: config key 'breakeven.setups': only the reference curve"),
    (["experiment=claims", "claims.overrides=['nope=1']"],
     "error: config key 'claims.overrides': config key 'nope': Key 'nope' not in"),
    (["experiment=claims", "claims.overrides=['horizon_s=-1']"],
     "error: config key 'claims.overrides': config key 'horizon_s': must be > 0, got -1"),
    # a key no scenario has is refused whichever claims run
    (["experiment=claims", "claims.overrides=['nope=1']", "claims.only=[uptime_sla]"],
     "error: config key 'claims.overrides': config key 'nope': Key 'nope' not in"),
])
def test_a_job_s_nested_overrides_are_checked_before_printing(monkeypatch, capsys, args, expected):
    status, out, err = _main(monkeypatch, capsys, "--cfg", "job", *args)
    assert_one_clear_line(status, err, expected)
    assert err.startswith(expected) and out == ""


def test_claims_overrides_a_scenario_takes_print(monkeypatch, capsys):
    status, out, err = _main(monkeypatch, capsys, "--cfg", "job", "experiment=claims",
                             "claims.overrides=['dedicated.pricing=reserved']")
    assert (status, err) == (0, "") and "dedicated.pricing=reserved" in out


def test_the_claims_scenarios_checked_are_those_the_checks_compose():
    """The experiments ``--cfg job`` composes claims.overrides with: every ``ctx.scenario``
    call's first argument in sim/jobs/claims (read from the source, not from the list)."""
    import re
    from pathlib import Path

    from sim.jobs.claims.registry import SCENARIOS

    src = "".join(p.read_text() for p in Path(sim.__file__).parent.joinpath("jobs", "claims").glob("*.py"))
    used = set(re.findall(r"ctx\.scenario\(\s*\"(\w+)\"", src))
    assert used == set(SCENARIOS)
