"""Paired sweep values (``variant=a,b,c``), per-tenant SLO rows in the sweep's summary.md,
and the recorded command: re-run, it gives the same jobs."""

import re
import shlex
import sys

import pandas as pd
import pytest
import yaml
from helpers.cli import assert_one_clear_line, cli, run_main
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

import sim
from sim.config.overrides import expand_argv
from sim.config.variants import format_value
from sim.sweep.aggregate import collect, command_from_overrides, write_sweep

GPU, TP, REPLICAS = ("deployments.llama31-8b.gpu", "deployments.llama31-8b.tp",
                     "dedicated.replicas.llama31-8b")
VARIANTS = {"h100_tp1_x4": ("H100", 1, 4), "h200_tp1_x3": ("H200", 1, 3),
            "b200_tp2_x1": ("B200", 2, 1)}


@pytest.fixture(scope="module")
def variant_sweep(tmp_path_factory):
    """``experiment=sweep_variants`` as shipped: its three variants, the default launcher."""
    root = tmp_path_factory.mktemp("variants")
    sweep = root / "sweep"
    r = cli("-m", "experiment=sweep_variants", "horizon_s=20", "output.plots=false",
            f"hydra.sweep.dir={sweep}", cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    return sweep


def test_three_variants_are_three_jobs_with_their_paired_values(variant_sweep):
    sweep = variant_sweep
    jobs = pd.read_csv(sweep / "jobs.csv")
    assert list(jobs["job"]) == [0, 1, 2] and (jobs["state"] == "done").all()
    assert sorted(p.name for p in sweep.iterdir() if p.name.isdigit()) == ["0", "1", "2"]
    table = pd.read_csv(sweep / "summary.csv")
    assert list(table.columns[:5]) == ["job", "variant", GPU, TP, REPLICAS]
    got = table[["job", "variant", GPU, TP, REPLICAS]].drop_duplicates()
    assert [tuple(r) for r in got.itertuples(index=False)] == [
        (i, name, *VARIANTS[name]) for i, name in enumerate(VARIANTS)]
    for i, name in enumerate(VARIANTS):
        # what the job ran with, not only what the variant declared
        ran = OmegaConf.load(sweep / str(i) / "config.yaml")
        assert (ran.deployments["llama31-8b"].gpu, ran.deployments["llama31-8b"].tp,
                ran.dedicated.replicas["llama31-8b"]) == VARIANTS[name]
        assert ran.variant == name
    # a different GPU class and pool: different results
    assert table.loc[table["tenant"] == "__all__", "cost_usd"].nunique() == 3


def test_a_variant_sweep_plots_against_the_variant_names(variant_sweep):
    from sim.report.sweep import categorical, other_keys, x_key

    sj = collect(variant_sweep)
    assert sj.paired == [GPU, TP, REPLICAS]
    assert x_key(sj) == "variant" and categorical(sj.table, "variant")
    assert other_keys(sj, "variant") == []  # the paired keys are not curves of their own
    for stem in ("p99_ttft_vs_x", "cost_vs_x"):
        assert (variant_sweep / "plots" / f"{stem}.png").stat().st_size > 1000
    assert pd.read_csv(variant_sweep / "breakeven.csv").empty
    report = (variant_sweep / "report.md").read_text()
    assert "No break-evens: `variant`" in report
    assert f"Each `variant` sets `{GPU}`, `{TP}`, `{REPLICAS}` together" in report


def _md_table(md: str, title: str) -> pd.DataFrame:
    block = md.split(f"## {title}\n\n", 1)[1].split("\n\n", 1)[0]
    lines = [ln.strip().strip("|").split("|") for ln in block.strip().splitlines()]
    head = [c.strip() for c in lines[0]]
    return pd.DataFrame([[c.strip() for c in ln] for ln in lines[2:]], columns=head)


# a tenant added in braces, a value with a comma and a space in Hydra quotes, two variants
TRICKY = ["-m", "hydra/launcher=basic", "experiment=sweep_variants",
          "variant=h100_tp1_x4,b200_tp2_x1",
          "tenants.batch={model: llama31-8b, arrival: {kind: poisson, rate_rps: 1}, slo_ttft_s: 2}",
          "notes.tag='a, b'", "horizon_s=20", "output.plots=false"]


def _job_overrides(sweep):
    return [yaml.safe_load((sweep / str(i) / ".hydra" / "overrides.yaml").read_text())
            for i in range(2)]


def _only_sweep(cwd):
    found = list((cwd / "results" / "sweep_variants").glob("multirun_*"))
    assert len(found) == 1, found
    return found[0]


def test_the_recorded_command_re_run_gives_the_same_jobs(tmp_path):
    first_cwd, again_cwd = tmp_path / "first", tmp_path / "again"
    first_cwd.mkdir()
    again_cwd.mkdir()
    r = cli(*TRICKY, cwd=first_cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    sweep = _only_sweep(first_cwd)
    for name in ("summary.md", "report.md"):
        line = next(ln for ln in (sweep / name).read_text().splitlines()
                    if ln.startswith("Command: "))
        command = re.fullmatch(r"Command: `(.*)`", line).group(1)
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "sim"] and argv[3:] == TRICKY, command
    assert (sweep / "command.txt").read_text().strip() == command
    r2 = cli(*argv[3:], cwd=again_cwd)
    assert r2.returncode == 0, r2.stderr[-3000:]
    again = _only_sweep(again_cwd)
    assert _job_overrides(again) == _job_overrides(sweep)
    for i in range(2):  # the same tenants: an add stays an add (chat and batch)
        for d in (sweep, again):
            assert list(OmegaConf.load(d / str(i) / "config.yaml").tenants) == ["chat", "batch"]
    assert pd.read_csv(again / "summary.csv").drop(columns=["job"]).equals(
        pd.read_csv(sweep / "summary.csv").drop(columns=["job"]))
    # re-aggregating the folder keeps the command it recorded
    write_sweep(sweep)
    assert f"Command: `{command}`" in (sweep / "summary.md").read_text()

    # the sweep's summary.md: a row per tenant and job, with its SLO and attainment
    table = pd.read_csv(sweep / "summary.csv")
    slo = _md_table((sweep / "summary.md").read_text(), "SLO attainment per tenant")
    assert list(slo.columns) == ["job", "variant", GPU, TP, REPLICAS, "setup", "tenant",
                                 "requests", "completed", "ttft_p99_s", "slo_ttft_s",
                                 "slo_attainment"]
    assert [tuple(r) for r in slo[["job", "variant", "tenant", "slo_ttft_s"]].itertuples(
        index=False)] == [("0", "h100_tp1_x4", "batch", "2"), ("0", "h100_tp1_x4", "chat", "1"),
                          ("1", "b200_tp2_x1", "batch", "2"), ("1", "b200_tp2_x1", "chat", "1")]
    for _, row in slo.iterrows():
        want = table[(table["job"] == int(row["job"])) & (table["tenant"] == row["tenant"])]
        assert float(row["slo_attainment"]) == pytest.approx(want["slo_attainment"].item(),
                                                             abs=5e-4)
        assert int(row["requests"]) == want["requests"].item()


def test_command_rebuilt_from_hydras_record_is_quoted():
    got = command_from_overrides(["hydra.sweep.dir=/tmp/a b", "hydra.mode=MULTIRUN"],
                                 ["tenants={x: {model: m}}", "rate=1,2"])
    assert got == "python -m sim -m 'hydra.sweep.dir=/tmp/a b' 'tenants={x: {model: m}}' rate=1,2"
    assert shlex.split(got)[4:] == ["hydra.sweep.dir=/tmp/a b", "tenants={x: {model: m}}",
                                    "rate=1,2"]


def test_a_bad_key_in_a_variant_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    status, err = run_main(["variants.a={deployments.llama31-8b.gpux: H200}", "variant=a",
                            "horizon_s=10"], tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "deployments.llama31-8b.gpux")
    assert "variant 'a'" in err
    status, err = run_main(["experiment=sweep_variants", "variant=h100"], tmp_path, monkeypatch,
                           capsys)
    assert_one_clear_line(status, err, "unknown variant 'h100'; known: h100_tp1_x4, "
                                       "h200_tp1_x3, b200_tp2_x1")
    status, err = run_main(["variants.a={deployments.llama31-8b.tp: two}", "variant=a"],
                           tmp_path, monkeypatch, capsys)
    assert_one_clear_line(status, err, "deployments.llama31-8b.tp")


@pytest.mark.parametrize("sets, key", [
    ("{deployments.llama31-8b.gpu: H900}", GPU),  # a name the catalog does not know
    ("{deployments.llama31-8b.tp: -1}", TP),  # out of its range
    ("{dedicated.replicas: {llama31-8b: 0}}", REPLICAS),  # a map the variant sets whole
])
def test_a_value_a_variant_sets_and_a_check_refuses_names_the_variant(sets, key):
    # the schema takes these; the checks before the run refuse them (unnamed variant before)
    with pytest.raises(sim.InputError, match=r"\(set by variant 'a'\)$") as e:
        sim.run([f"variants.a={sets}", "variant=a", "horizon_s=5"])
    assert e.value.key == key


def test_a_value_the_command_line_sets_after_the_variant_is_not_the_variants():
    with pytest.raises(sim.InputError) as e:
        sim.run(["variants.a={deployments.llama31-8b.tp: 1}", "variant=a", f"{TP}=-1",
                 "horizon_s=5"])
    assert e.value.key == TP and "variant" not in str(e.value)


def test_a_sweep_with_a_bad_variant_runs_the_others_and_exits_2(tmp_path):
    sweep = tmp_path / "sweep"
    r = cli("-m", "hydra/launcher=basic", "variants.bad={deployments.llama31-8b.gpux: H200}",
            "variants.good={deployments.llama31-8b.gpu: H200}", "variant=bad,good",
            "horizon_s=10", "output.plots=false", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    # both command-line variants reached the jobs (one override of `variants` per job)
    jobs = pd.read_csv(sweep / "jobs.csv")
    assert list(jobs["state"]) == ["failed", "done"]
    assert "gpux" in jobs.loc[0, "message"] and "variant 'bad'" in jobs.loc[0, "message"]
    table = pd.read_csv(sweep / "summary.csv")
    assert set(table["job"]) == {1} and set(table[GPU]) == {"H200"}


def test_a_variant_is_applied_where_it_stands_among_the_overrides():
    base = ["experiment=sweep_variants"]
    after = sim.compose([*base, "variant=b200_tp2_x1", f"{REPLICAS}=5"])
    before = sim.compose([*base, f"{REPLICAS}=5", "variant=b200_tp2_x1"])
    assert after.dedicated.replicas["llama31-8b"] == 5  # later overrides win
    assert before.dedicated.replicas["llama31-8b"] == 1
    assert before.deployments["llama31-8b"].gpu == after.deployments["llama31-8b"].gpu == "B200"
    # a variant replacing the tenants replaces the experiment's, wherever experiment= stands
    mix = "variants.mix={tenants: {solo: {model: llama31-8b, slo_ttft_s: 3}}}"
    for order in ([mix, "variant=mix", *base], [*base, mix, "variant=mix"]):
        cfg = sim.compose(order)
        assert list(cfg.tenants) == ["solo"] and cfg.tenants.solo.slo_ttft_s == 3, order
    plain = sim.compose(base)  # no variant chosen: the experiment as written
    assert (plain.deployments["llama31-8b"].gpu, plain.dedicated.replicas["llama31-8b"]) == (
        "H100", 4)


@pytest.mark.parametrize("value", ["H100", "a b", "a,b", "{x}", "it's", "back\\", "a\\'b", "1",
                                   "true", "null", "", "${x}", 1, 1.5, 1e-5, True, None,
                                   [1, "a, b"], {"k": "x,y", "n": [1, 2]}])
def test_a_variant_value_survives_as_an_override(value):
    text = f"k={format_value(value)}"
    assert OverridesParser.create().parse_override(text).value() == value
    assert type(OverridesParser.create().parse_override(text).value()) is type(value)


def test_braces_overrides_of_one_map_become_one_override():
    # a sweep keeps one override per key: two `tenants={...}` would lose the first
    out = expand_argv(["-m", "tenants.a={model: m1}", "x=1,2", "tenants.b={model: m2}"],
                      lambda ovs: None, ("tenants",))
    assert out == ["-m", "x=1,2", "tenants={a: {model: m1}, b: {model: m2}}"]
    # left alone when the map loses an entry in between
    kept = ["tenants.a={model: m1}", "~tenants.a", "tenants.b={model: m2}"]
    assert expand_argv(kept, lambda ovs: None, ("tenants",)) == [
        "tenants={a: {model: m1}}", "~tenants.a", "tenants={b: {model: m2}}"]


def _job(root, num, overrides, variants, summary=None, ran=None):
    d = root / str(num)
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"variants": variants}, sort_keys=False))
    if summary is not None:
        summary.to_csv(d / "summary.csv", index=False)
        (d / "config.yaml").write_text(yaml.safe_dump(ran))
        (d / "done.json").write_text('{"config_sha256": "x", "objective": null}')


