"""Routers that read the replicas' KV memory see it as of now on both engines."""

import pytest
from helpers.queueing import write_table

import sim

LECT = ("lect", lambda n_, p_: 0.01 + 0.001 * n_ + 1e-5 * p_, 5,
        ["tenants.chat.input={kind: lognormal, mean: 1000, max: 2500}",
         "tenants.chat.output={kind: lognormal, mean: 300}"])
CACHE = ("cache_aware", lambda n_, p_: 0.01, 7,
         ["tenants.chat.input={kind: fixed, mean: 1000}", "tenants.chat.output={kind: fixed, mean: 300}",
          "tenants.chat.prefix.system_tokens=160"])


def _run(tmp_path, engine, router, step_time, horizon, extra):
    table = write_table(tmp_path / "t.csv", step_time)
    return sim.run([f"engine={engine}", "setups=[dedicated]", "output.plots=false", f"horizon_s={horizon}",
                    "dedicated.replicas.llama31-8b=2", f"dedicated.router={router}",
                    "deployments.llama31-8b.admission=paged", "deployments.llama31-8b.perf.kind=table",
                    f"deployments.llama31-8b.perf.table_path={table}",
                    "deployments.llama31-8b.perf.kv_capacity_tokens=3000", "tenants.chat.arrival.rate_rps=3",
                    *extra]).requests.sort_values("request_id")


@pytest.mark.parametrize("case", [LECT, CACHE], ids=["lect", "cache_aware"])
def test_fluid_routes_by_the_memory_of_now_as_the_step_engine(tmp_path, case):
    """Paged admission on 3,000 tokens: the decoding sequences claim memory every
    iteration, and a router choosing by free memory (least expected completion) or cached
    tokens (cache-aware) must see what they claimed by now. Until December 2026 the fluid
    engine showed the memory of its stretch's start: with lect (1,123 free tokens for 1,041)
    the 5th request went to the other replica and waited 2.76 s instead of 0.026 s; with
    cache-aware (940 cached tokens for 488) the 14th's first token came 5.89 s after its
    arrival instead of 0.74 s."""
    step = _run(tmp_path, "step", *case)
    fluid = _run(tmp_path, "fluid", *case)
    assert len(step) == len(fluid) >= 8
    assert fluid["replica"].tolist() == step["replica"].tolist()
    assert fluid["ttft_s"].to_numpy() == pytest.approx(step["ttft_s"].to_numpy(), abs=1e-9, nan_ok=True)
