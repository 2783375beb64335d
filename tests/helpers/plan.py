"""The planner's capacity rule checked outside it: ``n`` replicas of a deployment carry less
than the offered load when ``n`` x one replica's saturated output tokens/s (its closed loop,
on the tenant's lengths) is below the output tokens/s the tenant's requests ask for."""

from sim.analysis.capacity import measure_capacity
from sim.analysis.plan import with_deployment
from sim.simulation.build import build_workload


def short_of_load(cfg, tenant: str, gpu: str, precision: str, tp: int, n: int) -> bool:
    """Whether ``n`` replicas of ``(gpu, precision, tp)`` carry less than ``tenant`` offers."""
    wl = build_workload(cfg)
    mine = wl.tenant == wl.tenants.index(tenant)
    offered = float(wl.output_tokens[mine].sum()) / float(cfg.horizon_s)
    one = with_deployment(cfg, str(cfg.tenants[tenant].model), gpu, precision, tp, 1)
    return n * measure_capacity(one, tenant).tok_s < offered
