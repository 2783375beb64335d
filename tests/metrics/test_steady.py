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
