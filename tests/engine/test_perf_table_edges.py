"""A measured perf table beyond its grid (sim/perf ``TablePerf``): below the smallest count
on an axis the time is that count's; beyond the largest it grows with the edge cell's
slope along that axis, the two growths adding beyond both. Until December 2026 the table
was extrapolated linearly in every direction: a table starting at 10 sequences gave a
negative time at one, clamped to 1e-9 s unsaid (every TPOT 1e-9 s), and one whose prefill
cost per token fell with more sequences turned cheaper beyond both axes."""

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

import sim
from sim.errors import InputError
from sim.perf import MIN_STEP_S, TablePerf

HEAD = "decode_seqs,prefill_tokens,step_time_s\n"


def _table(tmp_path, rows, name="t.csv") -> TablePerf:
    p = tmp_path / name
    p.write_text(HEAD + "".join(f"{d},{q},{t!r}\n" for d, q, t in rows))
    return TablePerf(p, 10**6)


def _at(t, d, p) -> float:
    return t.step_time(d, p, 0.0, 0.0)


def test_below_the_grid_the_smallest_counts_time_is_kept(tmp_path):
    t = _table(tmp_path, [(10, 0, 0.01), (10, 4096, 0.2), (20, 0, 0.03), (20, 4096, 0.22)])
    assert _at(t, 1, 0) == _at(t, 10, 0) == 0.01  # linearly it was 0.01 - 9 x 0.002 < 0
    assert _at(t, 3, 2048) == pytest.approx(_at(t, 10, 2048)) == pytest.approx(0.105)


def test_beyond_both_axes_the_growths_add_and_never_fall(tmp_path):
    # the prefill slope falls with more sequences (0.04 -> 0.03 s per 512 tokens): the edge
    # cell's cross term, extrapolated, made (64, 2048) take 1e-9 s
    t = _table(tmp_path, [(1, 0, 0.01), (1, 512, 0.05), (8, 0, 0.02), (8, 512, 0.05)])
    # from (8, 512): + 24 x 0 (the decode slope at 512 tokens) + 1536 x 0.03/512
    assert _at(t, 32, 2048) == pytest.approx(0.05 + 1536 * 0.03 / 512)
    assert _at(t, 64, 2048) == pytest.approx(_at(t, 32, 2048))


def test_inside_and_beyond_one_axis_it_is_the_bilinear_table_as_before(tmp_path):
    rows = [(d, q, 0.005 + 1e-4 * d + 2e-6 * q + 1e-8 * d * q) for d in (1, 4, 16)
            for q in (0, 256, 1024)]
    t = _table(tmp_path, rows)
    grid = np.array([r[2] for r in rows]).reshape(3, 3)
    old = RegularGridInterpolator(((1, 4, 16), (0, 256, 1024)), grid, bounds_error=False,
                                  fill_value=None)
    for d, q in [(2, 100), (16, 1024), (10, 700), (40, 300), (5, 5000), (1, 1024)]:
        assert _at(t, d, q) == pytest.approx(float(old([[d, q]])[0]), rel=1e-12)


def test_random_monotone_tables_stay_monotone_and_positive_everywhere(tmp_path):
    rng = np.random.default_rng(7)
    for k in range(30):
        ds = np.sort(rng.choice(np.arange(1, 64), size=3, replace=False))
        ps = np.sort(rng.choice(np.arange(0, 8192), size=3, replace=False))
        # non-decreasing along both axes: cumulative sums of non-negative steps
        g = MIN_STEP_S + np.cumsum(np.cumsum(rng.random((3, 3)) * 0.01, axis=0), axis=1)
        t = _table(tmp_path, [(d, q, float(g[i, j])) for i, d in enumerate(ds)
                              for j, q in enumerate(ps)], f"t{k}.csv")
        qd = np.unique(np.r_[0, 1, ds, ds[-1] * 4, ds[0] // 2])
        qp = np.unique(np.r_[0, ps, ps[-1] * 4, ps[0] // 2])
        v = np.array([[_at(t, d, q) for q in qp] for d in qd])
        assert (v >= g.min()).all()
        assert (np.diff(v, axis=0) >= -1e-15).all() and (np.diff(v, axis=1) >= -1e-15).all()


def test_a_step_faster_than_a_microsecond_is_refused_at_its_line(tmp_path):
    with pytest.raises(InputError) as e:
        _table(tmp_path, [(1, 0, 2e-3), (1, 512, 3e-12), (8, 0, 2e-3), (8, 512, 3e-3)])
    assert e.value.line == 3 and "at least 1e-06 s" in str(e.value)


def test_a_table_starting_at_ten_sequences_runs_at_its_measured_speed(tmp_path):
    (tmp_path / "t.csv").write_text(HEAD + "10,0,0.01\n10,4096,0.2\n20,0,0.03\n20,4096,0.22\n")
    dep = "deployments.llama31-8b"
    res = sim.run(["horizon_s=60", "tenants.chat.arrival.rate_rps=0.5", f"{dep}.perf.kind=table",
                   f"{dep}.perf.table_path={tmp_path / 't.csv'}",
                   f"{dep}.perf.kv_capacity_tokens=1000000", "output.plots=false",
                   "output.report=false"])
    done = res.requests[res.requests["outcome"] == "completed"]
    assert len(done) > 5
    # one or two sequences decode at a time: each token takes the 10-sequence time, 10 ms
    assert done["tpot_s"].min() >= 0.01 - 1e-12 and done["tpot_s"].median() < 0.012
