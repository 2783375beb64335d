"""Property-based: random valid configurations on short horizons keep every invariant.

Hypothesis draws tenants (1-3; Poisson, Gamma or on-off arrivals at various rates; prompt
and output lengths down to one token), dedicated pool sizes, routers, queue bounds, burst
replicas (local and remote), failures and spot replicas, serverless pool sizes, keep-alives, waits and
billing, hybrid placement, spillover and shadow copies, background tenants, compound
pipelines (random DAGs of model and tool stages, fan-out, conditional stages, pre-warm),
the engine, and a subset of the registered setups (a setup
registered later joins automatically). Each example runs through the same path as
``python -m sim``: :func:`sim.simulation.simulate.simulate` and :func:`sim.jobs.frames` raise on any
broken invariant (sim/invariants.py), and the test checks the exactly-once counts against
the summary on top. Derandomised, so CI sees the same examples every time.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.metrics.invariants import offered_mask, violations
from sim.platform import SETUPS
from sim.records import COMPLETED, FAILED, PENDING, REJECTED
from sim.simulation.frames import frames
from sim.simulation.simulate import simulate_setups

MODELS = ["llama31-8b", "qwen3-32b"]
PIPELINES = "pipelines" in sim.compose([])  # compound pipelines (sim/simulation/pipeline.py)


@st.composite
def tenant(draw, name):
    kind = draw(st.sampled_from(["poisson", "gamma", "onoff"]))
    arr = {"kind": kind, "rate_rps": draw(st.floats(0.05, 12))}
    if kind == "gamma":
        arr["cv"] = draw(st.floats(0.3, 5))
    if kind == "onoff":
        arr.update(on_s=draw(st.floats(1, 10)), off_s=draw(st.floats(1, 20)))
    out_kind = draw(st.sampled_from(["fixed", "lognormal", "geometric"]))
    out = {"kind": out_kind, "mean": draw(st.integers(1, 400))}
    if out_kind == "geometric" and out["mean"] < 2:
        out["mean"] = 2
    return name, {
        "model": draw(st.sampled_from(MODELS)), "arrival": arr,
        "input": {"kind": "lognormal", "mean": draw(st.integers(8, 3000)), "cv": 1.0, "max": 16000},
        "output": {**out, "max": 2048}, "slo_ttft_s": draw(st.floats(0.1, 10)),
    }


def as_yaml(d) -> str:
    if isinstance(d, dict):
        return "{" + ", ".join(f"{k}: {as_yaml(v)}" for k, v in d.items()) + "}"
    return str(d)


@st.composite
def pipeline(draw):
    """A random DAG of 1-4 stages: each may wait for any earlier ones (so no cycle)."""
    stages = {}
    for i in range(draw(st.integers(1, 4))):
        after = [f"s{j}" for j in range(i) if draw(st.booleans())]
        sc = {"after": "[" + ",".join(after) + "]", "fanout": draw(st.integers(1, 3)),
              "probability": draw(st.sampled_from([1.0, 1.0, 0.5]))}
        if draw(st.integers(0, 3)) == 0:
            sc.update(kind="tool", latency={"kind": "exponential", "mean_s": draw(st.floats(0, 0.5))})
        else:
            sc.update(model=draw(st.sampled_from(MODELS + ["bge-large-en"])),
                      input={"kind": "lognormal", "mean": draw(st.integers(8, 2000)), "cv": 0.5},
                      output={"kind": "fixed", "mean": draw(st.integers(1, 200))})
        stages[f"s{i}"] = sc
    return {"prewarm": draw(st.booleans()), "stages": stages}


@st.composite
def configs(draw):
    n = draw(st.integers(1, 3))
    tenants = dict(draw(tenant(f"t{i}")) for i in range(n))
    pipes = {}
    if PIPELINES and draw(st.booleans()):  # compound requests for one tenant
        pipes["p"] = draw(pipeline())
        tenants["t0"]["pipeline"] = "p"
    if pipes:
        o_pipes = [f"pipelines={as_yaml(pipes)}"]
    else:
        o_pipes = []
    setups = draw(st.lists(st.sampled_from(sorted(SETUPS)), min_size=1, max_size=len(SETUPS),
                           unique=True))
    o = [f"tenants={as_yaml(tenants)}", f"setups=[{','.join(setups)}]",
         f"seed={draw(st.integers(0, 10 ** 6))}", f"horizon_s={draw(st.floats(5, 40))}",
         f"drain_s={draw(st.sampled_from([0, 5, 60, 600]))}",
         f"engine={draw(st.sampled_from(['fluid', 'fluid', 'step']))}",
         "output.plots=false", "output.report=false", *o_pipes]
    for m in ["bge-large-en"] if pipes else []:
        o.append(f"++dedicated.replicas.{m}={draw(st.integers(1, 2))}")
    reps = {m: draw(st.integers(1, 3)) for m in MODELS}
    o += [f"+dedicated.replicas.{m}={n}" for m, n in reps.items()]
    o += [f"dedicated.router={draw(st.sampled_from(['central', 'jsq', 'round_robin']))}",
          f"dedicated.max_queue={draw(st.integers(0, 500))}"]
    if draw(st.booleans()):
        o += ["dedicated.failures.mode=random",
              f"dedicated.failures.mtbf_gpu_hours={draw(st.floats(0.002, 0.05))}",
              f"dedicated.failures.mttr_s={draw(st.floats(0, 10))}",
              f"dedicated.failures.max_attempts={draw(st.integers(1, 3))}"]
    if draw(st.booleans()):
        o += ["dedicated.burst.enabled=true", "dedicated.burst.need_node=false",
              "dedicated.burst.image_cached=true",
              f"dedicated.burst.wait_threshold_s={draw(st.floats(0.1, 5))}",
              f"dedicated.burst.max_replicas={(local := draw(st.integers(0, 2)))}",
              f"dedicated.burst.remote.max_replicas={draw(st.integers(0 if local else 1, 2))}",
              f"dedicated.burst.remote.rtt_s={draw(st.floats(0, 0.3))}"]
    if draw(st.booleans()):  # spot replicas among each model's, reclaimed often
        o += [f"dedicated.spot.replicas.{m}={draw(st.integers(0, n))}" for m, n in reps.items()]
        o += [f"dedicated.spot.preemption.per_gpu_hour={draw(st.floats(5, 300))}",
              f"dedicated.spot.preemption.notice_s={draw(st.floats(0, 10))}",
              f"dedicated.spot.replacement={draw(st.booleans())}",
              f"dedicated.spot.replace_at_notice={draw(st.booleans())}",
              "dedicated.spot.storage_tier=local_nvme", "dedicated.spot.need_node=false",
              "dedicated.spot.image_cached=true"]
    if draw(st.booleans()):  # noisy neighbours: only setups with a shared pool serve them
        o += [f"background.synthetic.tenants={draw(st.integers(1, 4))}",
              f"background.synthetic.rate_rps={draw(st.floats(0.1, 5))}"]
    if "hybrid" in SETUPS:  # placement, spillover and shadow copies
        place = {m: draw(st.sampled_from(["dedicated", "serverless"])) for m in MODELS}
        o += [f"hybrid.placement={as_yaml(place)}",
              f"hybrid.spillover.enabled={draw(st.booleans())}",
              f"hybrid.spillover.wait_threshold_s={draw(st.floats(0.05, 5))}",
              f"hybrid.spillover.max_queue={draw(st.sampled_from(['null', 1, 5, 50]))}",
              f"hybrid.spillover.cold_aware={draw(st.booleans())}",
              f"hybrid.shadow_fraction={draw(st.sampled_from([0.0, 0.3, 1.0]))}"]
    o += [f"serverless.pool.H100.nodes={draw(st.integers(1, 2))}",
          f"serverless.pool.H100.gpus_per_node={draw(st.integers(1, 4))}",
          f"serverless.keepalive.idle_s={draw(st.floats(1, 120))}",
          f"serverless.max_wait_s={draw(st.floats(1, 120))}",
          f"serverless.max_queue={draw(st.integers(1, 500))}",
          f"serverless.billing={draw(st.sampled_from(['per_token', 'gpu_second']))}"]
    return o


@settings(max_examples=30, deadline=None, derandomize=True, print_blob=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_random_valid_configs_keep_every_invariant(overrides):
    cfg = sim.compose(overrides)
    workload, runs, catalog = simulate_setups(cfg)  # raises InvariantError on a violation
    summary, _ = frames(cfg, workload, runs, catalog)  # cost and summary checks too
    for run in runs:
        assert violations(workload, run) == []
        offered = offered_mask(workload, run)
        oc = run.log.outcome
        assert not (oc[offered] == PENDING).any()
        rows = summary[summary["setup"] == run.setup].set_index("tenant")
        user = workload.user_mask()
        groups = [(name, offered & (workload.tenant == ti))
                  for ti, name in enumerate(workload.tenants[:workload.n_user_tenants])]
        groups.append(("__all__", offered & user))
        if run.background:  # the shared pool served the background tenants: one row for them
            groups.append(("__background__", offered & ~user))
        else:
            assert (oc[~offered] == PENDING).all()
        for name, sel in groups:
            counts = [int(np.count_nonzero(sel & (oc == k))) for k in (COMPLETED, REJECTED, FAILED)]
            assert sum(counts) == int(sel.sum())
            assert [int(rows.loc[name, c]) for c in ("completed", "rejected", "failed")] == counts
            assert int(rows.loc[name, "requests"]) == int(sel.sum())
