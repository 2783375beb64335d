"""The steady window in bins (sim/metrics/steady.py ``BinnedSteadyFold``), what a run folded
while it goes measures its sustainable rate with: the bins do not depend on the order the
blocks come in, and the rates are within a bin's completions of the exact window's."""

import numpy as np
import pytest

from sim.metrics.steady import BinnedSteadyFold, SteadyFold


def _fold(kind, t, tok, block, order=None):
    fold = kind(t, tok, lambda a, b: np.ones(b - a, bool))
    starts = list(range(0, t.size, block))
    for a in (starts if order is None else [starts[i] for i in order]):
        fold.add(a, min(a + block, t.size))
    return fold


@pytest.mark.parametrize("n,span_s", [(100_000, 1_000.0), (20_000, 86_400.0), (5_000, 3.0)])
def test_the_binned_rates_are_the_exact_windows_within_its_bins(n, span_s):
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0.0, span_s, n)) + rng.exponential(0.05 * span_s / 100, n)
    t[rng.random(n) < 0.05] = np.nan  # not completed
    tok = rng.integers(1, 2000, n)
    exact = _fold(SteadyFold, t, tok, 4096).finish()
    binned = _fold(BinnedSteadyFold, t, tok, 4096)
    got = binned.finish()
    # a bin's completions at each end of a window of 60 % of them, and a bin's width on a
    # span of 60 % of the run: 4 bins' worth over 60 % of 2**16 bins, about 1e-4
    assert binned.width <= np.nanmax(t) / 2 ** 15
    for g, e in zip(got, exact):
        assert g == pytest.approx(e, rel=1e-3)


def test_the_bins_do_not_depend_on_the_order_of_the_blocks():
    rng = np.random.default_rng(3)
    t = rng.uniform(0.0, 5000.0, 30_000)
    tok = rng.integers(1, 100, t.size)
    one = _fold(BinnedSteadyFold, t, tok, 30_000)
    shuffled = _fold(BinnedSteadyFold, t, tok, 1000, order=rng.permutation(30))
    assert one.width == shuffled.width
    assert (one.n == shuffled.n).all() and (one.tok == shuffled.tok).all()
    assert one.finish() == shuffled.finish()


def test_too_few_or_simultaneous_completions_have_no_window():
    tok = np.ones(50, np.int64)
    with pytest.raises(ValueError, match="too few"):
        _fold(BinnedSteadyFold, np.arange(9.0), tok[:9], 4).finish()
    with pytest.raises(ValueError, match="zero length"):
        _fold(BinnedSteadyFold, np.full(50, 12.5), tok, 8).finish()
