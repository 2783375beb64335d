"""Batch-tier admission on a fleet of several GPU classes: each replica keeps its own
``1 - kv_fraction`` of its own cache free, and a batch request is turned away only when no
replica of the pool could ever hold it as fill (README, "Batch tiers")."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.dedicated import MODEL, config
from helpers.dedicated import run as run_dedicated

from sim.records import COMPLETED
from sim.simulation.build import build
from sim.workload import Workload

ENGINES = ["fluid", "step"]


def batch_only(reqs, horizon_s) -> Workload:
    """``reqs``: (arrival_s, input_tokens, output_tokens) of one batch tenant ``b``."""
    n = len(reqs)
    return Workload(
        tenants=["b"], models=[MODEL], horizon_s=float(horizon_s),
        arrival_s=np.array([r[0] for r in reqs], float), tenant=np.zeros(n, np.int16),
        model=np.zeros(n, np.int16), input_tokens=np.array([r[1] for r in reqs], np.int32),
        output_tokens=np.array([r[2] for r in reqs], np.int32),
        slo_ttft_s={"b": float("inf")}, deadlines={"b": 3600.0})


def cap_on(gpu: str) -> int:
    """The KV capacity (tokens) of one replica of the 8B model on ``gpu``."""
    cfg = config([f"deployments.{MODEL}.gpu={gpu}"])
    return int(build(cfg, workload=False).perf_for(MODEL, 1.0).kv_capacity_tokens)


def fleet(engine, base_gpu, variant_gpu, *extra):
    return config(["setups=[dedicated]", f"engine={engine}", "drain_s=1000",
                   f"deployments.{MODEL}.gpu={base_gpu}", f"dedicated.replicas.{MODEL}=1",
                   f"dedicated.variants=[{{model: {MODEL}, gpu: {variant_gpu}, replicas: 1}}]",
                   "dedicated.batch.running_fraction=1.0", *extra])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_smaller_gpu_takes_batch_work_its_own_cache_share_holds(engine):
    # H100 base and an L40S variant, both idle at t=0, half of each cache for batch work.
    # Two batch requests whose footprint fits half the L40S's cache but not the L40S's
    # cache less half the H100's: the first takes the H100 (the first idle consumer), the
    # second the idle L40S at once (it waited for the H100 before the fix)
    h100, l40s = cap_on("H100"), cap_on("L40S")
    assert l40s < h100
    size = (l40s - (h100 - h100 // 2) + l40s // 2) // 2  # between the two limits
    assert l40s - (h100 - int(0.5 * h100)) < size + 10 <= int(0.5 * l40s)
    wl = batch_only([(0.0, size, 10), (0.0, size, 10)], 10.0)
    run, summary = run_dedicated(fleet(engine, "H100", "L40S"), wl)
    log = run.log
    assert (log.outcome == COMPLETED).all()
    assert log.admit_s[0] == 0.0 and log.admit_s[1] == 0.0
    assert log.replica[0] != log.replica[1]


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_request_only_a_larger_variant_holds_is_served_not_rejected(engine):
    # an L40S base and an H200 variant: a request larger than half the L40S's cache but
    # within half the H200's is served on the H200; one larger than half the H200's is
    # turned away (exceeds_batch_kv_share), as no replica could ever admit it
    l40s, h200 = cap_on("L40S"), cap_on("H200")
    mid = (int(0.5 * l40s) + int(0.5 * h200)) // 2
    big = int(0.5 * h200) + 1
    assert int(0.5 * l40s) < mid + 10 <= int(0.5 * h200) and big + 10 <= h200
    wl = batch_only([(0.0, mid, 10), (0.0, big, 10)], 10.0)
    run, summary = run_dedicated(fleet(engine, "L40S", "H200"), wl)
    row = summary.set_index("tenant").loc["b"]
    assert row["completed"] == 1 and row["rejected"] == 1
    assert run.log.outcome[0] == COMPLETED