def test_a_variant_crossed_with_a_load_draws_a_curve_per_variant(tmp_path):
    from sim.report.sweep import other_keys, x_key

    variants = {"a": {GPU: "H100", REPLICAS: 4}, "b": {GPU: "B200", REPLICAS: 1}}
    rows = pd.DataFrame({"setup": ["dedicated"] * 2, "tenant": ["chat", "__all__"],
                         "requests": [10, 10]})
    num = 0
    for name, gpu, replicas in (("a", "H100", 4), ("b", "B200", 1)):
        for rate in (2, 8):
            ran = {"deployments": {"llama31-8b": {"gpu": gpu}},
                   "dedicated": {"replicas": {"llama31-8b": 5 if num == 0 else replicas}}}
            done = num != 3  # the last job did not finish: the declared values stand
            _job(tmp_path, num, [f"variant={name}", f"rate={rate}"], variants,
                 rows if done else None, ran)
            num += 1
    sj = collect(tmp_path)
    assert sj.paired == [GPU, REPLICAS]
    assert list(sj.table.columns[:5]) == ["job", "variant", GPU, REPLICAS, "rate"]
    got = sj.table[["job", "variant", GPU, REPLICAS, "rate"]].drop_duplicates()
    # job 0 ran with 5 replicas (a later override): the column says what ran
    assert [tuple(r) for r in got.itertuples(index=False)] == [
        ("0", "a", "H100", 5, 2), ("1", "a", "H100", 4, 8), ("2", "b", "B200", 1, 2)]
    assert list(sj.jobs["state"]) == ["done", "done", "done", "missing"]
    # variant a's jobs ran 5 and 4 replicas: not one setup, so the key splits its curve too
    assert x_key(sj) == "rate" and other_keys(sj, "rate") == ["variant", REPLICAS]


