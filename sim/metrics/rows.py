"""One summary row's request figures, from a run's log and workload.

:class:`RequestColumns` derives each figure (TTFT, TPOT, E2E) only for the requests a row
selects, and :func:`row_stats` makes them one at a time, each freed before the next: the
summary of a run never holds a full-length derived column (measured with tracemalloc on
the platform benchmark's pool at 20 models, 2 simulated hours, 115,000 requests: the
summary's own peak fell from 93 to 24 bytes a request).
"""

from __future__ import annotations

import numpy as np

from sim.metrics.quantiles import percentile, percentiles
from sim.records import COMPLETED, FAILED, REJECTED


class RequestColumns:
    """The per-request figures a summary row is computed from, derived only for the requests
    a row selects: full-length derived columns (TTFT, TPOT, E2E, tokens as int64) cost about
    40 bytes a request at the peak of a run's memory. ``sel``: a boolean mask or ids."""

    def __init__(self, workload, log):
        self.log = log
        self.workload = workload

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


_MET_CHUNK = 1 << 18  # requests per step of :func:`slo_met` (bounds its temporaries)


# a TTFT within a nanosecond above its SLO meets it: event times are float sums, so lone
# requests served alike can differ by an ulp (5.546950186728275 and ...277 ms), and an SLO
# set to that TTFT read 2 of 3 met (second degenerate sweep, December 2026)
SLO_TOLERANCE_S = 1e-9


def slo_met(workload, log) -> np.ndarray:
    """True for each completed request whose TTFT met its own tenant's SLO; computed in
    steps so that no full-length float temporary exists."""
    slo_of = np.array([workload.slo_ttft_s[t] for t in workload.tenants])
    met = np.zeros(log.n, bool)
    for a in range(0, log.n, _MET_CHUNK):
        s = slice(a, a + _MET_CHUNK)
        met[s] = (log.outcome[s] == COMPLETED) & (log.first_s[s] - log.arrival_s[s]
                                                   <= slo_of[workload.tenant[s]] + SLO_TOLERANCE_S)
    return met


def row_stats(setup, tenant, model, sel, cols, slo, period_s) -> dict:
    log, wl = cols.log, cols.workload
    outcome = log.outcome[sel]
    done = outcome == COMPLETED
    n = int(sel.sum())
    completed = int(done.sum())
    rejected = int(np.count_nonzero(outcome == REJECTED))
    failed = int(np.count_nonzero(outcome == FAILED))
    # tries started again after a replica failure: every interrupted try, except the last
    # one of a request that then failed
    att = log.attempts[sel]
    retries = int(att.sum(dtype=np.int64)) - int(np.count_nonzero((att > 0) & (outcome == FAILED)))
    del att, outcome
    sd = sel & (log.outcome == COMPLETED)  # the row's completed requests
    del done
    # one derived column at a time: each is freed before the next is made
    ttft = cols.ttft(sd)
    met = float(np.count_nonzero(ttft <= slo + SLO_TOLERANCE_S)) / n if n and slo is not None else float("nan")
    mean = float(ttft.mean()) if ttft.size else float("nan")
    # each column's percentiles partition it in place (after its mean: no copy of it)
    p50, p90, p99, p999 = percentiles(ttft, (50, 90, 99, 99.9))
    del ttft
    r = {
        "setup": setup, "tenant": tenant, "model": model, "requests": n,
        "completed": completed, "rejected": rejected, "failed": failed,
        "ttft_p50_s": p50, "ttft_p90_s": p90, "ttft_p99_s": p99, "ttft_p999_s": p999,
        "ttft_mean_s": mean,
    }
    tpot = cols.tpot(sd)
    r["tpot_p50_s"], r["tpot_p99_s"] = percentiles(tpot, (50, 99))
    del tpot
    e2e = cols.e2e(sd)
    r["e2e_p50_s"], r["e2e_p99_s"] = percentiles(e2e, (50, 99))
    del e2e
    if sel.dtype == bool:  # the waits written at selected rows only (unwritten ones are 0)
        cold = log.colds.values_in("cold_wait_s", sel)
    else:
        cold = log.cold_wait_at(sel)
    r["cold_starts"] = int(np.count_nonzero(cold > 0))
    r["cold_start_wait_p99_s"] = percentile(cold[cold > 0], 99) if (cold > 0).any() else 0.0
    del cold
    out_tok = int(wl.output_tokens[sd].sum(dtype=np.int64))
    in_tok = int(wl.input_tokens[sd].sum(dtype=np.int64))
    cached = int(log.cached[sd].sum(dtype=np.int64))
    r.update({
        "input_tokens": in_tok, "output_tokens": out_tok,
        "throughput_tok_s": out_tok / period_s if period_s > 0 else float("nan"),
        "slo_ttft_s": slo if slo is not None else float("nan"),
        "slo_attainment": met, "retries": retries, "period_s": period_s,
        "spilled": int(np.count_nonzero(log.spilled[sel])),
        "cached_tokens": cached,
        "cache_hit_rate": cached / in_tok if in_tok else float("nan"),
        "preemptions": int(log.preempts[sel].sum(dtype=np.int64)),
    })
    return r
