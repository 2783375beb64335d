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


def test_burst_and_failures_are_deterministic(tmp_path):
    import hashlib

    args = ["horizon_s=200", "seed=5", "tenants.chat.arrival.rate_rps=25",
            "dedicated.burst.enabled=true", "dedicated.burst.need_node=false",
            "dedicated.failures.mode=random", "dedicated.failures.mtbf_gpu_hours=0.01",
            "dedicated.failures.mttr_s=20", "output.plots=false", "output.report=false"]
    digests = []
    for d in ("a", "b"):
        res = sim.run(args, output_dir=tmp_path / d)
        assert res.tables["dedicated_availability"]["failures"].iloc[0] > 0
        assert len(res.tables["dedicated_burst_replicas"]) > 0
        digests.append({f: hashlib.sha256((tmp_path / d / f).read_bytes()).hexdigest()
                        for f in ("summary.csv", "requests.parquet", "dedicated_burst_replicas.csv")})
    assert digests[0] == digests[1]


def test_the_burst_study_shows_what_burst_buys():
    """The whole experiment: the spike saturates the reserved replicas, and burst capacity
    must cut p99 TTFT at least in half, at a higher bill."""
    res = sim.run(["experiment=burst", "output.plots=false", "output.report=false"])
    c = res.tables["comparison"].set_index("setup")
    without, with_burst = c.loc["dedicated"], c.loc["dedicated+burst"]
    assert with_burst["burst_replicas"] > 0 and with_burst["burst_requests"] > 0
    assert with_burst["ttft_p99_s"] < 0.5 * without["ttft_p99_s"]
    assert with_burst["slo_attainment"] > without["slo_attainment"] + 0.2
    assert with_burst["cost_usd"] > without["cost_usd"]
