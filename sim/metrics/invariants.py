"""Accounting invariants of a finished setup run, checked at the end of every run.

:func:`violations` lists every broken rule of one :class:`~sim.simulation.simulate.SetupRun` (its
request log and GPU usage ledger; optionally its cost breakdown and summary rows);
:func:`check_run` raises :class:`~sim.errors.InvariantError` listing all of them. The rules
hold for any setup that ends requests through the log, whatever its tiers or reasons:
* every request offered to the setup ends exactly once (completed, rejected or failed), and
  requests it was not offered (background tenants on a setup without a shared pool) stay
  untouched; a rejected or failed request carries a reason, a completed one none;
* no negative time anywhere; a completed request has arrival <= admission <= first token
  <= finish <= the end of the run (first token == finish for a one-token output; a remote
  replica's round trip is inside first token and finish);
* a completed request got exactly the output tokens it asked for (counted by the engine);
* per ledger row: 0 <= start <= end <= billing period, busy + down + loading time <= time
  up (so GPU busy time never exceeds GPU time), at least one GPU, a price >= 0;
* cost components add up (:func:`sim.metrics.cost.check_invariants`) and the GPU cost attributed to
  tenants is the ledger's;
* summary rows: requests = completed + rejected + failed = the log's count, per tenant, and
  the ``__all__`` row is the sum of its tenants.

Every check is a vectorised pass over the log's columns, so it costs milliseconds per
million requests.
"""

from __future__ import annotations

import numpy as np

from sim.errors import InvariantError
from sim.metrics.cost import check_invariants
from sim.metrics.summary import row_selection
from sim.records import (
    ALL,
    COMPLETED,
    FAILED,
    MODEL_ROW,
    OUTCOMES,
    PENDING,
    REJECTED,
    TIER_ROW,
    is_aggregate,
)

_SHOW = 5  # request ids quoted per violation


def _ids(mask: np.ndarray) -> str:
    return _list(np.flatnonzero(mask))


def _list(idx: np.ndarray) -> str:
    more = f" and {idx.size - _SHOW} more" if idx.size > _SHOW else ""
    return ", ".join(str(i) for i in idx[:_SHOW].tolist()) + more


def offered_mask(workload, run) -> np.ndarray:
    """The requests this setup was offered: all, except background tenants' requests on a
    setup without a shared pool (they stay pending outside the run)."""
    if workload.background_tenants and not run.background:
        return workload.user_mask()
    return np.ones(len(workload), dtype=bool)


def _tol(*arrays) -> float:
    """Absolute tolerance for comparing event times: float rounding of sums of step times."""
    big = 1.0
    for a in arrays:
        fin = np.isfinite(a)  # the largest |x| of the finite values, without copying them
        if fin.any():
            big = max(big, abs(float(np.max(a, where=fin, initial=-np.inf))),
                      abs(float(np.min(a, where=fin, initial=np.inf))))
    return 1e-9 * big


