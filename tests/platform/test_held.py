"""What a setup still holds when the run stops (``Setup.held``): the rule that logs a request
the run's end cuts in the tier whose queue or replica held it. A dedicated model pool built
by hand: its queues are the pool's tier; a request running or preempted on a replica is in
that replica's ledger row's tier (dedicated, burst, spot); a remote burst replica's tokens on
their way back are burst's."""

from collections import deque
from types import SimpleNamespace

from sim.engine import Request, RequestQueue
from sim.platform.dedicated.setup import DedicatedSetup
from sim.platform.pool import ModelPool
from sim.records import RequestLog, UsageRow


def _req(rid):
    return Request(rid, 0, 0, 0.0, 10, 10)


def _replica(tier, queue, running=(), waiting=()):
    row = UsageRow("m", "H100", 1, tier, 0.0, 0.0, busy_s=0.0, billing="gpu_hour",
                   usd_per_gpu_hour=1.0)
    return SimpleNamespace(usage=row, queue=queue, running={r: _req(r) for r in running},
                           waiting=deque(_req(r) for r in waiting))


def _pool(central: bool):
    log = RequestLog(20)
    pool = ModelPool.__new__(ModelPool)  # the pieces held() reads, without engines
    pool.ctx = SimpleNamespace(log=log)
    pool.tier_code = log.tiers.code("dedicated")
    pool.central = RequestQueue() if central else None
    pool.batch = RequestQueue()
    own = [RequestQueue() for _ in range(3)]
    pool.replicas = [
        _replica("dedicated", pool.central or own[0], running=[1], waiting=[2]),
        _replica("burst", pool.central or own[1], running=[3, 4]),
        _replica("spot", pool.central or own[2], waiting=[5]),
    ]
    queued = pool.central.items if central else own[1].items
    queued.extend([_req(6), _req(7)])
    pool.batch.items.append(_req(8))
    return pool, log


def test_a_pool_holds_its_queued_requests_in_its_tier_and_the_rest_in_their_replicas():
    for central in (True, False):
        pool, log = _pool(central)
        code = {name: log.tiers.code(name) for name in ("dedicated", "burst", "spot")}
        held = {req.id: tier for req, tier in pool.held()}
        assert held == {1: code["dedicated"], 2: code["dedicated"], 3: code["burst"],
                        4: code["burst"], 5: code["spot"], 6: code["dedicated"],
                        7: code["dedicated"], 8: code["dedicated"]}


def test_tokens_on_their_way_back_from_a_remote_burst_replica_are_burst_s():
    pool, log = _pool(True)
    burst = log.tiers.code("burst")
    setup = SimpleNamespace(pools={0: pool}, in_transit={11: _req(11)}, burst_code=burst)
    held = {req.id: tier for req, tier in DedicatedSetup.held(setup)}
    assert held[11] == burst and len(held) == 9
