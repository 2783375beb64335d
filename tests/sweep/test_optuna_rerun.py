"""An Optuna study re-run in its folder (every trial finished, read back, not recomputed)
returns the values its trials computed, to the last bit (sim/__main__.py _objective): its
trials' objectives were computed again from summary.csv read back (9 significant digits), and
the study's best_value changed (0.1716988030063487, then 0.171698803)."""

import json
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")

ARGS = ["-m", "experiment=optimize", "horizon_s=10", "hydra.sweeper.n_trials=4",
        "output.plots=false"]


def _study(folder):
    p = subprocess.run([sys.executable, "-m", "sim", *ARGS, f"hydra.sweep.dir={folder}"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout, (folder / "optimization_results.yaml").read_bytes()


def test_a_rerun_study_returns_the_values_its_trials_computed(tmp_path):
    folder = tmp_path / "opt"
    _, first = _study(folder)
    # the values the trials computed, as each wrote them in its done.json as it finished
    computed = [json.loads((d / "done.json").read_text())["objective"] for d in folder.glob("[0-9]*")]
    assert len(computed) == 4
    assert yaml.safe_load(first)["best_value"] == min(computed)
    out, again = _study(folder)
    assert out.count("already finished") == 4, out[-3000:]
    assert again == first
