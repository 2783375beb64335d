"""What a setup's GPU ledger says of its capacity, for the stability check
(:mod:`sim.metrics.overload`): how busy its replicas were while warm, so how many output
tokens a second they could carry, and which models never had a replica warm."""

from __future__ import annotations

from sim.metrics.load import live_s


def _warm_s(row) -> float:
    """The seconds a ledger row's replica was up and serving: not loading, not down."""
    return max(live_s(row) - row.loading_s, 0.0)


def capacity_seen(ledger, period_s: float) -> dict | None:
    """``busy_fraction``: the replicas' busy seconds over their warm seconds; ``carried_tok_s``:
    the output tokens they served over ``period_s``; ``capacity_tok_s``: carried over busy,
    what the GPUs carry when busy the whole time at the pace they were served at (a light load
    on a batching engine is served one sequence at a time, so this is a lower bound). None
    when no replica was busy."""
    warm = busy = out = 0.0
    for r in ledger:
        w = _warm_s(r)
        warm += w
        busy += min(max(r.busy_s, 0.0), w)
        out += r.kv.served_out
    if busy <= 0 or warm <= 0 or period_s <= 0:
        return None
    frac = busy / warm
    carried = out / period_s
    return {"busy_fraction": frac, "carried_tok_s": carried, "capacity_tok_s": carried / frac}


def placed_models(ledger) -> set[str] | None:
    """The models of which some replica was placed on a GPU (a ledger row with up time,
    loading or warm: not one still waiting for its node, start = end, counted until December
    2026); None for an empty ledger (nothing to say)."""
    rows = list(ledger)
    if not rows:
        return None
    return {r.model for r in rows if live_s(r) > 0}
