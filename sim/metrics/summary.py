"""From a run's log and ledger to the (setup, tenant) summary (the per-request frame:
:mod:`sim.metrics.requests`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics.cost import attribute_cost, monthly_factor
from sim.metrics.load import LOAD_COLUMNS, load, load_by_model, mix_of
from sim.metrics.rows import BLOCK, SLO_TOLERANCE_S, ExactValues, RequestColumns, Rows
from sim.records import (
    ALL,
    BACKGROUND,
    COMPLETED,
    FAILED,
    MODEL_ROW,
    NO_TIER,
    TIER_ROW,
)

SUMMARY_COLUMNS = [
    "setup", "tenant", "model", "requests", "completed", "rejected", "failed",
    "ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "ttft_p999_s", "ttft_mean_s",
    "tpot_p50_s", "tpot_p99_s", "e2e_p50_s", "e2e_p99_s",
    "cold_starts", "cold_start_wait_p99_s", "input_tokens", "output_tokens", "throughput_tok_s",
    "cost_usd", "cost_per_mtok_out_usd", "cost_per_1k_requests_usd", "gpu_hours",
    "busy_fraction", "slo_ttft_s", "slo_attainment",
    # cost breakdown (sim/cost.py): components add up to cost_usd
    "gpu_cost_usd", "token_cost_usd", "cost_dedicated_usd", "cost_burst_usd",
    "cost_serverless_usd", "busy_gpu_hours", "idle_gpu_hours", "idle_cost_usd",
    "down_gpu_hours", "down_cost_usd", "loading_gpu_hours", "retries", "period_s",
    "monthly_cost_usd", "monthly_output_tokens", "monthly_requests",
    "spilled",  # hybrid: requests placed dedicated that spilled over to the serverless pool
    "clipped",  # requests whose lengths were changed to be served (bounds, one token, context)
    # prefix cache (completed requests): prompt tokens found cached, their share of the
    # input tokens, and preemptions (paged admission)
    "cached_tokens", "cache_hit_rate", "preemptions",
    # cost per million tokens in and out (a tenant's own unit cost; period_s of a tenant
    # row is its own billing period: the horizon plus its own drain, sim/metrics/billing.py)
    "cost_per_mtok_total_usd",
    # the replicas' load (sim/metrics/load.py): of the tenant's model, or of the whole setup
    *LOAD_COLUMNS,
]


def deadline_outcomes(workload, run, a: int = 0,
                      b: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Per request (of requests ``a`` to ``b - 1``; every request by default) ``(missed,
    met)`` of the batch-tier requests (``tenants.<t>.priority: batch``); None without
    batch-tier tenants. ``met``: completed within ``deadline_s`` of its arrival.
    ``missed``: completed later, or rejected, or failed, or still unfinished when the run
    ended past its deadline; a request still unfinished at the end of a run that stopped
    before its deadline is neither (it is in ``failed``, reason ``unfinished_at_end``)."""
    if not workload.deadlines:
        return None
    log, tenant = run.log, workload.tenant[a:b]
    arrival, outcome = log.arrival_s[a:b], log.outcome[a:b]
    due = np.full(tenant.size, np.inf)
    for t, d in workload.deadlines.items():
        mine = tenant == workload.tenants.index(t)
        due[mine] = arrival[mine] + d
    batch = np.isfinite(due)
    done = outcome == COMPLETED
    still_open = np.zeros(tenant.size, bool)
    if "unfinished_at_end" in log.reasons.names:
        code = log.reasons.names.index("unfinished_at_end")
        still_open = (outcome == FAILED) & (log.reason[a:b] == code) & (float(run.t_end) < due)
    late = log.finish_s[a:b] > due + SLO_TOLERANCE_S  # float noise on an exact tie, as the SLOs
    return batch & ((done & late) | (~done & ~still_open)), batch & done & ~late


def deadline_share(missed: int, met: int) -> float:
    """Of batch-tier requests whose deadline was decided, the share completed in time."""
    return met / (met + missed) if met + missed else float("nan")


