"""The calibration job simulates the run's catalog: the scenarios it composes itself (the
published rows, the TP latency and saturated tables) took the shipped catalog whatever the
run's, unsaid (the eleventh hostile-input sweep)."""

import pytest

import sim
from sim.analysis.calibration import load_rows, offline
from sim.jobs.calibration import catalog_overrides


def test_the_runs_catalog_reaches_the_scenarios_the_job_composes():
    cfg = sim.compose(["experiment=calibration", "catalog.gpus.H100.bandwidth_tbps=1.0",
                       "~catalog.gpus.L40S"])
    extra = catalog_overrides(cfg)
    assert extra == ["catalog.gpus.H100.bandwidth_tbps=1.0", "~catalog.gpus.L40S"]
    assert catalog_overrides(sim.compose(["experiment=calibration"])) == []
    row = next(r for r in load_rows() if r["id"] == "trt10-8b-h100-1k1k")
    # a third of the memory bandwidth: decode-bound output throughput falls
    assert offline(row, extra=extra)["output_tok_s"] < 0.8 * offline(row)["output_tok_s"]


def test_a_catalog_no_row_can_finish_on_is_refused_naming_its_gpu():
    """An all-reduce at 1e-300 of the link rate: no request of a TP2 row completes (a
    RuntimeError traceback before)."""
    row = next(r for r in load_rows() if r["id"] == "trt10-70b-h100tp2-1k1k")
    with pytest.raises(sim.InputError, match=r"catalog.gpus.H100.*0 of 3,000 requests"):
        offline(row, extra=["catalog.gpus.H100.allreduce_efficiency=1e-300"])
