"""``python -m sim.bench --scenario platform`` on a few minutes of traffic: the scenario is
what its docstring says (models, GPU classes, pool size, tenants) and the figures it prints
are the run's own."""

import json

import pytest

import sim
from sim.bench import __main__ as bench
from sim.bench.platform import overrides, pool_gpus


def test_the_scenario_has_the_models_pool_and_tenants_asked_for(tmp_path):
    cfg = sim.compose(overrides(0.05, 20, 30, 64, 5.0, "serverless", "none", tmp_path))
    copies = [m for m in cfg.catalog.models if "-p0" in m]
    assert len(copies) == 20 and len(cfg.background.synthetic.models) == 20
    assert sum(p.nodes * p.gpus_per_node for p in cfg.serverless.pool.values()) == 64
    assert {cfg.deployments[m].gpu for m in copies} == {"L40S", "H100", "H200"}
    assert cfg.background.synthetic.tenants == 30 and list(cfg.tenants) == ["anchor"]


def test_the_benchmark_prints_the_runs_own_count(capsys, tmp_path):
    bench.main(["--scenario", "platform", "--hours", "0.05", "--models", "10", "--tenants", "20",
                "--gpus", "32", "--rate", "5", "--requests-output", "none"])
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    res = sim.run(overrides(0.05, 10, 20, 32, 5.0, "serverless", "none", tmp_path))
    s = res.summary
    want = int(s[s.tenant.isin(["__all__", "__background__"])].requests.sum())
    assert row["requests"] == want > 0 and row["setup"] == "serverless"
    assert row["requests_per_s"] > 0 and row["peak_rss_mb"] > 0


def test_doubling_runs_the_horizon_and_twice_it_in_their_own_processes(capsys):
    args = ["--scenario", "platform", "--hours", "0.02", "--models", "4", "--tenants", "6",
            "--gpus", "16", "--rate", "5", "--requests-output", "none"]
    bench.main(args + ["--doubling"])
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    alone = []
    for hours in ("0.02", "0.04"):
        bench.main(args[:3] + [hours] + args[4:])
        alone.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert row["hours"] == [0.02, 0.04]
    assert row["requests"] == [r["requests"] for r in alone] and alone[1]["requests"] > alone[0]["requests"]
    one, two = row["peak_rss_mb"]
    assert row["peak_growth"] == round(two / one - 1.0, 4)


def test_the_printed_pool_is_the_pool_simulated(tmp_path):
    # at least one 8-GPU node of each of the three classes, whatever was asked
    for asked, nodes in [(64, 8), (32, 4), (8, 3), (1024, 128), (100, 12)]:
        cfg = sim.compose(overrides(0.05, 4, 2, asked, 5.0, "serverless", "none", tmp_path))
        have = sum(p.nodes * p.gpus_per_node for p in cfg.serverless.pool.values())
        assert have == pool_gpus(asked) == 8 * nodes


@pytest.mark.parametrize("flag,value", [("--models", "0"), ("--hours", "-1"), ("--rate", "nan"),
                                        ("--gpus", "0"), ("--tenants", "-3"), ("--requests", "x"),
                                        # beyond the request log's int16 indices: a hang building
                                        # 1e8 models, a traceback at 32,768 tenants
                                        ("--models", "100000000"), ("--tenants", "40000"),
                                        # int() took them (the eleventh sweep)
                                        ("--gpus", "\u0661\u0666"), ("--models", "1_0")])
