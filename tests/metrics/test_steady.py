"""The steady-state rate estimator of closed-loop runs (sim.metrics.steady)."""

import numpy as np
import pytest

from sim.metrics.steady import steady_rates


@pytest.mark.parametrize("lo,hi", [(0.1, 0.7), (0.13, 0.61), (0.2, 0.77), (0.25, 0.9), (0.0, 0.5)])
def test_waves_of_identical_requests_give_the_exact_rate_wherever_the_window_falls(lo, hi):
    """Completions in waves of k every P seconds, each request with m tokens: the rate is
    k/P requests/s and k*m/P tokens/s exactly, for any window."""
    k, period, m, waves = 172, 7.5, 2048, 20
    finish = np.repeat(period * np.arange(1, waves + 1), k)
    rps, tok_s = steady_rates(finish, np.full(finish.size, m), lo, hi)
    assert rps == pytest.approx(k / period, rel=1e-12)
    assert tok_s == pytest.approx(k * m / period, rel=1e-12)


def test_spread_completions_match_the_count_over_the_span():
    rng = np.random.default_rng(0)
    finish = np.cumsum(rng.exponential(0.5, 10_000))
    tokens = rng.integers(1, 500, finish.size)
    rps, tok_s = steady_rates(finish, tokens)
    t = np.sort(finish)
    lo, hi = t[1000], t[7000]
    assert rps == pytest.approx(6000 / (hi - lo), rel=1e-12)
    inside = (finish > lo) & (finish <= hi)
    assert tok_s == pytest.approx(tokens[inside].sum() / (hi - lo), rel=1e-12)
    assert rps == pytest.approx(2.0, rel=0.05)  # 6000 events: sd of the rate about 1.3 %


@pytest.mark.parametrize("block", [7, 1000])
def test_the_fold_gives_the_estimators_figures_to_the_bit(block):
    """SteadyFold (the estimator as an accumulator of one walk over the log's blocks, its
    window's counts made from the values it kept) gives steady_rates' figures exactly, on
    the independent count of the test above, with NaN (never completed) and unselected
    requests among them."""
    from sim.metrics.rows import walk
    from sim.metrics.steady import SteadyFold

    rng = np.random.default_rng(1)
    finish = np.cumsum(rng.exponential(0.5, 5_000))
    finish[rng.random(finish.size) < 0.1] = np.nan
    tokens = rng.integers(1, 500, finish.size).astype(np.int32)
    keep = rng.random(finish.size) < 0.8
    want = steady_rates(finish, tokens, where=keep)
    fold = SteadyFold(finish, tokens, lambda a, b: keep[a:b])
    walk(finish.size, [fold], block)
    assert fold.finish() == want
    t = np.sort(finish[keep & ~np.isnan(finish)])
    lo, hi = t[int(0.1 * t.size)], t[int(0.7 * t.size)]
    inside = keep & (finish > lo) & (finish <= hi)
    assert want == (np.count_nonzero(inside) / (hi - lo), int(tokens[inside].sum()) / (hi - lo))
