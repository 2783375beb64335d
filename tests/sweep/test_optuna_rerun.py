"""An Optuna study: its trials repeating a point are said and drawn once (the sweep drew no
figure, "several rows a setup", sim/analysis/curves.py not_one_curve). Re-run in its folder (every trial finished, read back, not recomputed)
returns the values its trials computed, to the last bit (sim/__main__.py _objective): its
trials' objectives were computed again from summary.csv read back (9 significant digits), and
the study's best_value changed (0.1716988030063487, then 0.171698803)."""

import csv
import json
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

ARGS = ["-m", "experiment=optimize", "horizon_s=10", "hydra.sweeper.n_trials=12",
        "output.plots=false"]


def _study(folder):
    p = subprocess.run([sys.executable, "-m", "sim", *ARGS, f"hydra.sweep.dir={folder}"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout, (folder / "optimization_results.yaml").read_bytes()


def test_a_rerun_study_returns_the_values_its_trials_computed(tmp_path):
    folder = tmp_path / "opt"
    out, first = _study(folder)
    # the values the trials computed, as each wrote them in its done.json as it finished
    computed = [json.loads((d / "done.json").read_text())["objective"] for d in folder.glob("[0-9]*")]
    assert len(computed) == 12
    assert yaml.safe_load(first)["best_value"] == min(computed)
    # trials of the same overrides (TPE asks the two of a batch before either's result): each
    # named in summary.md, the figures drawn all the same
    seen, repeats = {}, []
    with open(folder / "jobs.csv", newline="") as f:
        for r in csv.DictReader(f):
            if r["overrides"] in seen:
                repeats.append((r["job"], seen[r["overrides"]]))
            seen.setdefault(r["overrides"], r["job"])
    assert repeats  # seed 0 repeats trial 10 as 11; without a repeat this checks nothing
    md = (folder / "summary.md").read_text()
    for job, earlier in repeats:
        assert f"- job {job}: the overrides of job {earlier} again" in md
    assert "several rows a setup" not in md + out
    assert (folder / "plots" / "cost_vs_x.png").is_file()
    out, again = _study(folder)
    assert out.count("already finished") == 12, out[-3000:]
    assert again == first


def test_the_search_space_is_the_one_the_study_readme_describes():
    """conf/hydra/sweeper/optimize.yaml, read as the Optuna sweeper reads it, spans the 1,800
    points experiments/optimize/README.md counts, replicas 1..5 as its check by exhaustion
    (range(1, 6) became IntUniformDistribution(1, 6): trials of 6 replicas, 2,160 points)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra_plugins.hydra_optuna_sweeper._impl import (
        create_optuna_distribution_from_override,
    )
    from optuna.distributions import CategoricalDistribution

    from sim.paths import PROJECT_ROOT

    params = yaml.safe_load((PROJECT_ROOT / "conf/hydra/sweeper/optimize.yaml").read_text())["params"]
    parser = OverridesParser.create()
    values = {}
    for key, spec in params.items():
        d = create_optuna_distribution_from_override(parser.parse_override(f"{key}={spec}"))
        values[key] = (list(d.choices) if isinstance(d, CategoricalDistribution)
                       else list(range(d.low, d.high + 1, d.step)))  # Optuna's ends inclusive
    assert values["dedicated.replicas.llama31-8b"] == [1, 2, 3, 4, 5]
    size = 1
    for v in values.values():
        size *= len(v)
    readme = (PROJECT_ROOT / "experiments/optimize/README.md").read_text()
    assert f"a space of {size:,} points" in readme.replace("\n", " ")
    assert "dedicated.replicas.llama31-8b=1,2,3,4,5 " in readme
