"""The simulate job folding each run's end while it goes (sim/simulation/streamed.py):
with ``output.requests=none`` and ``output.percentiles=sketch`` the request log is sealed
and freed block by block, and every file the job writes is the one the same config writes
with the log kept whole (``output.requests=full``), but the per-token costs, billed from
token sums (equal to rounding). A run that something reads after it ends keeps its log
whole, and says why."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config import compose
from sim.simulation.simulate import simulate, simulate_setups
from sim.simulation.streamed import Streamed, stream_folds

SKETCH = ["output.percentiles=sketch", "output.plots=false", "output.progress=false"]
CASES = {
    # three setups, a shared pool and per-token billing, spillover, warm-up rows
    "hybrid": ["experiment=hybrid", "metrics.warmup_s=60", "horizon_s=900"],
    # overloaded: queue_full rejections, the stability warning, slow requests in signals
    "overload": ["horizon_s=180", "drain_s=5", "tenants.chat.arrival.rate_rps=40",
                 "dedicated.max_queue=20", "signals.slow_ttft_s=0.5"],
    # requests beyond their model's context rejected on arrival, unfinished at the end
    "context": ["horizon_s=60", "drain_s=0", "tenants.chat.arrival.rate_rps=5",
                "setups=[serverless,dedicated]", "workload.overlength=reject",
                "tenants.chat.input={kind: lognormal, mean: 60000, cv: 1.0, max: 200000}"],
}


def _files(overrides, tmp_path, name):
    res = sim.run(overrides, output_dir=tmp_path / name)
    return res, {f.name: f.read_bytes() for f in (tmp_path / name).glob("*.csv")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_run_folded_while_it_goes_writes_what_the_whole_log_gives(case, tmp_path):
    base = SKETCH + CASES[case]
    whole, want = _files(base + ["output.requests=full", "output.parquet=true"], tmp_path, "w")
    folded, got = _files(base + ["output.requests=none"], tmp_path, "f")
    assert folded.notes == whole.notes
    assert set(got) == set(want)
    for name in sorted(set(want) - {"summary.csv"}):
        assert got[name] == want[name], name
    a, b = (pd.read_csv(tmp_path / d / "summary.csv") for d in ("w", "f"))
    usd = [c for c in a.columns if c.endswith("_usd")]
    pd.testing.assert_frame_equal(b.drop(columns=usd), a.drop(columns=usd), check_exact=True)
    for c in usd:
        np.testing.assert_allclose(b[c], a[c], rtol=1e-12, atol=0, err_msg=c)
    assert len(folded.requests) == 0


def test_the_runs_are_folded_and_their_logs_given_back():
    cfg = compose(SKETCH + CASES["overload"] + ["output.requests=none"])
    notes: list[str] = []
    workload, runs, catalog = simulate_setups(cfg, fold=stream_folds(cfg, notes))
    assert notes == [] and all(isinstance(r.folded, Streamed) for r in runs)
    make = stream_folds(cfg, notes)(workload, catalog, ["dedicated"])
    small = simulate(cfg, workload, "dedicated", fold=make, block=512)  # 10 blocks or more
    assert len(workload) > 10 * 512 and isinstance(small.folded, Streamed)
    # the sealed blocks read as zeros: their pages were given back
    assert not small.log.finish_s[:4096].any()
    pd.testing.assert_frame_equal(small.folded.summary(), runs[0].folded.summary())


@pytest.mark.parametrize("extra,why", [
    (["tenants.chat.arrival.kind=closed", "tenants.chat.arrival.concurrency=4",
      "tenants.chat.arrival.requests_per_client=3"], "closed-loop clients"),
    (["setups=[hybrid]", "hybrid.shadow_fraction=0.2", "experiment=hybrid"], "shadow table"),
])
def test_a_run_read_after_it_ends_keeps_its_log_whole_and_says_why(extra, why):
    base = SKETCH + ["horizon_s=60"] + extra
    full = sim.run(base + ["output.requests=full"])
    none = sim.run(base + ["output.requests=none"])
    said = [n for n in none.notes if "the request log was kept whole" in n]
    assert len(said) == 1 and why in said[0], none.notes
    assert [n for n in none.notes if n not in said] == full.notes
    pd.testing.assert_frame_equal(none.summary, full.summary, check_exact=True)


def test_without_the_sketch_or_with_rows_kept_nothing_is_folded():
    for extra in (["output.requests=none"], SKETCH + ["output.requests=sample"]):
        cfg = compose(["horizon_s=30"] + extra)
        notes: list[str] = []
        _, runs, _ = simulate_setups(cfg, fold=stream_folds(cfg, notes))
        assert notes == [] and all(r.folded is None for r in runs)