def log_violations(workload, run) -> list[str]:
    log = run.log
    out: list[str] = []
    n = log.n
    if n != len(workload):
        return [f"the log has {n} rows for {len(workload)} requests"]
    offered = offered_mask(workload, run)
    oc = log.outcome
    # each mask is dropped once checked: at a week's scale every one is 17 MB
    bad = (oc < 0) | (oc >= len(OUTCOMES))
    if bad.any():
        out.append(f"{int(bad.sum())} requests have an unknown outcome code (ids {_ids(bad)})")
    bad = offered & (oc == PENDING)
    never = int(bad.sum())
    if never:
        out.append(f"{never} offered requests never ended (ids {_ids(bad)})")
    bad = ~offered & (oc != PENDING)
    if bad.any():
        out.append(f"{int(bad.sum())} requests ended that were never offered to this setup "
                   f"(ids {_ids(bad)})")
    del bad
    if log.open != 0:
        out.append(f"the log counts {log.open} requests still open")
    ended = int(np.count_nonzero(offered & (oc != PENDING)))
    by = {k: int(np.count_nonzero(offered & (oc == k))) for k in (COMPLETED, REJECTED, FAILED)}
    if sum(by.values()) != ended or ended + never != int(offered.sum()):
        out.append(f"outcomes do not add up: {by} vs {ended} ended of {int(offered.sum())} offered")
    del offered
    reason_name = np.array([bool(r) for r in log.reasons.names])
    rc = log.reason.astype(np.int16)  # int8 codes; int16 leaves room to index
    bad = (rc < 0) | (rc >= reason_name.size)
    if bad.any():
        out.append(f"{int(bad.sum())} requests have an unknown reason code (ids {_ids(bad)})")
    rc[bad] = 0
    del bad
    has_reason = reason_name[rc]
    del rc
    bad = ((oc == REJECTED) | (oc == FAILED)) & ~has_reason
    if bad.any():
        out.append(f"{int(bad.sum())} rejected or failed requests carry no reason "
                   f"(ids {_ids(bad)})")
    done = oc == COMPLETED
    bad = done & has_reason
    del has_reason
    if bad.any():
        out.append(f"{int(bad.sum())} completed requests carry a failure reason "
                   f"(ids {_ids(bad)})")
    del bad

    # ---- times
    a, ad, f, d = log.arrival_s, log.admit_s, log.first_s, log.finish_s
    tol = _tol(a, ad, f, d)
    for name, col in (("arrival", a), ("admission", ad), ("first token", f), ("finish", d)):
        neg = np.isfinite(col) & (col < -tol)
        if neg.any():
            out.append(f"{int(neg.sum())} requests have a negative {name} time (ids {_ids(neg)})")
    cold_ids, cold = log.colds.written()  # the requests that waited for a cold start
    neg = np.isfinite(cold["cold_wait_s"]) & (cold["cold_wait_s"] < -tol)
    if neg.any():
        out.append(f"{int(neg.sum())} requests have a negative cold-start wait time "
                   f"(ids {_list(cold_ids[neg])})")
    missing = done & ~(np.isfinite(a) & np.isfinite(f) & np.isfinite(d))
    if missing.any():
        out.append(f"{int(missing.sum())} completed requests lack an arrival, first-token or "
                   f"finish time (ids {_ids(missing)})")
    with np.errstate(invalid="ignore"):
        adm = done & np.isfinite(ad)
        for what, sel, later, earlier in (  # one mask at a time
            ("admitted before arrival", adm, ad, a),
            ("first token before admission", adm, f, ad),
            ("first token before arrival", done, f, a),
            ("finish before first token", done, d, f),
            (f"finish after the end of the run ({run.t_end:.6g} s)", done, None, d),
        ):
            bad = sel & ((d > run.t_end + tol) if later is None else (later < earlier - tol))
            if bad.any():
                out.append(f"{int(bad.sum())} completed requests: {what} (ids {_ids(bad)})")
            del bad
        del adm
    if (log.attempts < 0).any():
        out.append(f"negative attempt counts (ids {_ids(log.attempts < 0)})")

    # ---- tokens
    if log.wrong_tokens:  # checked as each completion was written (RequestLog.flush)
        ids = np.array(sorted(log.wrong_tokens))
        i, got = (int(v) for v in ids[0])
        out.append(f"{len(ids)} completed requests got a different number of output tokens "
                   f"than they asked for (ids {_list(ids[:, 0])}; request {i}: "
                   f"{got} of {int(workload.output_tokens[i])})")
    # ---- prefix cache: a hit leaves at least the last prompt token to compute
    over = (log.cached < 0) | (log.cached >= np.maximum(workload.input_tokens, 1))
    over &= log.cached != 0
    if over.any():
        out.append(f"{int(over.sum())} requests found more of their prompt cached than it has "
                   f"(ids {_ids(over)})")
    if (log.preempts < 0).any() or (log.preempt_s < 0).any():
        out.append(f"negative preemption counts or times (ids "
                   f"{_ids((log.preempts < 0) | (log.preempt_s < 0))})")
    return out


def ledger_violations(run) -> list[str]:
    out: list[str] = []
    for i, row in enumerate(run.ledger):
        who = f"ledger row {i} ({row.model}, {row.tier})"
        up = row.end_s - row.start_s
        tol = 1e-9 * max(1.0, abs(row.end_s), abs(run.period_s))
        if not (row.start_s >= -tol and up >= -tol):
            out.append(f"{who}: bad interval [{row.start_s!r}, {row.end_s!r}]")
        if row.end_s > run.period_s + tol:
            out.append(f"{who}: ends at {row.end_s!r} s, after the billing period {run.period_s!r} s")
        parts = {"busy": row.busy_s, "down": row.down_s, "loading": row.loading_s}
        for name, v in parts.items():
            if not v >= -tol:
                out.append(f"{who}: negative {name} time {v!r}")
        if row.busy_s > up + tol:
            out.append(f"{who}: GPU busy time {row.busy_s!r} s exceeds its GPU time {up!r} s")
        elif sum(parts.values()) > up + tol:
            out.append(f"{who}: busy + down + loading time {sum(parts.values())!r} s exceeds "
                       f"its time up {up!r} s")
        if row.gpus < 1:
            out.append(f"{who}: {row.gpus} GPUs")
        if not row.usd_per_gpu_hour >= 0:
            out.append(f"{who}: price {row.usd_per_gpu_hour!r} $/GPU-hour")
    return out


