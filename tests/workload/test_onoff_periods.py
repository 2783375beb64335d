"""On/off arrivals with many short periods: the periods are drawn as arrays, the same
numbers as one period at a time, and the budget before work counts their bytes and CPU.
Until December 2026 they were Python lists (about 140 bytes a period) counted at 16 bytes
and no work: on_s = off_s = 1 ms over 20,000 s served 200 requests in 29 s of CPU and a
3.0 GB peak, against 1.4 s and 0.15 GB for the same requests as a Poisson tenant."""

from __future__ import annotations

import itertools
import time
import tracemalloc

import numpy as np
import pytest

import sim
from sim.errors import InputError
from sim.simulation.build import budget
from sim.workload import arrivals as arr


def one_at_a_time(rate, on_s, off_s, off_fraction, horizon, rng):
    """The process as its definition reads: a stationary start, then one exponential period
    after another until the horizon, then each period's Poisson count placed uniformly."""
    on_rate = rate * (on_s + off_s) / (on_s + off_fraction * off_s)
    off_rate = on_rate * off_fraction
    on = rng.uniform() < on_s / (on_s + off_s)
    periods, t = [], 0.0
    while t < horizon:
        d = rng.exponential(on_s if on else off_s)
        periods.append((t, min(t + d, horizon), on))
        t = min(t + d, horizon)
        on = not on
    out = [rng.uniform(a, b, rng.poisson((on_rate if s else off_rate) * (b - a)))
           for a, b, s in periods if (on_rate if s else off_rate) > 0 and b > a]
    return np.sort(np.concatenate(out)) if out else np.empty(0)


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 16])
def test_the_periods_drawn_as_arrays_are_the_numbers_drawn_one_at_a_time(chunk):
    """Bit for bit, and the stream left where one-at-a-time drawing leaves it, on chunk
    sizes odd and even, smaller and larger than the periods, and sparse to dense rates."""
    for seed, rate, on, off, frac, h in itertools.product(
            range(2), [0.05, 40.0], [0.003, 2.0], [0.01, 5.0], [0.0, 0.3], [0.5, 60.0]):
        r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
        got = arr.onoff(rate, on, off, frac, h, r1, chunk=chunk)
        want = one_at_a_time(rate, on, off, frac, h, r2)
        assert got.tobytes() == want.tobytes(), (seed, rate, on, off, frac, h)
        assert r1.uniform() == r2.uniform()


def test_the_budget_bounds_the_periods_bytes_and_cpu():
    """1,000,000 periods (1 ms on, 1 ms off over 1,000 s, 10 requests): the generator's
    traced peak is within the budget's bytes a period (the lists of before held ~140), and
    its CPU within the budget's events at 300,000 a second (limits.events' rate)."""
    horizon, periods = 1000.0, 2 * 1000.0 / 0.002
    rng = np.random.default_rng(3)
    t0 = time.process_time()
    arr.onoff(0.01, 0.001, 0.001, 0.0, horizon, rng)
    cpu = time.process_time() - t0
    assert cpu < budget.EVENTS_PER_ONOFF_PERIOD * periods / 300_000, cpu
    tracemalloc.start()
    try:
        arr.onoff(0.01, 0.001, 0.001, 0.0, horizon, np.random.default_rng(3))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < budget.BYTES_PER_ONOFF_PERIOD * periods, peak


def test_a_run_of_many_short_periods_is_refused_on_its_events():
    """10^7 periods (1 ms each over 10,000 s) against limits.events = 10^6: refused before
    any work, though its 100 requests alone are 650,000 events with the run's fixed work."""
    cfg = sim.compose(["tenants.chat.arrival={kind: onoff, rate_rps: 0.01, on_s: 0.001, "
                       "off_s: 0.001}", "horizon_s=10000", "limits.events=1e6"])
    with pytest.raises(InputError, match="events"):
        budget.check_budget(cfg, ["dedicated"])
    quiet = sim.compose(["tenants.chat.arrival={kind: poisson, rate_rps: 0.01}",
                         "horizon_s=10000", "limits.events=1e6"])
    budget.check_budget(quiet, ["dedicated"])
