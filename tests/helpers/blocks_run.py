"""The hybrid run the block-fold tests share: several tenants and models, a batch tier, a
background population, rejections and cold starts (tests/metrics/test_summary_blocks.py,
test_sketch.py), and a cost breakdown as text."""

from sim.config import compose
from sim.metrics.cost import attribute_cost
from sim.simulation.frames import model_prices
from sim.simulation.simulate import simulate_setups

RUN = ["experiment=hybrid", "setups=[hybrid]", "horizon_s=240", "serverless.max_wait_s=3",
       "tenants.coder.priority=batch", "tenants.coder.deadline_s=60",
       "tenants.coder.arrival.rate_rps=0.2", "background.synthetic.tenants=4",
       "background.synthetic.rate_rps=0.5", "output.plots=false", "output.report=false"]


def hybrid_run():
    """``(workload, run, prices, costs)`` of :data:`RUN`."""
    workload, runs, catalog = simulate_setups(compose(RUN))
    run = runs[0]
    prices = model_prices(catalog, workload.served_models)
    return workload, run, prices, attribute_cost(workload, run, prices)


def bill_text(cb) -> str:
    """Every figure of a cost breakdown, as text (floats by repr: to the bit)."""
    def plain(d):
        return {k: plain(v) if isinstance(v, dict) else v for k, v in sorted(d.items())}
    return repr([plain(d) for d in (cb.by_tenant, cb.totals, cb.by_tenant_tier, cb.by_tenant_model,
                                    cb.util_by_model, cb.util_by_tier, cb.period_by_tenant)]
                + [cb.tiers])
