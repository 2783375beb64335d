"""Merging tenants' blocks by arrival time (sim/workload/merge.py) gives the columns that
concatenating them and taking a stable argsort's order gives, bit for bit: ties broken by
block then position, NaN last, -0.0 and 0.0 kept where they were, each column's dtype that
of the concatenation."""

import numpy as np
import pytest

from sim.workload.merge import order_of, scatter, sort_times


def _blocks(rng, with_nan: bool):
    sizes = [0, 5, 1, 0, 40, 13]
    ts = [np.round(rng.uniform(0, 10, k), 1) for k in sizes]  # many ties
    ts[2][:] = -0.0
    ts[4][:3] = 0.0
    if with_nan:
        ts[5][[2, 7]] = np.nan
    cols = {"t": ts,
            "tenant": [np.full(k, i, np.int16) for i, k in enumerate(sizes)],
            "in": [rng.integers(1, 9, k).astype(np.int32 if i % 2 else np.int64)
                   for i, k in enumerate(sizes)],
            "flag": [rng.random(k) < 0.5 for k in sizes]}
    return cols


@pytest.mark.parametrize("with_nan", [False, True])
def test_the_merge_is_the_concatenation_in_stable_time_order(with_nan):
    rng = np.random.default_rng(11)
    cols = _blocks(rng, with_nan)
    t_all = np.concatenate(cols["t"])
    order = np.argsort(np.nan_to_num(t_all, nan=np.inf), kind="stable")
    want = {k: np.concatenate(v)[order] for k, v in cols.items()}
    t, where = sort_times(np.concatenate(cols["t"]))
    assert t.tobytes() == want["t"].tobytes()  # -0.0 and NaN where the reference has them
    assert where.dtype == np.int32 and (order_of(where) == order).all()
    for k in ("tenant", "in", "flag"):
        blocks = cols[k]
        got = scatter(blocks, where)
        assert got.dtype == want[k].dtype and (got == want[k]).all(), k
        assert blocks == []  # each block freed as placed
