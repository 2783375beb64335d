"""report.md's header names only the settings the job reads: ``experiment=calibration``
refuses ``seed``, ``horizon_s``, ``engine`` and ``setups`` as not read, yet its header said
"Job `calibration`, seed 0, horizon 600 s, engine `fluid`, setups ['dedicated']" until
December 2026."""

import pytest

import sim

NAMED = {"seed": "seed 0", "horizon_s": "horizon ", "engine": "engine `", "setups": "setups "}
GIVEN = {"seed": "seed=1", "horizon_s": "horizon_s=10", "engine": "engine=step",
         "setups": "setups=[serverless]"}
ROWS = "calibration.rows=[trt10-8b-h100-1k1k]"


def _refused(override) -> bool:
    """The job refuses ``override`` as not read (before any work; else it runs, unwritten)."""
    try:
        sim.run(["experiment=calibration", ROWS, override, "output.progress=false"])
    except sim.InputError as e:
        return "not read by the calibration job" in str(e)
    return False


def test_the_calibration_header_names_no_setting_the_job_refuses(tmp_path):
    sim.run(["experiment=calibration", ROWS, "output.plots=false", "output.progress=false"],
            output_dir=tmp_path)
    header = [ln for ln in (tmp_path / "report.md").read_text().splitlines()
              if ln.startswith("Job `")]
    assert header == ["Job `calibration`."]
    for key, text in NAMED.items():  # the invariant: named in the header only if read
        assert _refused(GIVEN[key]) == (text not in header[0]), key


@pytest.mark.parametrize("key", list(GIVEN))
def test_each_setting_left_out_is_one_the_job_refuses(key):
    assert _refused(GIVEN[key])


def test_the_claims_header_names_its_seed_and_engine_not_a_horizon(tmp_path):
    """The claims job takes its runs' seed and engine (every scenario does) but not a horizon
    nor setups, which it refuses as not read: its header said "horizon 600 s, ... setups
    ['dedicated']" until December 2026."""
    sim.run(["experiment=claims", "claims.quick=true", "claims.only=[uptime_sla]",
             "output.plots=false", "output.progress=false"], output_dir=tmp_path)
    header = [ln for ln in (tmp_path / "report.md").read_text().splitlines()
              if ln.startswith("Job `")]
    assert len(header) == 1 and "seed 0" in header[0] and "engine `fluid`" in header[0]
    assert "horizon" not in header[0] and "setups" not in header[0]
    with pytest.raises(sim.InputError, match="not read by the claims job"):
        sim.run(["experiment=claims", "horizon_s=10"])
