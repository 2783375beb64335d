"""Routers: plain policies (no simpy) and end to end through a dedicated pool."""

import pytest

import sim
from sim.platform.routers import JoinShortestQueue, RoundRobin


class Rep:
    def __init__(self, n):
        self.outstanding = n


def test_jsq_picks_the_fewest_outstanding_lowest_id_on_tie():
    assert JoinShortestQueue().choose([Rep(3), Rep(1), Rep(1)], None) == 1
    assert JoinShortestQueue().choose([Rep(0), Rep(0)], None) == 0


def test_round_robin_cycles():
    rr = RoundRobin()
    assert [rr.choose([Rep(0)] * 3, None) for _ in range(5)] == [0, 1, 2, 0, 1]


@pytest.mark.parametrize("router", ["central", "jsq", "round_robin"])
def test_every_router_serves_every_request(router):
    res = sim.run(["horizon_s=120", "tenants.chat.arrival.rate_rps=10",
                   "dedicated.replicas.llama31-8b=3", f"dedicated.router={router}"])
    r = res.requests
    assert (r["outcome"] == "completed").all()
    assert set(r["replica"]) == {0, 1, 2}  # all three replicas served


def test_round_robin_spreads_evenly():
    res = sim.run(["horizon_s=120", "tenants.chat.arrival.rate_rps=10",
                   "dedicated.replicas.llama31-8b=3", "dedicated.router=round_robin"])
    counts = res.requests["replica"].value_counts()
    assert counts.max() - counts.min() <= 1
