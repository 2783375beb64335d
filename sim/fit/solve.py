"""The fit: the factors that make a replayed log's TTFTs and TPOTs match the logged ones.

The objective is the mean squared log error of TTFT plus that of TPOT (each request's
simulated value against its logged one; by rank when the arrivals are synthetic, see
:mod:`sim.fit.replay`). Logs are a fair measure of relative error whatever the scale, and
TTFT and TPOT weigh equally whatever their sizes. The search is Nelder-Mead (scipy) over
the logarithms of the four factors, started from the catalog's values and restarted from
its own answer until it stops improving, by 0.1 % (a restart rebuilds the simplex, which a
discontinuous objective - a request joining one iteration later - can collapse), or until
``--max-evaluations`` replays are spent (``Fit.stopped``, said by ``python -m sim.fit``).
Then it is checked by searching again from two other starts (``CHECK_OFFSETS``): the best end
is kept, and one nearly as good yet over 3 % away is said (``Fit.check``).
Bounds: efficiencies within (0.01, 1] and overheads within [1 us, 100 ms] per iteration
(assumption: plausibility limits, not measurements).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from sim.errors import InputError
from sim.fit.logs import RequestLog
from sim.fit.replay import PARAMS, Arrivals, catalog_params, replay, with_params
from sim.perf import Deployment

BOUNDS = {"memory": (0.01, 1.0), "compute": (0.01, 1.0),
          "fixed_overhead_s": (1e-6, 0.1), "seq_overhead_s": (1e-6, 0.1)}
FLOOR_S = 1e-4  # assumption: latencies below 0.1 ms are read as 0.1 ms (client timer noise)


@dataclass(frozen=True)
class Fit:
    params: dict
    start: dict
    loss: float
    start_loss: float
    evaluations: int
    residuals: dict  # "ttft"/"tpot" -> relative errors (simulated / logged - 1)
    # None when the last stage converged (a restart no longer improved its objective by
    # RESTART_GAIN); else what the budget cut: {"budget", "last" (replays), "before", "after"
    # (the last stage's best objective, TTFT weighted TTFT_FINAL_WEIGHT, before those last
    # replays and at the end)}
    stopped: dict | None = None
    moved: dict | None = None  # factor -> (catalog value, the bound the search started at)
    # the searches from CHECK_OFFSETS away: {"replays" (beyond ``evaluations``), "first",
    # "best" (final-stage objectives of the first search's end and of the best end, which is
    # ``params``), "ends" [(objective, factor -> its relative distance from the best)] and
    # "far": the end furthest (over GAP_WARN) of those within CLOSE x the best, or None}
    check: dict | None = None


TTFT_BINS = 10  # prompt-length groups whose mean TTFTs are compared (assumption: enough
# requests per group to average out which iteration each request happened to join)
TTFT_WEIGHT = 0.1
TTFT_FINAL_WEIGHT = 0.01


def _pairs(sim: np.ndarray, obs: np.ndarray, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    ok = ~np.isnan(obs)
    sim, obs = sim[ok], obs[ok]
    if not paired:
        sim, obs = np.sort(sim), np.sort(obs)
    return sim, obs


def errors(dep: Deployment, log: RequestLog, arr: Arrivals, p: dict, engine: str = "fluid",
           replicas: int = 1) -> dict:
    """Relative errors (simulated / logged - 1) of each request's TTFT and TPOT under ``p``,
    and of the mean TTFT of each prompt-length group (``ttft_groups``, what the fit uses)."""
    ttft, tpot = replay(with_params(dep, p), log, arr, engine, replicas)
    out = {}
    for name, sim, obs in (("ttft", ttft, log.ttft_s), ("tpot", tpot, log.tpot_s)):
        s, o = _pairs(sim, obs, arr.paired)
        out[name] = np.maximum(s, FLOOR_S) / np.maximum(o, FLOOR_S) - 1.0
    # A request's TTFT depends on which iteration it happened to arrive in (a 1 % change of
    # a factor can move it from a decode step to behind a long prefill), so single TTFTs make
    # a jagged objective; the mean over requests of similar prompts is smooth.
    order = np.argsort(log.n_in, kind="stable") if arr.paired else np.arange(len(log))
    groups = np.array_split(order, min(TTFT_BINS, len(log)))
    s_ttft = np.sort(ttft) if not arr.paired else ttft
    o_ttft = np.sort(log.ttft_s) if not arr.paired else log.ttft_s
    out["ttft_groups"] = np.array([max(s_ttft[g].mean(), FLOOR_S) / max(o_ttft[g].mean(), FLOOR_S)
                                   - 1.0 for g in groups])
    return out


STAGES = (TTFT_WEIGHT, TTFT_FINAL_WEIGHT)
RESTART_GAIN = 1e-3  # a restart that improves the objective by less has converged (assumption)
# The check's starts: the fit's factors with memory efficiency and both overheads moved
# together by 25 % up and down (the direction in which a steady load lets them trade: a
# faster weight read paid back by longer overheads), and each one's budget, a share of
# --max-evaluations on top of it (assumptions)
CHECK_OFFSETS = (np.log(np.array([1.25, 1.0, 1.25, 1.25])), np.log(np.array([0.8, 1.0, 0.8, 0.8])))
CHECK_SHARE = 0.2
GAP_WARN = 0.03  # ends further apart than README's stated tolerance are warned of ...
CLOSE = 3.0  # ... when the other end's objective is within 3x the best's (RMS log error within
# 1.7x): both match the log about as well as the objective's jitter (a request joining
# another iteration moves it ~1e-6 to 1e-5 for a 0.1 % move of a factor) and its pits let the
# search rank them (assumption; measured: the five-phase log's ends 1.4-4.6x apart all lie
# within 3 %, steady-load logs' ends 1.05-2.2x apart differ by 15-120 %)
LAST_SHARE = 0.1  # the budget note's window: the last 10 % of the budget's replays (assumption)

# Each stage fits all len(PARAMS) = 4 factors to the same data: one TPOT per request that
# logged one (two or more output tokens), and one mean TTFT per prompt-length group
# (min(TTFT_BINS, requests) groups). A log giving fewer values than factors leaves some
# factor free whatever it holds (one request gives 2 values for 4 unknowns): refused. One
# giving fewer than two a factor is fitted, but an exact match says little: noted
# (assumption: two values a factor is the least that leaves the fit's errors a check).
MIN_VALUES = len(PARAMS)
FEW_VALUES = 2 * len(PARAMS)


def fitted_values(log: RequestLog) -> tuple[int, int]:
    """(TPOTs, TTFT group means) the fit's objective compares for ``log``."""
    return int(np.count_nonzero(~np.isnan(log.tpot_s))), min(TTFT_BINS, len(log))


