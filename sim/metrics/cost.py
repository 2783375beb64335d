"""Billing: GPU time from the usage ledger, tokens from the request log.

* GPU-time rows (``gpu_hour``, ``gpu_second``) cost ``billed seconds x GPUs x $/GPU-hour``,
  where billed seconds are the row's time up (at least ``min_increment_s``). Each billed
  GPU-second is busy (at least one sequence in the batch), down (a failed replica whose
  reservation runs on) or idle (everything else: waiting for work, loading weights, the
  padding up to a minimum increment); ``loading`` (a cold start) is reported as a part of
  idle. The cost of a (model, tier) pool is split among the tenants of that model in
  proportion to the output tokens they completed on it (prompt tokens for prefill-only
  models); a pool that served nothing is split evenly among its model's tenants. So tenant
  costs add up to the total: nothing is left unattributed. A tenant is billed for its own
  billing period only (the horizon plus its own drain, :mod:`sim.metrics.billing`): GPU
  time after it goes to the tenants still draining then.
* Per-token tiers bill each completed request ``uncached input x price_in + cached input x
  price_cached_in + output x price_out`` (cached: the prompt tokens the first admission of
  the attempt that served it found in the prefix cache; the GPU time behind them is the provider's and costs the
  tenant nothing more); a batch-tier tenant's requests (``tenants.<t>.priority: batch``)
  pay that times the tier's ``batch_price_factor`` (``serverless.batch_price_factor``, the
  provider's batch discount).
* Every cost is also filed under its ledger tier (``cost_<tier>_usd``: dedicated, burst,
  serverless ...).

:func:`check_invariants` verifies, for every tenant and the total, that ``cost = GPU cost
+ token cost``, ``GPU cost = busy + idle + down cost``, ``cost = sum of the tier costs``,
and that the tenants add up to the total; :func:`attribute_cost` runs it on every call.

Monthly projection (:func:`monthly_factor`): the simulated billing period is taken as a
representative sample of a month of ``HOURS_PER_MONTH`` = 730 hours (8,760 / 12), so every
cost and volume is scaled by ``730 h / period``. It holds for a stationary workload; a
period that holds a one-off spike projects that spike onto the whole month.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.errors import InvariantError
from sim.metrics.billing import PeriodFold, split_by_period
from sim.metrics.load import live_s
from sim.metrics.logfold import EarlyLogFold, LogFold
from sim.metrics.rows import BLOCK, walk

HOURS_PER_MONTH = 730.0
TIERS = ("dedicated", "burst", "serverless")  # always reported, zero when absent
_SUMS = ("cost_usd", "gpu_cost_usd", "token_cost_usd", "gpu_hours", "busy_gpu_hours",
         "idle_gpu_hours", "down_gpu_hours", "loading_gpu_hours", "busy_cost_usd",
         "idle_cost_usd", "down_cost_usd")


def monthly_factor(period_s: float) -> float:
    return HOURS_PER_MONTH * 3600.0 / period_s if period_s > 0 else float("nan")


def row_components(row) -> dict[str, float]:
    """Billed, busy, idle, down and loading GPU-seconds of one GPU-time ledger row, and
    their costs (computed apart, so that their sum is a check, not a definition)."""
    up = row.up_s
    billed = max(up, row.min_increment_s) if up > 0 else 0.0
    busy = min(max(row.busy_s, 0.0), up)
    down = min(max(row.down_s, 0.0), up - busy)
    loading = min(max(row.loading_s, 0.0), up - busy - down)
    idle = billed - busy - down
    rate = row.usd_per_gpu_hour / 3600.0
    g = row.gpus
    return {"cost": row.cost_usd, "gpu_s": billed * g, "busy_gpu_s": busy * g,
            "idle_gpu_s": idle * g, "down_gpu_s": down * g, "loading_gpu_s": loading * g,
            "busy_cost": busy * g * rate, "idle_cost": idle * g * rate, "down_cost": down * g * rate}


class CostBreakdown:
    def __init__(self):
        self.by_tenant: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.totals: dict[str, float] = defaultdict(float)
        self.util_by_model: dict[str, tuple[float, float]] = {}
        self.tiers: list[str] = list(TIERS)
        self.period_by_tenant: dict[str, float] = {}  # each tenant's own billing period (s)
        # (tenant, tier) -> the tenant's components billed on that tier; tier -> (busy, up) GPU-s
        self.by_tenant_tier: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.util_by_tier: dict[str, tuple[float, float]] = {}
        # (tenant, model) -> the tenant's components billed for that model's pools and tokens
        # (a pipeline tenant calls several models; the ``__model__`` rows read these)
        self.by_tenant_model: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def _out(self, d) -> dict[str, float]:
        out = {k: float(d.get(k, 0.0)) for k in _SUMS}
        for t in self.tiers:
            out[f"cost_{t}_usd"] = float(d.get(f"cost_{t}_usd", 0.0))
        return out

    def tenant(self, name: str, models) -> dict[str, float]:
        """The tenant's components; ``busy_fraction`` of the GPUs of ``models`` (the models
        it called) together, as :meth:`total` combines every model's."""
        out = self._out(self.by_tenant.get(name, {}))
        util = [self.util_by_model.get(m, (0.0, 0.0)) for m in models]
        busy, up = sum(b for b, _ in util), sum(u for _, u in util)
        out["busy_fraction"] = busy / up if up > 0 else float("nan")
        return out

    def total(self) -> dict[str, float]:
        out = self._out(self.totals)
        busy = sum(b for b, _ in self.util_by_model.values())
        up = sum(u for _, u in self.util_by_model.values())
        out["busy_fraction"] = busy / up if up > 0 else float("nan")
        return out

    def tier(self, tenants, tier: str) -> dict[str, float]:
        """The components ``tenants`` were billed on ``tier``, summed; ``busy_fraction`` of
        that tier's GPUs."""
        parts = [self._out(self.by_tenant_tier.get((t, tier), {})) for t in tenants]
        out = {k: float(sum(p[k] for p in parts)) for k in self._out({})}
        busy, up = self.util_by_tier.get(tier, (0.0, 0.0))
        out["busy_fraction"] = busy / up if up > 0 else float("nan")
        return out

    def model(self, tenants, model: str) -> dict[str, float]:
        """The components ``tenants`` were billed for ``model`` (its pools and its tokens),
        summed; ``busy_fraction`` of that model's GPUs."""
        parts = [self._out(self.by_tenant_model[(t, model)]) for t in tenants
                 if (t, model) in self.by_tenant_model]
        out = {k: float(sum(p[k] for p in parts)) for k in self._out({})}
        busy, up = self.util_by_model.get(model, (0.0, 0.0))
        out["busy_fraction"] = busy / up if up > 0 else float("nan")
        return out

    def _add(self, tenant: str, tier: str, model: str, values: dict[str, float]) -> None:
        if tier not in self.tiers:
            self.tiers.append(tier)
        for d in (self.by_tenant[tenant], self.totals, self.by_tenant_tier[(tenant, tier)],
                  self.by_tenant_model[(tenant, model)]):
            for k, v in values.items():
                d[k] += v
            d[f"cost_{tier}_usd"] += values.get("cost_usd", 0.0)


