"""One summary row's request figures, from a run's log and workload, as a fold over blocks
of consecutive request ids (:class:`RowFold`).

:class:`RequestColumns` derives each figure (TTFT, TPOT, E2E) only for the requests a row
selects, and :func:`row_stats` makes them one at a time, each freed before the next: the
summary of a run never holds a full-length derived column (measured with tracemalloc on
the platform benchmark's pool at 20 models, 2 simulated hours, 115,000 requests: the
summary's own peak fell from 93 to 24 bytes a request). Each figure is folded block by
block (:data:`BLOCK` request ids at a time, columns sliced as views), so that a log sealed
in blocks can be summarised and freed block by block. :func:`walk` is the one driver of
such folds (each block once, in id order, to every accumulator); :class:`Rows` registers a
summary's rows first and folds them after, one walk per row and figure (the exact store's
peak) or all in one walk (``one_pass``: what a sealed log needs, worth it beside a sketch).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from sim.metrics.quantiles import percentiles
from sim.records import COMPLETED, FAILED, REJECTED

# request ids a block of a fold holds (an assumption: 2^20 keeps each of a block's float
# temporaries at 8 MB, small beside a run's log at that many requests, and the folds' Python
# overhead at a few steps a row)
BLOCK = 1 << 20

def spans(n: int, block: int = BLOCK):
    """The blocks ``(a, b)`` of consecutive request ids ``0 .. n - 1``, ``block`` ids each
    (the last one shorter)."""
    for a in range(0, n, block):
        yield a, min(a + block, n)


_LOG_COLS = ("arrival_s", "first_s", "finish_s", "outcome", "reason", "attempts", "spilled",
             "cached", "preempts")
_WL_COLS = ("output_tokens", "input_tokens", "tenant")


class RequestColumns:
    """The per-request figures a summary row is computed from, derived only for the requests
    a row selects: full-length derived columns (TTFT, TPOT, E2E, tokens as int64) cost about
    40 bytes a request at the peak of a run's memory. ``sel``: a boolean mask or ids."""

    def __init__(self, workload, log, start: int = 0):
        self.log = log
        self.workload = workload
        self.start = start  # the first request id of these columns (a block's)

    def block(self, a: int, b: int) -> RequestColumns:
        """The columns of requests ``a`` to ``b - 1``: views, no copy."""
        log = SimpleNamespace(colds=self.log.colds, reasons=self.log.reasons,
                              **{k: getattr(self.log, k)[a:b] for k in _LOG_COLS})
        wl = SimpleNamespace(**{k: getattr(self.workload, k)[a:b] for k in _WL_COLS})
        return RequestColumns(wl, log, self.start + a)

    def cold_waits(self, mask) -> np.ndarray:
        """The cold-start waits written at the requests ``mask`` selects (of these columns),
        in id order (unwritten ones, no wait, left out)."""
        return self.log.colds.values_in("cold_wait_s", mask, self.start)

    # each figure computed in place in the one copy of its first operand (the same values
    # as the expression, fewer temporaries at once)
    def ttft(self, sel) -> np.ndarray:
        t = self.log.first_s[sel]
        t -= self.log.arrival_s[sel]
        return t

    def e2e(self, sel) -> np.ndarray:
        t = self.log.finish_s[sel]
        t -= self.log.arrival_s[sel]
        return t

    def tpot(self, sel) -> np.ndarray:
        t = self.log.finish_s[sel]
        t -= self.log.first_s[sel]
        out = self.workload.output_tokens[sel]  # made after the subtraction's temporary
        if np.shares_memory(out, self.workload.output_tokens):  # ``sel`` a slice: a view
            out = out.copy()
        one = out <= 1
        out -= 1
        np.maximum(out, 1, out=out)
        t /= out
        t[one] = np.nan
        return t


# a TTFT within a nanosecond above its SLO meets it: event times are float sums, so lone
# requests served alike can differ by an ulp (5.546950186728275 and ...277 ms), and an SLO
# set to that TTFT read 2 of 3 met (second degenerate sweep, December 2026)
SLO_TOLERANCE_S = 1e-9


def tenant_slos(workload) -> np.ndarray:
    """Each tenant's TTFT SLO, by tenant code."""
    return np.array([workload.slo_ttft_s[t] for t in workload.tenants])


