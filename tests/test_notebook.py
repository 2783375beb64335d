"""notebooks/report.ipynb executes on a tiny run folder and on a tiny sweep folder."""

import json

import pytest
import yaml
from helpers import ROOT

import sim

pytestmark = pytest.mark.slow  # subprocesses: sweeps, launchers, the notebook

nbformat = pytest.importorskip("nbformat", reason="the notebook test needs '.[test]' (nbformat)")
nbclient = pytest.importorskip("nbclient", reason="the notebook test needs '.[test]' (nbclient)")


def _execute(folder, monkeypatch):
    nb = nbformat.read(ROOT / "notebooks" / "report.ipynb", as_version=4)
    monkeypatch.setenv("SERVESIM_RESULTS", str(folder))
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def test_notebook_reproduces_a_runs_figures(tmp_path, monkeypatch):
    run = tmp_path / "run"
    sim.run(["horizon_s=20", "output.plots=false"], output_dir=run)
    outputs = _execute(run, monkeypatch)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the TTFT CDF and the timeline, redrawn from the files
    text = json.dumps(outputs)
    assert "ttft_cdf" in text and "timeline" in text and "ttft_p99_s" in text
    assert not (run / "plots").exists()  # the results folder was only read


def test_notebook_redraws_pipeline_figures(tmp_path, monkeypatch):
    run = tmp_path / "run"
    sim.run(["experiment=compound", "job=simulate", "setups=[serverless]", "horizon_s=60",
             "output.plots=false"], output_dir=run)
    text = json.dumps(_execute(run, monkeypatch))
    assert "pipeline_waterfall" in text and "pipeline_latency_cdf" in text


def test_notebook_reads_a_sweep_folder(tmp_path, monkeypatch):
    for i, rate in enumerate((2, 6)):
        d = tmp_path / str(i)
        sim.run(["horizon_s=15", "output.plots=false", f"tenants.chat.arrival.rate_rps={rate}"],
                output_dir=d)
        (d / ".hydra").mkdir()
        (d / ".hydra" / "overrides.yaml").write_text(
            yaml.safe_dump([f"tenants.chat.arrival.rate_rps={rate}"]))
    outputs = _execute(tmp_path, monkeypatch)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # p99 TTFT and cost against the swept load


def test_the_documented_command_runs_it_with_a_relative_folder(tmp_path):
    """`SERVESIM_RESULTS=<relative folder> jupyter execute notebooks/report.ipynb`, typed in
    the folder holding the results: the path resolves from there, not from notebooks/, and
    no scratch folder is left in the temporary directory."""
    import os
    import shutil
    import subprocess

    exe = shutil.which("jupyter")
    if exe is None:
        pytest.skip("jupyter is installed by '.[test]'")
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    sim.run(["horizon_s=10", "output.plots=false"], output_dir=work / "myrun")
    env = {**os.environ, "SERVESIM_RESULTS": "myrun", "PWD": str(work), "TMPDIR": str(scratch)}
    p = subprocess.run([exe, "execute", str(ROOT / "notebooks" / "report.ipynb")], cwd=work,
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert not list(scratch.glob("servesim-notebook-*"))
    assert not (work / "myrun" / "plots").exists()