def test_a_load_swept_with_the_shipped_variants_draws_a_curve_per_variant():
    """`-m experiment=sweep_variants variant=a,b tenants.chat.arrival.rate_rps=10,40` kept the
    variant as a categorical x (its ``notes.sweep_x``): no curve per variant, breakeven.csv
    header only, though both variants cross the list price between the loads. A swept
    numeric key now gives the axis. Costs are c/load, a straight line in log-log space, so
    each crosses the $1 list price at load = c: 20 and 30."""
    from types import SimpleNamespace

    from sim.analysis.curves import REFERENCE, breakevens
    from sim.report.sweep import other_keys, x_key

    load = "tenants.chat.arrival.rate_rps"
    table = pd.DataFrame({"variant": ["a", "a", "b", "b"], GPU: ["H100"] * 2 + ["B200"] * 2,
                          load: [10.0, 40.0, 10.0, 40.0], "setup": ["dedicated"] * 4,
                          "tenant": ["__all__"] * 4,
                          "cost_per_mtok_out_usd": [2.0, 0.5, 3.0, 0.75],
                          "list_price_usd_per_mtok_out": [1.0] * 4})
    sj = SimpleNamespace(notes={"sweep_x": "variant"}, table=table, varying=["variant", load],
                         paired=[GPU])
    x = x_key(sj)
    assert x == load and other_keys(sj, x) == ["variant"]
    be = breakevens(table, x, other_keys(sj, x))
    assert list(be["variant"]) == ["a", "b"] and set(be["b"]) == {REFERENCE}
    assert be[load].to_numpy() == pytest.approx([20.0, 30.0])
    # the variants alone, or with a seed swept: still named points
    for varying in (["variant"], ["variant", "seed"]):
        sj = SimpleNamespace(notes={"sweep_x": "variant"}, table=table.assign(seed=[0, 1] * 2),
                             varying=varying, paired=[GPU])
        assert x_key(sj) == "variant"