def met_in(cols: RequestColumns, slo_of: np.ndarray) -> np.ndarray:
    """True for each request of ``cols`` (a block) completed with its TTFT within its own
    tenant's SLO (``slo_of``: :func:`tenant_slos`)."""
    log = cols.log
    return (log.outcome == COMPLETED) & (log.first_s - log.arrival_s
                                         <= slo_of[cols.workload.tenant] + SLO_TOLERANCE_S)


class ExactValues:
    """A figure's values over the blocks, kept whole: each block's, joined in id order at the
    end, so its mean and percentiles are those of the very array the whole column gives. (A
    streaming sketch with the same methods stands in for it: sim/metrics/sketch.py.)"""

    def __init__(self):
        self._parts: list[np.ndarray] = []

    def add(self, x: np.ndarray) -> None:
        self._parts.append(x)

    def count(self) -> int:
        """The values added (NaNs included)."""
        return sum(p.size for p in self._parts)

    def stats(self, qs, mean: bool = False) -> list[float]:
        """``[mean] + percentiles`` (NaN when empty), once: the values are consumed."""
        x = self.values()
        head = [float(x.mean()) if x.size else math.nan] if mean else []
        return head + percentiles(x, qs)  # partitions x in place, after its mean

    def values(self) -> np.ndarray:
        """The values, joined in id order (consumed)."""
        parts, self._parts = self._parts, []
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.empty(0)


# what a fold collects: "counts" (requests, outcomes, retries, tokens, cold starts, the SLO
# attainment) and each derived figure's values
FIGURES = ("counts", "ttft", "tpot", "e2e")
# the passes of :func:`row_stats`: one derived figure's values held at a time
PASSES = (("counts", "ttft"), ("tpot",), ("e2e",))