def test_hostile_arguments_get_one_line_and_exit_2(flag, value, capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--scenario", "platform", flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and flag in err[-1] and "Traceback" not in "\n".join(err)


def test_a_load_beyond_its_bound_is_one_line_naming_it(capsys):
    # the eighth hostile-input sweep (December 2026): --load 1e308 overflowed the rate to inf
    # (a RuntimeWarning line) and the refusal named horizon_s, rounded to 0
    with pytest.raises(SystemExit) as e:
        bench.main(["--load", "1e308", "--requests", "1000"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: argument --load: must be <= {bench.MAX_LOAD:g}"), err


@pytest.mark.parametrize("flag", ["--load", "--rate"])
def test_a_subnormal_number_is_one_line_naming_the_flag(flag, capsys):
    # the thirteenth sweep (December 2026): --load 1e-320 gave numpy's "overflow encountered
    # in scalar divide" line, then a refusal naming horizon_s (inf)
    args = ["--requests", "1000"] if flag == "--load" else ["--scenario", "platform"]
    with pytest.raises(SystemExit) as e:
        bench.main([*args, flag, "1e-320"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: argument {flag}: must be 0 or at least 2.23e-308"), err


@pytest.mark.parametrize("args, flag", [
    # ignored silently before the fifth hostile-input sweep (December 2026)
    (["--hours", "1"], "--hours"), (["--setup", "hybrid"], "--setup"),
    (["--scenario", "platform", "--requests", "5"], "--requests"),
    (["--engines", "fluid", "--step-requests", "5"], "--step-requests"),
    # a hostile-input sweep (December 2026): ran the step engine alone, --requests unread
    (["--engines", "step", "--requests", "5000", "--step-requests", "1000"], "--requests"),
    (["--engines", "step", "--caching-pair"], "--caching-pair"),
    (["--engines", "fluid,fluid"], "--engines"),
    (["--engines", "turbo"], "--engines"),  # named the config key engine
    (["--doubling"], "--doubling"),
    # the ninth sweep (December 2026): the last of two values ran, unsaid
    (["--requests", "10", "--requests", "20"], "--requests"),
    (["--load", "0.5", "--load=0.9", "--requests", "1000"], "--load"),
])
def test_flags_no_run_reads_are_one_line_and_exit_2(args, flag, capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and f"argument {flag}" in err[0]


@pytest.mark.parametrize("flag,value", [("--hours", "1e300"), ("--rate", "1e300"),
                                        ("--gpus", str(2 ** 63))])
def test_a_refused_config_value_names_the_flag_that_gave_it(flag, value, capsys):
    # the seventh hostile-input sweep (December 2026): the line named the config key the
    # flag had become (horizon_s, tenants.anchor.arrival.rate_rps, serverless.pool.H100.nodes)
    with pytest.raises(SystemExit) as e:
        bench.main(["--scenario", "platform", "--models", "2", "--tenants", "1", flag, value])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith(f"error: argument {flag}: config key")


def test_hybrid_reserves_the_user_tenants_model(tmp_path):
    cfg = sim.compose(overrides(0.05, 4, 2, 32, 5.0, "hybrid", "none", tmp_path))
    anchor = cfg.tenants.anchor.model
    assert list(cfg.setups) == ["hybrid"] and cfg.hybrid.placement[anchor] == "dedicated"
    assert cfg.dedicated.replicas[anchor] == 2 and cfg.tenants.anchor.arrival.rate_rps == 0.5


@pytest.mark.parametrize("flag", ["--requests", "--step-requests"])
def test_too_few_requests_to_measure_is_one_line_naming_the_flag(flag, capsys):
    # a hostile-input sweep (December 2026): --requests 1 --step-requests 1 printed 0
    # requests, NaN percentiles and ratios of 0.0 as an ordinary result
    with pytest.raises(SystemExit) as e:
        bench.main([flag, "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1, err
    assert err[0] == f"error: argument {flag}: must be >= {bench.MIN_REQUESTS:g}, got 1"



def test_no_request_has_no_bytes_per_request(capsys):
    """``--tenants 0`` on a horizon too short for the background: 0 requests, and until
    December 2026 the run's whole memory growth printed as ``bytes_per_request`` (it divided
    by max(n, 1)); a figure per request of no request is null."""
    bench.main(["--scenario", "platform", "--hours", "0.0001", "--models", "2", "--tenants", "0",
                "--gpus", "8", "--requests-output", "none"])
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["requests"] == 0 and row["bytes_per_request"] is None


def test_background_tenants_with_no_request_print_null_not_nan(capsys):
    """Background tenants on a horizon too short for any of their requests: the p99 of none
    is null. Until December 2026 it printed ``NaN``, which is not JSON (strict parsers
    refuse the line)."""
    bench.main(["--scenario", "platform", "--hours", "1e-9", "--models", "2", "--tenants", "3",
                "--gpus", "8", "--requests-output", "none"])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    row = json.loads(line, parse_constant=lambda c: pytest.fail(f"{c} in {line}"))
    assert row["requests"] == 0 and row["background_ttft_p99_s"] is None


def test_doubling_passes_on_a_refused_runs_one_line_and_exit_2(capsys):
    """A horizon the memory budget refuses: the child run's one line and exit 2. Until
    December 2026 ``--doubling`` raised CalledProcessError with a traceback, exit 1."""
    with pytest.raises(SystemExit) as e:
        bench.main(["--scenario", "platform", "--hours", "1e8", "--doubling"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1
    assert "horizon_s" in err[0] and "Traceback" not in err[0]
