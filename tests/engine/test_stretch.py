"""Boundaries inside a growing fluid stretch (sim.engine.stretch) against a brute-force scan."""

import random

import pytest

from sim.engine.stretch import iters_at, stretch_iters, stretch_time


def brute(dt, s, k, x, up):
    times = [stretch_time(dt, s, k, j) for j in range(k + 1)]
    if up:
        return next((j for j in range(1, k + 1) if times[j] >= x), k)
    return max(j for j in range(k + 1) if times[j] <= x) if x >= 0 else 0


def test_iteration_times_grow_linearly_and_sum_to_k_dt():
    dt, s, k = 0.02, 0.001, 9
    steps = [stretch_time(dt, s, k, j + 1) - stretch_time(dt, s, k, j) for j in range(k)]
    assert steps[0] == pytest.approx(dt - s * (k - 1) / 2)
    assert all(b - a == pytest.approx(s) for a, b in zip(steps, steps[1:]))
    assert stretch_time(dt, s, k, k) == k * dt  # exactly: the planned timer's own time


@pytest.mark.parametrize("seed", range(5))
def test_first_and_last_boundary_match_a_scan(seed):
    rnd = random.Random(seed)
    for _ in range(400):
        k = rnd.randint(2, 300)
        dt = rnd.uniform(1e-4, 2.0)
        s = rnd.choice([1e-12, rnd.uniform(0, 2 * dt / (k - 1))])  # first iteration > 0
        total = k * dt
        j = rnd.randint(0, k)
        # exact boundaries, just before and after them, and points between
        for x in (stretch_time(dt, s, k, j), stretch_time(dt, s, k, j) * (1 + 1e-15),
                  stretch_time(dt, s, k, j) * (1 - 1e-15), rnd.uniform(1e-9, total * 1.1)):
            if x <= 0:
                continue
            assert stretch_iters(dt, s, k, x, True) == brute(dt, s, k, x, True)
            assert stretch_iters(dt, s, k, x, False) == brute(dt, s, k, x, False)


@pytest.mark.parametrize("seed", range(3))
def test_constant_iterations_at_a_time_match_their_boundaries(seed):
    # the boundaries of a constant stretch are t0 + j dt; at such a time itself the boundary
    # a request arriving then joins is the next one (up: the one at now came first) and the
    # iterations run are j, whatever the quotient's rounding ((0.12 - 0.2) // 0.01 is -9)
    rnd = random.Random(seed)
    cases = [(0.12, 0.01, 0.2)]
    for _ in range(3000):
        t0 = rnd.choice([0.0, rnd.uniform(0, 1000), round(rnd.uniform(0, 10), 2)])
        dt = rnd.choice([rnd.uniform(1e-4, 2.0), rnd.choice([0.01, 0.1, 0.02, 0.003])])
        j = rnd.randint(0, 500)
        b = t0 + j * dt
        cases += [(t0, dt, b), (t0, dt, rnd.uniform(t0, t0 + 500 * dt))]
    for t0, dt, now in cases:
        bounds = [t0 + j * dt for j in range(0, 600)]
        up = next(j for j, b in enumerate(bounds) if b > now)
        down = max(j for j, b in enumerate(bounds) if b <= now)
        assert iters_at(t0, dt, now, True) == up, (t0, dt, now)
        assert iters_at(t0, dt, now, False) == down, (t0, dt, now)