def test_a_key_the_variant_sets_swept_under_one_variant_is_the_x_axis():
    """`-m experiment=sweep_variants variant=h100_tp1_x4 dedicated.replicas.llama31-8b=1,2`
    drew `variant` as x with one tick, though the jobs ran 1 and 2 replicas: x_key dropped
    every key a variant sets, other_keys only when the variant is swept. With one variant
    the key is a swept quantity: the x axis, its break-even found (cost 2/r, a straight line
    in log-log space, crosses the $1 list price at r = 2)."""
    from types import SimpleNamespace

    from sim.analysis.curves import breakevens
    from sim.report.sweep import other_keys, x_key

    table = pd.DataFrame({"variant": ["a"] * 2, GPU: ["H100"] * 2, REPLICAS: [1, 4],
                          "setup": ["dedicated"] * 2, "tenant": ["__all__"] * 2,
                          "cost_per_mtok_out_usd": [2.0, 0.5],
                          "list_price_usd_per_mtok_out": [1.0] * 2})
    sj = SimpleNamespace(notes={"sweep_x": "variant"}, table=table, varying=[REPLICAS],
                         paired=[GPU, REPLICAS])
    x = x_key(sj)
    assert x == REPLICAS and other_keys(sj, x) == []
    assert breakevens(table, x, other_keys(sj, x))[REPLICAS].to_numpy() == pytest.approx([2.0])
    # the variant swept too: its keys move with it, the variant names points
    sj.varying = ["variant"]
    assert x_key(sj) == "variant" and other_keys(sj, "variant") == []


