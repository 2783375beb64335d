"""The burst and failures experiments run end to end on short horizons and write their files."""

import pytest

import sim


@pytest.mark.parametrize("name,overrides,figure", [
    ("burst", ["horizon_s=420"], "burst_timeline"),
    ("failures", ["horizon_s=240", "dedicated.failures.mtbf_gpu_hours=0.05"], "failures_timeline"),
])
def test_experiment_writes_its_tables_and_figure(tmp_path, name, overrides, figure):
    res = sim.run([f"experiment={name}", *overrides], output_dir=tmp_path)
    assert (tmp_path / "plots" / f"{figure}.png").stat().st_size > 0
    assert f"plots/{figure}.png" in (tmp_path / "report.md").read_text()
    table = "comparison" if name == "burst" else "availability"
    assert (tmp_path / f"{table}.csv").stat().st_size > 0
    assert len(res.tables[table]) >= 2
    # every variant served or explicitly failed every request
    for _, s in res.summary.query("tenant == '__all__'").iterrows():
        assert s["completed"] + s["rejected"] + s["failed"] == s["requests"]
