"""What ``python -m sim.fit`` writes reproduces the fit it printed, and ``--config`` keys
are refused when a flag sets them too, when given twice, or when the fit never reads them.

Until December 2026 ``overrides.txt`` and ``catalog/fitted.yaml`` held the factors to 4
significant digits and none of the ``--config catalog.*`` values the fit used, while the
errors printed and ``residuals.csv`` were those of the unrounded factors on the changed
catalog (a fit with ``bandwidth_tbps=4.0`` printed TPOT errors of 0.0 / 0.1 %; a run with the
written values gave 10 / 22 %). The check here replays the log with the written values
through the engine driven directly (tests/helpers/engine.py), not sim.fit's replay.
"""

import shlex

import numpy as np
import pandas as pd
import pytest
from helpers.cli import assert_one_clear_line
from helpers.engine import make_perf, run_requests
from helpers.fitlog import DEPLOY, perturbed_truth, write_log_csv
from omegaconf import OmegaConf

import sim
from sim.config.variants import format_value
from sim.fit.__main__ import main
from sim.simulation.build import build_catalog

M = "deployments.llama31-8b"


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    """Twelve requests of varied prompts and outputs from the engine on the perturbed H100."""
    dep, perf, _ = perturbed_truth(build_catalog(sim.compose([])))
    rng = np.random.default_rng(3)
    reqs, t = [], 0.0
    for i in range(12):
        t += rng.exponential(0.3)
        reqs.append((i, t, int(rng.integers(100, 4000)), int(rng.integers(20, 200))))
    out, _ = run_requests("fluid", dep, perf, reqs)
    path = tmp_path_factory.mktemp("log") / "log.csv"
    write_log_csv(path, reqs, out)
    return path


def _replayed(catalog, log):
    """TTFT and TPOT of each logged request on ``catalog``'s H100 FP8, the engine driven
    directly at the logged send times."""
    frame = pd.read_csv(log)
    dep, perf = make_perf(catalog)
    reqs = [(i, float(r.arrival_s), int(r.input_tokens), int(r.output_tokens))
            for i, r in frame.iterrows()]
    out, _ = run_requests("fluid", dep, perf, reqs)
    ttft = np.array([out[i][0] - t for i, t, _, _ in reqs])
    tpot = np.array([(out[i][1] - out[i][0]) / (n - 1) for i, _, _, n in reqs])
    return ttft, tpot


def _each_written_file(out, log, tmp_path, before=(), after=()):
    """``overrides.txt``'s overrides and the ``Use:`` line's, each with the logged requests
    served through them as a trace (``before`` and ``after`` them), and residuals.csv: a run
    with either file must give its fitted columns."""
    res = pd.read_csv(out / "residuals.csv")
    frame = pd.read_csv(log)
    trace = tmp_path / "trace.csv"
    pd.DataFrame({"timestamp": frame.arrival_s, "input_tokens": frame.input_tokens,
                  "output_tokens": frame.output_tokens}).to_csv(trace, index=False)
    use = (out / "catalog" / "fitted.yaml").read_text().split("# Use: python -m sim ")[1]
    for overrides in ((out / "overrides.txt").read_text().split(),
                      shlex.split(use.split("\n")[0])):
        reqs = sim.run([*before, *overrides, *after, f"tenants.chat.arrival={{kind: trace, trace: "
                        f"{{path: {trace}, format: csv}}}}", "tenants.chat.input={kind: trace}",
                        "tenants.chat.output={kind: trace}", "horizon_s=60", "drain_s=300"]
                       ).requests.sort_values("request_id")
        np.testing.assert_allclose(reqs.ttft_s, res["ttft_fitted_s"], rtol=1e-9)
        np.testing.assert_allclose(reqs.tpot_s, res["tpot_fitted_s"], rtol=1e-9)
        yield overrides


@pytest.mark.parametrize("config", [[], ["catalog.gpus.H100.bandwidth_tbps=4.0"],
                                    ["catalog.models.llama31-8b.layers=30",
                                     "catalog.gpus.H100={seq_overhead_s: 0.001, memory_gb: 90}"]])