def test_a_key_the_variants_set_swept_with_them_is_a_curve_so_every_job_is_a_point(tmp_path):
    """`variant=h100_tp1_x4,h200_tp1_x3 dedicated.replicas.llama31-8b=1,2`: 4 jobs, the
    figure showed 2 points (the replicas=2 jobs gone, unsaid): a key a variant sets was
    dropped whenever the variant was swept. Swept within a variant's jobs too, it is a curve
    (line style) over the variant names: 2 curves of 2 points, the 4 jobs' costs."""
    from types import SimpleNamespace

    from sim.report.sweep import other_keys, sweep_figures, x_key

    cost = [0.8, 1.6, 1.1, 2.1]
    table = pd.DataFrame({"job": [0, 1, 2, 3], "variant": ["a", "a", "b", "b"],
                          GPU: ["H100", "H100", "H200", "H200"], REPLICAS: [1, 2, 1, 2],
                          "setup": ["dedicated"] * 4, "tenant": ["__all__"] * 4,
                          "ttft_p99_s": [0.1] * 4, "cost_per_mtok_out_usd": cost})
    sj = SimpleNamespace(notes={"sweep_x": "variant"}, table=table, column_notes=[],
                         varying=["variant", GPU, REPLICAS], paired=[GPU, REPLICAS])
    assert x_key(sj) == "variant" and other_keys(sj, "variant") == [REPLICAS]
    import matplotlib.axes
    drawn = []
    real = matplotlib.axes.Axes.errorbar

    def spy(ax, x, y, *a, **k):
        drawn.append((k.get("label"), list(x), list(y)))
        return real(ax, x, y, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(matplotlib.axes.Axes, "errorbar", spy)
        assert sweep_figures(sj, tmp_path)
    got = [d for d in drawn if max(d[2]) > 0.5]  # the cost figure's (p99 TTFT is 0.1)
    assert sorted(y for _, _, ys in got for y in ys) == sorted(cost)
    assert [(label, xs) for label, xs, _ in got] == [
        ("dedicated (llama31-8b=1)", [0.0, 1.0]), ("dedicated (llama31-8b=2)", [0.0, 1.0])]


def test_a_map_or_list_a_variant_sets_is_its_column_not_nan():
    """A variant setting a map (`serverless.pool: {L40S: {...}}`, to serve a model on L40S
    serverless) left its column empty for every job: pandas took the dict as an index map
    (December 2026, a researcher's GPU-class sweep). The column holds the value as an
    override would write it, which reads back to the value."""
    from sim.sweep.aggregate import with_keys

    pool = {"L40S": {"nodes": 1, "gpus_per_node": 8}}
    s = pd.DataFrame({"job": ["2", "2"], "setup": ["dedicated", "serverless"]})
    out = with_keys(s, ["serverless.pool", "plan.tp", GPU],
                    {"serverless.pool": pool, "plan.tp": [1, 2], GPU: "L40S"})
    assert list(out.columns[:4]) == ["job", "serverless.pool", "plan.tp", GPU]
    assert out["serverless.pool"].notna().all() and out["plan.tp"].notna().all()
    assert all(yaml.safe_load(v) == pool for v in out["serverless.pool"])
    assert all(yaml.safe_load(v) == [1, 2] for v in out["plan.tp"])
    assert list(out[GPU]) == ["L40S", "L40S"]


def test_a_map_a_variant_sets_is_read_back_at_the_keys_it_declares(tmp_path):
    """The job ran with the whole pool (the H100 nodes and every field beside the L40S the
    variant adds); its column holds what the variant declared, as the job ran it."""
    from sim.sweep.aggregate import _variant_values

    (tmp_path / ".hydra").mkdir()
    declared = {"deployments.llama31-8b.gpu": "L40S",
                "serverless.pool": {"L40S": {"nodes": 1, "gpus_per_node": 8}}}
    (tmp_path / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"variants": {"l40s": declared}}))
    ran = {"deployments": {"llama31-8b": {"gpu": "L40S", "tp": 1}},
           "serverless": {"pool": {"H100": {"nodes": 2, "gpus_per_node": 8},
                                   "L40S": {"nodes": 1, "gpus_per_node": 8, "dram_cache_gb": 1000.0}}}}
    got = _variant_values(tmp_path, {"variant": "l40s"}, ran)
    assert got == declared
    assert type(got["serverless.pool"]["L40S"]) is dict


