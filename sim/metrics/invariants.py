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

Every check is a vectorised pass over blocks of the log's columns (``block`` request ids
at a time, :data:`sim.metrics.rows.BLOCK` by default; counts and first ids folded
exactly), so it costs milliseconds per million requests and no full-length mask.
"""

from __future__ import annotations

import numpy as np

from sim.errors import InvariantError
from sim.metrics.cost import check_invariants
from sim.metrics.rows import BLOCK, spans
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


def _list(idx, n: int | None = None) -> str:
    """The first :data:`_SHOW` of the ids ``idx``, and how many more of ``n`` (its length)."""
    n = len(idx) if n is None else n
    more = f" and {n - _SHOW} more" if n > _SHOW else ""
    return ", ".join(str(i) for i in list(idx[:_SHOW])) + more


class _Found:
    """The requests each check flags, folded over blocks: per check, how many and the first
    :data:`_SHOW` ids."""

    def __init__(self):
        self.n: dict[str, int] = {}
        self.ids: dict[str, list[int]] = {}

    def add(self, key: str, mask: np.ndarray, a: int) -> None:
        """The requests ``mask`` flags in the block starting at id ``a``."""
        k = int(np.count_nonzero(mask))
        self.n[key] = self.n.get(key, 0) + k
        shown = self.ids.setdefault(key, [])
        if k and len(shown) < _SHOW:
            shown += (np.flatnonzero(mask)[:_SHOW - len(shown)] + a).tolist()

    def say(self, out: list[str], key: str, what: str, counted: bool = True) -> None:
        """``<n> <what> (ids ...)`` (without ``<n>`` unless ``counted``), if any was flagged."""
        n = self.n.get(key, 0)
        if n:
            out.append(f"{f'{n} ' if counted else ''}{what} (ids {_list(self.ids[key], n)})")


def offered_mask(workload, run, a: int = 0, b: int | None = None) -> np.ndarray:
    """The requests this setup was offered (of requests ``a`` to ``b - 1``; every request by
    default): all, except background tenants' requests on a setup without a shared pool (they
    stay pending outside the run)."""
    tenant = workload.tenant[a:b]
    if workload.background_tenants and not run.background:
        return tenant < workload.n_user_tenants
    return np.ones(tenant.size, dtype=bool)


def _tol(log, block: int) -> float:
    """Absolute tolerance for comparing event times: float rounding of sums of step times."""
    big = 1.0
    for a, b in spans(log.n, block):
        for col in (log.arrival_s, log.admit_s, log.first_s, log.finish_s):
            x = col[a:b]
            fin = np.isfinite(x)  # the largest |x| of the finite values, without copying them
            if fin.any():
                big = max(big, abs(float(np.max(x, where=fin, initial=-np.inf))),
                          abs(float(np.min(x, where=fin, initial=np.inf))))
    return 1e-9 * big


def log_violations(workload, run, block: int = BLOCK) -> list[str]:
    """The broken rules of the request log, read in blocks of ``block`` request ids."""
    log = run.log
    if log.n != len(workload):
        return [f"the log has {log.n} rows for {len(workload)} requests"]
    checks = LogChecks(workload, run, _tol(log, block), run.t_end)
    for a, b in spans(log.n, block):
        checks.add(a, b)
    return checks.violations()


class LogChecks:
    """:func:`log_violations` as an accumulator (``add(a, b)``, then :meth:`violations`).
    ``tol``: the times' absolute tolerance; ``t_end``: the run's end, None when the blocks
    come while the run goes (a log sealed in blocks, sim/logseal.py): completions after the
    end are then found from the latest finish, once the run's end is known."""

    def __init__(self, workload, run, tol: float, t_end: float | None = None):
        self.workload, self.run, self.tol, self.t_end = workload, run, tol, t_end
        self.found = _Found()
        self.by = dict.fromkeys((COMPLETED, REJECTED, FAILED), 0)
        self.ended = self.offered = 0
        self.last = -np.inf  # the latest finish of a completed request (t_end None)

    def add(self, a: int, b: int) -> None:
        wl, log, found = self.workload, self.run.log, self.found
        reason_name = np.array([bool(r) for r in log.reasons.names])  # codes made so far
        self.ended, self.offered = _outcomes(found, self.by, wl, self.run, a, b, reason_name,
                                             self.ended, self.offered)
        _times(found, log, a, b, self.tol, np.inf if self.t_end is None else self.t_end)
        if self.t_end is None:
            done = log.outcome[a:b] == COMPLETED
            self.last = max(self.last, float(np.max(log.finish_s[a:b], where=done
                                                    & np.isfinite(log.finish_s[a:b]),
                                                    initial=-np.inf)))
        found.add("attempts", log.attempts[a:b] < 0, a)
        cached = log.cached[a:b]  # a prefix-cache hit leaves the last prompt token to compute
        over = (cached < 0) | (cached >= np.maximum(wl.input_tokens[a:b], 1))
        over &= cached != 0
        found.add("cached", over, a)
        found.add("preempts", (log.preempts[a:b] < 0) | (log.preempt_s[a:b] < 0), a)

    def violations(self) -> list[str]:
        workload, run, found, by, tol = self.workload, self.run, self.found, self.by, self.tol
        log = run.log
        out: list[str] = []
        found.say(out, "outcome", "requests have an unknown outcome code")
        found.say(out, "never", "offered requests never ended")
        found.say(out, "unoffered", "requests ended that were never offered to this setup")
        if log.open != 0:
            out.append(f"the log counts {log.open} requests still open")
        never = found.n.get("never", 0)
        if sum(by.values()) != self.ended or self.ended + never != self.offered:
            out.append(f"outcomes do not add up: {by} vs {self.ended} ended of {self.offered} "
                       "offered")
        found.say(out, "reason", "requests have an unknown reason code")
        found.say(out, "no reason", "rejected or failed requests carry no reason")
        found.say(out, "reason done", "completed requests carry a failure reason")

        # ---- times
        for name in ("arrival", "admission", "first token", "finish"):
            found.say(out, name, f"requests have a negative {name} time")
        cold_ids, cold = log.colds.written()  # the requests that waited for a cold start
        neg = np.isfinite(cold["cold_wait_s"]) & (cold["cold_wait_s"] < -tol)
        if neg.any():
            out.append(f"{int(neg.sum())} requests have a negative cold-start wait time "
                       f"(ids {_list(cold_ids[neg])})")
        found.say(out, "missing", "completed requests lack an arrival, first-token or finish "
                  "time")
        for what in _ORDER:
            found.say(out, what, "completed requests: " + what.format(t_end=run.t_end))
        if self.t_end is None and self.last > run.t_end + tol:
            out.append(f"completed requests: finish after the end of the run ({run.t_end:.6g} "
                       f"s): the latest at {self.last:.6g} s")
        found.say(out, "attempts", "negative attempt counts", counted=False)

        # ---- tokens
        if log.wrong_tokens:  # checked as each completion was written (RequestLog.flush)
            ids = np.array(sorted(log.wrong_tokens))
            i, got = (int(v) for v in ids[0])
            out.append(f"{len(ids)} completed requests got a different number of output tokens "
                       f"than they asked for (ids {_list(ids[:, 0])}; request {i}: "
                       f"{got} of {int(workload.output_tokens[i])})")
        found.say(out, "cached", "requests found more of their prompt cached than it has")
        found.say(out, "preempts", "negative preemption counts or times", counted=False)
        return out


