"""Every experiment composes and runs on a tiny horizon; every sweep it declares composes."""

import pytest
from helpers import ROOT
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from omegaconf import OmegaConf

import sim

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))
# a warm-up inside the tiny horizon: the experiments that set one (60 s) stay valid, and
# every simulate job runs through the windowed summary (other jobs set their own horizons)
TINY = ["horizon_s=20", "drain_s=120", "output.plots=false", "metrics.warmup_s=5"]
TINY_JOB = TINY[:-1]


def _sweep_params(name: str) -> dict:
    """The sweeper's params as ``python -m sim -m experiment=NAME`` composes them (an experiment
    may set them itself or select a sweeper preset that does)."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="sim.conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={name}"],
                      return_hydra_config=True)
    GlobalHydra.instance().clear()
    return dict(OmegaConf.select(cfg, "hydra.sweeper.params") or {})


def _same(got, want: str) -> bool:
    got = getattr(got, "value", got)  # an Enum option
    try:
        return float(got) == float(want)
    except (TypeError, ValueError):
        return str(got) == str(want)


def _tiny(job: str) -> list[str]:
    """Overrides that make a job small: a short horizon; for calibration, its first row."""
    if job == "calibration":  # its rows set their own horizons (and refuse horizon_s)
        from sim.analysis.calibration import load_rows

        return ["output.plots=false", f"calibration.rows=[{load_rows()[0]['id']}]"]
    if job == "plan":  # its search on one GPU class
        return TINY_JOB + ["plan.gpus=[H100]", "plan.precisions=[fp8]", "plan.tp=[1,2]"]
    if job == "claims":  # its checks compose their own scenarios: run one, quickly
        return ["output.plots=false", "claims.quick=true", "claims.only=[h100_monthly_cost]"]
    return TINY if job == "simulate" else TINY_JOB


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_runs_on_a_tiny_horizon(name):
    cfg = sim.compose([f"experiment={name}", *TINY])
    assert cfg.name and cfg.notes.get("question"), "an experiment names itself and its question"
    res = sim.run([f"experiment={name}", *_tiny(str(cfg.job))])
    if cfg.job != "simulate":  # another job: it returns its own tables
        assert len(res.summary) or any(len(t) for t in res.tables.values()), name
        return
    setups = set(res.summary["setup"])
    assert setups, name
    for setup in setups:
        rows = res.summary[res.summary["setup"] == setup]
        assert "__all__" in set(rows["tenant"])
        # something was served, in the measured window or the tiny warm-up (a bursty trace
        # may send nothing between 5 and 20 s)
        served = rows.loc[rows["tenant"].isin(["__all__", "__all__@warmup"]), "completed"].sum()
        assert served > 0, (name, setup)


@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if _sweep_params(n)])
def test_every_swept_value_composes(name):
    """Each value of each swept key is a valid override of the experiment (first and last of
    ranges, intervals and choices), and the figure axis the experiment names is one of them."""
    params = _sweep_params(name)
    parser = OverridesParser.create()
    for key, spec in params.items():
        ov = parser.parse_override(f"{key}={spec}")
        if ov.value_type == ValueType.INTERVAL_SWEEP:  # an Optuna interval: its two ends
            iv = ov.value()
            values = [str(iv.start), str(iv.end)]
        elif ov.is_sweep_override():
            values = list(ov.sweep_string_iterator())
        else:
            values = [ov.get_value_element_as_str()]
        assert values, (name, key)
        for v in {values[0], values[-1]}:
            cfg = sim.compose([f"experiment={name}", f"{key}={v}"])
            assert _same(OmegaConf.select(cfg, key), v), (name, key, v)
    x = sim.compose([f"experiment={name}"]).notes.get("sweep_x")
    if x is not None:
        assert x in params, f"{name}: notes.sweep_x={x} is not swept"


def test_sweeps_pick_up_every_registered_setup():
    from sim.platform import SETUPS

    res = sim.run(["experiment=sweep_load", *TINY])
    assert list(dict.fromkeys(res.summary["setup"])) == list(SETUPS)


def test_main_job_hybrid_writes_every_output_for_the_three_setups(tmp_path):
    res = sim.run(["experiment=hybrid", "horizon_s=120", "drain_s=300"], output_dir=tmp_path)
    assert list(dict.fromkeys(res.summary["setup"])) == ["serverless", "dedicated", "hybrid"]
    for f in ("summary.csv", "requests.parquet", "report.md", "plots/ttft_cdf.png"):
        assert (tmp_path / f).is_file(), f
    tenants = {"chat", "assistant", "coder", "summarize", "__all__", "__background__"}
    assert tenants <= set(res.summary["tenant"])
    # the hybrid serves chat on its reserved replica (or spills it), the rest on the pool
    hy = res.requests[res.requests["setup"] == "hybrid"]
    chat = hy["tenant"] == "chat"
    assert set(hy.loc[chat & ~hy["spilled"], "tier"]) == {"dedicated"}
    assert set(hy.loc[~chat, "tier"]) == {"serverless"}


@pytest.mark.parametrize("script", ["platform", "platform_scaling", "sweep_scale"])
def test_a_study_script_help_gives_its_whole_first_paragraph(script):
    """``--help`` took the docstring's first line only: "...one hour: 200" for the platform
    study. It gives the first paragraph, whose last word is checked against the file."""
    import subprocess
    import sys
    path = ROOT / "experiments" / script / "run.py"
    first = path.read_text().split('"""')[1].split("\n\n")[0]
    out = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True,
                         timeout=120, cwd=ROOT).stdout
    assert " ".join(out.split()).count(" ".join(first.split()[-3:])) == 1


@pytest.mark.slow
def test_a_sweep_experiment_run_without_m_says_it_did_not_sweep(tmp_path):
    """`experiment=sweep_cv` without `-m` runs one job on the base values; it says so rather
    than leaving the sweep's values unread in silence. A config with no sweep says nothing."""
    import subprocess
    import sys

    def out(*args):
        r = subprocess.run([sys.executable, "-m", "sim", *args, "horizon_s=150",
                            "output.plots=false", f"hydra.run.dir={tmp_path / str(len(args))}"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    assert ("note: this config defines a sweep over tenants.chat.arrival.cv; without -m one "
            "job runs with the base values") in out("experiment=sweep_cv")
    assert "defines a sweep" not in out()