class RowFold:
    """One summary row's request figures as a fold over blocks of consecutive request ids:
    :meth:`add` takes one block (its :class:`RequestColumns` and the row's selection within
    it, a boolean mask), :meth:`finish` gives the figures. ``slo``: the row's TTFT SLO (a
    tenant's), or None; ``own``: for an aggregate row, ``(slo_of, batch tenant codes)``, its
    SLO attainment being the share of its interactive requests that met their own tenant's
    SLO. ``figures``: the part of :data:`FIGURES` to fold."""

    def __init__(self, slo=None, own=None, figures=FIGURES, store=ExactValues):
        self.slo, self.own, self.figures = slo, own, figures
        self.c = dict.fromkeys(("requests", "completed", "rejected", "failed", "tries",
                                "failed_after_try", "met", "own", "own_met", "spilled",
                                "preemptions", "input_tokens", "output_tokens", "cached"), 0)
        self.v = {f: store() for f in figures if f != "counts"}
        if "counts" in figures:
            self.v["cold"] = store()

    def add(self, cols: RequestColumns, sel: np.ndarray) -> None:
        c, log = self.c, cols.log
        c["requests"] += int(np.count_nonzero(sel))
        sd = sel & (log.outcome == COMPLETED)  # the row's completed requests in the block
        if "counts" in self.figures:
            self._count(cols, sel, sd)
        if "ttft" in self.v:
            t = cols.ttft(sd)
            if self.slo is not None:
                c["met"] += int(np.count_nonzero(t <= self.slo + SLO_TOLERANCE_S))
            self.v["ttft"].add(t)
            del t  # not held while the next figures are made (a sketch keeps none of it)
        for f in ("tpot", "e2e"):
            if f in self.v:
                self.v[f].add(getattr(cols, f)(sd))

    def _count(self, cols, sel, sd) -> None:
        c, log, wl = self.c, cols.log, cols.workload
        outcome = log.outcome[sel]
        c["completed"] += int(np.count_nonzero(outcome == COMPLETED))
        c["rejected"] += int(np.count_nonzero(outcome == REJECTED))
        c["failed"] += int(np.count_nonzero(outcome == FAILED))
        att = log.attempts[sel]
        c["tries"] += int(att.sum(dtype=np.int64))
        # a request that failed with its replica on its last try (not one the run's end cut
        # while it waited to be tried again: those tries were retried)
        gave_up = [i for i, r in enumerate(log.reasons.names)
                   if r in ("replica_failure", "spot_preemption")]
        c["failed_after_try"] += int(np.count_nonzero(
            (att > 0) & (outcome == FAILED) & np.isin(log.reason[sel], gave_up)))
        del att, outcome
        cold = cols.cold_waits(sel)
        self.v["cold"].add(cold[cold > 0])
        c["output_tokens"] += int(wl.output_tokens[sd].sum(dtype=np.int64))
        c["input_tokens"] += int(wl.input_tokens[sd].sum(dtype=np.int64))
        c["cached"] += int(log.cached[sd].sum(dtype=np.int64))
        c["spilled"] += int(np.count_nonzero(log.spilled[sel]))
        c["preemptions"] += int(log.preempts[sel].sum(dtype=np.int64))
        if self.own is not None:
            slo_of, batch = self.own
            mine = sel & ~np.isin(wl.tenant, batch) if len(batch) else sel
            c["own"] += int(np.count_nonzero(mine))
            c["own_met"] += int(np.count_nonzero(met_in(cols, slo_of)[mine]))

    def finish(self) -> dict:
        """The folded figures, by summary column (the folded part of :data:`FIGURES`)."""
        c, r = self.c, {}
        n = c["requests"]
        if "counts" in self.figures:
            r.update(requests=n, completed=c["completed"], rejected=c["rejected"],
                     failed=c["failed"])
        if "ttft" in self.v:
            (r["ttft_mean_s"], r["ttft_p50_s"], r["ttft_p90_s"], r["ttft_p99_s"],
             r["ttft_p999_s"]) = self.v["ttft"].stats((50, 90, 99, 99.9), mean=True)
        for f in ("tpot", "e2e"):
            if f in self.v:
                r[f"{f}_p50_s"], r[f"{f}_p99_s"] = self.v[f].stats((50, 99))
        if "counts" not in self.figures:
            return r
        cold = self.v["cold"]
        r["cold_starts"] = cold.count()
        r["cold_start_wait_p99_s"] = cold.stats((99,))[0] if r["cold_starts"] else 0.0
        if self.own is not None:
            met = c["own_met"] / c["own"] if c["own"] else math.nan
        else:
            met = c["met"] / n if n and self.slo is not None else math.nan
        in_tok = c["input_tokens"]
        r.update({
            "input_tokens": in_tok, "output_tokens": c["output_tokens"],
            "slo_attainment": met,
            # tries started again after a replica failure: every interrupted try, except
            # the last one of a request that then failed
            "retries": c["tries"] - c["failed_after_try"], "spilled": c["spilled"],
            "cached_tokens": c["cached"],
            "cache_hit_rate": c["cached"] / in_tok if in_tok else math.nan,
            "preemptions": c["preemptions"],
        })
        return r


_ORDER = ("setup", "tenant", "model", "requests", "completed", "rejected", "failed",
          "ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "ttft_p999_s", "ttft_mean_s",
          "tpot_p50_s", "tpot_p99_s", "e2e_p50_s", "e2e_p99_s", "cold_starts",
          "cold_start_wait_p99_s", "input_tokens", "output_tokens", "throughput_tok_s",
          "slo_ttft_s", "slo_attainment", "retries", "period_s", "spilled", "cached_tokens",
          "cache_hit_rate", "preemptions")


def walk(n: int, accs, block: int = BLOCK) -> None:
    """The one driver of the end-of-run folds: the blocks of ``block`` consecutive request
    ids of ``0 .. n - 1``, in id order, each visited once and handed to every accumulator of
    ``accs`` (its ``add(a, b)``), so that a block sealed while a run goes can be handed over
    as soon as it is sealed and then freed."""
    for a, b in spans(n, block):
        for acc in accs:
            acc.add(a, b)


class _RowAcc:
    """A row's :class:`RowFold` as an accumulator of :func:`walk`."""

    def __init__(self, cols, pick, fold: RowFold):
        self.cols, self.pick, self.fold = cols, pick, fold

    def add(self, a: int, b: int) -> None:
        self.fold.add(self.cols.block(a, b), self.pick(a, b))