def check_identifiable(log: RequestLog) -> None:
    """A log giving fewer values than the factors each stage fits: an InputError naming it."""
    tpots, groups = fitted_values(log)
    if tpots + groups < MIN_VALUES:
        raise InputError(f"{len(log)} request(s) give {tpots + groups} values to fit ({tpots} "
                         f"TPOT(s), {groups} mean TTFT(s)), fewer than the {len(PARAMS)} factors "
                         f"the fit solves for ({', '.join(PARAMS)}), so some would be left free: "
                         "log at least 2 requests of two or more output tokens each", path=log.path)


def _loss(err: dict, ttft_weight: float = TTFT_WEIGHT) -> float:
    total = 0.0
    for name, w in (("tpot", 1.0), ("ttft_groups", ttft_weight)):
        e = err[name]
        if e.size and w:
            if np.isnan(e).any():  # a request never finished: worse than any fit
                return 1e6
            total += w * float(np.mean(np.log1p(e) ** 2))
    return total


def _check_fits(dep: Deployment, log: RequestLog, arr: Arrivals, engine: str,
                replicas: int) -> None:
    """Every logged request must fit the model's context and finish on the deployment."""
    total = log.n_in + log.n_out
    over = np.flatnonzero(total > dep.model.max_context)
    if over.size:
        line, label = log.where(int(over[0]))
        raise InputError(f"{label}{int(total[over[0]])} tokens exceed {dep.model.key}'s context "
                         f"of {dep.model.max_context}", path=log.path, line=line)
    ttft, _ = replay(dep, log, arr, engine, replicas)
    stuck = np.flatnonzero(np.isnan(ttft))
    if stuck.size:
        line, label = log.where(int(stuck[0]))
        raise InputError(f"{label}never finishes on {dep.label}: its {int(total[stuck[0]])} "
                         "tokens do not fit the KV cache", path=log.path, line=line)