class DeadlineCounts:
    """Per summary row label (:func:`row_selection`): its batch-tier requests ``(missed,
    met)`` (:func:`deadline_outcomes`), counted block by block (``add(a, b)``) into ``out``."""

    def __init__(self, workload, run, labels):
        self.workload, self.run = workload, run
        self.out = dict.fromkeys(labels, (0, 0))

    def add(self, a: int, b: int) -> None:
        missed, met = deadline_outcomes(self.workload, self.run, a, b)
        for name, (n_missed, n_met) in self.out.items():
            sel = row_selection(self.workload, self.run.log, name, a, b)
            self.out[name] = (n_missed + int(np.count_nonzero(missed[sel])),
                              n_met + int(np.count_nonzero(met[sel])))


def called_models(workload, ti: int, idx) -> list[str]:
    """The served models tenant ``ti`` called, sorted: those of its requests (``idx``, their
    model indices: :func:`models_sent`; a pipeline's tool stages run on none) and those its
    config names (a quiet tenant, a stage that never ran, whose GPUs it still pays for)."""
    served = set(workload.served_models)
    names = {workload.models[i] for i in idx if workload.models[i] in served}
    names.update(m for m in workload.tenant_models.get(workload.tenants[ti], []) if m in served)
    return sorted(names)


def models_sent(workload, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """``(sent, first)``: ``sent[t, m]`` true if tenant ``t`` sent a request to model ``m``;
    ``first[t]`` the model of its first request (by id; -1 if none). Over blocks of
    ``block`` request ids: a set and a first, exact."""
    nt, nm = len(workload.tenants), max(len(workload.models), 1)
    sent = np.zeros(nt * nm, bool)
    first = np.full(nt, -1, np.int64)
    for a in range(0, len(workload), block):
        tenant = workload.tenant[a:a + block].astype(np.int64)
        model = workload.model[a:a + block]
        sent[np.unique(tenant * nm + model)] = True
        ts, at = np.unique(tenant, return_index=True)  # each tenant's first in the block
        new = first[ts] < 0
        first[ts[new]] = model[at[new]]
    return sent.reshape(nt, nm), first


def _sum_costs(costs, workload, tids) -> dict:
    """Cost columns summed over some tenants (utilisation is the pool's)."""
    total = costs.total()
    parts = [costs.tenant(workload.tenants[ti], []) for ti in tids]
    out = {k: float(sum(p.get(k, 0.0) for p in parts)) for k in total if k != "busy_fraction"}
    out["busy_fraction"] = total.get("busy_fraction", float("nan"))
    return out


def summarize(workload, run, prices, costs=None, block=BLOCK,
              one_pass=False, store=ExactValues) -> pd.DataFrame:
    """Rows per user tenant of one setup plus an ``__all__`` row over them; a setup that
    served background tenants adds one ``__background__`` row for all of them. ``costs``:
    the run's :func:`~sim.metrics.cost.attribute_cost`, if the caller already has it.
    ``block``: request ids a block of the rows' folds (sim/metrics/rows.py) holds;
    ``one_pass``: every row folded in one walk over the blocks (``Rows.fold``); ``store``:
    what keeps each figure's values (``ExactValues``, or ``SketchValues``:
    sim/metrics/sketch.py). (The whole end of a run in one walk: sim/metrics/endrun.py.)"""
    if costs is None:
        costs = attribute_cost(workload, run, prices, block)
    plan = SummaryPlan(workload, run, block)
    for acc in plan.moved:
        plan.pending.also(acc)
    tiers = served_tiers(workload, run.log, block)
    if len(tiers) >= 2:
        for t in tiers:
            row = plan.tier_row(t)
            if workload.changed_req is not None:
                plan.pending.also(_Clipped(workload.changed_req, plan.pick(TIER_ROW + t), row))
    deadlines = None
    if workload.deadlines:  # batch-tier tenants: requests not completed within their deadline
        deadlines = DeadlineCounts(workload, run, plan.pending.labels())
        plan.pending.also(deadlines)
    plan.fill(costs)
    return plan.frame(plan.pending.fold(block, one_pass, store), deadlines)


class SummaryPlan:
    """:func:`summarize`'s rows registered in ``pending`` (:class:`~sim.metrics.rows.Rows`)
    before the log is read: their selections, SLOs, load and ``clipped``; their costs and
    billing periods filled when the run's costs are known (:meth:`fill`, before the rows are
    finished); :meth:`frame` makes the summary of the folded rows."""

    def __init__(self, workload, run, block: int = BLOCK):
        self.workload, self.run, self.costs = workload, run, None
        log = run.log
        self.pending = pending = Rows(run.setup, RequestColumns(workload, log))
        self._fills: list = []  # (a row's other columns, its cost columns of the costs)
        # (a row's other columns, its load figures of the ledger): read when the costs are
        # (:meth:`fill`), so that the rows can be registered before the run has ended
        self._loads: list = []
        self.moved: list = []  # rows' ``clipped`` counted per request in the walk (_Clipped)
        sent, first = models_sent(workload, block)
        named = []
        n_user = workload.n_user_tenants
        nan_load = dict.fromkeys(LOAD_COLUMNS, float("nan"))
        combined: dict = {}
        for ti, name in enumerate(workload.tenants[:n_user]):
            model = (workload.models[int(first[ti])] if first[ti] >= 0
                     else (workload.tenant_models.get(name) or [""])[0])
            # busy and load over the replicas of every model it called (a pipeline tenant's
            # stages), combined as on __all__; until December 2026 its first model's only
            called = called_models(workload, ti, np.flatnonzero(sent[ti]).tolist())
            r = pending.add(name, model, self.pick(name), workload.slo_ttft_s.get(name),
                            self._period(name))
            self._fills.append((r, lambda c, name=name, called=called: c.tenant(name, called)))
            if len(called) == 1:
                self._load(r, lambda m=called[0]: self.ledger_loads()[0].get(m, nan_load))
            else:
                def combined_load(key=tuple(called)):
                    if key not in combined:
                        rows_of = [row for row in run.ledger if row.model in key]
                        combined[key] = load(rows_of, self.mix) if rows_of else nan_load
                    return combined[key]
                self._load(r, combined_load)
            r["clipped"] = workload.changed.get(name, 0)
            named.append((name, model))
        # aggregate rows: SLO attainment over their requests, each against its own tenant's SLO
        groups = [(ALL, range(n_user))]
        if run.background:  # background tenants: one aggregate row, marked
            groups.append((BACKGROUND, range(n_user, len(workload.tenants))))
        for label, tids in groups:
            clipped = sum(workload.changed.get(workload.tenants[t], 0) for t in tids)
            # __background__: its tenants' one SLO (background.slo_ttft_s), shown as a
            # tenant's is (blank until December 2026); __all__'s tenants may each have theirs
            slos = {workload.slo_ttft_s.get(workload.tenants[t]) for t in tids}
            slo = slos.pop() if label == BACKGROUND and len(slos) == 1 else None
            r = pending.add(label, "", self.pick(label), slo, self._run_period, own_slo=True)
            if not run.background and label == ALL:
                # every GPU-second of this setup is the user's
                self._fills.append((r, lambda c: c.total()))
            else:
                self._fills.append((r, lambda c, tids=tids: _sum_costs(c, workload, tids)))
            self._load(r, lambda: self.ledger_loads()[1])  # the pool's, as busy_fraction
            r["clipped"] = clipped
        _model_rows(self, named, np.flatnonzero(sent[:n_user].any(axis=0)).tolist())

    def _run_period(self) -> float:
        return self.run.period_s

    def _load(self, r: dict, of) -> None:
        """The load columns of row ``r``, ``of()`` read at :meth:`fill` (their place kept)."""
        r.update(dict.fromkeys(LOAD_COLUMNS))
        self._loads.append((r, of))

    def ledger_loads(self):
        """:func:`~sim.metrics.load.load_by_model` of the run's ledger (read once, at the end)."""
        if self._by_model is None:
            self._by_model = load_by_model(self.run.ledger)
        return self._by_model

    _by_model = None
    _mix = None

    @property
    def mix(self) -> dict:
        if self._mix is None:
            self._mix = mix_of(self.run.ledger)
        return self._mix

    def pick(self, name: str):
        return blocks_of(self.workload, self.run.log, name)

    def _period(self, name: str):
        """A tenant row's billing period, read when its rows are finished (after :meth:`fill`)."""
        return lambda: self.costs.period_by_tenant.get(name, self.run.period_s)

    def tier_row(self, t: str) -> dict:
        """Register the ``__tier__:<t>`` row (one per tier, when the user requests went to
        several: a hybrid's dedicated and serverless tiers, a burst tier): request figures
        and SLO attainment (each request against its own tenant's SLO) over the user requests
        that tier served, tool stages aside; the costs the user tenants were billed on it;
        ``busy_fraction`` and the load figures of that tier's replicas; ``clipped``: its
        requests whose lengths were changed to be served (:class:`_Clipped`). Its other
        columns."""
        run, workload = self.run, self.workload
        users = workload.tenants[: workload.n_user_tenants]
        r = self.pending.add(TIER_ROW + t, "", self.pick(TIER_ROW + t), None, self._run_period,
                             own_slo=True)
        self._fills.append((r, lambda c: c.tier(users, t)))
        self._load(r, lambda: load([row for row in run.ledger if row.tier == t], self.mix))
        r["clipped"] = 0
        return r

    def fill(self, costs) -> None:
        """Each row's cost columns, first among its other columns (as if there all along)."""
        self.costs = costs
        for r, of in self._loads:
            r.update(of())
        self._loads = []
        for r, of in self._fills:
            rest = dict(r)
            r.clear()
            r.update(of(costs))
            r.update(rest)
        self._fills = []

    def frame(self, rows: list[dict], deadlines=None) -> pd.DataFrame:
        """The summary of the folded rows (``deadlines``: their :class:`DeadlineCounts`)."""
        workload = self.workload
        df = pd.DataFrame(rows)
        if workload.background_tenants:
            df["background"] = df["tenant"] == BACKGROUND
        if workload.deadlines:
            dl = deadlines.out
            df["deadline_missed"] = [dl[t][0] for t in df["tenant"]]
            batch_rows = df["tenant"].isin(list(workload.deadlines))
            df.loc[batch_rows, "slo_attainment"] = [deadline_share(*dl[t])
                                                    for t in df.loc[batch_rows, "tenant"]]
            df.loc[batch_rows, "slo_ttft_s"] = np.nan  # their objective is the deadline
        df["cost_per_mtok_out_usd"] = np.where(df["output_tokens"] > 0,
                                               df["cost_usd"] / df["output_tokens"] * 1e6, np.nan)
        df["cost_per_1k_requests_usd"] = np.where(df["completed"] > 0,
                                                  df["cost_usd"] / df["completed"] * 1e3, np.nan)
        tok = df["input_tokens"] + df["output_tokens"]
        df["cost_per_mtok_total_usd"] = np.where(tok > 0, df["cost_usd"] / tok * 1e6, np.nan)
        month = df["period_s"].map(monthly_factor)  # each row's own billing period
        df["monthly_cost_usd"] = df["cost_usd"] * month
        df["monthly_output_tokens"] = df["output_tokens"] * month
        df["monthly_requests"] = df["requests"] * month
        return df[SUMMARY_COLUMNS + [c for c in df.columns if c not in SUMMARY_COLUMNS]]


def _model_rows(plan, named, idx) -> None:
    """One ``__model__:<m>`` row per model the user tenants called, when there are several:
    request figures and SLO attainment (each request against its own tenant's SLO) over the
    user requests served by that model; costs: what the user tenants were billed for it (its
    pools, its tokens); ``clipped`` over its requests (``plan.moved``); ``busy_fraction`` and
    the load figures of that model's replicas. ``idx``: the models of the user requests;
    ``named``: each user tenant's ``(name, model)``. Registered in ``plan``
    (:class:`SummaryPlan`)."""
    workload = plan.workload
    names = {workload.models[mi] for mi in idx}
    names |= {model for _, model in named if model in workload.models}
    if len(names) < 2:
        return
    users = [t for t, _ in named]
    for m in sorted(names):
        r = plan.pending.add(MODEL_ROW + m, m, plan.pick(MODEL_ROW + m), None, plan._run_period,
                             own_slo=True)
        # what the user tenants were billed for this model (a pipeline tenant's stages each
        # under their own model; until December 2026 its whole bill sat under its first
        # stage's model, and the answering LLM's row read $0)
        plan._fills.append((r, lambda c, m=m: c.model(users, m)))
        plan._load(r, lambda m=m: plan.ledger_loads()[0].get(
            m, dict.fromkeys(LOAD_COLUMNS, float("nan"))))
        # its requests whose lengths were changed (until December 2026 the count of the
        # tenants whose first model it is: a pipeline's clipped LLM stage sat on its embedder)
        r["clipped"] = 0
        if workload.changed_req is not None:  # None: no request was changed
            plan.moved.append(_Clipped(workload.changed_req, plan.pick(MODEL_ROW + m), r))


def served_tiers(workload, log, block: int = BLOCK) -> list[str]:
    """The tiers that served (or turned away) the setup's user requests, tool stages aside;
    not :data:`NO_TIER`, the requests rejected before reaching one. A set over blocks of
    ``block`` request ids."""
    seen = np.zeros(max(len(log.tiers.names), 1), bool)
    for a in range(0, len(workload), block):
        seen[log.tier[a:a + block][row_selection(workload, log, TIER_ROW, a, a + block)]] = True
    return [log.tiers.names[c] for c in np.flatnonzero(seen).tolist()]


def row_selection(workload, log, name: str, a: int = 0, b: int | None = None) -> np.ndarray:
    """The requests a summary row's label covers (of requests ``a`` to ``b - 1``; every
    request by default): a tenant's, ``__all__`` (every user tenant's), ``__background__``,
    ``__model__:<m>`` (the user requests to model ``m``) or ``__tier__:<t>`` (the user
    requests tier ``t`` served, tool stages aside; bare ``__tier__:`` every user request a
    tier served, so none turned away before reaching one). KeyError for an unknown label."""
    tenant, model = workload.tenant[a:b], workload.model[a:b]
    if name not in (ALL, BACKGROUND) and not name.startswith((MODEL_ROW, TIER_ROW)):
        return tenant == workload.tenants.index(name)
    user = (tenant < workload.n_user_tenants if workload.background_tenants
            else np.ones(tenant.size, bool))
    if name == ALL:
        return user
    if name == BACKGROUND:
        return ~user
    if name.startswith(MODEL_ROW):
        m = name[len(MODEL_ROW):]
        if m not in workload.models:
            raise KeyError(name)
        return user & (model == workload.models.index(m))
    sel = user & (model < len(workload.served_models))  # a tier row
    tier = log.tier[a:b]
    if NO_TIER in log.tiers.names:  # turned away before any tier: no tier's request
        sel = sel & (tier != log.tiers.names.index(NO_TIER))
    t = name[len(TIER_ROW):]
    if not t:
        return sel
    if t not in log.tiers.names:
        raise KeyError(name)
    return sel & (tier == log.tiers.names.index(t))


def blocks_of(workload, log, name: str):
    """A summary row's selection as a function of a block of requests ``(a, b)``."""
    return lambda a, b: row_selection(workload, log, name, a, b)


class _Clipped:
    """A row's requests whose lengths were changed to be served (``moved``, per request),
    counted block by block (``add(a, b)``) into its ``clipped``."""

    def __init__(self, moved, pick, row: dict):
        self.moved, self.pick, self.row = moved, pick, row

    def add(self, a: int, b: int) -> None:
        self.row["clipped"] += int(np.count_nonzero(self.moved[a:b][self.pick(a, b)]))


def summary_row(summary: pd.DataFrame, setup: str, tenant: str = ALL) -> pd.Series:
    """One row of a summary frame: a setup's (or variant's) row for a tenant or ``__all__``."""
    return summary[(summary["setup"] == setup) & (summary["tenant"] == tenant)].iloc[0]
