"""The timeline figure's scatter keeps every request that waited for a cold start and at most
MAX_POINTS of the others, every ``step``-th in order. Until December 2026 a setup with more
than MAX_POINTS completed requests, every one of them cold, made the step 0: a ValueError,
exit 1, and a run folder with no tables (a 20,001-way pipeline fan-out waiting for a load)."""

import numpy as np
import pandas as pd

from sim.report.timeline import MAX_POINTS, _thin


def _frame(cold: int, warm: int) -> pd.DataFrame:
    return pd.DataFrame({"arrival_s": np.arange(cold + warm, dtype=float),
                         "cold_start_wait_s": [1.0] * cold + [0.0] * warm})


def test_all_cold_beyond_the_limit_are_all_kept():
    kept, step = _thin(_frame(MAX_POINTS + 1, 0))
    assert step == 1 and len(kept) == MAX_POINTS + 1


def test_warm_points_are_thinned_evenly_and_the_cold_kept():
    n_warm = 2 * MAX_POINTS + 1  # needs a step of 3 to fit
    kept, step = _thin(_frame(5, n_warm))
    assert step == 3
    warm = kept[kept["cold_start_wait_s"] <= 0]["arrival_s"].to_numpy()
    assert len(warm) == -(-n_warm // 3) <= MAX_POINTS
    assert (np.diff(warm) == 3).all() and warm[0] == 5
    assert (kept["cold_start_wait_s"] > 0).sum() == 5


def test_a_small_frame_is_untouched():
    df = _frame(3, 10)
    kept, step = _thin(df)
    assert step == 1 and kept is df