def check_invariants(cb: CostBreakdown, rel: float = 1e-9) -> None:
    def close(a: float, b: float) -> bool:
        return abs(a - b) <= rel * max(1.0, abs(a), abs(b))

    named = [(n, cb._out(d)) for n, d in sorted(cb.by_tenant.items())]
    for who, d in named + [("total", cb._out(cb.totals))]:
        checks = {
            "cost = gpu + token": (d["cost_usd"], d["gpu_cost_usd"] + d["token_cost_usd"]),
            "gpu = busy + idle + down": (d["gpu_cost_usd"], d["busy_cost_usd"] + d["idle_cost_usd"]
                                         + d["down_cost_usd"]),
            "cost = sum of tiers": (d["cost_usd"], sum(d[f"cost_{t}_usd"] for t in cb.tiers)),
        }
        for what, (a, b) in checks.items():
            if not close(a, b):
                raise InvariantError(f"cost components of {who}: {what} fails ({a!r} vs {b!r})")
    s = sum(d["cost_usd"] for _, d in named)
    if not close(s, cb.totals.get("cost_usd", 0.0)):
        raise InvariantError(f"tenant costs add up to {s!r}, not the total {cb.totals['cost_usd']!r}")
    for who, d in named:
        by_model = sum(v.get("cost_usd", 0.0) for (t, _), v in cb.by_tenant_model.items() if t == who)
        if not close(by_model, d["cost_usd"]):
            raise InvariantError(f"cost of {who} by model adds up to {by_model!r}, not "
                                 f"{d['cost_usd']!r}")


