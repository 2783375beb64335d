"""The summary's per-row helpers against direct numpy: percentiles computed in place and
TPOT made without full-length temporaries give what the plain expressions give, bit for bit."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.metrics.quantiles import percentile, percentiles
from sim.metrics.rows import RequestColumns


@pytest.mark.parametrize("seed", range(6))
def test_percentiles_in_place_equal_percentile_one_by_one(seed):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, 2, int(rng.integers(1, 3000)))
    if seed % 2:
        x[rng.integers(0, x.size, x.size // 5)] = np.nan
    if seed == 4:
        x = np.round(x, 1)  # ties
    qs = (50, 90, 99, 99.9)
    want = [percentile(x, q) for q in qs]
    got = percentiles(x.copy(), qs)
    assert got == want or all(a == b or (a != a and b != b) for a, b in zip(got, want))
    assert all(v != v for v in percentiles(np.full(3, np.nan), (50, 99)))  # nothing left: NaN


@pytest.mark.parametrize("sel", ["mask", "slice"])
def test_tpot_equals_the_formula_and_leaves_the_workload_alone(sel):
    rng = np.random.default_rng(1)
    n = 5000
    out = rng.integers(0, 40, n).astype(np.int32)
    first = rng.random(n)
    finish = first + 3 * rng.random(n)
    keep = out.copy()
    cols = RequestColumns(SimpleNamespace(output_tokens=out),
                          SimpleNamespace(finish_s=finish, first_s=first))
    s = rng.random(n) < 0.6 if sel == "mask" else slice(100, 4000)
    want = (finish[s] - first[s]) / np.maximum(out[s] - 1, 1)
    want[out[s] <= 1] = np.nan
    assert np.array_equal(cols.tpot(s), want, equal_nan=True)
    assert np.array_equal(out, keep)
