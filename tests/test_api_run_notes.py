"""sim.run against the command line: its folder's errors, and the run's notes whether its
files are written or not (the twenty-first sweep's API findings)."""

import errno
import os

import pytest
from helpers.cli import cli

import sim

FAST = ["horizon_s=5", "output.plots=false", "output.progress=false"]
TOO_LONG = os.strerror(errno.ENAMETOOLONG)  # the system's own words: "File name too long"


@pytest.mark.parametrize("name", ["x" * 300, "made/" + "y" * 300, "made/z/" + "y" * 300 + "/w"])
def test_an_over_long_output_dir_is_the_command_lines_one_line(tmp_path, name):
    """Path.is_file raised OSError ENAMETOOLONG, a traceback; a missing parent was made before
    the long name under it failed. Now the command line's line, nothing made."""
    os.chdir(tmp_path)
    with pytest.raises(sim.InputError) as e:
        sim.run(FAST, output_dir=name)
    assert str(e.value) == f"{name}: cannot write the run folder ({TOO_LONG})"
    assert list(tmp_path.iterdir()) == []


def test_the_api_and_the_command_line_say_the_same_line(tmp_path):
    name = "x" * 300
    r = cli("horizon_s=2", f"hydra.run.dir={name}", cwd=tmp_path)
    assert r.returncode == 2
    with pytest.raises(sim.InputError) as e:
        sim.run(["horizon_s=2"], output_dir=tmp_path / name)
    assert r.stderr.strip() == f"error: {name}: cannot write the run folder ({TOO_LONG})"
    assert str(e.value) == f"{tmp_path / name}: cannot write the run folder ({TOO_LONG})"


def test_an_output_dir_through_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(sim.InputError, match=r"f/sub: cannot write the run folder \(Not a directory\)"):
        sim.run(FAST, output_dir=tmp_path / "f" / "sub")


VARIANT = ["experiment=sweep_variants", "variant=b200_tp2_x1", "dedicated.replicas.llama31-8b=2",
           *FAST]
REPLACED = ("variant 'b200_tp2_x1' sets dedicated.replicas.llama31-8b=1; "
            "dedicated.replicas.llama31-8b=2, given after it, replaces it")


def test_a_replaced_variant_value_is_a_note_without_output_dir_too(tmp_path):
    """The note was added by the writing of the files alone: [] without output_dir."""
    without = sim.run(VARIANT).notes
    written = sim.run(VARIANT, output_dir=tmp_path / "o").notes
    assert REPLACED in without
    assert without == written
    assert (tmp_path / "o" / "report.md").read_text().count(REPLACED) == 1


def test_the_command_line_prints_a_replaced_variant_value_once(tmp_path):
    r = cli("experiment=sweep_variants", "variant=b200_tp2_x1", "deployments.llama31-8b.tp=4",
            *FAST, f"hydra.run.dir={tmp_path / 'o'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("variant 'b200_tp2_x1'") == 1  # 2: printed before the run and after


UNSWEPT = ("this config defines a sweep over tenants.chat.arrival.cv; without -m one job runs "
           "with the base values")


def test_a_sweep_experiment_run_by_the_api_says_it_runs_its_base_values(tmp_path):
    """Said by the command line alone (printed), neither in res.notes nor in report.md."""
    args = ["experiment=sweep_cv", "metrics.warmup_s=0", *FAST]
    assert any(n.startswith(UNSWEPT) for n in sim.run(args).notes)
    res = sim.run(args, output_dir=tmp_path / "o")
    assert any(n.startswith(UNSWEPT) for n in res.notes)
    assert UNSWEPT in (tmp_path / "o" / "report.md").read_text()
    r = cli(*args, f"hydra.run.dir={tmp_path / 'c'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count(UNSWEPT) == 1 and UNSWEPT in (tmp_path / "c" / "report.md").read_text()
    assert not any("sweep" in n or "hydra" in n for n in sim.run(FAST).notes)  # a plain run


def test_an_experiments_hydra_section_is_said_unread_by_the_api(tmp_path):
    """hydra.run.dir and hydra.job.chdir in an experiment file: ignored by sim.run, unsaid
    (the same keys as overrides are refused)."""
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "h.yaml").write_text(
        "# @package _global_\ndefaults: [default, _self_]\nhydra:\n  run: {dir: somewhere}\n  job: {chdir: true}\n")
    res = sim.run([f"hydra.searchpath=[file://{tmp_path}]", "experiment=h", *FAST])
    said = [n for n in res.notes if "hydra: section" in n]
    assert len(said) == 1 and "hydra.job.chdir, hydra.run.dir," in said[0], res.notes


def test_the_callers_numpy_print_options_change_no_output_byte(tmp_path):
    """matplotlib hashes str() of numpy values into an SVG's clip-path ids: legacy="1.25"
    print options changed plots/timeline.svg and ttft_cdf.svg."""
    import numpy as np

    args = ["horizon_s=5", "output.progress=false"]
    sim.run(args, output_dir=tmp_path / "a")
    with np.printoptions(legacy="1.25", precision=3):
        sim.run(args, output_dir=tmp_path / "b")
        assert np.get_printoptions()["precision"] == 3  # the caller's, back
    svgs = sorted(p.name for p in (tmp_path / "a" / "plots").glob("*.svg"))
    assert "timeline.svg" in svgs
    for name in svgs:
        assert (tmp_path / "a" / "plots" / name).read_bytes() == (
            tmp_path / "b" / "plots" / name).read_bytes(), name