def fit_log(dep: Deployment, log: RequestLog, arr: Arrivals, engine: str = "fluid",
            replicas: int = 1, max_evaluations: int = 1500, tol: float = 1e-4) -> Fit:
    """Two stages, each with half the replays: TTFT weighted ``TTFT_WEIGHT`` (its group
    means pull the search into the right basin from far away), then ``TTFT_FINAL_WEIGHT``
    (near the answer the smooth TPOT term locates it more finely than the TTFT term's jitter
    allows)."""
    start = catalog_params(dep)
    check_identifiable(log)
    _check_fits(dep, log, arr, engine, replicas)
    first = errors(dep, log, arr, start, engine, replicas)
    lo = np.log([BOUNDS[k][0] for k in PARAMS])
    hi = np.log([BOUNDS[k][1] for k in PARAMS])
    # a catalog factor outside the bounds (an overhead of 0 by --config) starts the search at
    # its bound, said by ``Fit.moved`` (was numpy's "divide by zero in log" and unsaid)
    moved = {k: (start[k], min(max(start[k], BOUNDS[k][0]), BOUNDS[k][1])) for k in PARAMS
             if not BOUNDS[k][0] <= start[k] <= BOUNDS[k][1]}
    x0 = np.log([moved[k][1] if k in moved else start[k] for k in PARAMS])
    count = {"n": 0}

    def unpack(x):
        return {k: float(math.exp(v)) for k, v in zip(PARAMS, np.clip(x, lo, hi))}

    best_x = x0
    stopped = None
    for stage, weight in enumerate(STAGES, start=1):
        budget = max_evaluations * stage // len(STAGES)
        trace: list[float] = []  # the objective at each replay of this stage

        def objective(x, weight=weight, trace=trace) -> float:
            count["n"] += 1
            penalty = float(np.sum(np.maximum(x - hi, 0) + np.maximum(lo - x, 0)))
            trace.append(_loss(errors(dep, log, arr, unpack(x), engine, replicas), weight) + penalty)
            return trace[-1]

        best_x, best, converged = _descend(objective, best_x, budget, count, tol)
        last = max(1, min(round(max_evaluations * LAST_SHARE), len(trace) - 1))
        stopped = None if converged else {
            "budget": max_evaluations, "last": last, "after": min(trace),
            "before": min(trace[:-last]) if len(trace) > last else trace[0]}
    spent = count["n"]
    # the check: the last stage again from points CHECK_OFFSETS away; on a log that pins the
    # factors they come back, on one that leaves them trading (a flat, rough valley) they can
    # stop elsewhere, matching the log about as well. The best end is kept (and is what a
    # budget note's last objective tells); one within CLOSE x of it yet far from it is said.
    ends = [(best, best_x)]
    for offset in CHECK_OFFSETS:
        x, f, _ = _descend(objective, best_x + offset,
                           count["n"] + max(1, round(max_evaluations * CHECK_SHARE)), count, tol)
        ends.append((f, x))
    f, x = min(ends, key=lambda e: e[0])

    def gap(y):
        return {k: math.exp(o - b) - 1 for k, o, b in zip(PARAMS, np.clip(y, lo, hi),
                                                          np.clip(x, lo, hi))}
    far = [(e, gap(y)) for e, y in ends
           if e <= CLOSE * f and max(map(abs, gap(y).values())) > GAP_WARN]
    check = {"replays": count["n"] - spent, "first": best, "best": f,
             "ends": [(e, gap(y)) for e, y in ends],
             "far": max(far, key=lambda e: max(map(abs, e[1].values()))) if far else None}
    best_x = x
    if stopped is not None:  # the budget note's window: the last replays and the check's
        stopped["after"] = min(stopped["after"], f)
    params = unpack(best_x)
    residuals = errors(dep, log, arr, params, engine, replicas)
    return Fit(params, start, _loss(residuals), _loss(first), spent, residuals, stopped,
               moved or None, check)


def _descend(objective, x, budget: int, count: dict, tol: float) -> tuple:
    """Nelder-Mead from ``x``, restarted from its answer until a restart improves by under
    ``RESTART_GAIN`` (converged) or ``count["n"]`` reaches ``budget``: (x, objective, converged)."""
    best = objective(x)
    while count["n"] < budget:
        # simplex: each factor 20 % off the current point
        simplex = np.vstack([x] + [x + 0.2 * np.eye(len(PARAMS))[i] for i in range(len(PARAMS))])
        res = minimize(objective, x, method="Nelder-Mead",
                       options={"initial_simplex": simplex, "xatol": tol, "fatol": 1e-12,
                                "maxfev": max(budget - count["n"], 1)})
        improved = res.fun < best * (1 - RESTART_GAIN) - 1e-12
        if res.fun < best:
            x, best = res.x, float(res.fun)
        if res.status == 1:  # cut by maxfev: the budget ran out mid-search (was taken for
            return x, best, False  # converged when that search had not yet improved, unsaid)
        if not improved:
            return x, best, True
    return x, best, False


def floored(log: RequestLog) -> dict:
    """How many logged TTFTs and TPOTs are under ``FLOOR_S``: the errors measure them as
    ``FLOOR_S`` (``ttft``, ``tpot`` -> count)."""
    return {name: int(np.sum(v < FLOOR_S)) for name, v in (("ttft", log.ttft_s),
                                                             ("tpot", log.tpot_s))}


def percentiles(residuals: dict) -> dict:
    """p50 and p90 of the absolute relative errors, in %, for TTFT and TPOT (NaN: none)."""
    out = {}
    for name in ("ttft", "tpot"):
        e = residuals[name]
        a = np.abs(e) * 100
        for q in (50, 90):
            out[f"{name}_p{q}_abs_error_pct"] = float(np.percentile(a, q)) if a.size else math.nan
    return out


def fitted_keys(dep: Deployment, p: dict) -> dict:
    """The fitted factors as the catalog keys they set (``gpus.G.seq_overhead_s`` ...) and
    their values, unrounded: until December 2026 they were written to 4 significant digits
    while the errors printed and ``residuals.csv`` were the unrounded factors' (a run with
    the written values gave TTFT errors of 3.1 / 17.2 % against the 1.1 / 12.6 % printed)."""
    g, prec = dep.gpu.key, dep.precision
    fitted = with_params(dep, p).gpu
    return {f"gpus.{g}.efficiency.{prec}.memory": float(p["memory"]),
            f"gpus.{g}.efficiency.{prec}.compute": float(p["compute"]),
            f"gpus.{g}.step_overhead_s": float(fitted.step_overhead_s),
            f"gpus.{g}.layer_overhead_s": float(fitted.layer_overhead_s),
            f"gpus.{g}.seq_overhead_s": float(fitted.seq_overhead_s)}