def _outcomes(found, by, workload, run, a, b, reason_name, ended, offered) -> tuple[int, int]:
    """The outcome and reason checks of requests ``a`` to ``b - 1``; the running ``(ended,
    offered)`` counts (``by``: ended offered requests by outcome, updated in place)."""
    log = run.log
    mine = offered_mask(workload, run, a, b)
    oc = log.outcome[a:b]
    found.add("outcome", (oc < 0) | (oc >= len(OUTCOMES)), a)
    found.add("never", mine & (oc == PENDING), a)
    found.add("unoffered", ~mine & (oc != PENDING), a)
    ended += int(np.count_nonzero(mine & (oc != PENDING)))
    for k in by:
        by[k] += int(np.count_nonzero(mine & (oc == k)))
    offered += int(np.count_nonzero(mine))
    rc = log.reason[a:b].astype(np.int16)  # int8 codes; int16 leaves room to index
    bad = (rc < 0) | (rc >= reason_name.size)
    found.add("reason", bad, a)
    rc[bad] = 0
    has_reason = reason_name[rc]
    found.add("no reason", ((oc == REJECTED) | (oc == FAILED)) & ~has_reason, a)
    found.add("reason done", (oc == COMPLETED) & has_reason, a)
    return ended, offered


# a completed request's event times in order: (what, admitted ones only, later, earlier)
_ORDER = {"admitted before arrival": (True, "admit_s", "arrival_s"),
          "first token before admission": (True, "first_s", "admit_s"),
          "first token before arrival": (False, "first_s", "arrival_s"),
          "finish before first token": (False, "finish_s", "first_s"),
          "finish after the end of the run ({t_end:.6g} s)": (False, None, "finish_s")}