def cost_violations(run, costs) -> list[str]:
    out: list[str] = []
    try:
        check_invariants(costs)
    except InvariantError as e:
        out.append(str(e))
    billed = sum(r.cost_usd for r in run.ledger if r.billing != "per_token")
    gpu = costs.totals.get("gpu_cost_usd", 0.0)
    if abs(billed - gpu) > 1e-9 * max(1.0, abs(billed)):
        out.append(f"GPU cost attributed to tenants {gpu!r} differs from the ledger's {billed!r}")
    return out


def summary_violations(workload, run, summary) -> list[str]:
    """Counts in the summary rows of this run's setup against the log."""

    out: list[str] = []
    rows = summary[summary["setup"] == run.setup]
    offered = offered_mask(workload, run)
    oc = run.log.outcome
    for _, r in rows.iterrows():
        parts = int(r["completed"]) + int(r["rejected"]) + int(r["failed"])
        if int(r["requests"]) != parts:
            out.append(f"summary row {r['tenant']}: requests {int(r['requests'])} != completed + "
                       f"rejected + failed = {parts}")
        name = r["tenant"]
        try:
            sel = offered & row_selection(workload, run.log, name)
        except (KeyError, ValueError):
            out.append(f"summary row for unknown tenant {name!r}")
            continue
        for col, code in (("completed", COMPLETED), ("rejected", REJECTED), ("failed", FAILED)):
            n = int(np.count_nonzero(sel & (oc == code)))
            if int(r[col]) != n:
                out.append(f"summary row {name}: {col} {int(r[col])}, the log has {n}")
    tenants = rows[~rows["tenant"].map(is_aggregate)]
    total = rows[rows["tenant"] == ALL]
    models = rows[rows["tenant"].str.startswith(MODEL_ROW)]
    if len(total) == 1 and len(models):  # the model rows partition the user requests
        for col in ("requests", "completed", "output_tokens"):
            s, t = int(models[col].sum()), int(total[col].iloc[0])
            if s != t:
                out.append(f"summary: {col} of the model rows add up to {s}, not __all__'s {t}")
    tiers = rows[rows["tenant"].str.startswith(TIER_ROW)]
    if len(tiers):  # the tier rows partition the user requests a tier served
        served = offered & row_selection(workload, run.log, TIER_ROW)
        for col, n in (("requests", np.count_nonzero(served)),
                       ("completed", np.count_nonzero(served & (oc == COMPLETED)))):
            if int(tiers[col].sum()) != int(n):
                out.append(f"summary: {col} of the tier rows add up to {int(tiers[col].sum())}, "
                           f"not the {int(n)} user requests the tiers served")
    if len(total) == 1:
        for col in ("requests", "completed", "rejected", "failed", "output_tokens"):
            s, t = int(tenants[col].sum()), int(total[col].iloc[0])
            if s != t:
                out.append(f"summary: tenants' {col} add up to {s}, the {ALL} row says {t}")
    if "deadline_missed" in rows.columns:  # batch-tier tenants only, never more than they sent
        for _, r in tenants.iterrows():
            batch = r["tenant"] in workload.deadlines
            if int(r["deadline_missed"]) > (int(r["requests"]) if batch else 0):
                out.append(f"summary row {r['tenant']}: deadline_missed {int(r['deadline_missed'])} "
                           f"of {int(r['requests'])} requests ({'batch' if batch else 'interactive'})")
        if len(total) == 1 and int(tenants["deadline_missed"].sum()) != int(total["deadline_missed"].iloc[0]):
            out.append(f"summary: tenants' deadline_missed do not add up to the {ALL} row's")
    return out


def violations(workload, run, costs=None, summary=None) -> list[str]:
    out = log_violations(workload, run) + ledger_violations(run)
    if costs is not None:
        out += cost_violations(run, costs)
    if summary is not None:
        out += summary_violations(workload, run, summary)
    return out


def check_run(workload, run, costs=None, summary=None) -> None:
    """Raise :class:`InvariantError` listing every violation of this run, if any."""
    _raise(run, violations(workload, run, costs, summary))


def check_outputs(workload, run, costs, summary) -> None:
    """The cost and summary checks alone (the log and ledger were checked by simulate)."""
    _raise(run, cost_violations(run, costs) + summary_violations(workload, run, summary))


def _raise(run, found: list[str]) -> None:
    if found:
        raise InvariantError(f"setup {run.setup!r} broke {len(found)} invariant(s) "
                             "(a simulator bug, please report it):\n  - " + "\n  - ".join(found))