def test_the_written_values_reproduce_the_residuals(log, tmp_path, config):
    out = tmp_path / "fit"
    main(["--requests", str(log), *DEPLOY, "--max-evaluations", "12", "--out", str(out),
          *[x for c in config for x in ("--config", c)]])
    res = pd.read_csv(out / "residuals.csv")
    overrides = (out / "overrides.txt").read_text().split()
    for overrides in (overrides, [f"hydra.searchpath=[file://{out.resolve()}]", "catalog=fitted"]):
        ttft, tpot = _replayed(build_catalog(sim.compose(overrides)), log)
        np.testing.assert_allclose(ttft, res["ttft_fitted_s"], rtol=1e-9)
        np.testing.assert_allclose(tpot, res["tpot_fitted_s"], rtol=1e-9)


def test_a_run_with_the_written_files_reproduces_the_deployment_fitted(log, tmp_path):
    """The deployment's flags and ``--config deployments.*`` keys, the engine and the replicas
    are written too: ``python -m sim`` with ``overrides.txt``, or with the ``Use:`` line of
    ``catalog/fitted.yaml``, serving the logged requests as a trace gives residuals.csv's
    fitted columns (until December 2026 neither held them: a fit at ``--max-num-seqs 64`` and
    a run with its files differed by TPOT p50 124 %)."""
    out = tmp_path / "fit"
    main(["--requests", str(log), *DEPLOY[:-4], "--max-num-seqs", "2", "--engine", "step",
          "--replicas", "2", "--config", M + ".max_batched_tokens=1024",
          "--max-evaluations", "12", "--out", str(out)])
    for overrides in _each_written_file(out, log, tmp_path):
        assert {"engine=step", "dedicated.replicas.llama31-8b=2"} <= set(overrides)
        dep = next(o for o in overrides if o.startswith(M + "="))
        assert "max_num_seqs:2," in dep and "max_batched_tokens:1024," in dep


@pytest.mark.parametrize("model, flags, setting", [
    ("qwen3-32b", ["--tp", "1"], ["tenants.chat.model=qwen3-32b"]),
    ("llama33-70b", ["--tp", "2"], ["experiment=breakeven", "job=simulate"]),
])
def test_the_written_deployment_is_whole(log, tmp_path, model, flags, setting):
    """The deployment is written whole, as one ``deployments.<m>={...}``: until December 2026
    it was written field by field, which ``python -m sim`` refuses for a model the default
    experiment does not deploy (qwen3-32b: "does not exist yet"), and which under an experiment
    deploying the model with other keys (breakeven: kv_dtype fp8, gpu_memory_utilization 0.95)
    kept those keys, TTFT up to 40.7 % off the fit's."""
    out = tmp_path / "fit"
    main(["--requests", str(log), "--model", model, "--gpu", "H100", "--precision", "fp8",
          *flags, "--max-evaluations", "4", "--out", str(out)])
    for overrides in _each_written_file(out, log, tmp_path, before=setting):
        assert [o.split("=")[0] for o in overrides if o.startswith("deployments")] == \
            [f"deployments.{model}"]


def test_the_use_line_works_for_any_out_folder(log, tmp_path):
    """An ``--out`` folder with a space, a comma and a quote: the ``Use:`` line was written
    ``'hydra.searchpath=[file:///.../a b,c]'`` ("hydra.searchpath: .../a b is not available";
    December 2026); now it composes the fitted catalog, whose factors are those written in
    overrides.txt."""
    out = tmp_path / "a b,c'd"
    main(["--requests", str(log), *DEPLOY, "--max-evaluations", "2", "--out", str(out)])
    use = (out / "catalog" / "fitted.yaml").read_text().split("# Use: python -m sim ")[1]
    fitted = build_catalog(sim.compose(shlex.split(use.split("\n")[0]))).gpus["H100"]
    written = dict(o.split("=", 1) for o in (out / "overrides.txt").read_text().split())
    assert fitted.seq_overhead_s == float(written["catalog.gpus.H100.seq_overhead_s"])
    assert fitted.efficiency["fp8"].memory == float(written["catalog.gpus.H100.efficiency.fp8.memory"])