def _times(found, log, a, b, tol, t_end) -> None:
    """The time checks of requests ``a`` to ``b - 1``."""
    col = {k: getattr(log, k)[a:b] for k in ("arrival_s", "admit_s", "first_s", "finish_s")}
    for name, k in zip(("arrival", "admission", "first token", "finish"), col):
        found.add(name, np.isfinite(col[k]) & (col[k] < -tol), a)
    done = log.outcome[a:b] == COMPLETED
    t, ad, f, d = col.values()
    found.add("missing", done & ~(np.isfinite(t) & np.isfinite(f) & np.isfinite(d)), a)
    with np.errstate(invalid="ignore"):
        adm = done & np.isfinite(ad)
        for what, (admitted, later, earlier) in _ORDER.items():
            sel = adm if admitted else done
            bad = sel & ((d > t_end + tol) if later is None
                         else (col[later] < col[earlier] - tol))
            found.add(what, bad, a)


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


def _by_outcome(workload, run, name: str, block: int) -> dict[int, int]:
    """The offered requests of a summary row's label, by outcome (and ``-1``: all), folded
    over blocks. KeyError or ValueError for an unknown label."""
    log = run.log
    row_selection(workload, log, name, 0, 0)  # an unknown label fails even on no request
    n = dict.fromkeys((-1, COMPLETED, REJECTED, FAILED), 0)
    for a, b in spans(log.n, block):
        sel = offered_mask(workload, run, a, b) & row_selection(workload, log, name, a, b)
        oc = log.outcome[a:b]
        n[-1] += int(np.count_nonzero(sel))
        for code in (COMPLETED, REJECTED, FAILED):
            n[code] += int(np.count_nonzero(sel & (oc == code)))
    return n


def summary_violations(workload, run, summary, block: int = BLOCK, by_outcome=None) -> list[str]:
    """Counts in the summary rows of this run's setup against the log (read in blocks of
    ``block`` request ids; ``by_outcome``: a label's counts as :func:`_by_outcome` gives
    them, folded already: sim/metrics/endrun.py)."""
    if by_outcome is None:
        def by_outcome(name):
            return _by_outcome(workload, run, name, block)
    out: list[str] = []
    rows = summary[summary["setup"] == run.setup]
    for _, r in rows.iterrows():
        parts = int(r["completed"]) + int(r["rejected"]) + int(r["failed"])
        if int(r["requests"]) != parts:
            out.append(f"summary row {r['tenant']}: requests {int(r['requests'])} != completed + "
                       f"rejected + failed = {parts}")
        name = r["tenant"]
        try:
            counts = by_outcome(name)
        except (KeyError, ValueError):
            out.append(f"summary row for unknown tenant {name!r}")
            continue
        for col, code in (("completed", COMPLETED), ("rejected", REJECTED), ("failed", FAILED)):
            n = counts[code]
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
        served = by_outcome(TIER_ROW)
        for col, n in (("requests", served[-1]), ("completed", served[COMPLETED])):
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


def violations(workload, run, costs=None, summary=None, block: int = BLOCK) -> list[str]:
    out = log_violations(workload, run, block) + ledger_violations(run)
    if costs is not None:
        out += cost_violations(run, costs)
    if summary is not None:
        out += summary_violations(workload, run, summary, block)
    return out


def check_run(workload, run, costs=None, summary=None, block: int = BLOCK) -> None:
    """Raise :class:`InvariantError` listing every violation of this run, if any (the log
    read in blocks of ``block`` request ids)."""
    _raise(run, violations(workload, run, costs, summary, block))


def check_outputs(workload, run, costs, summary, block: int = BLOCK, by_outcome=None) -> None:
    """The cost and summary checks alone (the log and ledger were checked by simulate)."""
    _raise(run, cost_violations(run, costs)
           + summary_violations(workload, run, summary, block, by_outcome))


def _raise(run, found: list[str]) -> None:
    if found:
        raise InvariantError(f"setup {run.setup!r} broke {len(found)} invariant(s) "
                             "(a simulator bug, please report it):\n  - " + "\n  - ".join(found))