def _bill(cb: CostBreakdown, tenant: str, tier: str, model: str, p, s: float) -> None:
    """Bill ``tenant`` the share ``s`` of GPU-time components ``p`` of ``model``'s pool."""
    cb._add(tenant, tier, model, {
        "cost_usd": p["cost"] * s, "gpu_cost_usd": p["cost"] * s,
        "gpu_hours": p["gpu_s"] / 3600.0 * s,
        "busy_gpu_hours": p["busy_gpu_s"] / 3600.0 * s,
        "idle_gpu_hours": p["idle_gpu_s"] / 3600.0 * s,
        "down_gpu_hours": p["down_gpu_s"] / 3600.0 * s,
        "loading_gpu_hours": p["loading_gpu_s"] / 3600.0 * s,
        "busy_cost_usd": p["busy_cost"] * s, "idle_cost_usd": p["idle_cost"] * s,
        "down_cost_usd": p["down_cost"] * s,
    })


def attribute_cost(workload, run, prices: dict[str, tuple[float | None, float | None]],
                   block: int = BLOCK) -> CostBreakdown:
    """The run's costs by tenant, tier and model; the log read in one walk over blocks of
    ``block`` request ids (:class:`CostFold`)."""
    fold = CostFold(workload, run, prices)
    walk(len(workload), [fold], block)
    return fold.finish()


class CostFold:
    """:func:`attribute_cost` as an accumulator of :func:`~sim.metrics.rows.walk`: the
    ledger's pools read first, the log's blocks folded (``add(a, b)``: the billing periods'
    :class:`~sim.metrics.billing.PeriodFold` and :class:`LogFold`), the bill made when the
    walk is over (:meth:`finish`)."""

    def __init__(self, workload, run, prices, early: bool = False):
        self.workload, self.run, self.prices = workload, run, prices
        self.periods = PeriodFold(workload, run.log, bool(workload.background_tenants)
                                  and not run.background)
        if early:  # fed while the run goes: the ledger read at the end (EarlyLogFold)
            self.pools, self.log = None, EarlyLogFold(workload, run.log)
            return
        self.pools = _pools(workload, run, prices)
        self.log = LogFold(workload, run.log, *self.pools[-2:])

    def add(self, a: int, b: int) -> None:
        self.periods.add(a, b)
        self.log.add(a, b)

    def finish(self) -> CostBreakdown:
        workload, run = self.workload, self.run
        h = min(float(workload.horizon_s), float(run.period_s))
        periods = self.periods.finish(h, float(run.period_s))
        if self.pools is None:
            self.pools = _pools(workload, run, self.prices)
            self.log.settle(*self.pools[-2:])
        return _bill_run(workload, run, periods, self.log.f, *self.pools[:-2])


def _pools(workload, run, prices):
    """What billing reads of the ledger: ``(cb, rows_of, pools, per_token_tiers, code, table,
    token_prices)``, the last two :class:`LogFold`'s."""
    log = run.log
    cb = CostBreakdown()
    rows_of: dict[tuple[str, str], list] = defaultdict(list)
    # ---- GPU-time pools
    pools: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_token_tiers: set[tuple[str, str]] = set()
    for row in run.ledger:
        k = (row.model, row.tier)
        rows_of[k].append(row)
        if row.billing == "per_token":
            per_token_tiers.add(k)
        p = pools[k]
        for name, v in row_components(row).items():
            p[name] += v
        # busy over up time; a failed replica's down time (billed) is not up time
        live = live_s(row)
        busy, up = cb.util_by_model.get(row.model, (0.0, 0.0))
        cb.util_by_model[row.model] = (busy + min(row.busy_s, live) * row.gpus, up + live * row.gpus)
        busy, up = cb.util_by_tier.get(row.tier, (0.0, 0.0))
        cb.util_by_tier[row.tier] = (busy + min(row.busy_s, live) * row.gpus, up + live * row.gpus)
    code = {tier: log.tiers.code(tier) for tier in sorted({t for _, t in pools})}
    nm, nc = max(len(workload.models), 1), max(len(log.tiers.names), 1)
    table = np.zeros((nm, nc), bool)  # per-token (model, tier code)
    token_prices = {}
    for model, tier in sorted(per_token_tiers):
        if model in workload.models:
            mi = workload.models.index(model)
            table[mi, code[tier]] = True
            pin, pout, pcached = (tuple(prices.get(model, ())) + (None, None, None))[:3]
            token_prices[(mi, code[tier])] = (pin, pout, pin if pcached is None else pcached)
    return cb, rows_of, pools, per_token_tiers, code, table, token_prices