def test_a_model_and_a_gpu_not_in_the_catalog_are_fitted_and_written_whole(log, tmp_path):
    """``--config 'catalog.models={mym: {...}}'`` was refused for its missing ``name`` and,
    given one, for a display name "not read by sim.fit" (December 2026): a new entry must
    have one, and a new GPU its price. Its keys were written field by field, which ``python -m sim`` refuses for an
    entry that does not exist; now the new model and GPU (copies of llama31-8b and H100) are
    written whole, and a run with either file reproduces residuals.csv's fitted columns."""
    base = sim.compose([]).catalog
    model, gpu = ({**{k: v for k, v in OmegaConf.to_container(spec, enum_to_str=True).items()
                      if k != "sources"}, "name": name}  # citations, with spaces
                  for spec, name in ((base.models["llama31-8b"], "Mine"), (base.gpus["H100"], "MyGPU")))
    out = tmp_path / "fit"
    main(["--requests", str(log), "--model", "mym", "--gpu", "myg", "--precision", "fp8",
          "--tp", "1", "--max-evaluations", "4", "--out", str(out),
          "--config", f"catalog.models={{mym: {format_value(model)}}}",
          "--config", f"catalog.gpus.myg={format_value(gpu)}"])
    assert len(list(_each_written_file(out, log, tmp_path, after=["tenants.chat.model=mym"]))) == 2


def test_a_dotted_model_name_is_refused_in_one_line(log, tmp_path, capsys):
    """``--model my.m`` was read as nested keys (``catalog.models.my.m.kind``: "the
    deployment fitted serves my.m"); catalog keys hold no dot, as the README says."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), "--model", "my.m", "--out", str(tmp_path / "o")])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, "--model must name")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("config, flag, key", [
    (M + "={gpu: A100, precision: bf16}", "--gpu H100", f"{M}.gpu"),
    ("deployments={llama31-8b: {tp: 2}}", "--tp 1", f"{M}.tp"),
    (M + "={max_num_seqs: 64}", "--max-num-seqs 256", f"{M}.max_num_seqs"),
])
def test_a_flag_s_key_set_through_a_map_is_refused(log, tmp_path, capsys, config, flag, key):
    """``--config 'deployments.llama31-8b={gpu: A100, precision: bf16}'`` with ``--gpu H100``
    fitted an A100 at BF16, exit 0 (the dotted spelling alone was caught)."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), *DEPLOY, "--out", str(tmp_path / "o"), "--config", config])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, f"{flag} and --config")
    assert key in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("configs, key", [
    ([f"{M}.max_num_seqs=128", f"{M}.max_num_seqs=64"], f"{M}.max_num_seqs"),
    ([f"{M}.block_size=32", M + "={block_size: 8}"], f"{M}.block_size"),
    (["catalog.gpus.H100.bandwidth_tbps=4", "catalog.gpus.H100.bandwidth_tbps=3"],
     "catalog.gpus.H100.bandwidth_tbps"),
])
def test_a_config_key_given_twice_is_refused(log, tmp_path, capsys, configs, key):
    """The last of two values was fitted, unsaid (max_num_seqs 128 then 64: 64)."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), "--model", "llama31-8b", "--out", str(tmp_path / "o"),
              *[x for c in configs for x in ("--config", c)]])
    assert_one_clear_line(e.value.code, capsys.readouterr().err, f"config key '{key}'")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("config, key", [
    (f"{M}.prefix_caching=false", f"{M}.prefix_caching"),
    (M + "={host_cache_gb: 3}", f"{M}.host_cache_gb"),
])
def test_a_prefix_cache_key_is_refused(log, tmp_path, capsys, config, key):
    """The replay's requests carry no prefix hashes, so a prefix cache never hits: the
    README's own example ``prefix_caching=false`` gave byte-identical residuals."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), *DEPLOY, "--out", str(tmp_path / "o"), "--config", config])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, f"config key '{key}'")
    assert "no prefix hashes" in err


def test_a_deleted_catalog_key_is_refused(log, tmp_path, capsys):
    """The fitted catalog sets keys on the default's: a deletion could not be written."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), *DEPLOY, "--out", str(tmp_path / "o"),
              "--config", "~catalog.gpus.H100.tflops.bf16=989"])
    assert_one_clear_line(e.value.code, capsys.readouterr().err,
                          "config key 'catalog.gpus.H100.tflops.bf16'")


def test_a_gpu_display_name_is_refused_as_unread(log, tmp_path, capsys):
    """``catalog.gpus.H100.name`` changes nothing the fit replays; with a space in it, it was
    also written into overrides.txt, where ``$(cat overrides.txt)`` splits it ("missing
    EQUAL"; December 2026)."""
    with pytest.raises(SystemExit) as e:
        main(["--requests", str(log), *DEPLOY, "--out", str(tmp_path / "o"),
              "--config", "catalog.gpus.H100.name=H100 custom"])
    err = capsys.readouterr().err
    assert_one_clear_line(e.value.code, err, "config key 'catalog.gpus.H100.name'")
    assert "display name" in err
