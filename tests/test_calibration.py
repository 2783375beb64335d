"""The performance model reproduces every published figure of CALIBRATION.md §3 within
25 %, with one set of efficiency factors per GPU class and precision (the catalog's).

The rows and their sources are in conf/calibration_set.yaml; the factors were fitted by
experiments/calibration/fit.py on the offline and fixed-concurrency rows, so the
server-scenario rows are predictions of rows the fit never saw.
"""

import pytest

from sim.calibration import calibration_table, load_rows


@pytest.fixture(scope="module")
def table():
    return calibration_table(load_rows())


def test_every_published_figure_within_25_percent(table):
    bad = table[~table["within_tolerance"]]
    assert bad.empty, "\n" + bad[["row", "metric", "published", "predicted", "error_pct"]].to_string()


def test_calibration_covers_the_whole_table(table):
    # CAL §3: 10 TensorRT-LLM v1.0 + 5 v0.13 + 12 MLPerf + 15 NIM 70B + 6 NIM 8B figures
    assert len(table) == 10 + 5 + 12 + 15 + 6
    assert set(table["gpu"]) == {"H100", "H200", "B200", "A100", "L40S", "MI300X"}


def test_the_factors_are_shared_not_per_row():
    """Rows carry deployment facts (GPU, precision, batch limits) but no efficiency factor."""
    for row in load_rows():
        assert not any(k in row for k in ("efficiency", "memory", "compute", "runtime_speedup"))
