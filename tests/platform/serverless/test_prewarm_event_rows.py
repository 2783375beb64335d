"""``events.csv``'s pre-warm rows name the replica they started (its ``replicas.csv`` row),
the one the ``scale_up`` row of the same instant names. Until December 2026 ``prewarm`` and
``pipeline_prewarm`` rows had ``replica`` -1 (the hybrid keep-alive's pre-warm is pinned in
tests/platform/test_platform_pins_sim.py)."""

from helpers.serverless import Harness, compose

M = "llama31-8b"


def test_a_pipeline_prewarm_names_the_replica_it_started():
    h = Harness(compose([]), [M])
    h.run([], until=1.0)
    h.platform.warm_up(0)  # a replica for the model, none warm or loading
    h.run([], until=2.0)
    ev = h.platform.events
    got = [(k, r) for k, r in zip(ev.kind, ev.replica)]
    rows = h.ctx.ledger
    assert [k for k, _ in got] == ["scale_up", "pipeline_prewarm"]
    assert got[0][1] == got[1][1] and rows[got[1][1]].model == M
    assert rows[got[1][1]].start_s == 1.0