def _fold_rows(specs, cols, block: int, one_pass: bool, others=(),
               store=ExactValues) -> list[dict]:
    """Each row of ``specs`` ``(setup, tenant, model, sel, slo, period_s, own_slo)``
    (:func:`row_stats`). ``one_pass``: one :func:`walk` feeding every row's fold of every
    figure (what a log sealed in blocks needs; with :class:`ExactValues` it holds every row's
    TTFT, TPOT and E2E values at once); else one walk per row and :data:`PASSES` entry (one
    row's figure held at a time: the exact store's lower peak). The same bytes either way.
    ``others``: more accumulators, fed in the first walk; ``store``: what keeps each
    figure's values (:class:`ExactValues`, or a sketch: sim/metrics/sketch.py)."""
    wl = cols.workload
    heads = []
    for setup, tenant, model, sel, slo, period_s, own_slo in specs:
        period_s = period_s() if callable(period_s) else period_s  # known once costs are
        pick = sel if callable(sel) else (lambda a, b, sel=sel: sel[a:b])
        own = (tenant_slos(wl), sorted(wl.batch_tenant_ids())) if own_slo else None
        r = {"setup": setup, "tenant": tenant, "model": model, "period_s": period_s,
             "slo_ttft_s": slo if slo is not None else math.nan}
        heads.append((r, slo, own, pick))
    n_all = len(cols.log.outcome)
    if one_pass:
        accs = [_RowAcc(cols, pick, RowFold(slo, own, store=store))
                for _, slo, own, pick in heads]
        walk(n_all, [*others, *accs], block)
        for (r, *_), acc in zip(heads, accs):
            r.update(acc.fold.finish())
        del accs
    else:
        walk(n_all, others, block)
        for r, slo, own, pick in heads:
            for figures in PASSES:
                acc = _RowAcc(cols, pick, RowFold(slo, own, figures, store))
                walk(n_all, [acc], block)
                r.update(acc.fold.finish())
                del acc
    out = []
    for r, *_ in heads:
        p = r["period_s"]
        r["throughput_tok_s"] = r["output_tokens"] / p if p > 0 else math.nan
        out.append({k: r[k] for k in _ORDER})
    return out


class Rows:
    """Summary rows registered first (:meth:`add`) and folded together after (:meth:`fold`),
    so that one :func:`walk` can feed them all (and the accumulators given to :meth:`also`).
    Each row's other columns (costs, load) go in the dict :meth:`add` returns; they overlay
    its folded figures."""

    def __init__(self, setup, cols: RequestColumns):
        self.setup, self.cols, self._rows, self._others = setup, cols, [], []

    def add(self, tenant, model, sel, slo, period_s, own_slo=False) -> dict:
        extra: dict = {}
        self._rows.append(((self.setup, tenant, model, sel, slo, period_s, own_slo), extra))
        return extra

    def also(self, acc) -> None:
        """One more accumulator (``add(a, b)``) for the walk of :meth:`fold`."""
        self._others.append(acc)

    def registered(self) -> list[tuple]:
        """Each row's ``((setup, tenant, model, sel, slo, period_s, own_slo), other columns)``."""
        return list(self._rows)

    def labels(self) -> list[str]:
        """The rows' labels (their ``tenant``), in order."""
        return [s[1] for s, _ in self._rows]

    def fold(self, block: int = BLOCK, one_pass: bool = False,
             store=ExactValues) -> list[dict]:
        stats = _fold_rows([s for s, _ in self._rows], self.cols, block, one_pass,
                           self._others, store)
        return [{**r, **extra} for r, (_, extra) in zip(stats, self._rows)]


def row_stats(setup, tenant, model, sel, cols, slo, period_s, own_slo=False,
              block=BLOCK, store=ExactValues) -> dict:
    """A summary row's request figures. ``sel``: the row's requests, a boolean mask of every
    request or a function of a block ``(a, b)`` giving its mask there; ``own_slo``: SLO
    attainment against each request's own tenant's SLO, batch-tier requests aside (an
    aggregate row's). Folded over blocks of ``block`` ids, one pass per entry of
    :data:`PASSES` (one derived figure's values held at a time), into ``store``s."""
    spec = (setup, tenant, model, sel, slo, period_s, own_slo)
    return _fold_rows([spec], cols, block, one_pass=False, store=store)[0]