def _bill_run(workload, run, periods, fold, cb, rows_of, pools, per_token_tiers,
              code) -> CostBreakdown:
    """The bill from the folded log (``fold``: :class:`LogFold`'s ``f``) and the ledger's
    pools (:func:`_pools`); each tenant's billing period ``periods``."""
    cb.period_by_tenant = {t: float(p) for t, p in zip(workload.tenants, periods.tolist())
                           if np.isfinite(p)}
    nm, nc = max(len(workload.models), 1), max(len(run.log.tiers.names), 1)
    nt = len(workload.tenants)
    # every (model, tenant) pair that sent requests (a pipeline tenant calls several models)
    tenants_of_model = defaultdict(list)
    pairs = np.flatnonzero(fold.seen)
    for mi, ti in zip((pairs // nt).tolist(), (pairs % nt).tolist()):
        tenants_of_model[workload.models[mi]].append(ti)
    # a tenant still pays for the GPUs of a model it calls by config but sent nothing to in
    # the horizon (a quiet tenant, a conditional pipeline stage that never ran)
    for ti, t in enumerate(workload.tenants):
        for m in workload.tenant_models.get(t, []):
            if ti not in tenants_of_model[m]:
                tenants_of_model[m].append(ti)
    n_user = len(workload.tenants) - int(workload.background_tenants)
    # tenants that completed requests, every one on a per-token (model, tier)
    token_only = set(np.flatnonzero((fold.done > 0) & (fold.on_token == fold.done)).tolist())
    # who may pay a pool's tail after its own tenants are done (billing.split_by_period): the
    # user's tenants not billed per token only
    payers = {ti for ti in range(n_user) if ti not in token_only}
    out_tok, in_tok = (t.reshape(nm, nc, nt) for t in fold.tok)
    for (model, tier), p in sorted(pools.items()):
        if (model, tier) in per_token_tiers:
            continue  # the provider's GPU time: billed per token below
        tids = tenants_of_model.get(model, [])
        # a tenant calling this model whose every completed request was billed per token (a
        # hybrid tenant placed on the pool beside one reserved on the model) pays none of
        # these GPUs: not the even split of an idle pool, nor their tail while it drains
        tids = [ti for ti in tids if ti not in token_only] or tids
        if not tids:
            continue
        mi = workload.models.index(model) if model in workload.models else -1
        # the tokens each tenant completed on the pool (none for a model not in the workload)
        outs, ins = ((t[mi, code[tier]] if mi >= 0 else np.zeros(nt, np.int64))
                     for t in (out_tok, in_tok))
        weights = np.array([outs[ti] for ti in tids], dtype=float)
        if weights.sum() == 0:
            weights = np.array([ins[ti] for ti in tids], dtype=float)
        # a background tenant pays for a GPU pool only by what it completed there: never the
        # even split of an idle pool, nor the tail of the user's reserved replicas
        keep = [k for k, ti in enumerate(tids) if ti < n_user or weights[k] > 0]
        if keep and len(keep) < len(tids):
            tids, weights = [tids[k] for k in keep], weights[keep]
        if weights.sum() == 0:
            weights = np.ones(len(tids))
        parts = split_by_period(rows_of[(model, tier)], tids, weights, periods, float(run.period_s),
                                payers)
        if parts is None:  # every tenant of the pool bills to the run's end: one part
            parts = [(p, dict(zip(tids, (weights / weights.sum()).tolist())))]
        for comp, shares in parts:
            for ti, s in shares.items():
                _bill(cb, workload.tenants[ti], tier, model, comp, s)
    # ---- per-token billing
    for model, tier in sorted(per_token_tiers):
        mi = workload.models.index(model) if model in workload.models else -1
        by_tenant = fold.usd.get((mi, code[tier])) if mi >= 0 else None
        if not by_tenant:
            continue
        batch = getattr(workload, "deadlines", {})
        factor = rows_of[(model, tier)][0].batch_price_factor
        for ti in sorted(by_tenant):
            usd = by_tenant.pop(ti)  # each (model, tier) is billed once
            s = float((usd[0] if len(usd) == 1 else np.concatenate(usd)).sum())
            if workload.tenants[ti] in batch:
                s *= factor
            cb._add(workload.tenants[ti], tier, model, {"cost_usd": s, "token_cost_usd": s})
    check_invariants(cb)
    return cb


def model_prices(catalog, models) -> dict:
    """model -> (input, output, cached input) $ per M tokens (None: not sold per token; the
    cached price None: the input price)."""
    return {m: (catalog.models[m].price_in_usd_per_mtok, catalog.models[m].price_out_usd_per_mtok,
                catalog.models[m].price_cached_in_usd_per_mtok) for m in models}