def test_a_variant_key_the_command_line_sets_again_is_said_either_way():
    """A variant's key also on the command line with another value: one of the two values
    was dropped unsaid (twenty-third sweep). Later overrides win; the note says which."""
    from sim.config.variants import replaced_notes

    base = ["experiment=sweep_variants"]
    after = [*base, "variant=b200_tp2_x1", f"{TP}=4"]
    assert replaced_notes(sim.compose(after), after) == [
        f"variant 'b200_tp2_x1' sets {TP}=2; {TP}=4, given after it, replaces it"]
    before = [*base, f"{TP}=4", "variant=b200_tp2_x1"]
    assert replaced_notes(sim.compose(before), before) == [
        f"variant 'b200_tp2_x1' sets {TP}=2, which replaces {TP}=4 given before it"]
    same = [*base, "variant=b200_tp2_x1", f"{TP}=2", f"{REPLICAS}=1"]  # the variant's values
    assert replaced_notes(sim.compose(same), same) == []
    other = [*base, "variant=b200_tp2_x1", "horizon_s=5"]  # a key the variant does not set
    assert replaced_notes(sim.compose(other), other) == []


def test_a_sweep_experiment_run_with_its_swept_key_given_does_not_say_base_values():
    """`experiment=sweep_variants variant=b200_tp2_x1` ran the variant but said `without -m
    one job runs with the base values`; a swept key the command line sets is not named."""
    from sim.config.variants import unswept_note

    assert unswept_note(["variant"], ["experiment=sweep_variants", "variant=b200_tp2_x1"]) is None
    assert unswept_note(["variant", "seed"], ["variant=b"]) == (
        "note: this config defines a sweep over seed; without -m one job runs with the base "
        "values (add -m to sweep)")
    assert "over variant;" in unswept_note(["variant"], ["~variant", "horizon_s=5"])


def test_a_replaced_variant_key_is_said_in_the_run_files(tmp_path, monkeypatch, capsys):
    """The note above reached the console only; report.md and done.json now say it too."""
    import json

    from sim.__main__ import main

    monkeypatch.setattr(sys, "argv", ["sim", "experiment=sweep_variants", "variant=b200_tp2_x1",
                                      f"{TP}=4", "horizon_s=20", f"hydra.run.dir={tmp_path / 'out'}",
                                      "output.plots=false", "output.progress=false"])
    main()
    note = f"variant 'b200_tp2_x1' sets {TP}=2; {TP}=4, given after it, replaces it"
    assert note in (tmp_path / "out" / "report.md").read_text()
    assert note in json.dumps(json.loads((tmp_path / "out" / "done.json").read_text()))
