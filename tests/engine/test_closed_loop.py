"""Closed-loop clients: each sends its next request when its previous one ends, after an
optional think time (``tenants.<t>.arrival.think_s``, exponential with that mean, drawn
from the tenant's own stream before the run)."""

import numpy as np
import pytest

import sim
from sim.rng import stream

BASE = [
    "setups=[dedicated]", "tenants.chat.model=llama31-8b", "tenants.chat.arrival.kind=closed",
    "tenants.chat.input={kind: fixed, mean: 300, max: 300}",
    "tenants.chat.output={kind: fixed, mean: 40, max: 40}",
    "dedicated.replicas.llama31-8b=1", "drain_s=100000", "horizon_s=1", "seed=5",
    "output.plots=false", "output.report=false",
]


def test_one_client_sends_exactly_one_think_time_after_each_end():
    n, z = 300, 0.7
    res = sim.run(BASE + ["tenants.chat.arrival.concurrency=1", f"tenants.chat.arrival.think_s={z}",
                          f"tenants.chat.arrival.requests_per_client={n}"])
    r = res.requests.sort_values("arrival_s")
    assert len(r) == n and r["arrival_s"].iloc[0] == 0.0
    gaps = r["arrival_s"].to_numpy()[1:] - r["finish_s"].to_numpy()[:-1]
    draws = stream(5, "think/chat").exponential(z, n)
    # the first request goes out at t=0; request k waits draws[k] after request k-1 ends
    np.testing.assert_allclose(gaps, draws[1:], rtol=1e-9, atol=1e-9)


def test_without_think_time_the_next_request_leaves_as_the_last_ends():
    res = sim.run(BASE + ["tenants.chat.arrival.concurrency=1",
                          "tenants.chat.arrival.requests_per_client=20"])
    r = res.requests.sort_values("arrival_s")
    gaps = r["arrival_s"].to_numpy()[1:] - r["finish_s"].to_numpy()[:-1]
    assert np.all(gaps == 0.0)


def test_response_time_law():
    """Interactive response time law (Denning and Buzen): N clients with mean think time Z
    deliver X = N / (R + Z), R the mean response time, when each client's timeline is tiled
    by its requests and thinks with no other gap. Client c sends requests c, c + N, ...
    (request_id order), so the law is checked per client, exactly, from the log alone."""
    n_clients, per, z = 4, 300, 0.5
    res = sim.run(BASE + [f"tenants.chat.arrival.concurrency={n_clients}",
                          f"tenants.chat.arrival.think_s={z}",
                          f"tenants.chat.arrival.requests_per_client={per}"])
    r = res.requests.sort_values("request_id")
    think = stream(5, "think/chat").exponential(z, n_clients * per).reshape(per, n_clients)
    think[0] = 0.0  # every client's first request leaves at t=0
    for c in range(n_clients):
        mine = r.iloc[c::n_clients]
        resp = (mine["finish_s"] - mine["arrival_s"]).to_numpy()
        x = per / mine["finish_s"].max()
        assert x == pytest.approx(1.0 / (resp.mean() + think[:, c].mean()), rel=1e-9)
    # the think time lowers throughput against the same loop without it
    busy = sim.run(BASE + [f"tenants.chat.arrival.concurrency={n_clients}",
                           f"tenants.chat.arrival.requests_per_client={per}"]).requests
    assert len(busy) / busy["finish_s"].max() > 1.5 * len(r) / r["finish_s"].max()
